"""Relationship strength: the documented formula, `sort=strength` and `going_cold=true`."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.core.models import Contact
from services.networking.contacts import strength_of
from tests.support import event_with_staff, new_user, register

MET = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _contact(**counters) -> Contact:
    defaults = {
        "met_in_person": True,
        "met_at": MET,
        "sent_count": 0,
        "received_count": 0,
        "replies_received": 0,
        "last_interaction_at": None,
    }
    return Contact(**{**defaults, **counters})


@pytest.mark.parametrize(
    ("counters", "days_later", "expected"),
    [
        ({}, 0, 30),  # met in person, nothing since
        ({"met_in_person": False}, 0, 0),
        ({"sent_count": 5, "received_count": 5, "replies_received": 3}, 0, 100),
        ({"sent_count": 50, "received_count": 50, "replies_received": 30}, 0, 100),  # capped
        ({"sent_count": 1, "received_count": 2, "replies_received": 1}, 0, 52),
        ({"sent_count": 5, "received_count": 5, "replies_received": 3}, 90, 50),  # one half-life
        ({"sent_count": 5, "received_count": 5, "replies_received": 3}, 180, 25),
        ({}, 90, 15),
    ],
)
def test_strength_formula(counters, days_later, expected):
    assert strength_of(_contact(**counters), MET + timedelta(days=days_later)) == expected


def test_recent_exchange_resets_the_decay():
    contact = _contact(
        sent_count=5,
        received_count=5,
        replies_received=3,
        last_interaction_at=MET + timedelta(days=170),
    )
    assert strength_of(contact, MET + timedelta(days=180)) == round(100 * 0.5 ** (10 / 90))


@pytest.fixture
def ada_with_three_contacts(anon, db):
    setup = event_with_staff(anon.client)
    ada = new_user(anon.client, display_name="Ada")
    register(ada, setup.event_id)
    ids = {}
    for name in ("Weak", "Strong", "Cold"):
        person = new_user(anon.client, display_name=name)
        badge = register(person, setup.event_id)["badge_code"]
        ids[name] = ada.post(
            "/v1/contacts/scan", json={"badge": badge, "event_id": setup.event_id}
        ).get_json()
    weak = db.get(Contact, uuid.UUID(ids["Weak"]["id"]))
    weak.met_in_person = False
    strong = db.get(Contact, uuid.UUID(ids["Strong"]["id"]))
    strong.sent_count, strong.received_count, strong.replies_received = 4, 4, 2
    strong.last_interaction_at = MET + timedelta(days=95)
    cold = db.get(Contact, uuid.UUID(ids["Cold"]["id"]))
    cold.sent_count, cold.received_count, cold.replies_received = 5, 5, 3
    cold.last_interaction_at = MET + timedelta(days=20)
    db.flush()
    return ada


def test_sort_by_strength_and_paging_keeps_the_ranking(ada_with_three_contacts, clock):
    ada = ada_with_three_contacts
    clock.set(MET + timedelta(days=100))
    response = ada.get("/v1/contacts", query_string={"sort": "strength"}).get_json()
    ranked = [(c["display_name"], c["strength"]) for c in response["items"]]
    assert [name for name, _ in ranked] == ["Strong", "Cold", "Weak"]
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    assert ranked[-1][1] == 0
    first = ada.get("/v1/contacts", query_string={"sort": "strength", "limit": 1}).get_json()
    clock.advance(timedelta(days=30))  # the ranking of later pages is taken at the same instant
    names = [first["items"][0]["display_name"]]
    cursor = first["next_cursor"]
    while cursor:
        page = ada.get(
            "/v1/contacts", query_string={"sort": "strength", "limit": 1, "cursor": cursor}
        ).get_json()
        names += [c["display_name"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert names == ["Strong", "Cold", "Weak"]


def test_going_cold_lists_strong_ties_silent_for_60_days(ada_with_three_contacts, clock):
    ada = ada_with_three_contacts
    clock.set(MET + timedelta(days=100))
    cold = ada.get("/v1/contacts", query_string={"going_cold": "true"}).get_json()["items"]
    assert [c["display_name"] for c in cold] == ["Cold"]  # silent 80 days; Strong spoke at 95
    clock.set(MET + timedelta(days=79))
    assert ada.get("/v1/contacts", query_string={"going_cold": "true"}).get_json()["items"] == []
