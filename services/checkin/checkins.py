"""Door and session check-in by badge scan.

Shaped after pretix's check-in service: the registration row is locked first, a replayed
`client_scan_id` returns the answer it got the first time, each stored scan is one immutable
row (entry or exit), and refusals carry stable reasons. The derived presence (`Attendance`) is
updated in the same transaction, so concurrent scans of one badge serialize on the lock and
exactly one of them creates the check-in.

Kept as one module (about 600 lines) on purpose: a single door scan and an offline batch are the
same code path (`CheckInBatch`: decide in memory, write per table), and splitting the decision
from the writes would put one transaction's invariants in two files.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, String, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.db import retrying_transient_conflicts
from services.core.errors import (
    InvalidInput,
    NotCheckedIn,
    NotFound,
    OutsideCheckInWindow,
    PermissionDenied,
    ScanIdReused,
    UndoWindowPassed,
)
from services.core.formatting import to_iso
from services.core.models import (
    DOOR,
    Attendance,
    CheckIn,
    EventSession,
    Registration,
    ScanReceipt,
    User,
)
from services.core.pagination import oldest_first_page
from services.events import badges, events
from services.events.events import EventColumns

ENTRY = "entry"
EXIT = "exit"
WINDOW_OPENS_BEFORE_START = timedelta(hours=2)
MAX_CLOCK_SKEW = timedelta(minutes=5)
UNDO_WINDOW = timedelta(minutes=15)


# The statements of the scan path, built once: composing a statement costs about as much as
# running it, and a door scan runs several. Writes are Core statements over the tables, so a
# batch of scans stores each kind of row with one executemany.
_RECEIPT = select(ScanReceipt).where(
    ScanReceipt.scanner_id == bindparam("scanner_id"),
    ScanReceipt.client_scan_id == bindparam("client_scan_id"),
)
_PRESENCES = select(
    Attendance.id,
    Attendance.event_id,
    Attendance.registration_id,
    Attendance.session_id,
    Attendance.place,
    Attendance.first_checked_in_at,
    Attendance.first_check_in_id,
    Attendance.inside,
    Attendance.last_scanned_at,
).where(Attendance.registration_id.in_(bindparam("registration_ids", expanding=True)))
_SESSION_EVENTS = select(EventSession.id, EventSession.event_id).where(
    EventSession.id.in_(bindparam("session_ids", expanding=True))
)
_CHECK_INS = CheckIn.__table__
_ATTENDANCES = Attendance.__table__
_INSERT_CHECK_IN = insert(_CHECK_INS)
_INSERT_ATTENDANCE = insert(_ATTENDANCES)
_INSERT_RECEIPT = insert(ScanReceipt.__table__)
# Earliest scan wins: a late offline scan moves the first check-in back.
_MOVE_CHECK_IN = (
    update(_CHECK_INS)
    .where(_CHECK_INS.c.id == bindparam("check_in_id"))
    .values(
        scanned_at=bindparam("moved_to"),
        device_id=func.coalesce(bindparam("moved_by_device", type_=String), _CHECK_INS.c.device_id),
        updated_at=bindparam("moved_at"),
    )
)
_UPDATE_ATTENDANCE = (
    update(_ATTENDANCES)
    .where(_ATTENDANCES.c.id == bindparam("attendance_id"))
    .values(
        first_checked_in_at=bindparam("new_first_checked_in_at"),
        first_check_in_id=bindparam("new_first_check_in_id"),
        inside=bindparam("new_inside"),
        last_scanned_at=bindparam("new_last_scanned_at"),
    )
)
# The stats' door flag on the (already locked) registration.
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

    def apply() -> ScanResult:
        # Only a scan with a client_scan_id has a receipt to look for (and a fingerprint,
        # a JSON dump and a digest, to compute).
        if scan.client_scan_id:
            fingerprint = scan.fingerprint("check_in", event_id)
            replayed = replay_receipt(session, scanner, scan.client_scan_id, fingerprint)
            if replayed is not None:
                return replayed
        batch = CheckInBatch(session, scanner, now)
        batch.lock([scan])
        result = batch.apply(event, scan)
        batch.write()
        return result

    return commit_or_replay(session, scanner, scan, "check_in", event_id, apply)


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
    return with_attendees(session, [body])[0]


def with_attendees(session: Session, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored answers with the attendees' names read live (one query): receipts keep no one's
    name, so erasing an account leaves nothing personal behind in them."""
    ids = {uuid.UUID(body["registration_id"]) for body in bodies if "registration_id" in body}
    if not ids:
        return bodies
    names = {
        str(registration_id): name
        for registration_id, name in session.execute(
            select(Registration.id, User.display_name)
            .join(User, User.id == Registration.user_id)
            .where(Registration.id.in_(ids))
        )
    }
    return [
        {**body, "attendee": {"display_name": names.get(body["registration_id"])}}
        if "registration_id" in body
        else body
        for body in bodies
    ]


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
        session.execute(
            _INSERT_RECEIPT,
            [_receipt_values(scanner, client_scan_id, kind, fingerprint, result, now)],
        )


