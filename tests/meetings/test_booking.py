"""Accepting books a meeting at a free spot; cancelling frees it; a badge scan marks it held;
the stats count requests, acceptances and held meetings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.core.models import Contact, Registration
from tests.meetings.meeting_support import (
    SLOT_1200,
    SLOT_1230,
    accept,
    asked,
    attendee,
    meeting_event,
)
from tests.support import assert_problem


def meetings_of(person, **query) -> list[dict]:
    response = person.get("/v1/me/meetings", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def pending_counters(db, person) -> tuple[int, int]:
    registration = db.get(Registration, uuid.UUID(person.registration["id"]))
    db.refresh(registration)
    return registration.pending_requests_out, registration.pending_requests_in


def test_accept_books_the_slot_at_a_spot(anon, db):
    setup = meeting_event(anon.client, spots=(1,))
    alice = attendee(anon.client, setup.event_id, name="Alice")
    bob = attendee(anon.client, setup.event_id, name="Bob")
    request = asked(alice, setup.event_id, bob, [SLOT_1200, SLOT_1230])
    assert pending_counters(db, alice) == (1, 0) and pending_counters(db, bob) == (0, 1)
    response = accept(bob, request["id"], SLOT_1230)
    assert response.status_code == 200, response.get_json()
    meeting = response.get_json()
    assert meeting["starts_at"] == SLOT_1230
    assert meeting["ends_at"] == "2026-06-01T13:00:00Z"
    assert meeting["spot"]["name"] == "Table 1"
    assert meeting["with"] == {"user_id": alice.id, "display_name": "Alice"}
    assert meeting["status"] == "booked" and meeting["event_id"] == setup.event_id
    assert pending_counters(db, alice) == (0, 0) and pending_counters(db, bob) == (0, 0)
    [mine] = meetings_of(alice)
    assert mine["id"] == meeting["id"] and mine["with"]["display_name"] == "Bob"
    assert meetings_of(bob, event_id=setup.event_id)[0]["with"]["display_name"] == "Alice"
    [outgoing] = alice.get("/v1/me/meeting-requests?direction=outgoing").get_json()["items"]
    assert outgoing["status"] == "accepted"


def test_accept_takes_a_proposed_future_slot(anon, clock):
    setup = meeting_event(anon.client)
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    request = asked(alice, setup.event_id, bob, [SLOT_1200, SLOT_1230])
    assert_problem(accept(bob, request["id"], "2026-06-01T13:00:00Z"), 422, "invalid_slot")
    clock.set(datetime(2026, 6, 1, 12, 5, tzinfo=UTC))
    assert_problem(accept(bob, request["id"], SLOT_1200), 422, "invalid_slot")
    assert accept(bob, request["id"], SLOT_1230).status_code == 200


def test_a_busy_person_answers_slot_taken(anon):
    setup = meeting_event(anon.client, spots=(5,))
    alice, bob, carol = (attendee(anon.client, setup.event_id) for _ in range(3))
    first = asked(alice, setup.event_id, bob)
    second = asked(carol, setup.event_id, bob)
    third = asked(carol, setup.event_id, alice)
    assert accept(bob, first["id"]).status_code == 200
    assert_problem(accept(bob, second["id"]), 409, "slot_taken")  # bob is busy
    assert_problem(accept(alice, third["id"]), 409, "slot_taken")  # alice is busy
    # The requests stay pending: another slot can still be taken.
    assert accept(alice, asked_again(carol, setup, alice)["id"], SLOT_1230).status_code == 200


def asked_again(sender, setup, to):
    # carol's first request to alice is still pending: cancel it and propose 12:30.
    [pending] = [
        r
        for r in sender.get("/v1/me/meeting-requests?direction=outgoing&status=pending").get_json()[
            "items"
        ]
        if r["to_user_id"] == to.id
    ]
    assert sender.post(f"/v1/meeting-requests/{pending['id']}/cancel").status_code == 204
    return asked(sender, setup.event_id, to, [SLOT_1230])


def test_spots_fill_seat_by_seat_then_no_spot_free(anon):
    setup = meeting_event(anon.client, spots=(2, 1))
    people = [attendee(anon.client, setup.event_id) for _ in range(8)]
    requests = [asked(people[i], setup.event_id, people[i + 1]) for i in range(0, 8, 2)]
    spots = []
    for index, request in enumerate(requests[:3]):
        response = accept(people[2 * index + 1], request["id"])
        assert response.status_code == 200, response.get_json()
        spots.append(response.get_json()["spot"]["name"])
    assert spots == ["Table 1", "Table 1", "Table 2"]
    assert_problem(accept(people[7], requests[3]["id"]), 409, "no_spot_free")
    # Cancelling a meeting frees its seat.
    meeting_id = meetings_of(people[0])[0]["id"]
    assert people[0].delete(f"/v1/meetings/{meeting_id}").status_code == 204
    response = accept(people[7], requests[3]["id"])
    assert response.status_code == 200 and response.get_json()["spot"]["name"] == "Table 1"


def test_no_spots_at_all_is_no_spot_free(anon):
    setup = meeting_event(anon.client, spots=())
    alice, bob = (attendee(anon.client, setup.event_id) for _ in range(2))
    request = asked(alice, setup.event_id, bob)
    assert_problem(accept(bob, request["id"]), 409, "no_spot_free")


def test_either_side_cancels_and_both_see_it(anon):
    setup = meeting_event(anon.client)
    alice, bob, carol = (attendee(anon.client, setup.event_id) for _ in range(3))
    meeting = accept(bob, asked(alice, setup.event_id, bob)["id"]).get_json()
    assert_problem(carol.delete(f"/v1/meetings/{meeting['id']}"), 404)
    assert bob.delete(f"/v1/meetings/{meeting['id']}").status_code == 204
    assert bob.delete(f"/v1/meetings/{meeting['id']}").status_code == 204
    assert [m["status"] for m in meetings_of(alice)] == ["cancelled"]
    assert meetings_of(alice, status="booked") == []
    # Bob is free at 12:00 again.
    assert accept(bob, asked(carol, setup.event_id, bob)["id"]).status_code == 200


def scan(scanner, other, event_id, at: datetime, clock):
    clock.set(at)
    badge = other.registration["badge_code"]
    return scanner.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})


def test_a_scan_during_the_meeting_or_30_minutes_after_marks_it_held(anon, clock, db):
    setup = meeting_event(anon.client, spots=(2,))
    event_id = setup.event_id
    alice, bob, carol, dan = (attendee(anon.client, event_id) for _ in range(4))
    early = accept(bob, asked(alice, event_id, bob)["id"]).get_json()  # 12:00-12:30
    late = accept(dan, asked(carol, event_id, dan)["id"]).get_json()
    # Carol and Dan scan 31 minutes after their meeting ended: not held.
    assert (
        scan(dan, carol, event_id, datetime(2026, 6, 1, 13, 1, tzinfo=UTC), clock).status_code
        == 201
    )
    assert [m["status"] for m in meetings_of(carol)] == ["booked"]
    assert late["status"] == "booked"
    # Alice and Bob scan 30 minutes after the end: held, and the contact is met in person.
    assert (
        scan(alice, bob, event_id, datetime(2026, 6, 1, 13, 0, tzinfo=UTC), clock).status_code
        == 201
    )
    assert [m["status"] for m in meetings_of(bob)] == ["held"]
    contact = db.scalar(select(Contact).where(Contact.owner_id == uuid.UUID(alice.id)))
    assert contact.met_in_person is True
    assert_problem(alice.delete(f"/v1/meetings/{early['id']}"), 409, "meeting_held")


def test_a_rescan_of_existing_contacts_during_the_slot_marks_it_held(anon, clock):
    setup = meeting_event(anon.client)
    event_id = setup.event_id
    alice, bob = (attendee(anon.client, event_id) for _ in range(2))
    assert (
        scan(alice, bob, event_id, datetime(2026, 6, 1, 9, 30, tzinfo=UTC), clock).status_code
        == 201
    )
    clock.set(datetime(2026, 6, 1, 9, 31, tzinfo=UTC))
    accept(bob, asked(alice, event_id, bob)["id"])
    # Before the slot: nothing; during it: held (already connected answers 200).
    assert (
        scan(bob, alice, event_id, datetime(2026, 6, 1, 11, 59, tzinfo=UTC), clock).status_code
        == 200
    )
    assert meetings_of(alice)[0]["status"] == "booked"
    assert (
        scan(bob, alice, event_id, datetime(2026, 6, 1, 12, 10, tzinfo=UTC), clock).status_code
        == 200
    )
    assert meetings_of(alice)[0]["status"] == "held"


def test_stats_count_requests_acceptances_and_held_meetings(anon, clock):
    setup = meeting_event(anon.client, spots=(3,))
    event_id = setup.event_id
    people = [attendee(anon.client, event_id) for _ in range(6)]
    for person in people:
        setup.scan(person.registration["badge_code"])
    p = people
    r1 = asked(p[0], event_id, p[1])
    r2 = asked(p[2], event_id, p[3])
    r3 = asked(p[4], event_id, p[5])
    asked(p[0], event_id, p[5], [SLOT_1230])
    assert accept(p[1], r1["id"]).status_code == 200
    meeting = accept(p[3], r2["id"]).get_json()
    assert p[2].delete(f"/v1/meetings/{meeting['id']}").status_code == 204  # still "accepted"
    assert p[5].post(f"/v1/meeting-requests/{r3['id']}/decline").status_code == 204

    def networking():
        return setup.organizer.get(f"/v1/events/{event_id}/stats").get_json()["networking"]

    assert networking()["meetings"] is None  # nobody networked yet: suppressed
    start = datetime(2026, 6, 1, 12, 5, tzinfo=UTC)
    for index, (a, b) in enumerate([(0, 1), (2, 3), (4, 5), (1, 2), (3, 4)]):
        assert (
            scan(p[a], p[b], event_id, start + timedelta(minutes=index), clock).status_code == 201
        )
    assert networking()["meetings"] == {"requested": 4, "accepted": 2, "held": 1}


def test_erasing_an_account_withdraws_its_requests_and_meetings(anon, db):
    setup = meeting_event(anon.client, spots=(2,))
    alice, bob, carol = (attendee(anon.client, setup.event_id, offers=["go"]) for _ in range(3))
    meeting = accept(bob, asked(alice, setup.event_id, bob)["id"]).get_json()
    asked(alice, setup.event_id, carol, [SLOT_1230])
    assert pending_counters(db, carol) == (0, 1)
    assert alice.delete("/v1/me").status_code == 204
    assert [m["status"] for m in meetings_of(bob)] == ["cancelled"]
    assert pending_counters(db, carol) == (0, 0)
    [incoming] = carol.get("/v1/me/meeting-requests").get_json()["items"]
    assert incoming["status"] == "cancelled" and incoming["message"] == "[erased]"
    assert meeting["id"] == meetings_of(bob)[0]["id"]


def test_an_offline_scan_synced_later_marks_the_meeting_held_at_its_scan_time(anon, clock):
    setup = meeting_event(anon.client)
    event_id = setup.event_id
    alice, bob = (attendee(anon.client, event_id) for _ in range(2))
    accept(bob, asked(alice, event_id, bob)["id"])
    clock.set(datetime(2026, 6, 1, 15, 0, tzinfo=UTC))  # synced hours after the meeting
    item = {
        "client_scan_id": str(uuid.uuid4()),
        "kind": "contact",
        "event_id": event_id,
        "badge": bob.registration["badge_code"],
        "scanned_at": "2026-06-01T12:20:00Z",  # during the slot, on a phone without Wi-Fi
    }
    response = alice.post("/v1/sync/scans", json={"scans": [item]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"][0]["http_status"] == 201
    assert [m["status"] for m in meetings_of(alice)] == ["held"]


def test_requests_acceptances_and_cancellations_queue_pushes_declines_do_not(anon, db):
    from services.core.models import Notification

    setup = meeting_event(anon.client)
    alice, bob, carol = (attendee(anon.client, setup.event_id) for _ in range(3))

    def queued(person) -> list[tuple[str, str]]:
        rows = db.execute(
            select(Notification.type, Notification.meeting_id)
            .where(Notification.user_id == uuid.UUID(person.id), Notification.type.like("meeting%"))
            .order_by(Notification.created_at, Notification.type)
        ).all()
        return [(kind, str(meeting_id)) for kind, meeting_id in rows]

    request = asked(alice, setup.event_id, bob)
    assert queued(bob) == [("meeting_request", request["id"])]
    meeting = accept(bob, request["id"]).get_json()
    assert queued(alice) == [("meeting_accepted", meeting["id"])]
    assert alice.delete(f"/v1/meetings/{meeting['id']}").status_code == 204
    assert ("meeting_cancelled", meeting["id"]) in queued(bob)
    declined = asked(carol, setup.event_id, alice)
    assert alice.post(f"/v1/meeting-requests/{declined['id']}/decline").status_code == 204
    assert [kind for kind, _ in queued(carol)] == []


def test_the_export_holds_my_meeting_requests_meetings_and_feed(anon):
    setup = meeting_event(anon.client, spots=(1,))
    alice = attendee(anon.client, setup.event_id, name="Alice", offers=["rust"], seeks=["ml"])
    bob = attendee(anon.client, setup.event_id, name="Bob")
    carol = attendee(anon.client, setup.event_id, name="Carol")
    meeting = accept(bob, asked(alice, setup.event_id, bob)["id"]).get_json()
    declined = asked(carol, setup.event_id, alice, [SLOT_1230])
    assert alice.post(f"/v1/meeting-requests/{declined['id']}/decline").status_code == 204
    assert alice.post("/v1/me/calendar-token").status_code in (200, 201)
    export = alice.get("/v1/me/export").get_json()
    assert export["profile"]["offers"] == ["rust"] and export["profile"]["seeks"] == ["ml"]
    assert export["registrations"][0]["discoverable"] is True
    by_direction = {r["direction"]: r for r in export["meeting_requests"]}
    sent, received = by_direction["sent"], by_direction["received"]
    assert sent["direction"] == "sent" and sent["with"] == {
        "user_id": bob.id,
        "display_name": "Bob",
    }
    assert sent["status"] == "accepted" and sent["message"]
    assert received["direction"] == "received" and received["status"] == "declined"
    assert received["with"]["display_name"] == "Carol" and received["slots"] == [SLOT_1230]
    [booked] = export["meetings"]
    assert booked["id"] == meeting["id"] and booked["spot"] == "Table 1"
    assert booked["with"]["display_name"] == "Bob" and booked["starts_at"] == meeting["starts_at"]
    assert export["calendar_feed"]["created_at"]
    assert "token" not in str(export["calendar_feed"])
    # Bob's export shows the same meeting from his side; Carol has no feed.
    assert bob.get("/v1/me/export").get_json()["meetings"][0]["with"]["user_id"] == alice.id
    assert carol.get("/v1/me/export").get_json()["calendar_feed"] is None
