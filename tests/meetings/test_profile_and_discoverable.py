"""Offers and seeks on the profile, and the per-registration `discoverable` opt-in."""

from __future__ import annotations

import pytest

from tests.meetings.meeting_support import attendee, recommendations, set_discoverable
from tests.support import assert_problem, event_with_staff, new_user, register


def test_tags_are_trimmed_lowercased_and_deduplicated(anon):
    person = new_user(anon.client)
    response = person.patch(
        "/v1/me",
        json={"offers": ["  Postgres ", "postgres", "Data   Modelling"], "seeks": ["Hiring"]},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["offers"] == ["postgres", "data modelling"]
    assert body["seeks"] == ["hiring"]
    assert person.get("/v1/me").get_json()["offers"] == ["postgres", "data modelling"]


def test_a_new_profile_has_empty_offers_and_seeks(anon):
    body = new_user(anon.client).get("/v1/me").get_json()
    assert body["offers"] == [] and body["seeks"] == []


@pytest.mark.parametrize(
    "offers",
    [["x"], ["a" * 41], [str(i) * 2 for i in range(11)], ["   "]],
    ids=["too-short", "too-long", "eleven", "blank"],
)
def test_bad_tags_are_422_and_change_nothing(anon, offers):
    person = new_user(anon.client)
    person.patch("/v1/me", json={"offers": ["kept"], "headline": "Data engineer"})
    response = person.patch("/v1/me", json={"offers": offers, "headline": "Changed"})
    assert_problem(response, 422)
    body = person.get("/v1/me").get_json()
    assert body["offers"] == ["kept"] and body["headline"] == "Data engineer"


def test_registrations_are_not_discoverable_by_default(anon):
    setup = event_with_staff(anon.client)
    person = new_user(anon.client)
    registration = register(person, setup.event_id)
    assert registration["discoverable"] is False
    assert_problem(
        person.get(f"/v1/events/{setup.event_id}/recommendations"), 409, "not_discoverable"
    )


def test_only_the_attendee_changes_discoverable(anon):
    setup = event_with_staff(anon.client)
    person = attendee(anon.client, setup.event_id, discoverable=False)
    path = f"/v1/registrations/{person.registration['id']}"
    assert_problem(setup.organizer.patch(path, json={"discoverable": True}), 403)
    assert_problem(new_user(anon.client).patch(path, json={"discoverable": True}), 404)
    assert_problem(person.patch(path, json={}), 422)
    assert set_discoverable(person, True)["discoverable"] is True
    assert person.get(path).get_json()["discoverable"] is True


def test_a_cancelled_registration_cannot_opt_in(anon):
    setup = event_with_staff(anon.client)
    person = attendee(anon.client, setup.event_id, discoverable=False)
    path = f"/v1/registrations/{person.registration['id']}"
    assert person.delete(path).status_code == 204
    assert_problem(person.patch(path, json={"discoverable": True}), 409)


def test_profile_changes_reach_the_recommendations_at_once(anon):
    setup = event_with_staff(anon.client)
    me = attendee(anon.client, setup.event_id, seeks=["rust"])
    other = attendee(anon.client, setup.event_id, offers=["go"])
    assert recommendations(me, setup.event_id) == []
    other.patch("/v1/me", json={"offers": ["Rust"]})
    [found] = recommendations(me, setup.event_id)
    assert found["user_id"] == other.id
    set_discoverable(other, False)
    assert recommendations(me, setup.event_id) == []
