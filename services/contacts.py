"""Contact exchange by badge scan, and each person's side of a connection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import badges, events
from services.checkins import MAX_CLOCK_SKEW, BadgeScan, ScanResult, replay_receipt, store_receipt
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.models import Connection, Contact, Event, User


class OwnBadge(InvalidInput):
    reason = "own_badge"
    title = "That is your own badge"


class NotRegisteredAtEvent(PermissionDenied):
    reason = "not_registered"
    title = "You are not registered for this event"


class Blocked(PermissionDenied):
    reason = "blocked"
    title = "You cannot connect with or message this person"


@dataclass(frozen=True)
class Exchange:
    created: bool
    contact: Contact


def ordered_pair(first: uuid.UUID, second: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (first, second) if first < second else (second, first)


def owned_contact(
    session: Session, owner: User, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    """The caller's own, not removed, side; anyone else's is a 404 (it is private)."""
    query = select(Contact).where(Contact.id == contact_id)
    if lock:
        query = query.with_for_update()
    contact = session.scalar(query)
    if contact is None or contact.owner_id != owner.id or contact.removed_at is not None:
        raise NotFound("No such contact")
    return contact


def counterpart(session: Session, contact: Contact, *, lock: bool = False) -> Contact | None:
    """The other person's side of the same connection (it may have been removed)."""
    query = select(Contact).where(
        Contact.owner_id == contact.other_id, Contact.other_id == contact.owner_id
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def connection_of(session: Session, contact: Contact, *, lock: bool = False) -> Connection:
    query = select(Connection).where(Connection.id == contact.connection_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _lock_or_create_connection(
    session: Session, scanner: User, other: User, event: Event, met_at: datetime, now: datetime
) -> tuple[Connection, bool]:
    user_a, user_b = ordered_pair(scanner.id, other.id)
    query = (
        select(Connection)
        .where(Connection.user_a_id == user_a, Connection.user_b_id == user_b)
        .with_for_update()
    )
    connection = session.scalar(query)
    if connection is not None:
        return connection, False
    connection = Connection(
        user_a_id=user_a,
        user_b_id=user_b,
        event_id=event.id,
        met_at=met_at,
        created_by_id=scanner.id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(connection)
    except IntegrityError:
        # The other person scanned us at the same moment and their row won: use it.
        return session.scalar(query), False
    return connection, True


def _side(
    session: Session,
    connection: Connection,
    owner: User,
    other: User,
    event: Event,
    met_at: datetime,
    now: datetime,
) -> tuple[Contact, bool]:
    contact = session.scalar(
        select(Contact).where(Contact.owner_id == owner.id, Contact.other_id == other.id)
    )
    if contact is not None:
        return contact, False
    contact = Contact(
        connection_id=connection.id,
        owner_id=owner.id,
        other_id=other.id,
        event_id=event.id,
        met_in_person=True,
        met_at=met_at,
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    session.flush()
    return contact, True


def apply_exchange(
    session: Session,
    *,
    scanner: User,
    event: Event,
    scan: BadgeScan,
    note: str | None,
    now: datetime,
) -> ScanResult:
    """Connect the scanner with the badge's owner, inside the caller's transaction."""
    fingerprint = scan.fingerprint("contact", event.id)
    replayed = replay_receipt(session, scanner, scan.client_scan_id, fingerprint)
    if replayed is not None:
        return replayed
    met_at = scan.scanned_at or now
    if met_at > now + MAX_CLOCK_SKEW:
        raise InvalidInput(
            "scanned_at is in the future",
            errors={"scanned_at": ["Must not be more than 5 minutes ahead."]},
        )
    if events.live_registration(session, event.id, scanner.id) is None:
        raise NotRegisteredAtEvent()
    registration = badges.resolve_badge(session, scan.badge, event.id)
    other = registration.user
    if other.id == scanner.id:
        raise OwnBadge(errors={"badge": ["You scanned your own badge."]})

    connection, _new = _lock_or_create_connection(session, scanner, other, event, met_at, now)
    if connection.blocked_at is not None:
        raise Blocked()
    mine, created = _side(session, connection, scanner, other, event, met_at, now)
    if mine.removed_at is not None:  # I removed them before; scanning again brings them back
        mine.removed_at = None
        mine.updated_at = now
        mine.version += 1
        created = True
    if _new:
        _side(session, connection, other, scanner, event, met_at, now)
    if note is not None and created:
        mine.note = note
    result = ScanResult(
        created,
        {"status": "connected" if created else "already_connected", "contact_id": str(mine.id)},
    )
    store_receipt(session, scanner, scan.client_scan_id, "contact", fingerprint, result, now)
    return result


def exchange_by_scan(
    session: Session,
    *,
    scanner: User,
    event_id: uuid.UUID,
    scan: BadgeScan,
    note: str | None,
    now: datetime,
) -> Exchange:
    """Scan another attendee's badge: one connection, a side for each person; commits."""
    event = events.get_event(session, event_id)
    try:
        result = apply_exchange(
            session, scanner=scanner, event=event, scan=scan, note=note, now=now
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        result = replay_receipt(
            session, scanner, scan.client_scan_id, scan.fingerprint("contact", event_id)
        )
        if result is None:
            raise
    contact = session.get(Contact, uuid.UUID(result.body["contact_id"]))
    return Exchange(result.created, contact)
