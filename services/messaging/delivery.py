"""Delivering due follow-ups: the worker's follow-up step (`flask --app api deliver`).

Each due follow-up is claimed, checked and delivered in its own short transaction:

    SELECT … FROM follow_ups WHERE status = 'scheduled' AND deliver_at <= now
    ORDER BY deliver_at, id LIMIT 1 FOR UPDATE SKIP LOCKED

then the pair is locked, the whole policy decides again, and the message, the counters and the
follow-up's new status commit together. So a follow-up is delivered at most once, and one whose
worker died before committing is still `scheduled` (its lock went with the connection) and the
next pass picks it up: nothing is lost, nothing doubled. Concurrent workers skip each other's
rows instead of waiting. On SQLite, where SKIP LOCKED does not exist, every write transaction
begins with BEGIN IMMEDIATE (services/core/db.py), so a claim holds the database's write lock until
it commits: workers take turns, one follow-up at a time, with the same guarantees.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, lazyload, sessionmaker

from services.core.clock import Clock
from services.core.db import is_postgresql
from services.core.models import Contact, FollowUp, FollowUpPlan, User
from services.messaging.follow_up_states import CANCELLED, PLAN_ACTIVE, SCHEDULED, SENT, SKIPPED
from services.messaging.followups import delivery_time, settle_plan
from services.messaging.messaging import check_pair, lock_pair, write_message
from services.messaging.throttle import ThrottlePolicy

log = logging.getLogger("wellspring.delivery")

DELIVERED = "delivered"
REQUEUED = "requeued"
DEFERRED = "deferred"
CONTACT_REMOVED = "contact_removed"
BLOCKED = "blocked"


# A worker never makes an API request wait on it: on PostgreSQL it gives up a row lock it waited
# this long for (below the server's default deadlock_timeout of 1 s, so in a lock cycle with a
# request it is always the worker that yields) and retries the follow-up on the next pass.
LOCK_TIMEOUT = "500ms"
_LOCK_UNAVAILABLE = {"55P03", "40P01"}  # lock_not_available, deadlock_detected


@dataclass
class DeliveryReport:
    delivered: int = 0
    skipped: int = 0
    cancelled: int = 0
    requeued: int = 0  # refused for a time-based reason: tried once more at the time it lifts
    deferred: int = 0  # the recipient's quiet hours changed since scheduling: moved past them
    busy: int = 0  # its pair was locked longer than LOCK_TIMEOUT; left for the next pass
    failed: int = 0  # an unexpected error; left scheduled for the next pass

    @property
    def processed(self) -> int:
        return (
            self.delivered
            + self.skipped
            + self.cancelled
            + self.requeued
            + self.deferred
            + self.busy
            + self.failed
        )

    def count(self, outcome: str) -> None:
        """Add one to the field named like the outcome (delivered, skipped, cancelled …)."""
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class Claimed:
    """A due follow-up locked by this worker, with the sender's side and the recipient."""

    follow_up: FollowUp
    side: Contact
    recipient: User


def claim_next(
    session: Session, now: datetime, excluding: set[uuid.UUID] | None = None
) -> Claimed | None:
    """Lock the most overdue follow-up no other worker holds (one statement)."""
    query = (
        select(FollowUp, Contact, User)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .join(User, User.id == FollowUp.recipient_id)
        .options(lazyload(Contact.tags))
        .where(FollowUp.status == SCHEDULED, FollowUp.deliver_at <= now)
    )
    if excluding:
        query = query.where(FollowUp.id.not_in(excluding))
    row = session.execute(
        query.order_by(FollowUp.deliver_at, FollowUp.id)
        .limit(1)
        .with_for_update(of=FollowUp, skip_locked=True)
    ).first()
    return Claimed(*row) if row is not None else None


def _close(session: Session, item: FollowUp, status: str, reason: str, now: datetime) -> str:
    item.status, item.status_reason, item.updated_at = status, reason, now
    settle_plan(session, item.plan_id, now)
    return status


def deliver_follow_up(
    session: Session, claimed: Claimed, now: datetime, policy: ThrottlePolicy
) -> str:
    """Deliver one claimed follow-up, or say why not; the caller commits."""
    item, side, recipient = claimed.follow_up, claimed.side, claimed.recipient
    later = delivery_time(recipient, now)
    if later > now:
        item.deliver_at, item.updated_at = later, now
        return DEFERRED
    pair = lock_pair(session, side)
    if pair.mine.removed_at is not None:
        return _close(session, item, CANCELLED, CONTACT_REMOVED, now)
    if pair.blocked:
        return _close(session, item, SKIPPED, BLOCKED, now)
    if item.plan_id is not None:
        # Read after the pair lock: a reply that cancelled the plan has committed by now.
        plan = session.scalar(
            select(FollowUpPlan)
            .where(FollowUpPlan.id == item.plan_id)
            .execution_options(populate_existing=True)
        )
        if plan.status != PLAN_ACTIVE:
            return _close(session, item, CANCELLED, plan.status_reason or plan.status, now)
    decision, _state = check_pair(session, pair, now, policy)
    if not decision.allowed:
        if decision.next_allowed_at is not None and not item.requeued:
            item.requeued = True
            item.status_reason = decision.reason
            item.deliver_at = delivery_time(recipient, decision.next_allowed_at)
            item.updated_at = now
            return REQUEUED
        return _close(session, item, SKIPPED, decision.reason, now)
    message = write_message(session, pair, item.kind, item.body, now)
    item.message_id = message.id
    _close(session, item, SENT, None, now)
    return DELIVERED


def deliver_due_follow_ups(
    session_factory: sessionmaker[Session],
    clock: Clock,
    policy: ThrottlePolicy,
    *,
    batch: int = 500,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """One pass: up to `batch` due follow-ups, each in its own transaction."""
    report = DeliveryReport()
    passed_over: set[uuid.UUID] = set()  # busy or failed: not again in this pass
    while report.processed < batch and not (stop and stop.is_set()):
        with session_factory() as session:
            if is_postgresql(session.get_bind()):
                session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            now = clock.now()
            claimed = claim_next(session, now, passed_over)
            if claimed is None:
                break
            item_id = claimed.follow_up.id
            try:
                outcome = deliver_follow_up(session, claimed, now, policy)
                session.commit()
            except OperationalError as error:
                # Rolled back: still scheduled, tried again on the next pass.
                session.rollback()
                if getattr(error.orig, "sqlstate", None) not in _LOCK_UNAVAILABLE:
                    raise
                log.info("follow-up %s: its pair is busy, next pass", item_id)
                passed_over.add(item_id)
                outcome = "busy"
            except Exception:
                session.rollback()
                log.exception("delivering follow-up %s failed", item_id)
                passed_over.add(item_id)
                outcome = "failed"
        report.count(outcome)
    return report
