"""Meeting requests and every throttle rule: caps, unavailable (a decline never revealed),
duplicates, bad slots, the message coach's hints, answering and cancelling."""

from __future__ import annotations

import uuid

import pytest

from services.meetings.requests import RECIPIENT_PENDING_CAP, SENDER_PENDING_CAP
from tests.meetings.meeting_support import (
    SLOT_1200,
    SLOT_1230,
    SLOT_1300,
    ask,
    asked,
    attendee,
    meeting_event,
)
from tests.support import assert_problem, new_user, register


@pytest.fixture
def setup(anon):
    return meeting_event(anon.client)


def listed(person, **query) -> list[dict]:
    response = person.get("/v1/me/meeting-requests", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_request_and_both_lists(anon, setup):
    alice = attendee(anon.client, setup.event_id, name="Alice")
    bob = attendee(anon.client, setup.event_id, name="Bob")
    body = asked(alice, setup.event_id, bob, [SLOT_1230, SLOT_1200, "2026-06-01T13:00:00+00:00"])
    assert body["status"] == "pending"
    assert body["to_user_id"] == bob.id and body["from_user_id"] == alice.id
    assert body["slots"] == [SLOT_1200, SLOT_1230, SLOT_1300]
    assert body["hints"] == []
    assert body["with"] == {"user_id": bob.id, "display_name": "Bob"}
    [incoming] = listed(bob, direction="incoming")
    assert incoming["id"] == body["id"] and incoming["with"]["display_name"] == "Alice"
    assert incoming["message"].startswith("Happy to share")
    assert listed(bob, direction="outgoing") == []
    assert [r["id"] for r in listed(alice, direction="outgoing", status="pending")] == [body["id"]]
    assert listed(alice, direction="outgoing", status="declined") == []


def test_who_may_be_asked(anon, setup):
    alice = attendee(anon.client, setup.event_id)
    hidden = attendee(anon.client, setup.event_id, discoverable=False)
    outsider = new_user(anon.client)
    assert_problem(ask(alice, setup.event_id, hidden), 404)
    assert_problem(ask(alice, setup.event_id, outsider), 404)
    ghost = new_user(anon.client)
    ghost.user["id"] = str(uuid.uuid4())
    assert_problem(ask(alice, setup.event_id, ghost), 404)
    assert_problem(ask(alice, setup.event_id, alice), 422)
    # A contact may be asked without opting in.
    badge = hidden.registration["badge_code"]
    scan = alice.post("/v1/contacts/scan", json={"badge": badge, "event_id": setup.event_id})
    assert scan.status_code == 201
    assert ask(alice, setup.event_id, hidden).status_code == 201
    # The sender must be registered here.
    stranger = new_user(anon.client)
    assert_problem(ask(stranger, setup.event_id, alice), 403, "not_registered")


def _unavailable_body(response) -> dict:
    body = assert_problem(response, 403, "recipient_unavailable")
    body.pop("request_id")
    return body


def test_declined_muted_and_blocked_answer_the_same(anon, setup):
    event_id = setup.event_id
    alice = attendee(anon.client, event_id)
    decliner = attendee(anon.client, event_id)
    muter = attendee(anon.client, event_id)
    blocker = attendee(anon.client, event_id)

    request = asked(alice, event_id, decliner)
    assert decliner.post(f"/v1/meeting-requests/{request['id']}/decline").status_code == 204
    [seen] = listed(alice, direction="outgoing")
    assert seen["status"] == "declined"
    after_decline = _unavailable_body(ask(alice, event_id, decliner, [SLOT_1300]))

    for other, action in ((muter, "mute"), (blocker, "block")):
        badge = alice.registration["badge_code"]
        scan = other.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})
        contact_id = scan.get_json()["id"]
        assert other.post(f"/v1/contacts/{contact_id}/{action}").status_code in (200, 204)
    assert _unavailable_body(ask(alice, event_id, muter)) == after_decline
    assert _unavailable_body(ask(alice, event_id, blocker)) == after_decline
    # The decline is final for this event, but the decliner may still ask alice.
    assert ask(decliner, event_id, alice).status_code == 201


def test_one_pending_request_per_pair(anon, setup):
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    first = asked(alice, setup.event_id, bob)
    assert_problem(ask(alice, setup.event_id, bob, [SLOT_1230]), 409, "request_pending")
    assert alice.post(f"/v1/meeting-requests/{first['id']}/cancel").status_code == 204
    assert ask(alice, setup.event_id, bob, [SLOT_1230]).status_code == 201


