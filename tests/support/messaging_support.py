"""Helpers for messaging and follow-up tests: connect two people through the real exchange."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.checkin.checkins import BadgeScan
from services.core.models import Contact, User
from services.networking.contacts import exchange_by_scan
from tests.support import ApiCaller, new_event, new_user, register


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Pair:
    """Two connected people; `a_contact` is a's contact id for b, `b_contact` b's for a."""

    a: ApiCaller
    b: ApiCaller
    a_contact: str
    b_contact: str

    def send(self, sender: ApiCaller, body: str = "Hello", kind: str | None = None, **extra):
        contact = self.a_contact if sender is self.a else self.b_contact
        payload = {"body": body, **({"kind": kind} if kind else {}), **extra}
        return sender.post(f"/v1/contacts/{contact}/messages", json=payload)

    def contact_of(self, person: ApiCaller) -> str:
        return self.a_contact if person is self.a else self.b_contact


def connect(db: Session, a: ApiCaller, b: ApiCaller, now: datetime) -> Pair:
    """a scans b's badge at an event both attend (a organizes it, around `now`)."""
    event = new_event(
        a, starts_at=_iso(now - timedelta(hours=1)), ends_at=_iso(now + timedelta(hours=8))
    )
    register(a, event["id"])
    badge = register(b, event["id"])["badge_code"]
    scanner = db.get(User, uuid.UUID(a.id))
    exchange_by_scan(
        db,
        scanner=scanner,
        event_id=uuid.UUID(event["id"]),
        scan=BadgeScan(badge=badge),
        note=None,
        now=now,
    )
    return Pair(a, b, side_id(db, a.id, b.id), side_id(db, b.id, a.id))


def side_id(session: Session, owner_id: str, other_id: str) -> str:
    """The id of owner's contact for other (what URLs call contact_id)."""
    return str(
        session.scalar(
            select(Contact.id).where(
                Contact.owner_id == uuid.UUID(owner_id), Contact.other_id == uuid.UUID(other_id)
            )
        )
    )


def new_pair(db: Session, client, now: datetime, **b_profile) -> Pair:
    return connect(db, new_user(client), new_user(client, **b_profile), now)


def side(db: Session, contact_id: str) -> Contact:
    """A contact row as the database has it now (the session's copy refreshed)."""
    db.expire_all()
    return db.get(Contact, uuid.UUID(contact_id))


def messaging_ids(db: Session, owner: ApiCaller, now: datetime) -> dict[str, str]:
    """Path ids owned by `owner`: a contact, a message to them, a plan and a follow-up."""
    pair = connect(db, owner, new_user(owner.client), now)
    message = pair.send(pair.b, "Nice to meet you").get_json()
    plan = owner.post(
        f"/v1/contacts/{pair.a_contact}/follow-up-plans", json={"cadence": "gentle"}
    ).get_json()
    follow_up = owner.post(
        f"/v1/contacts/{pair.a_contact}/follow-ups",
        json={"send_at": _iso(now + timedelta(days=30)), "body": "Checking in"},
    ).get_json()
    return {
        "contact_id": pair.a_contact,
        "message_id": message["id"],
        "plan_id": plan["id"],
        "follow_up_id": follow_up["id"],
    }
