"""Offline sync: a phone's queued scans (check-ins and contact exchanges) applied in one go.

A refused scan never undoes the others; its `client_scan_id` receipt makes a replayed batch
change nothing; the phone's `scanned_at` is the time that counts. The batch's check-ins are
one `CheckInBatch`: every registration they name is locked up front in id order (so two
devices syncing overlapping batches never deadlock each other), decided in memory, and stored
with one statement per table. A contact exchange runs in its own savepoint. A deadlock that
still happens, or a scan stored meanwhile by a twin request, runs the whole batch again, which
is safe because the batch is idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.checkin.checkins import (
    BadgeScan,
    CheckInBatch,
    ScanResult,
    replay_receipt,
    with_attendees,
)
from services.core.db import retrying_transient_conflicts
from services.core.errors import DomainError, ScanIdReused
from services.core.models import ScanReceipt, User
from services.events import events
from services.events.events import EventColumns
from services.networking import contacts

MAX_BATCH = 500
CHECK_IN = "check_in"
CONTACT = "contact"

EventCache = dict[tuple[str, uuid.UUID], EventColumns | DomainError]


@dataclass(frozen=True)
class QueuedScan:
    kind: str
    event_id: uuid.UUID
    scan: BadgeScan
    note: str | None = None


@dataclass(frozen=True)
class SyncOutcome:
    """One scan's answer: a result (possibly a replay), or the domain error that refused it."""

    queued: QueuedScan
    result: ScanResult | None = None
    error: DomainError | None = None


def sync_scans(
    session: Session, *, scanner: User, scans: list[QueuedScan], now: datetime
) -> list[SyncOutcome]:
    """Apply a batch; outcomes come back in the order of `scans`. Commits."""

    def transaction() -> list[SyncOutcome]:
        outcomes = _apply_batch(session, scanner, scans, now)
        session.commit()
        return outcomes

    # A twin request (same scanner, same client_scan_ids) may store one of our scans after we
    # read the receipts: its unique key then stops our commit, and the rerun replays it.
    return retrying_transient_conflicts(session, transaction, rerun_on_integrity_error=True)


def _apply_batch(
    session: Session, scanner: User, scans: list[QueuedScan], now: datetime
) -> list[SyncOutcome]:
    outcomes: list[SyncOutcome] = []
    event_cache: EventCache = {}
    receipts = _receipts(session, scanner, scans)
    check_ins = CheckInBatch(session, scanner, now)
    check_ins.lock(
        [
            queued.scan
            for queued in scans
            if queued.kind == CHECK_IN and queued.scan.client_scan_id not in receipts
        ]
    )
    for queued in scans:
        receipt = receipts.get(queued.scan.client_scan_id) if queued.scan.client_scan_id else None
        if receipt is not None:
            outcome = _replay(queued, receipt)
        else:
            outcome = _apply_one(session, scanner, queued, check_ins, event_cache, now)
            if queued.scan.client_scan_id and outcome.result is not None:
                receipts[queued.scan.client_scan_id] = _receipt_of(queued, outcome)
        outcomes.append(outcome)
    check_ins.write()
    return _with_attendees(session, outcomes)


def _receipts(session: Session, scanner: User, scans: list[QueuedScan]) -> dict[str, tuple]:
    """(fingerprint, created, body) by client_scan_id, for the batch's ids, in one query."""
    ids = {queued.scan.client_scan_id for queued in scans if queued.scan.client_scan_id}
    if not ids:
        return {}
    rows = session.execute(
        select(
            ScanReceipt.client_scan_id,
            ScanReceipt.fingerprint,
            ScanReceipt.created,
            ScanReceipt.result,
        ).where(ScanReceipt.scanner_id == scanner.id, ScanReceipt.client_scan_id.in_(ids))
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _receipt_of(queued: QueuedScan, outcome: SyncOutcome) -> tuple:
    fingerprint = queued.scan.fingerprint(queued.kind, queued.event_id)
    return (fingerprint, outcome.result.created, outcome.result.body)


def _replay(queued: QueuedScan, receipt: tuple) -> SyncOutcome:
    fingerprint, created, body = receipt
    if fingerprint != queued.scan.fingerprint(queued.kind, queued.event_id):
        return SyncOutcome(
            queued,
            error=ScanIdReused(errors={"client_scan_id": ["Already used for a different scan."]}),
        )
    return SyncOutcome(queued, result=ScanResult(created, body, replayed=True))


def _with_attendees(session: Session, outcomes: list[SyncOutcome]) -> list[SyncOutcome]:
    """Replayed check-ins get their attendee's name, read live for all of them in one query."""
    replayed = [
        i for i, outcome in enumerate(outcomes) if outcome.result and outcome.result.replayed
    ]
    bodies = with_attendees(session, [outcomes[i].result.body for i in replayed])
    for i, body in zip(replayed, bodies, strict=True):
        outcomes[i] = replace(outcomes[i], result=replace(outcomes[i].result, body=body))
    return outcomes


def _event_for(
    session: Session, scanner: User, queued: QueuedScan, cache: EventCache
) -> EventColumns:
    """The scan's event, checked once per batch for what this kind of scan needs."""
    key = (queued.kind, queued.event_id)
    if key not in cache:
        try:
            if queued.kind == CHECK_IN:
                cache[key] = events.require_staff(session, queued.event_id, scanner)[0]
            else:
                cache[key] = events.get_event(session, queued.event_id)
        except DomainError as error:
            cache[key] = error
    found = cache[key]
    if isinstance(found, DomainError):
        raise found
    return found


def _apply_one(
    session: Session,
    scanner: User,
    queued: QueuedScan,
    check_ins: CheckInBatch,
    cache: EventCache,
    now: datetime,
) -> SyncOutcome:
    try:
        event = _event_for(session, scanner, queued, cache)
        if queued.kind == CHECK_IN:
            return SyncOutcome(queued, result=check_ins.apply(event, queued.scan))
        with session.begin_nested():
            result = contacts.apply_exchange(
                session, scanner=scanner, event=event, scan=queued.scan, note=queued.note, now=now
            )
        return SyncOutcome(queued, result=result)
    except DomainError as error:
        return SyncOutcome(queued, error=error)
    except IntegrityError:
        # The same client_scan_id was committed meanwhile by another request: replay it.
        fingerprint = queued.scan.fingerprint(queued.kind, queued.event_id)
        replayed = replay_receipt(session, scanner, queued.scan.client_scan_id, fingerprint)
        if replayed is None:
            raise
        return SyncOutcome(queued, result=replayed)
