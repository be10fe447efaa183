"""Offline sync: a phone's queued scans (check-ins and contact exchanges) applied in one go.

Each scan runs in its own savepoint, so a refused scan never undoes the others; its
`client_scan_id` receipt makes a replayed batch change nothing; the phone's `scanned_at` is the
time that counts. Scans are applied grouped by the badge's registration (keeping their order
within a registration) so two devices syncing overlapping batches take row locks in the same
order; a deadlock that still happens is retried with the whole batch, which is safe because
the batch is idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import badges, contacts, events
from services.checkins import BadgeScan, ScanResult, apply_scan, replay_receipt, with_attendee
from services.db import retrying_transient_conflicts
from services.errors import DomainError, ScanIdReused
from services.models import BadgeCode, Event, ScanReceipt, User

MAX_BATCH = 500
CHECK_IN = "check_in"
CONTACT = "contact"

EventCache = dict[tuple[str, uuid.UUID], Event | DomainError]


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

    return retrying_transient_conflicts(session, transaction)


def _apply_batch(
    session: Session, scanner: User, scans: list[QueuedScan], now: datetime
) -> list[SyncOutcome]:
    outcomes: list[SyncOutcome | None] = [None] * len(scans)
    event_cache: EventCache = {}
    receipts = _receipts(session, scanner, scans)
    for index in _lock_order(session, scans):
        queued = scans[index]
        receipt = receipts.get(queued.scan.client_scan_id)
        if receipt is not None:
            outcomes[index] = _replay(session, queued, receipt)
        else:
            outcomes[index] = _apply_one(session, scanner, queued, event_cache, now)
            if queued.scan.client_scan_id and outcomes[index].result is not None:
                receipts[queued.scan.client_scan_id] = _receipt_of(queued, outcomes[index])
    return [o for o in outcomes if o is not None]


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


def _replay(session: Session, queued: QueuedScan, receipt: tuple) -> SyncOutcome:
    fingerprint, created, body = receipt
    if fingerprint != queued.scan.fingerprint(queued.kind, queued.event_id):
        return SyncOutcome(
            queued,
            error=ScanIdReused(errors={"client_scan_id": ["Already used for a different scan."]}),
        )
    return SyncOutcome(
        queued, result=ScanResult(created, with_attendee(session, body), replayed=True)
    )


def _lock_order(session: Session, scans: list[QueuedScan]) -> list[int]:
    """Indexes of `scans`, grouped by the registration each badge belongs to."""
    hashes = {}
    for index, queued in enumerate(scans):
        code = badges.parse_scanned_badge(queued.scan.badge)
        hashes[index] = badges.code_hash(code) if code else None
    wanted = {h for h in hashes.values() if h}
    registration_of = (
        dict(
            session.execute(
                select(BadgeCode.code_hash, BadgeCode.registration_id).where(
                    BadgeCode.code_hash.in_(wanted)
                )
            ).all()
        )
        if wanted
        else {}
    )
    return sorted(range(len(scans)), key=lambda i: (str(registration_of.get(hashes[i], "")), i))


def _event_for(session: Session, scanner: User, queued: QueuedScan, cache: EventCache) -> Event:
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
    cache: EventCache,
    now: datetime,
) -> SyncOutcome:
    kind_key = (queued.kind, queued.event_id)
    try:
        with session.begin_nested():
            event = _event_for(session, scanner, queued, cache)
            if queued.kind == CHECK_IN:
                result = apply_scan(
                    session,
                    scanner=scanner,
                    event=event,
                    scan=queued.scan,
                    now=now,
                    check_receipt=False,
                )
            else:
                result = contacts.apply_exchange(
                    session,
                    scanner=scanner,
                    event=event,
                    scan=queued.scan,
                    note=queued.note,
                    now=now,
                )
        return SyncOutcome(queued, result=result)
    except DomainError as error:
        return SyncOutcome(queued, error=error)
    except IntegrityError:
        # The same client_scan_id was committed meanwhile by another request: replay it.
        fingerprint = queued.scan.fingerprint(*kind_key)
        replayed = replay_receipt(session, scanner, queued.scan.client_scan_id, fingerprint)
        if replayed is None:
            raise
        return SyncOutcome(queued, result=replayed)
