"""Devices that receive pushes, and each person's notification settings."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.errors import InvalidInput, NotFound
from services.core.models import NotificationSettings, PushDevice, User
from services.push.allowlist import Allowlist, EndpointRefused
from services.push.providers import APNS, FCM, WEBPUSH

PLATFORMS = {APNS: ("ios",), FCM: ("android", "ios", "web"), WEBPUSH: ("web",)}
CATEGORIES = ("messages", "contacts", "invitations", "meetings")
SETTINGS = (*CATEGORIES, "previews")
DEFAULTS = {
    "messages": True,
    "contacts": True,
    "invitations": True,
    "meetings": True,
    "previews": False,
}


class PushEndpointNotAllowed(InvalidInput):
    reason = "push_endpoint_not_allowed"
    title = "Push endpoint not allowed"


@dataclass(frozen=True)
class Registered:
    device: PushDevice
    created: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_device(
    session: Session,
    user: User,
    *,
    provider: str,
    platform: str,
    token: str | None,
    subscription: dict[str, Any] | None,
    app_version: str | None,
    locale: str | None,
    session_id: uuid.UUID | None,
    allowlist: Allowlist,
    now: datetime,
) -> Registered:
    """Store a device for `user`; a token someone registered before moves to `user`. Commits."""
    if platform not in PLATFORMS.get(provider, ()):
        raise InvalidInput(
            "This platform does not use this provider",
            errors={"platform": [f"Must be one of {', '.join(PLATFORMS[provider])}."]},
        )
    p256dh = auth = None
    if provider == WEBPUSH:
        if not subscription or token:
            raise InvalidInput(
                "A webpush device is a subscription",
                errors={"subscription": ["Required for webpush (and no token)."]},
            )
        token = subscription["endpoint"]
        try:
            allowlist.check(token)
        except EndpointRefused as error:
            raise PushEndpointNotAllowed(
                f"This push endpoint is not allowed: {error}",
                errors={"subscription": ["endpoint: not an allowed push service."]},
            ) from None
        p256dh, auth = subscription["keys"]["p256dh"], subscription["keys"]["auth"]
    elif not token or subscription:
        raise InvalidInput(
            f"An {provider} device is a token",
            errors={"token": ["Required (and no subscription)."]},
        )
    digest = token_hash(token)
    fields = (provider, platform, token, digest, p256dh, auth, app_version, locale, session_id)
    try:
        return _store_device(session, user, *fields, now)
    except IntegrityError:  # the same token registered at the same moment: it exists now
        session.rollback()
        return _store_device(session, user, *fields, now)


def _store_device(
    session,
    user,
    provider,
    platform,
    token,
    digest,
    p256dh,
    auth,
    app_version,
    locale,
    session_id,
    now,
) -> Registered:
    device = session.scalar(
        select(PushDevice)
        .where(PushDevice.provider == provider, PushDevice.token_hash == digest)
        .with_for_update()
    )
    created = device is None
    if created:
        device = PushDevice(provider=provider, token=token, token_hash=digest, created_at=now)
        session.add(device)
    device.user_id = user.id  # one account per token: the newest registration owns it
    device.platform, device.p256dh, device.auth = platform, p256dh, auth
    device.app_version, device.locale, device.session_id = app_version, locale, session_id
    device.updated_at = now
    session.commit()
    return Registered(device, created)


def list_devices(session: Session, user: User) -> list[PushDevice]:
    return list(
        session.scalars(
            select(PushDevice)
            .where(PushDevice.user_id == user.id)
            .order_by(PushDevice.created_at, PushDevice.id)
        )
    )


def delete_device(session: Session, user: User, device_id: uuid.UUID) -> None:
    """Forget one of my devices (its queued pushes go with it); commits."""
    deleted = session.execute(
        delete(PushDevice).where(PushDevice.id == device_id, PushDevice.user_id == user.id)
    ).rowcount
    if not deleted:
        raise NotFound("No such device")
    session.commit()


def forget_session_devices(session: Session, session_id: uuid.UUID) -> int:
    """Delete the devices a session registered (it is signing out); the caller commits."""
    return session.execute(delete(PushDevice).where(PushDevice.session_id == session_id)).rowcount


def ensure_settings_rows(session: Session, user_ids: list[uuid.UUID], now: datetime) -> None:
    """Insert the default settings row of each person who has none (racing inserts are fine)."""
    if not user_ids:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(NotificationSettings)
        .values([{"user_id": uid, **DEFAULTS, "updated_at": now} for uid in user_ids])
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


def settings_of(session: Session, user_id: uuid.UUID) -> dict[str, bool]:
    row = session.get(NotificationSettings, user_id)
    if row is None:
        return dict(DEFAULTS)
    return {name: getattr(row, name) for name in SETTINGS}


def update_settings(
    session: Session, user: User, changes: dict[str, bool], now: datetime
) -> dict[str, bool]:
    """Change some settings (the rest keep their values); commits."""
    ensure_settings_rows(session, [user.id], now)
    row = session.scalar(
        select(NotificationSettings)
        .where(NotificationSettings.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for name, value in changes.items():
        if name in SETTINGS:
            setattr(row, name, bool(value))
    row.updated_at = now
    session.commit()
    return {name: getattr(row, name) for name in SETTINGS}
