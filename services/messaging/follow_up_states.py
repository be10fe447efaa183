"""Follow-up and plan states, and cancelling what is still pending.

Shared by messaging (a reply cancels plans), contacts (remove and block) and the worker.
Pending items are cancelled with SKIP LOCKED: one a delivery worker holds right now is left to
the worker, which re-checks the pair (removed, blocked, muted) after taking its lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.models import Contact, FollowUp, FollowUpPlan

SCHEDULED = "scheduled"
SENT = "sent"
CANCELLED = "cancelled"
SKIPPED = "skipped"
PLAN_ACTIVE = "active"
PLAN_COMPLETED = "completed"
PLAN_CANCELLED = "cancelled"

NO_KEY_UPDATE = {
    "key_share": True
}  # FOR NO KEY UPDATE: doesn't hold up inserts referencing the row


def cancel_all_toward(session: Session, side: Contact | None, reason: str, now: datetime) -> int:
    """Cancel every pending follow-up (single or plan) of `side`'s owner to its other person."""
    if side is None:
        return 0
    cancel_plans(session, side, reason, now)
    return cancel_items(session, [FollowUp.contact_id == side.id], reason, now)


def cancel_plans(session: Session, side: Contact, reason: str, now: datetime) -> list:
    return list(
        session.scalars(
            update(FollowUpPlan)
            .where(FollowUpPlan.contact_id == side.id, FollowUpPlan.status == PLAN_ACTIVE)
            .values(status=PLAN_CANCELLED, status_reason=reason, updated_at=now)
            .returning(FollowUpPlan.id)
            # plans loaded in this session are not read afterwards; skip the ORM's bookkeeping
            .execution_options(synchronize_session=False)
        )
    )


def cancel_items(session: Session, item_filter: list, reason: str, now: datetime) -> int:
    items = session.scalars(
        select(FollowUp)
        .where(*item_filter, FollowUp.status == SCHEDULED)
        .with_for_update(skip_locked=True, **NO_KEY_UPDATE)
    ).all()
    for item in items:
        item.status = CANCELLED
        item.status_reason = reason
        item.updated_at = now
    return len(items)
