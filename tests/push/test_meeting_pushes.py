"""Meetings queue their pushes through the push outbox: request, acceptance, cancellation."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from services.core.models import Notification
from tests.meetings.meeting_support import SLOT_1230, accept, asked, attendee, meeting_event


def queued(db, person) -> list[Notification]:
    db.expire_all()
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.user_id == uuid.UUID(person.id))
            .where(Notification.type.like("meeting_%"))
            .order_by(Notification.created_at, Notification.id)
        )
    )


def test_a_request_its_acceptance_and_a_cancellation_each_notify_the_other_person(anon, db):
    setup = meeting_event(anon.client, spots=(1,))
    alice = attendee(anon.client, setup.event_id, name="Alice")
    bob = attendee(anon.client, setup.event_id, name="Bob")
    request = asked(alice, setup.event_id, bob, [SLOT_1230])
    (to_bob,) = queued(db, bob)
    assert (to_bob.type, str(to_bob.meeting_id), str(to_bob.actor_id)) == (
        "meeting_request",
        request["id"],
        alice.id,
    )
    meeting = accept(bob, request["id"], SLOT_1230).get_json()
    (to_alice,) = queued(db, alice)
    assert (to_alice.type, str(to_alice.meeting_id)) == ("meeting_accepted", meeting["id"])
    assert alice.delete(f"/v1/meetings/{meeting['id']}").status_code == 204
    assert sorted(n.type for n in queued(db, bob)) == ["meeting_cancelled", "meeting_request"]
    feed = bob.get("/v1/me/notifications").get_json()["items"]
    links = {item["data"]["deep_link"] for item in feed if item["type"].startswith("meeting_")}
    assert f"wellspring://meetings/{meeting['id']}" in links
