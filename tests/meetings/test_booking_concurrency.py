"""The booking races, with real threads and committing transactions, on SQLite and PostgreSQL:
two accepts for the last seat, one person accepting two requests for the same slot, and
parallel requests against the pending caps. Each must end in exactly one winner, decided by
the database's unique indexes and conditional counter updates."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from services.core.clock import SettableClock
from services.core.models import Meeting, MeetingParticipant, MeetingRequest, Registration
from services.meetings.requests import RECIPIENT_PENDING_CAP, SENDER_PENDING_CAP
from tests.conftest import T0
from tests.meetings.meeting_support import SLOT_1200, asked, attendee, meeting_event
from tests.support.live import committing_app, run_at_once


def _client_for(app, person):
    """A caller bound to a fresh test client (a thread's own)."""
    client = app.test_client()
    return lambda method, path, body=None: client.open(
        path, method=method, json=body, headers={"Authorization": f"Bearer {person.token}"}
    )


@pytest.fixture
def app(engine):
    return committing_app(engine, SettableClock(T0))


def active_meetings(engine, **where) -> int:
    query = select(func.count()).select_from(Meeting).where(Meeting.status != "cancelled")
    for name, value in where.items():
        query = query.where(getattr(Meeting, name) == value)
    with engine.connect() as conn:
        return conn.scalar(query)


@pytest.mark.parametrize("round_", range(3))
def test_two_accepts_for_the_last_seat_book_one_meeting(app, engine, round_):
    client = app.test_client()
    setup = meeting_event(client, spots=(1,))
    people = [attendee(client, setup.event_id) for _ in range(4)]
    requests = [
        asked(people[0], setup.event_id, people[1]),
        asked(people[2], setup.event_id, people[3]),
    ]
    accepters = [people[1], people[3]]

    def work(index):
        call = _client_for(app, accepters[index])
        response = call(
            "POST", f"/v1/meeting-requests/{requests[index]['id']}/accept", {"slot": SLOT_1200}
        )
        return response.status_code, (response.get_json() or {}).get("reason")

    results = sorted(run_at_once(2, work), key=str)
    assert results == [(200, None), (409, "no_spot_free")], results
    assert active_meetings(engine, event_id=uuid.UUID(setup.event_id)) == 1


@pytest.mark.parametrize("round_", range(3))
def test_one_person_accepting_two_requests_for_one_slot_books_one(app, engine, round_):
    client = app.test_client()
    setup = meeting_event(client, spots=(5,))
    bob = attendee(client, setup.event_id)
    askers = [attendee(client, setup.event_id) for _ in range(3)]
    requests = [asked(asker, setup.event_id, bob) for asker in askers]

    def work(index):
        call = _client_for(app, bob)
        response = call(
            "POST", f"/v1/meeting-requests/{requests[index]['id']}/accept", {"slot": SLOT_1200}
        )
        return response.status_code, (response.get_json() or {}).get("reason")

    results = sorted(run_at_once(3, work), key=str)
    assert results == [(200, None), (409, "slot_taken"), (409, "slot_taken")], results
    with engine.connect() as conn:
        held = conn.scalar(
            select(func.count())
            .select_from(MeetingParticipant)
            .where(MeetingParticipant.user_id == uuid.UUID(bob.id), MeetingParticipant.active)
        )
    assert held == 1
    assert active_meetings(engine, event_id=uuid.UUID(setup.event_id)) == 1


def test_parallel_accepts_of_one_request_book_it_once(app, engine):
    client = app.test_client()
    setup = meeting_event(client, spots=(5,))
    alice, bob = (attendee(client, setup.event_id) for _ in range(2))
    request = asked(alice, setup.event_id, bob)

    def work(_index):
        response = _client_for(app, bob)(
            "POST", f"/v1/meeting-requests/{request['id']}/accept", {"slot": SLOT_1200}
        )
        return response.status_code

    assert sorted(run_at_once(4, work)) == [200, 409, 409, 409]
    assert active_meetings(engine, request_id=uuid.UUID(request["id"])) == 1


def _pending(engine, column, person) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(column).where(Registration.id == uuid.UUID(person.registration["id"]))
        )


def test_parallel_requests_stop_exactly_at_the_sender_cap(app, engine):
    client = app.test_client()
    setup = meeting_event(client)
    alice = attendee(client, setup.event_id)
    others = [attendee(client, setup.event_id) for _ in range(SENDER_PENDING_CAP + 4)]
    for other in others[: SENDER_PENDING_CAP - 2]:
        asked(alice, setup.event_id, other)
    rest = others[SENDER_PENDING_CAP - 2 :]

    def work(index):
        response = _client_for(app, alice)(
            "POST",
            f"/v1/events/{setup.event_id}/meeting-requests",
            {"to_user_id": rest[index].id, "slots": [SLOT_1200], "message": "Hi!", "kind": "offer"},
        )
        return response.status_code

    assert sorted(run_at_once(len(rest), work)) == [201, 201] + [429] * (len(rest) - 2)
    assert _pending(engine, Registration.pending_requests_out, alice) == SENDER_PENDING_CAP
    with engine.connect() as conn:
        made = conn.scalar(
            select(func.count()).where(MeetingRequest.from_user_id == uuid.UUID(alice.id))
        )
    assert made == SENDER_PENDING_CAP


def test_parallel_requests_stop_exactly_at_the_recipient_cap(app, engine):
    client = app.test_client()
    setup = meeting_event(client)
    speaker = attendee(client, setup.event_id)
    fans = [attendee(client, setup.event_id) for _ in range(RECIPIENT_PENDING_CAP + 3)]
    for fan in fans[: RECIPIENT_PENDING_CAP - 1]:
        asked(fan, setup.event_id, speaker)
    rest = fans[RECIPIENT_PENDING_CAP - 1 :]

    def work(index):
        response = _client_for(app, rest[index])(
            "POST",
            f"/v1/events/{setup.event_id}/meeting-requests",
            {"to_user_id": speaker.id, "slots": [SLOT_1200], "message": "Hi!", "kind": "ask"},
        )
        return response.status_code

    assert sorted(run_at_once(len(rest), work)) == [201] + [429] * (len(rest) - 1)
    assert _pending(engine, Registration.pending_requests_in, speaker) == RECIPIENT_PENDING_CAP


def test_two_people_requesting_each_other_at_once_both_succeed(app, engine):
    client = app.test_client()
    setup = meeting_event(client)
    pairs = [(attendee(client, setup.event_id), attendee(client, setup.event_id)) for _ in range(3)]
    jobs = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]

    def work(index):
        sender, recipient = jobs[index]
        response = _client_for(app, sender)(
            "POST",
            f"/v1/events/{setup.event_id}/meeting-requests",
            {"to_user_id": recipient.id, "slots": [SLOT_1200], "message": "Hi!", "kind": "offer"},
        )
        return response.status_code

    assert run_at_once(len(jobs), work) == [201] * len(jobs)