def _receipt_values(
    scanner: User,
    client_scan_id: str,
    kind: str,
    fingerprint: str,
    result: ScanResult,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "scanner_id": scanner.id,
        "client_scan_id": client_scan_id,
        "kind": kind,
        "fingerprint": fingerprint,
        "created": result.created,
        "result": {k: v for k, v in result.body.items() if k != "attendee"},
        "created_at": now,
    }


@dataclass
class _Presence:
    """A registration's presence at one place (an `attendances` row), as a batch sees it."""

    values: dict[str, Any]
    stored: bool  # False: the batch creates the row
    changed: bool = False


class CheckInBatch:
    """Check-in scans decided in memory against rows read once, then stored with one statement
    per kind of write. A single scan is a batch of one; an offline sync batch is up to 500.

    `lock` takes the row locks of every registration the scans name, in id order, then reads
    their presences: after the locks, so it sees what the scans before ours committed. `apply`
    decides one scan, in the caller's order, and raises a refusal before recording anything,
    so a refused scan needs no savepoint to undo. `write` stores what the applied scans decided.
    """

    def __init__(self, session: Session, scanner: User, now: datetime) -> None:
        # Core statements go straight to the transaction's connection: through the ORM
        # session each would cost about as much again in Python.
        self._connection = session.connection()
        self._scanner = scanner
        self._now = now
        self._registrations: dict[str, Row] = {}
        self._session_events: dict[uuid.UUID, uuid.UUID] = {}
        self._presences: dict[tuple[uuid.UUID, str], _Presence] = {}
        self._new_check_ins: dict[uuid.UUID, dict[str, Any]] = {}
        self._moved_check_ins: dict[uuid.UUID, dict[str, Any]] = {}
        self._checked_in_at_door: list[uuid.UUID] = []
        self._receipts: list[dict[str, Any]] = []

    def lock(self, scans: list[BadgeScan]) -> None:
        connection = self._connection
        self._registrations = badges.lock_scanned_registrations(
            connection, [scan.badge for scan in scans]
        )
        registration_ids = {row.registration_id for row in self._registrations.values()}
        if registration_ids:
            for row in connection.execute(_PRESENCES, {"registration_ids": list(registration_ids)}):
                values = row._asdict()
                self._presences[(values["registration_id"], values["place"])] = _Presence(
                    values, stored=True
                )
        session_ids = {scan.session_id for scan in scans if scan.session_id is not None}
        if session_ids:
            self._session_events = dict(
                connection.execute(_SESSION_EVENTS, {"session_ids": list(session_ids)}).all()
            )

    def apply(self, event: EventColumns, scan: BadgeScan) -> ScanResult:
        """One scan's answer; raises its refusal (a DomainError) having changed nothing."""
        scanned_at = scan.scanned_at or self._now
        if scanned_at > self._now + MAX_CLOCK_SKEW:
            raise InvalidInput(
                "scanned_at is in the future",
                errors={"scanned_at": ["Must not be more than 5 minutes ahead."]},
            )
        if scan.direction not in (ENTRY, EXIT):
            raise InvalidInput(errors={"direction": ["Must be entry or exit."]})
        place = DOOR
        if scan.session_id is not None:
            if self._session_events.get(scan.session_id) != event.id:
                raise InvalidInput(
                    "No such session at this event",
                    errors={"session_id": ["No such session at this event."]},
                )
            place = str(scan.session_id)
        registration = badges.scanned_registration(self._registrations, scan.badge, event.id)
        if not (event.starts_at - WINDOW_OPENS_BEFORE_START <= scanned_at <= event.ends_at):
            raise OutsideCheckInWindow(
                window_opens_at=to_iso(event.starts_at - WINDOW_OPENS_BEFORE_START),
                window_closes_at=to_iso(event.ends_at),
            )

        presence = self._presences.get((registration.registration_id, place))
        if scan.direction == ENTRY:
            result = self._enter(event, registration, presence, scan, place, scanned_at)
        else:
            result = self._exit(event, registration, presence, scan, place, scanned_at)
        if scan.client_scan_id:
            fingerprint = scan.fingerprint("check_in", event.id)
            self._receipts.append(
                _receipt_values(
                    self._scanner, scan.client_scan_id, "check_in", fingerprint, result, self._now
                )
            )
        return result

    def write(self) -> None:
        """Store what the applied scans decided (check-ins first: presences point at them)."""
        writes = (
            (_INSERT_CHECK_IN, list(self._new_check_ins.values())),
            (_MOVE_CHECK_IN, list(self._moved_check_ins.values())),
            (_INSERT_ATTENDANCE, [p.values for p in self._presences.values() if not p.stored]),
            (
                _UPDATE_ATTENDANCE,
                [
                    {
                        "attendance_id": p.values["id"],
                        "new_first_checked_in_at": p.values["first_checked_in_at"],
                        "new_first_check_in_id": p.values["first_check_in_id"],
                        "new_inside": p.values["inside"],
                        "new_last_scanned_at": p.values["last_scanned_at"],
                    }
                    for p in self._presences.values()
                    if p.stored and p.changed
                ],
            ),
            (
                _SET_CHECKED_IN_AT_DOOR,
                [{"registration_id": id_, "checked_in": True} for id_ in self._checked_in_at_door],
            ),
            (_INSERT_RECEIPT, self._receipts),
        )
        for statement, rows in writes:
            if rows:
                self._connection.execute(statement, rows)

    def _enter(
        self,
        event: EventColumns,
        registration: Row,
        presence: _Presence | None,
        scan: BadgeScan,
        place: str,
        scanned_at: datetime,
    ) -> ScanResult:
        if presence is None:
            row = self._new_check_in(event, registration, scan, place, ENTRY, scanned_at)
            self._presences[(registration.registration_id, place)] = _Presence(
                {
                    "id": uuid.uuid4(),
                    "event_id": event.id,
                    "registration_id": registration.registration_id,
                    "session_id": scan.session_id,
                    "place": place,
                    "first_checked_in_at": scanned_at,
                    "first_check_in_id": row["id"],
                    "inside": True,
                    "last_scanned_at": scanned_at,
                },
                stored=False,
            )
            if place == DOOR:
                self._checked_in_at_door.append(registration.registration_id)
            return _answer("checked_in", registration, row, scanned_at)

        state = presence.values
        if scanned_at < state["first_checked_in_at"]:
            self._move_first_check_in(state["first_check_in_id"], scan.device_id, scanned_at)
            state["first_checked_in_at"] = scanned_at
            presence.changed = True
        if not state["inside"] and scanned_at > state["last_scanned_at"]:
            # Back in after a scanned exit: a new entry, so `inside_now` stays right.
            row = self._new_check_in(event, registration, scan, place, ENTRY, scanned_at)
            state["inside"] = True
            state["last_scanned_at"] = scanned_at
            presence.changed = True
            return _answer("checked_in", registration, row, state["first_checked_in_at"])
        return _unchanged(
            "already_checked_in",
            registration,
            state,
            scan,
            check_in_id=str(state["first_check_in_id"]),
        )

    def _exit(
        self,
        event: EventColumns,
        registration: Row,
        presence: _Presence | None,
        scan: BadgeScan,
        place: str,
        scanned_at: datetime,
    ) -> ScanResult:
        if presence is None:
            raise NotCheckedIn()
        state = presence.values
        if not state["inside"] or scanned_at < state["last_scanned_at"]:
            return _unchanged("already_checked_out", registration, state, scan)
        row = self._new_check_in(event, registration, scan, place, EXIT, scanned_at)
        state["inside"] = False
        state["last_scanned_at"] = scanned_at
        presence.changed = True
        return _answer("checked_out", registration, row, state["first_checked_in_at"])

    def _new_check_in(
        self,
        event: EventColumns,
        registration: Row,
        scan: BadgeScan,
        place: str,
        direction: str,
        scanned_at: datetime,
    ) -> dict[str, Any]:
        row = {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "registration_id": registration.registration_id,
            "session_id": scan.session_id,
            "place": place,
            "direction": direction,
            "scanned_at": scanned_at,
            "received_at": self._now,
            "updated_at": self._now,
            "device_id": scan.device_id,
            "scanned_by_id": self._scanner.id,
            "client_scan_id": scan.client_scan_id,
        }
        self._new_check_ins[row["id"]] = row
        return row

    def _move_first_check_in(
        self, check_in_id: uuid.UUID, device_id: str | None, scanned_at: datetime
    ) -> None:
        """The first check-in now happened at `scanned_at`, seen by `device_id` if it says."""
        pending = self._new_check_ins.get(check_in_id)
        if pending is not None:  # stored by this same batch
            pending["scanned_at"] = scanned_at
            pending["device_id"] = device_id or pending["device_id"]
            return
        moved = self._moved_check_ins.setdefault(
            check_in_id, {"check_in_id": check_in_id, "moved_by_device": None}
        )
        moved["moved_to"] = scanned_at
        moved["moved_by_device"] = device_id or moved["moved_by_device"]
        moved["moved_at"] = self._now


