"""Committed push test data in bulk: people, each with a device and a queued notification."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from services.core.models import Notification, PushDevice, User
from services.push.devices import token_hash


@dataclass
class SeededPushes:
    user_ids: list[uuid.UUID] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


def apns_token(index: int, salt: str = "") -> str:
    return (uuid.uuid5(uuid.NAMESPACE_OID, f"{salt}{index}").hex * 2)[:64]


def seed_pushes(
    engine: Engine, now: datetime, *, count: int, provider: str, salt: str = ""
) -> SeededPushes:
    """`count` people, each with one `provider` device and one due contact_exchanged."""
    seeded = SeededPushes()
    users, devices, notes = [], [], []
    platform = "ios" if provider == "apns" else "android"
    for index in range(count):
        user_id = uuid.uuid4()
        token = apns_token(index, salt) if provider == "apns" else f"fcm-{salt}-{index:08d}"
        users.append(
            {
                "id": user_id,
                "email": f"push-{user_id.hex}@example.test",
                "password_hash": "x",
                "display_name": f"Push {index}",
                "timezone": "UTC",
                "quiet_hours_start": "00:00",
                "quiet_hours_end": "00:00",  # none: the bench and tests run at any hour
                "created_at": now,
                "profile_updated_at": now,
            }
        )
        devices.append(
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "provider": provider,
                "platform": platform,
                "token": token,
                "token_hash": token_hash(token),
                "created_at": now,
                "updated_at": now,
            }
        )
        notes.append(
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "type": "contact_exchanged",
                "status": "queued",
                "collapsed_count": 1,
                "created_at": now,
                "due_at": now,
                "updated_at": now,
            }
        )
        seeded.user_ids.append(user_id)
        seeded.tokens.append(token)
    with Session(engine) as session:
        for model, rows in ((User, users), (PushDevice, devices), (Notification, notes)):
            for start in range(0, len(rows), 2000):
                session.execute(insert(model), rows[start : start + 2000])
        session.commit()
    return seeded
