"""Recommendations: ranking, `why`, every exclusion, stability and the spread across viewers."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from services.core.models import Registration
from services.meetings.requests import RECIPIENT_PENDING_CAP
from tests.meetings.meeting_support import (
    asked,
    attendee,
    meeting_event,
    recommendations,
    set_discoverable,
)
from tests.support import assert_problem, event_with_staff, new_user, register


def test_ranking_and_why(anon):
    setup = event_with_staff(anon.client)
    event_id = setup.event_id
    me = attendee(
        anon.client,
        event_id,
        offers=["mentoring", "sql"],
        seeks=["rust", "fundraising"],
        focus="Developer Tools",
    )
    giver = attendee(anon.client, event_id, name="Giver", offers=["rust", "fundraising"])
    taker = attendee(anon.client, event_id, name="Taker", seeks=["mentoring", "sql"])
    both = attendee(
        anon.client,
        event_id,
        name="Both",
        offers=["rust", "fundraising"],
        seeks=["sql"],
        focus="developer tools ",
    )
    focus_only = attendee(anon.client, event_id, name="Focus", focus="Developer tools")
    attendee(anon.client, event_id, name="Nothing", offers=["knitting"], seeks=["yoga"])

    found = recommendations(me, event_id, limit=10)
    assert [(r["display_name"], r["score"]) for r in found] == [
        ("Both", 3 + 3 + 2 + 1),
        ("Giver", 3 + 3),
        ("Taker", 2 + 2),
        ("Focus", 1),
    ]
    by_name = {r["display_name"]: r for r in found}
    assert by_name["Both"]["why"] == [
        {"kind": "offers_what_you_seek", "tags": ["fundraising", "rust"]},
        {"kind": "seeks_what_you_offer", "tags": ["sql"]},
        {"kind": "shared_focus", "tags": ["developer tools"]},
    ]
    assert by_name["Giver"]["why"] == [
        {"kind": "offers_what_you_seek", "tags": ["fundraising", "rust"]}
    ]
    assert by_name["Taker"]["user_id"] == taker.id
    assert {r["user_id"] for r in found} == {giver.id, taker.id, both.id, focus_only.id}
    assert len(recommendations(me, event_id)) == 4  # default limit 5
    assert len(recommendations(me, event_id, limit=2)) == 2


def test_limit_bounds(anon):
    setup = event_with_staff(anon.client)
    me = attendee(anon.client, setup.event_id, seeks=["rust"])
    for limit in (0, 11):
        response = me.get(
            f"/v1/events/{setup.event_id}/recommendations", query_string={"limit": limit}
        )
        assert_problem(response, 422)


def test_caller_must_be_registered_and_discoverable(anon):
    setup = event_with_staff(anon.client)
    stranger = new_user(anon.client)
    path = f"/v1/events/{setup.event_id}/recommendations"
    assert_problem(stranger.get(path), 403, "not_registered")
    register(stranger, setup.event_id)
    assert_problem(stranger.get(path), 409, "not_discoverable")
    assert_problem(stranger.get(f"/v1/events/{uuid.uuid4()}/recommendations"), 404)


def test_exclusions(anon, clock):
    setup = meeting_event(anon.client)
    event_id = setup.event_id
    me = attendee(anon.client, event_id, offers=["sql"], seeks=["rust"])
    fine = attendee(anon.client, event_id, name="Fine", offers=["rust"])
    hidden = attendee(anon.client, event_id, name="Hidden", offers=["rust"], discoverable=False)
    contact = attendee(anon.client, event_id, name="Contact", offers=["rust"])
    decliner = attendee(anon.client, event_id, name="Decliner", offers=["rust"])
    i_declined = attendee(anon.client, event_id, name="IDeclined", offers=["rust"])
    requested = attendee(anon.client, event_id, name="Requested", offers=["rust"])
    gone = attendee(anon.client, event_id, name="Gone", offers=["rust"])
    elsewhere = attendee(anon.client, event_with_staff(anon.client).event_id, offers=["rust"])
    assert hidden and elsewhere

    # A contact (made by badge scan) is never recommended, whatever else.
    badge = contact.registration["badge_code"]
    assert (
        me.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id}).status_code == 201
    )
    # They declined my request; I declined theirs; I already asked another.
    request = asked(me, event_id, decliner)
    assert decliner.post(f"/v1/meeting-requests/{request['id']}/decline").status_code == 204
    request = asked(i_declined, event_id, me)
    assert me.post(f"/v1/meeting-requests/{request['id']}/decline").status_code == 204
    asked(me, event_id, requested)
    # A cancelled registration.
    assert gone.delete(f"/v1/registrations/{gone.registration['id']}").status_code == 204

    assert [r["display_name"] for r in recommendations(me, event_id, limit=10)] == ["Fine"]
    assert fine


def test_blocked_and_muted_people_are_excluded_both_ways(anon, db):
    setup = event_with_staff(anon.client)
    event_id = setup.event_id
    me = attendee(anon.client, event_id, seeks=["rust"], offers=["sql"])
    muter = attendee(anon.client, event_id, offers=["rust"], seeks=["sql"])
    badge = muter.registration["badge_code"]
    scanned = me.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})
    contact_id = scanned.get_json()["id"]
    assert me.post(f"/v1/contacts/{contact_id}/block").status_code in (200, 204)
    assert recommendations(me, event_id) == []
    assert recommendations(muter, event_id) == []


def test_a_person_at_the_pending_cap_drops_out(anon, db):
    setup = event_with_staff(anon.client)
    event_id = setup.event_id
    me = attendee(anon.client, event_id, seeks=["keynotes"])
    famous = attendee(anon.client, event_id, name="Famous", offers=["keynotes"])
    other = attendee(anon.client, event_id, name="Other", offers=["keynotes"])
    assert {r["display_name"] for r in recommendations(me, event_id)} == {"Famous", "Other"}
    db.execute(
        update(Registration)
        .where(Registration.id == uuid.UUID(famous.registration["id"]))
        .values(pending_requests_in=RECIPIENT_PENDING_CAP)
    )
    db.commit()
    assert [r["display_name"] for r in recommendations(me, event_id)] == ["Other"]
    assert other


def test_ties_are_stable_within_a_day_and_differ_between_viewers_and_days(anon, clock):
    setup = event_with_staff(anon.client)
    event_id = setup.event_id
    for index in range(12):
        attendee(anon.client, event_id, name=f"Peer {index:02}", offers=["python"])
    viewers = [attendee(anon.client, event_id, seeks=["python"]) for _ in range(4)]

    def top(viewer):
        return [r["user_id"] for r in recommendations(viewer, event_id, limit=5)]

    first = [top(v) for v in viewers]
    clock.advance(timedelta(hours=5))  # the same day in Berlin
    assert [top(v) for v in viewers] == first
    assert len({tuple(t) for t in first}) > 1  # not the same five for everyone
    clock.advance(timedelta(days=1))
    assert [top(v) for v in viewers] != first


def test_undiscoverable_people_are_never_listed_even_with_matches(anon):
    setup = event_with_staff(anon.client)
    me = attendee(anon.client, setup.event_id, seeks=["rust"])
    other = attendee(anon.client, setup.event_id, offers=["rust"])
    set_discoverable(other, False)
    assert recommendations(me, setup.event_id) == []


def test_the_statement_count_does_not_grow_with_the_event(anon, engine):
    """Recommendations read the match index and a few rows, never the attendee list."""
    from sqlalchemy import event as sa_event

    setup = event_with_staff(anon.client)
    me = attendee(anon.client, setup.event_id, seeks=["rust"], offers=["go"], focus="Infra")
    statements_by_size = {}
    others = 0
    for size in (3, 30):
        while others < size:
            attendee(anon.client, setup.event_id, offers=["rust"], seeks=["go"], focus="infra")
            others += 1
        statements = []

        def count(*_args, seen=statements):
            seen.append(1)

        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(recommendations(me, setup.event_id, limit=10)) == min(size, 10)
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        statements_by_size[size] = len(statements)
    assert statements_by_size[3] == statements_by_size[30]