def _unchanged(
    status: str, registration: Row, state: dict[str, Any], scan: BadgeScan, **extra: str
) -> ScanResult:
    """The answer of a scan that stored nothing new (200)."""
    return ScanResult(
        False,
        {
            "status": status,
            "registration_id": str(registration.registration_id),
            **extra,
            "attendee": {"display_name": registration.display_name},
            "first_checked_in_at": to_iso(state["first_checked_in_at"]),
            "session_id": str(scan.session_id) if scan.session_id else None,
        },
    )


def _answer(
    status: str, registration: Row, row: dict[str, Any], first_checked_in_at: datetime
) -> ScanResult:
    return ScanResult(
        True,
        {
            "status": status,
            "check_in_id": str(row["id"]),
            "registration_id": str(registration.registration_id),
            "attendee": {"display_name": registration.display_name},
            "checked_in_at": to_iso(row["scanned_at"]),
            "first_checked_in_at": to_iso(first_checked_in_at),
            "scanned_at": to_iso(row["scanned_at"]),
            "received_at": to_iso(row["received_at"]),
            "direction": row["direction"],
            "session_id": str(row["session_id"]) if row["session_id"] else None,
            "device_id": row["device_id"],
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


@dataclass(frozen=True)
class UndoneScan:
    """A tombstone: a scan the device may hold, undone since it last synced."""

    check_in_id: uuid.UUID
    undone_at: datetime


@dataclass(frozen=True)
class ScanLogPage:
    items: list[CheckIn]
    undone: list[UndoneScan]
    next_cursor: str | None


def scan_log(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    limit: int,
    since: datetime | None = None,
    cursor: str | None = None,
) -> ScanLogPage:
    """Stored entry and exit scans changed after `since`, oldest change first.

    With `since`, scans undone after it come back too, as tombstones in `undone` (an undo sets
    `updated_at`), so a device drops what it holds; one page counts both kinds. Without
    `since` (a device's first sync), only live scans."""
    events.require_staff(session, event_id, actor)
    query = select(CheckIn).where(CheckIn.event_id == event_id)
    if since is None:
        query = query.where(CheckIn.undone_at.is_(None))
    else:
        query = query.where(CheckIn.updated_at > since)
    page = oldest_first_page(
        session, query, CheckIn.updated_at, CheckIn.id, limit=limit, cursor=cursor
    )
    return ScanLogPage(
        items=[row for row in page.items if row.undone_at is None],
        undone=[UndoneScan(row.id, row.undone_at) for row in page.items if row.undone_at],
        next_cursor=page.next_cursor,
    )


def _mark_checked_in_at_door(
    session: Session, registration_id: uuid.UUID, checked_in: bool
) -> None:
    session.execute(
        _SET_CHECKED_IN_AT_DOOR, {"registration_id": registration_id, "checked_in": checked_in}
    )
