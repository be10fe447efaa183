"""Door and session check-in by badge scan.

Shaped after pretix's check-in service: the registration row is locked first, a replayed
`client_scan_id` returns the answer it got the first time, each stored scan is one immutable
row (entry or exit), and refusals carry stable reasons. The derived presence (`Attendance`) is
updated in the same transaction, so concurrent scans of one badge serialize on the lock and
exactly one of them creates the check-in.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import badges, events
from services.db import retrying_transient_conflicts
from services.errors import (
    InvalidInput,
    NotCheckedIn,
    NotFound,
    OutsideCheckInWindow,
    PermissionDenied,
    ScanIdReused,
    UndoWindowPassed,
    to_iso,
)
from services.models import (
    DOOR,
    Attendance,
    CheckIn,
    Event,
    EventSession,
    Registration,
    ScanReceipt,
    User,
)
from services.pagination import (
    Page,
    oldest_first_page,
)

ENTRY = "entry"
EXIT = "exit"
WINDOW_OPENS_BEFORE_START = timedelta(hours=2)
MAX_CLOCK_SKEW = timedelta(minutes=5)
UNDO_WINDOW = timedelta(minutes=15)


# The statements of the scan path, built once: composing a select costs about as much as
# running it, and a door scan runs several.
_RECEIPT = select(ScanReceipt).where(
    ScanReceipt.scanner_id == bindparam("scanner_id"),
    ScanReceipt.client_scan_id == bindparam("client_scan_id"),
)
_ATTENDANCE = select(Attendance).where(
    Attendance.registration_id == bindparam("registration_id"),
    Attendance.place == bindparam("place"),
)
_INSERT_CHECK_IN = insert(CheckIn)
_INSERT_ATTENDANCE = insert(Attendance)
# The stats' door flag on the (already locked) registration; Core, so no ORM bookkeeping.
_SET_CHECKED_IN_AT_DOOR = (
    update(Registration.__table__)
    .where(Registration.__table__.c.id == bindparam("registration_id"))
    .values(checked_in_at_door=bindparam("checked_in"))
)


@dataclass(frozen=True)
class ScanResult:
    """What a scan answered: `created` says whether it stored something new (201 vs 200)."""

    created: bool
    body: dict[str, Any]
    replayed: bool = False  # answered from the receipt of an earlier identical scan


@dataclass(frozen=True)
class BadgeScan:
    badge: str
    scanned_at: datetime | None = None
    session_id: uuid.UUID | None = None
    direction: str = ENTRY
    device_id: str | None = None
    client_scan_id: str | None = None

    def fingerprint(self, kind: str, event_id: uuid.UUID) -> str:
        payload = {
            "kind": kind,
            "event_id": str(event_id),
            "badge": self.badge,
            "scanned_at": to_iso(self.scanned_at),
            "session_id": str(self.session_id) if self.session_id else None,
            "direction": self.direction,
            "device_id": self.device_id,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def scan_badge(
    session: Session, *, scanner: User, event_id: uuid.UUID, scan: BadgeScan, now: datetime
) -> ScanResult:
    """Check a badge in or out at the door or a session room; commits."""
    event, _role = events.require_staff(session, event_id, scanner)
    return commit_or_replay(
        session,
        scanner,
        scan,
        "check_in",
        event_id,
        lambda: apply_scan(session, scanner=scanner, event=event, scan=scan, now=now),
    )


def commit_or_replay(
    session: Session,
    scanner: User,
    scan: BadgeScan,
    kind: str,
    event_id: uuid.UUID,
    apply: Callable[[], ScanResult],
) -> ScanResult:
    """Apply a scan and commit. Only the receipt insert can collide: when the same
    client_scan_id committed meanwhile, answer what that scan answered. A deadlock (a
    connection's counters lock two registrations, which an offline batch may hold in
    another order) undoes everything, so the scan simply runs again."""

    def transaction() -> ScanResult:
        try:
            result = apply()
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            result = replay_receipt(
                session, scanner, scan.client_scan_id, scan.fingerprint(kind, event_id)
            )
            if result is None:
                raise
            return result

    return retrying_transient_conflicts(session, transaction)


def replay_receipt(
    session: Session, scanner: User, client_scan_id: str | None, fingerprint: str
) -> ScanResult | None:
    if not client_scan_id:
        return None
    receipt = session.scalar(_RECEIPT, {"scanner_id": scanner.id, "client_scan_id": client_scan_id})
    if receipt is None:
        return None
    if receipt.fingerprint != fingerprint:
        raise ScanIdReused(errors={"client_scan_id": ["Already used for a different scan."]})
    return ScanResult(receipt.created, with_attendee(session, receipt.result), replayed=True)


def with_attendee(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """A stored answer with the attendee's name read live: receipts keep no one's name, so
    erasing an account leaves nothing personal behind in them."""
    if "registration_id" not in body:
        return body
    name = session.scalar(
        select(User.display_name)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.id == uuid.UUID(body["registration_id"]))
    )
    return {**body, "attendee": {"display_name": name}}


def store_receipt(
    session: Session,
    scanner: User,
    client_scan_id: str | None,
    kind: str,
    fingerprint: str,
    result: ScanResult,
    now: datetime,
) -> None:
    if client_scan_id:
        session.add(
            ScanReceipt(
                scanner_id=scanner.id,
                client_scan_id=client_scan_id,
                kind=kind,
                fingerprint=fingerprint,
                created=result.created,
                result={k: v for k, v in result.body.items() if k != "attendee"},
                created_at=now,
            )
        )
        session.flush()


def apply_scan(
    session: Session,
    *,
    scanner: User,
    event: Event,
    scan: BadgeScan,
    now: datetime,
    check_receipt: bool = True,
) -> ScanResult:
    """The scan's effect inside the caller's transaction (the offline sync uses savepoints).

    `check_receipt=False` when the caller already looked the client_scan_id up (a sync batch
    fetches all its receipts in one query). Two identical scans racing each other both get
    here; the unique receipt makes the later one fail and replay the first one's answer.
    """
    fingerprint = scan.fingerprint("check_in", event.id)
    if check_receipt:
        replayed = replay_receipt(session, scanner, scan.client_scan_id, fingerprint)
        if replayed is not None:
            return replayed

    scanned_at = scan.scanned_at or now
    if scanned_at > now + MAX_CLOCK_SKEW:
        raise InvalidInput(
            "scanned_at is in the future",
            errors={"scanned_at": ["Must not be more than 5 minutes ahead."]},
        )
    if scan.direction not in (ENTRY, EXIT):
        raise InvalidInput(errors={"direction": ["Must be entry or exit."]})
    place = DOOR
    if scan.session_id is not None:
        event_session = session.get(EventSession, scan.session_id)
        if event_session is None or event_session.event_id != event.id:
            raise InvalidInput(
                "No such session at this event",
                errors={"session_id": ["No such session at this event."]},
            )
        place = str(scan.session_id)

    # Serialize every scan of this registration (the row lock is taken by the badge lookup
    # itself): the read-then-write below is safe under it.
    registration = badges.resolve_badge(session, scan.badge, event.id, lock=True)
    if not (event.starts_at - WINDOW_OPENS_BEFORE_START <= scanned_at <= event.ends_at):
        raise OutsideCheckInWindow(
            window_opens_at=to_iso(event.starts_at - WINDOW_OPENS_BEFORE_START),
            window_closes_at=to_iso(event.ends_at),
        )

    attendance = session.scalar(_ATTENDANCE, {"registration_id": registration.id, "place": place})
    if scan.direction == ENTRY:
        result = _enter(
            session, scanner, event, registration, attendance, scan, place, scanned_at, now
        )
    else:
        result = _exit(
            session, scanner, event, registration, attendance, scan, place, scanned_at, now
        )
    store_receipt(session, scanner, scan.client_scan_id, "check_in", fingerprint, result, now)
    return result


def _check_in_values(
    scanner: User,
    event: Event,
    registration: Registration,
    scan: BadgeScan,
    place: str,
    direction: str,
    scanned_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "event_id": event.id,
        "registration_id": registration.id,
        "session_id": scan.session_id,
        "place": place,
        "direction": direction,
        "scanned_at": scanned_at,
        "received_at": now,
        "updated_at": now,
        "device_id": scan.device_id,
        "scanned_by_id": scanner.id,
        "client_scan_id": scan.client_scan_id,
    }


def _new_row(*args: Any) -> CheckIn:
    return CheckIn(**_check_in_values(*args))


def _enter(
    session: Session,
    scanner: User,
    event: Event,
    registration: Registration,
    attendance: Attendance | None,
    scan: BadgeScan,
    place: str,
    scanned_at: datetime,
    now: datetime,
) -> ScanResult:
    if attendance is None:
        # The common case, kept lean: two plain INSERTs instead of a unit-of-work flush.
        values = _check_in_values(scanner, event, registration, scan, place, ENTRY, scanned_at, now)
        session.execute(_INSERT_CHECK_IN, [values])
        session.execute(
            _INSERT_ATTENDANCE,
            [
                {
                    "id": uuid.uuid4(),
                    "event_id": event.id,
                    "registration_id": registration.id,
                    "session_id": scan.session_id,
                    "place": place,
                    "first_checked_in_at": scanned_at,
                    "first_check_in_id": values["id"],
                    "inside": True,
                    "last_scanned_at": scanned_at,
                }
            ],
        )
        if place == DOOR:
            _mark_checked_in_at_door(session, registration.id, True)
        return _answer("checked_in", True, registration, CheckIn(**values), scanned_at)

    if scanned_at < attendance.first_checked_in_at:
        # Earliest scan wins: a late offline scan moves the first check-in back, no new row.
        first = session.get(CheckIn, attendance.first_check_in_id)
        first.scanned_at = scanned_at
        first.device_id = scan.device_id or first.device_id
        first.updated_at = now
        attendance.first_checked_in_at = scanned_at
    if not attendance.inside and scanned_at > attendance.last_scanned_at:
        # Back in after a scanned exit: a new entry, so `inside_now` stays right.
        row = _new_row(scanner, event, registration, scan, place, ENTRY, scanned_at, now)
        session.add(row)
        attendance.inside = True
        attendance.last_scanned_at = scanned_at
        return _answer("checked_in", True, registration, row, attendance.first_checked_in_at)
    return ScanResult(
        False,
        {
            "status": "already_checked_in",
            "registration_id": str(registration.id),
            "check_in_id": str(attendance.first_check_in_id),
            "attendee": {"display_name": registration.user.display_name},
            "first_checked_in_at": to_iso(attendance.first_checked_in_at),
            "session_id": str(scan.session_id) if scan.session_id else None,
        },
    )


def _exit(
    session: Session,
    scanner: User,
    event: Event,
    registration: Registration,
    attendance: Attendance | None,
    scan: BadgeScan,
    place: str,
    scanned_at: datetime,
    now: datetime,
) -> ScanResult:
    if attendance is None:
        raise NotCheckedIn()
    if not attendance.inside or scanned_at < attendance.last_scanned_at:
        return ScanResult(
            False,
            {
                "status": "already_checked_out",
                "registration_id": str(registration.id),
                "attendee": {"display_name": registration.user.display_name},
                "first_checked_in_at": to_iso(attendance.first_checked_in_at),
                "session_id": str(scan.session_id) if scan.session_id else None,
            },
        )
    row = _new_row(scanner, event, registration, scan, place, EXIT, scanned_at, now)
    session.add(row)
    attendance.inside = False
    attendance.last_scanned_at = scanned_at
    return _answer("checked_out", True, registration, row, attendance.first_checked_in_at)


def _answer(
    status: str,
    created: bool,
    registration: Registration,
    row: CheckIn,
    first_checked_in_at: datetime,
) -> ScanResult:
    return ScanResult(
        created,
        {
            "status": status,
            "check_in_id": str(row.id),
            "registration_id": str(registration.id),
            "attendee": {"display_name": registration.user.display_name},
            "checked_in_at": to_iso(row.scanned_at),
            "first_checked_in_at": to_iso(first_checked_in_at),
            "scanned_at": to_iso(row.scanned_at),
            "received_at": to_iso(row.received_at),
            "direction": row.direction,
            "session_id": str(row.session_id) if row.session_id else None,
            "device_id": row.device_id,
        },
    )


def undo_check_in(session: Session, actor: User, check_in_id: uuid.UUID, now: datetime) -> None:
    """Undo a mistaken scan: its scanner within 15 minutes, or an organizer at any time."""
    row = session.get(CheckIn, check_in_id)
    role = events.role_on_event(session, row.event_id, actor.id) if row else None
    if row is None or row.undone_at is not None or role is None:
        raise NotFound("No such check-in")
    if role != events.ORGANIZER:
        if row.scanned_by_id != actor.id:
            raise PermissionDenied("Only the staff member who scanned, or an organizer, may undo")
        if now - row.received_at > UNDO_WINDOW:
            raise UndoWindowPassed()
    session.execute(
        select(Registration.id).where(Registration.id == row.registration_id).with_for_update()
    )
    row.undone_at = now
    row.undone_by_id = actor.id
    row.updated_at = now
    session.flush()
    _recompute_attendance(session, row.registration_id, row.place, now)
    session.commit()


def _recompute_attendance(
    session: Session, registration_id: uuid.UUID, place: str, now: datetime
) -> None:
    attendance = session.scalar(
        select(Attendance).where(
            Attendance.registration_id == registration_id, Attendance.place == place
        )
    )
    rows = list(
        session.scalars(
            select(CheckIn)
            .where(
                CheckIn.registration_id == registration_id,
                CheckIn.place == place,
                CheckIn.undone_at.is_(None),
            )
            .order_by(CheckIn.scanned_at, CheckIn.received_at)
        )
    )
    entries = [r for r in rows if r.direction == ENTRY]
    if not entries:
        for leftover in rows:  # exits without any entry mean nothing on their own
            leftover.undone_at = now
            leftover.updated_at = now
        if attendance is not None:
            session.delete(attendance)
            if place == DOOR:
                _mark_checked_in_at_door(session, registration_id, False)
        return
    if attendance is None:
        return
    attendance.first_checked_in_at = entries[0].scanned_at
    attendance.first_check_in_id = entries[0].id
    attendance.inside = rows[-1].direction == ENTRY
    attendance.last_scanned_at = rows[-1].scanned_at


def scan_log(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    limit: int,
    since: datetime | None = None,
    cursor: str | None = None,
) -> Page[CheckIn]:
    """Stored entry and exit scans changed after `since`, oldest change first."""
    events.require_staff(session, event_id, actor)
    query = select(CheckIn).where(CheckIn.event_id == event_id, CheckIn.undone_at.is_(None))
    if since is not None:
        query = query.where(CheckIn.updated_at > since)
    return oldest_first_page(
        session, query, CheckIn.updated_at, CheckIn.id, limit=limit, cursor=cursor
    )


def _mark_checked_in_at_door(
    session: Session, registration_id: uuid.UUID, checked_in: bool
) -> None:
    session.execute(
        _SET_CHECKED_IN_AT_DOOR, {"registration_id": registration_id, "checked_in": checked_in}
    )
