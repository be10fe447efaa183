"""Bulk data for the concurrency tests and the benchmarks: many connected pairs and due
follow-ups, inserted directly (thousands of API calls would only measure the setup)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from services.core.models import Connection, Contact, FollowUp, FollowUpPlan, User


@dataclass
class Seeded:
    user_ids: list[uuid.UUID] = field(default_factory=list)
    # (sender's contact id, recipient's contact id, sender id, recipient id) per pair
    pairs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]] = field(default_factory=list)
    follow_up_ids: list[uuid.UUID] = field(default_factory=list)
    plan_ids: list[uuid.UUID] = field(default_factory=list)


def _user(now: datetime, label: str) -> dict:
    return {
        "id": uuid.uuid4(),
        "email": f"{label}-{uuid.uuid4().hex}@seed.test",
        "password_hash": "-",  # these accounts never log in
        "display_name": label,
        "timezone": "UTC",
        "quiet_hours_start": "21:00",
        "quiet_hours_end": "08:00",
        "share_email": False,
        "share_company": True,
        "share_title": True,
        "share_headline": True,
        "created_at": now,
        "profile_updated_at": now,
    }


def _side(connection_id, owner_id, other_id, now, *, other_wrote: bool) -> dict:
    return {
        "id": uuid.uuid4(),
        "connection_id": connection_id,
        "owner_id": owner_id,
        "other_id": other_id,
        "met_in_person": True,
        "met_at": now - timedelta(days=60),
        "version": 1,
        "created_at": now - timedelta(days=60),
        "updated_at": now - timedelta(days=60),
        "unanswered_streak": 0,
        "other_ever_wrote": other_wrote,
        "last_received_at": now - timedelta(days=30) if other_wrote else None,
        "sent_count": 0,
        "received_count": 1 if other_wrote else 0,
        "replies_received": 0,
        "asks_sent": 0,
        "offers_sent": 0,
        "asks_in_a_row": 0,
    }


def seed_pairs(
    engine: Engine,
    now: datetime,
    *,
    senders: int,
    recipients_per_sender: int,
    due_follow_ups: bool = True,
    as_plans: bool = False,
    recipients_wrote: bool = True,
) -> Seeded:
    """Pairs who wrote to each other once, a month ago, each with a follow-up due now.

    Nothing is cold and nothing unanswered, so the policy allows every follow-up: a delivery
    pass should send each exactly once. `as_plans` makes each a gentle plan (due thank_you,
    offer in 14 days) instead of a single follow-up. `recipients_wrote=False` makes every
    recipient a new contact for its sender (messages to them are cold).
    """
    seeded = Seeded()
    sender_rows = [_user(now, f"sender{i}") for i in range(senders)]
    recipient_rows = [_user(now, f"recipient{i}") for i in range(senders * recipients_per_sender)]
    connections, contacts, plans, follow_ups = [], [], [], []
    for index, recipient in enumerate(recipient_rows):
        sender = sender_rows[index // recipients_per_sender]
        first, second = sorted((sender["id"], recipient["id"]))
        connection_id = uuid.uuid4()
        connections.append(
            {
                "id": connection_id,
                "user_a_id": first,
                "user_b_id": second,
                "met_at": now - timedelta(days=60),
                "created_at": now - timedelta(days=60),
            }
        )
        mine = _side(
            connection_id, sender["id"], recipient["id"], now, other_wrote=recipients_wrote
        )
        theirs = _side(connection_id, recipient["id"], sender["id"], now, other_wrote=True)
        contacts += [mine, theirs]
        seeded.pairs.append((mine["id"], theirs["id"], sender["id"], recipient["id"]))
        if not due_follow_ups:
            continue
        plan_id = None
        steps = [(timedelta(0), "thank_you")]
        if as_plans:
            plan_id = uuid.uuid4()
            seeded.plan_ids.append(plan_id)
            steps.append((timedelta(days=14), "offer"))
            plans.append(
                {
                    "id": plan_id,
                    "owner_id": sender["id"],
                    "contact_id": mine["id"],
                    "cadence": "gentle",
                    "status": "active",
                    "start_at": now - timedelta(minutes=1),
                    "created_at": now - timedelta(minutes=1),
                    "updated_at": now - timedelta(minutes=1),
                }
            )
        for offset, kind in steps:
            follow_up_id = uuid.uuid4()
            if offset == timedelta(0):
                seeded.follow_up_ids.append(follow_up_id)
            due = now - timedelta(minutes=1) + offset
            follow_ups.append(
                {
                    "id": follow_up_id,
                    "owner_id": sender["id"],
                    "contact_id": mine["id"],
                    "recipient_id": recipient["id"],
                    "plan_id": plan_id,
                    "kind": kind,
                    "body": f"Seeded {kind}",
                    "send_at": due,
                    "deliver_at": due,
                    "status": "scheduled",
                    "requeued": False,
                    "created_at": now - timedelta(minutes=1),
                    "updated_at": now - timedelta(minutes=1),
                }
            )
    with Session(engine) as session:
        for model, rows in (
            (User, sender_rows + recipient_rows),
            (Connection, connections),
            (Contact, contacts),
            (FollowUpPlan, plans),
            (FollowUp, follow_ups),
        ):
            if rows:
                session.execute(insert(model), rows)
        session.commit()
    seeded.user_ids = [row["id"] for row in sender_rows + recipient_rows]
    return seeded


def delete_users(engine: Engine, user_ids: list[uuid.UUID]) -> None:
    """Remove committed test data: everything hangs off its users (ON DELETE CASCADE)."""
    with Session(engine) as session:
        for start in range(0, len(user_ids), 500):
            session.execute(delete(User).where(User.id.in_(user_ids[start : start + 500])))
        session.commit()