def test_sender_cap_counts_pending_requests_only(anon, setup):
    event_id = setup.event_id
    alice = attendee(anon.client, event_id)
    others = [attendee(anon.client, event_id) for _ in range(SENDER_PENDING_CAP + 1)]
    made = [asked(alice, event_id, other) for other in others[:SENDER_PENDING_CAP]]
    body = assert_problem(ask(alice, event_id, others[-1]), 429, "requests_cap")
    assert body["next_allowed_at"] is None
    assert listed(others[-1], direction="incoming") == []
    # An answer or a cancellation frees a place.
    assert others[0].post(f"/v1/meeting-requests/{made[0]['id']}/decline").status_code == 204
    assert ask(alice, event_id, others[-1]).status_code == 201
    assert_problem(ask(alice, event_id, others[0], [SLOT_1300]), 403, "recipient_unavailable")


def test_recipient_cap_keeps_the_popular_speaker_from_being_flooded(anon, setup):
    event_id = setup.event_id
    speaker = attendee(anon.client, event_id)
    fans = [attendee(anon.client, event_id) for _ in range(RECIPIENT_PENDING_CAP + 1)]
    made = [asked(fan, event_id, speaker) for fan in fans[:RECIPIENT_PENDING_CAP]]
    assert_problem(ask(fans[-1], event_id, speaker), 429, "recipient_busy")
    assert fans[0].post(f"/v1/meeting-requests/{made[0]['id']}/cancel").status_code == 204
    assert ask(fans[-1], event_id, speaker).status_code == 201


def test_the_sender_cap_is_named_before_the_recipient_cap(anon, setup, db):
    from sqlalchemy import update

    from services.core.models import Registration

    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    for person, column, cap in (
        (alice, "pending_requests_out", SENDER_PENDING_CAP),
        (bob, "pending_requests_in", RECIPIENT_PENDING_CAP),
    ):
        db.execute(
            update(Registration)
            .where(Registration.id == uuid.UUID(person.registration["id"]))
            .values({column: cap})
        )
    db.commit()
    assert_problem(ask(alice, setup.event_id, bob), 429, "requests_cap")


@pytest.mark.parametrize(
    "slots",
    [
        ["2026-06-01T12:10:00Z"],  # off the grid
        ["2026-06-01T13:45:00Z"],  # would end after the hours
        ["2026-06-01T11:30:00Z"],  # before the hours
        [SLOT_1200, SLOT_1230, SLOT_1300, "2026-06-01T13:30:00Z"],  # four
        [],
        ["not a time"],
    ],
)
def test_bad_slots_are_422(anon, setup, slots):
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    assert_problem(ask(alice, setup.event_id, bob, slots), 422)
    assert listed(bob) == []


def test_a_slot_that_started_is_refused(anon, setup, clock):
    from datetime import UTC, datetime

    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    clock.set(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert_problem(ask(alice, setup.event_id, bob, [SLOT_1200]), 422, "invalid_slot")
    assert ask(alice, setup.event_id, bob, [SLOT_1230]).status_code == 201


@pytest.mark.parametrize(
    ("body", "kind", "codes"),
    [
        ("Are you hiring? I'd love a job on your team.", "ask", ["cold_hiring_ask"]),
        ("I was laid off last month; could we talk?", "ask", ["intro_lead_with_present"]),
        ("Happy to walk you through our Postgres migration.", "offer", []),
    ],
)
def test_the_message_coach_hints_apply(anon, setup, body, kind, codes):
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    made = asked(alice, setup.event_id, bob, message=body, kind=kind)
    assert [hint["code"] for hint in made["hints"]] == codes


@pytest.mark.parametrize(
    "body", [{"message": "   "}, {"kind": "thank_you"}, {"message": "x" * 501}]
)
def test_bad_message_or_kind_is_422(anon, setup, body):
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    assert_problem(ask(alice, setup.event_id, bob, **body), 422)


def test_only_the_right_person_answers_or_cancels(anon, setup):
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    carol = attendee(anon.client, setup.event_id)
    request = asked(alice, setup.event_id, bob)
    base = f"/v1/meeting-requests/{request['id']}"
    assert_problem(alice.post(f"{base}/decline"), 404)
    assert_problem(carol.post(f"{base}/decline"), 404)
    assert_problem(bob.post(f"{base}/cancel"), 404)
    assert_problem(alice.post(f"{base}/accept", json={"slot": SLOT_1200}), 404)
    assert_problem(bob.post(f"/v1/meeting-requests/{uuid.uuid4()}/decline"), 404)
    assert bob.post(f"{base}/decline").status_code == 204
    assert bob.post(f"{base}/decline").status_code == 204  # a retry changes nothing
    assert_problem(alice.post(f"{base}/cancel"), 409, "request_not_pending")
    assert_problem(bob.post(f"{base}/accept", json={"slot": SLOT_1200}), 409)


def test_registered_elsewhere_is_not_here(anon, setup):
    alice = attendee(anon.client, setup.event_id)
    other_event = meeting_event(anon.client)
    bob = attendee(anon.client, other_event.event_id)
    assert_problem(ask(alice, setup.event_id, bob), 404)
    register(bob, setup.event_id)
    assert_problem(ask(alice, setup.event_id, bob), 404)  # not discoverable here
