"""What push holds about a person, for the account export and erasure (services.accounts)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.core.formatting import to_iso
from services.core.models import Notification, NotificationSettings, PushDevice
from services.push.devices import settings_of
from services.push.dispatch import notification_data


def export_push_data(session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """My devices (not their tokens), my settings and the notifications addressed to me."""
    devices = session.scalars(
        select(PushDevice).where(PushDevice.user_id == user_id).order_by(PushDevice.created_at)
    )
    notifications = session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return {
        "devices": [
            {
                "id": str(d.id),
                "provider": d.provider,
                "platform": d.platform,
                "app_version": d.app_version,
                "locale": d.locale,
                "created_at": to_iso(d.created_at),
            }
            for d in devices
        ],
        "notification_settings": settings_of(session, user_id),
        "notifications": [
            {
                "id": str(n.id),
                "type": n.type,
                "status": n.status,
                "created_at": to_iso(n.created_at),
                "sent_at": to_iso(n.sent_at),
                "data": notification_data(n),
            }
            for n in notifications
        ],
    }


def erase_push_data(session: Session, user_id: uuid.UUID) -> None:
    """Erasure: no more pushes to the person, nothing of theirs in anyone's outbox (the text of
    their messages queued as previews goes too). The caller commits."""
    session.execute(delete(PushDevice).where(PushDevice.user_id == user_id))
    session.execute(delete(NotificationSettings).where(NotificationSettings.user_id == user_id))
    session.execute(delete(Notification).where(Notification.user_id == user_id))
    session.execute(
        update(Notification)
        .where(Notification.actor_id == user_id)
        .values(preview=None, title=None, payload=None)
    )
