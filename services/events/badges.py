"""Badge codes, their QR images, rotation, and resolving a scanned badge."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from sqlalchemy import Connection, Row, bindparam, select, update
from sqlalchemy.orm import Session, contains_eager

from services.core.errors import (
    BadgeRevoked,
    NotFound,
    RegistrationCancelled,
    UnknownBadge,
    WrongEvent,
)
from services.core.models import BadgeCode, Event, Registration, User

_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


@dataclass(frozen=True)
class BadgeImage:
    content: bytes
    mimetype: str
    etag: str


def new_badge_code() -> str:
    """192 random bits, URL-safe base64 (32 characters)."""
    return secrets.token_urlsafe(24)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def badge_url(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/b/{code}"


def parse_scanned_badge(scanned: str) -> str | None:
    """The code inside what a phone read: a bare code, or any URL whose path ends in /b/<code>."""
    scanned = scanned.strip()
    if "/" in scanned:
        path = urlsplit(scanned).path if "://" in scanned else scanned
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or parts[-2] != "b":
            return None
        scanned = parts[-1]
    return scanned if _CODE_SHAPE.match(scanned) else None


def record_badge_code(
    session: Session, registration: Registration, code: str, now: datetime
) -> None:
    session.add(
        BadgeCode(registration_id=registration.id, code_hash=code_hash(code), issued_at=now)
    )


# Built once (composing a select costs about as much as running it): the badge, its
# registration and the registration's user, by the code's digest.
_BADGE = (
    select(BadgeCode, Registration)
    .join(Registration, Registration.id == BadgeCode.registration_id)
    .join(User, User.id == Registration.user_id)
    .options(contains_eager(Registration.user))
    .where(BadgeCode.code_hash == bindparam("code_hash"))
)


def resolve_badge(session: Session, scanned: str, event_id: uuid.UUID) -> Registration:
    """The live registration a scanned badge belongs to (its user loaded), or the reason it
    does not scan. (Check-ins lock many at once: `lock_scanned_registrations`.)

    The code is looked up by its SHA-256 digest through a unique index: the database compares
    digests, never the code, so lookup time says nothing about how much of a guess was right.
    """
    code = parse_scanned_badge(scanned)
    if code is None:
        raise UnknownBadge()
    row = session.execute(_BADGE, {"code_hash": code_hash(code)}).first()
    if row is None:
        raise UnknownBadge()
    badge, registration = row
    ensure_scannable(registration.event_id, registration.status, badge.revoked_at, event_id)
    return registration


@dataclass(frozen=True)
class BadgeHolder:
    """What a badge link page may show anyone holding the link: nothing more."""

    event_name: str
    display_name: str


_HOLDER = (
    select(Event.name, User.display_name)
    .select_from(BadgeCode)
    .join(Registration, Registration.id == BadgeCode.registration_id)
    .join(User, User.id == Registration.user_id)
    .join(Event, Event.id == Registration.event_id)
    .where(
        BadgeCode.code_hash == bindparam("code_hash"),
        BadgeCode.revoked_at.is_(None),
        Registration.status == "registered",
    )
)


def badge_holder(session: Session, code: str) -> BadgeHolder | None:
    """The event and holder's name behind a live badge code; None for an unknown, revoked or
    cancelled one (the caller cannot tell which)."""
    if not _CODE_SHAPE.match(code):
        return None
    row = session.execute(_HOLDER, {"code_hash": code_hash(code)}).first()
    return BadgeHolder(row.name, row.display_name) if row else None


def ensure_scannable(
    registration_event_id: uuid.UUID,
    registration_status: str,
    badge_revoked_at: datetime | None,
    event_id: uuid.UUID,
) -> None:
    """Refuse a badge found by its code that cannot be scanned in at `event_id`."""
    if registration_event_id != event_id:
        raise WrongEvent()
    if registration_status != "registered":
        raise RegistrationCancelled()
    if badge_revoked_at is not None:
        raise BadgeRevoked()


# Many badges at once, each with what a check-in answer needs. Sorted by registration so that
# the row locks are taken in id order: two offline batches naming the same people never wait
# on each other in a cycle. (PostgreSQL locks rows as the sort hands them over.)
_LOCK_SCANNED = (
    select(
        BadgeCode.code_hash,
        BadgeCode.revoked_at,
        Registration.id.label("registration_id"),
        Registration.event_id,
        Registration.status,
        User.display_name,
    )
    .join(Registration, Registration.id == BadgeCode.registration_id)
    .join(User, User.id == Registration.user_id)
    .where(BadgeCode.code_hash.in_(bindparam("code_hashes", expanding=True)))
    .order_by(Registration.id)
    .with_for_update(of=Registration)
)


def lock_scanned_registrations(connection: Connection, scanned: Iterable[str]) -> dict[str, Row]:
    """Row-lock the registrations behind what phones scanned, in one query; by the scanned
    text. A scan that names no badge is simply absent (`scanned_registration` refuses it)."""
    hash_of = {}
    for text in scanned:
        code = parse_scanned_badge(text)
        if code is not None:
            hash_of[text] = code_hash(code)
    if not hash_of:
        return {}
    rows = connection.execute(_LOCK_SCANNED, {"code_hashes": list(set(hash_of.values()))})
    by_hash = {row.code_hash: row for row in rows}
    return {text: by_hash[digest] for text, digest in hash_of.items() if digest in by_hash}


def scanned_registration(locked: dict[str, Row], scanned: str, event_id: uuid.UUID) -> Row:
    """The row `lock_scanned_registrations` found for a scan, or the reason it does not scan."""
    row = locked.get(scanned)
    if row is None:
        raise UnknownBadge()
    ensure_scannable(row.event_id, row.status, row.revoked_at, event_id)
    return row


def replace_code(session: Session, registration: Registration, now: datetime) -> None:
    """Issue a new code; the old one keeps answering `badge_revoked`."""
    if registration.status != "registered":
        raise RegistrationCancelled("A cancelled registration has no badge to rotate")
    session.execute(
        update(BadgeCode)
        .where(BadgeCode.registration_id == registration.id, BadgeCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    code = new_badge_code()
    registration.badge_code = code
    registration.badge_issued_at = now
    record_badge_code(session, registration, code, now)


def owned_registration(session: Session, owner: User, registration_id: uuid.UUID) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None or registration.user_id != owner.id:
        raise NotFound("No such registration")
    return registration


def render_badge(registration: Registration, public_base_url: str, fmt: str) -> BadgeImage:
    """The QR as PNG or SVG; the ETag changes exactly when the code does."""
    if registration.status != "registered":
        raise RegistrationCancelled("A cancelled registration has no badge")
    url = badge_url(public_base_url, registration.badge_code)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    buffer = io.BytesIO()
    if fmt == "svg":
        qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
        mimetype = "image/svg+xml"
    else:
        qr.make_image().save(buffer, format="PNG")
        mimetype = "image/png"
    etag = hashlib.sha256(f"{fmt}:{url}".encode()).hexdigest()[:32]
    return BadgeImage(buffer.getvalue(), mimetype, etag)
