"""Scheduled follow-ups and cadence plans.

A follow-up is a message the owner writes now for later. Scheduling checks the pair's whole
schedule (the items already scheduled count as future sends, in time order) against
`awaiting_reply` and `min_gap`; the rolling caps are left to delivery, which checks everything
again (services/messaging/delivery.py). Delivery never lands in the recipient's quiet hours:
`deliver_at` is `send_at` moved to the end of them, computed in the recipient's time zone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core import timezones
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.models import Contact, FollowUp, FollowUpPlan, User
from services.core.pagination import Page, oldest_first_page
from services.messaging.follow_up_states import (
    CANCELLED,
    PLAN_ACTIVE,
    PLAN_CANCELLED,
    PLAN_COMPLETED,
    SCHEDULED,
)
from services.messaging.messaging import Pair, clean_body, side_state
from services.messaging.throttle import (
    PairState,
    PlannedSend,
    RecipientUnavailable,
    ScheduleAwaitingReply,
    ThrottlePolicy,
    check_schedule,
    earliest_slot,
    schedule_error,
)
from services.networking.contacts import Blocked, connection_of, counterpart, owned_contact

OWNER_CANCELLED = "owner_cancelled"
STATUSES = ("scheduled", "sent", "cancelled", "skipped")
CADENCES = ("gentle", "standard", "keep_warm")
MAX_CLOCK_SKEW = timedelta(minutes=5)  # a send_at this far in the past means "now"
HORIZON = timedelta(days=730)
KEEP_WARM_EVERY = timedelta(days=90)
# Pending follow-ups per contact at most: the policy keeps real schedules to a few items (more
# only fit inside a conversation), and validating one walks the pair's whole schedule.
MAX_PENDING_PER_CONTACT = 20

_FRESH = {"populate_existing": True}


@dataclass(frozen=True)
class PlanStep:
    offset: timedelta
    kind: str


# Each cadence's items, relative to its start. keep_warm repeats until the contact has left as
# many messages unanswered as the policy allows a contact who has written (3 by default).
PLAN_STEPS = {
    "gentle": (PlanStep(timedelta(0), "thank_you"), PlanStep(timedelta(days=14), "offer")),
    "standard": (PlanStep(timedelta(0), "thank_you"), PlanStep(timedelta(days=7), "offer")),
}
DEFAULT_BODIES = {
    "thank_you": "Thank you for the conversation - it was good to meet you.",
    "offer": "I came across something that might be useful for what you are working on; "
    "happy to share it or to help if I can.",
    "check_in": "Hi! It has been a while - how are things going on your side?",
}


class FollowUpNotScheduled(Conflict):
    reason = "follow_up_not_scheduled"
    title = "This follow-up was already sent, skipped or cancelled"


class TooManyPending(InvalidInput):
    reason = "too_many_follow_ups"
    title = f"At most {MAX_PENDING_PER_CONTACT} follow-ups can wait for one contact"


class ContactNeverWrote(InvalidInput):
    reason = "contact_never_wrote"
    title = "keep_warm is for contacts who have written to you at least once"


# Quiet hours ----------------------------------------------------------------------------------


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def delivery_time(recipient: User, instant: datetime) -> datetime:
    """`instant`, or the end of the recipient's quiet hours if it falls inside them.

    Computed on the recipient's wall clock, so it stays right across DST changes (an end time
    that a spring-forward skips is read with the offset before the change, i.e. slightly later).
    """
    start = _clock_time(recipient.quiet_hours_start)
    end = _clock_time(recipient.quiet_hours_end)
    if start == end:
        return instant
    zone = timezones.zone(recipient.timezone)
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if start < end:
        quiet, end_date = start <= wall < end, local.date()
    else:  # quiet hours span midnight (21:00-08:00)
        quiet = wall >= start or wall < end
        end_date = local.date() if wall < end else local.date() + timedelta(days=1)
    if not quiet:
        return instant
    return datetime.combine(end_date, end, tzinfo=zone).astimezone(UTC)


def fitted_delivery(
    recipient: User,
    state: PairState,
    scheduled: list[PlannedSend],
    not_before: datetime,
    policy: ThrottlePolicy,
) -> datetime | None:
    """The earliest delivery instant ≥ not_before that fits the schedule and the quiet hours."""
    candidate = delivery_time(recipient, not_before)
    for _ in range(10):  # each round moves forward; quiet hours and gaps settle in two or three
        slot = earliest_slot(state, scheduled, candidate, policy)
        if slot is None:
            return None
        shifted = delivery_time(recipient, slot)
        if shifted == slot:
            return slot
        candidate = shifted
    return None


# The pair's schedule ----------------------------------------------------------------------------


def pair_schedule(
    session: Session, side: Contact, *, excluding: uuid.UUID | None = None, adding: int = 0
) -> list[PlannedSend]:
    """The pair's pending follow-ups; refuses when `adding` more would be too many."""
    query = select(FollowUp.id, FollowUp.deliver_at).where(
        FollowUp.contact_id == side.id, FollowUp.status == SCHEDULED
    )
    if excluding is not None:
        query = query.where(FollowUp.id != excluding)
    scheduled = [PlannedSend(at, key) for key, at in session.execute(query)]
    if len(scheduled) + adding > MAX_PENDING_PER_CONTACT:
        raise TooManyPending()
    return scheduled


def _requested_time(send_at: datetime, now: datetime, field_name: str) -> datetime:
    if send_at < now - MAX_CLOCK_SKEW:
        raise InvalidInput(
            f"{field_name} is in the past", errors={field_name: ["Must not be in the past."]}
        )
    if send_at > now + HORIZON:
        raise InvalidInput(
            f"{field_name} is too far ahead",
            errors={field_name: ["Must be within two years from now."]},
        )
    return max(send_at, now)


def _schedulable_pair(session: Session, owner: User, contact_id: uuid.UUID) -> tuple[Contact, User]:
    """My side locked (it serializes schedule changes of this pair), checked, and the recipient."""
    side = owned_contact(session, owner, contact_id, lock=True)
    connection = connection_of(session, side)
    if connection.blocked_at is not None:
        raise Blocked()
    recipient = session.get(User, side.other_id)
    pair = Pair(connection, side, counterpart(session, side), recipient.deleted_at is not None)
    if pair.recipient_unavailable:
        raise RecipientUnavailable()
    return side, recipient


def _fit(
    recipient: User,
    side: Contact,
    scheduled: list[PlannedSend],
    deliver_at: datetime,
    policy: ThrottlePolicy,
) -> None:
    state = side_state(side)  # the rolling caps are checked at delivery
    problem = check_schedule(state, scheduled, deliver_at, policy)
    if problem is not None:
        earliest = fitted_delivery(recipient, state, scheduled, deliver_at, policy)
        raise schedule_error(problem, earliest)


def schedule_follow_up(
    session: Session,
    owner: User,
    contact_id: uuid.UUID,
    *,
    send_at: datetime,
    body: str,
    kind: str,
    now: datetime,
    policy: ThrottlePolicy,
) -> FollowUp:
    """Schedule one follow-up if the pair's schedule allows it; commits."""
    body = clean_body(body)
    requested = _requested_time(send_at, now, "send_at")
    side, recipient = _schedulable_pair(session, owner, contact_id)
    deliver_at = delivery_time(recipient, requested)
    _fit(recipient, side, pair_schedule(session, side, adding=1), deliver_at, policy)
    item = _scheduled_item(side, kind, body, requested, deliver_at, now)
    session.add(item)
    session.commit()
    return item


def _scheduled_item(
    side: Contact,
    kind: str,
    body: str,
    send_at: datetime,
    deliver_at: datetime,
    now: datetime,
    plan_id: uuid.UUID | None = None,
) -> FollowUp:
    return FollowUp(
        owner_id=side.owner_id,
        contact_id=side.id,
        recipient_id=side.other_id,
        plan_id=plan_id,
        kind=kind,
        body=body,
        send_at=send_at,
        deliver_at=deliver_at,
        status=SCHEDULED,
        requeued=False,
        created_at=now,
        updated_at=now,
    )


# Plans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    plan: FollowUpPlan
    follow_ups: list[FollowUp]

    def __getattr__(self, name):
        return getattr(self.plan, name)


def _plan_steps(cadence: str, policy: ThrottlePolicy) -> tuple[PlanStep, ...]:
    if cadence == "keep_warm":
        return tuple(
            PlanStep(KEEP_WARM_EVERY * i, "check_in") for i in range(policy.max_unanswered)
        )
    return PLAN_STEPS[cadence]


def create_plan(
    session: Session,
    owner: User,
    contact_id: uuid.UUID,
    *,
    cadence: str,
    start_at: datetime | None,
    bodies: list[str] | None,
    now: datetime,
    policy: ThrottlePolicy,
) -> PlanView:
    """Schedule a cadence's items so they comply by construction; commits.

    Items go at the cadence's offsets from the start, or later where the pair's schedule needs
    more room. Without `start_at` the plan starts at the earliest time that fits; a `start_at`
    that doesn't fit answers 422 with the earliest that does. keep_warm schedules as many
    check-ins as the unanswered limit leaves room for, and ends there.
    """
    steps = _plan_steps(cadence, policy)
    bodies = list(bodies or [])
    if len(bodies) > len(steps):
        raise InvalidInput(
            "More bodies than the plan has items",
            errors={"bodies": [f"At most {len(steps)} for {cadence}."]},
        )
    bodies = [clean_body(b, "bodies") if b is not None else None for b in bodies]
    requested = _requested_time(start_at, now, "start_at") if start_at is not None else now
    side, recipient = _schedulable_pair(session, owner, contact_id)
    if cadence == "keep_warm" and not side.other_ever_wrote:
        raise ContactNeverWrote(errors={"cadence": [ContactNeverWrote.title]})
    state = side_state(side)  # the rolling caps are checked at delivery
    scheduled = pair_schedule(session, side, adding=len(steps))
    if start_at is not None:
        _fit(recipient, side, scheduled, delivery_time(recipient, requested), policy)

    placed: list[tuple[PlanStep, datetime, datetime]] = []  # step, send_at, deliver_at
    for index, step in enumerate(steps):
        wanted = max(placed[0][1] + step.offset, placed[-1][2]) if placed else requested
        deliver_at = fitted_delivery(recipient, state, scheduled, wanted, policy)
        if deliver_at is None:
            break  # only a reply could make room for more
        # An item keeps the time the cadence asked for unless the schedule pushed it later.
        send_at = wanted if deliver_at == delivery_time(recipient, wanted) else deliver_at
        placed.append((step, send_at, deliver_at))
        scheduled = [*scheduled, PlannedSend(deliver_at, ("plan", index))]
    if not placed or (cadence != "keep_warm" and len(placed) < len(steps)):
        raise ScheduleAwaitingReply(earliest_allowed_at=None)

    plan = FollowUpPlan(
        owner_id=owner.id,
        contact_id=side.id,
        cadence=cadence,
        status=PLAN_ACTIVE,
        start_at=placed[0][1],
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    items = []
    for index, (step, send_at, deliver_at) in enumerate(placed):
        body = bodies[index] if index < len(bodies) and bodies[index] else None
        item = _scheduled_item(
            side, step.kind, body or DEFAULT_BODIES[step.kind], send_at, deliver_at, now, plan.id
        )
        session.add(item)
        items.append(item)
    session.commit()
    return PlanView(plan, items)


def _owned_plan(session: Session, owner: User, plan_id: uuid.UUID) -> FollowUpPlan:
    plan = session.get(FollowUpPlan, plan_id)
    if plan is None or plan.owner_id != owner.id:
        raise NotFound("No such follow-up plan")
    return plan


def _plan_items(session: Session, plan_id: uuid.UUID) -> list[FollowUp]:
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.plan_id == plan_id)
            .order_by(FollowUp.send_at, FollowUp.id)
        )
    )


def get_plan(session: Session, owner: User, plan_id: uuid.UUID) -> PlanView:
    plan = _owned_plan(session, owner, plan_id)
    return PlanView(plan, _plan_items(session, plan.id))


def cancel_plan(session: Session, owner: User, plan_id: uuid.UUID, now: datetime) -> None:
    """Cancel the plan's remaining items (sent ones stay sent); commits."""
    plan = _owned_plan(session, owner, plan_id)
    items = session.scalars(
        select(FollowUp)
        .where(FollowUp.plan_id == plan.id, FollowUp.status == SCHEDULED)
        .order_by(FollowUp.id)
        .with_for_update()
        .execution_options(**_FRESH)
    ).all()
    for item in items:
        item.status, item.status_reason, item.updated_at = CANCELLED, OWNER_CANCELLED, now
    session.refresh(plan, with_for_update={"key_share": True})
    if plan.status == PLAN_ACTIVE:
        plan.status, plan.status_reason, plan.updated_at = PLAN_CANCELLED, OWNER_CANCELLED, now
    session.commit()


def settle_plan(session: Session, plan_id: uuid.UUID | None, now: datetime) -> None:
    """Mark an active plan completed once none of its items is still scheduled."""
    if plan_id is None:
        return
    remaining = session.scalar(
        select(FollowUp.id)
        .where(FollowUp.plan_id == plan_id, FollowUp.status == SCHEDULED)
        .limit(1)
    )
    if remaining is not None:
        return
    plan = session.scalar(
        select(FollowUpPlan)
        .where(FollowUpPlan.id == plan_id)
        .with_for_update(key_share=True)
        .execution_options(**_FRESH)
    )
    if plan is not None and plan.status == PLAN_ACTIVE:
        plan.status, plan.updated_at = PLAN_COMPLETED, now


# Single follow-ups ----------------------------------------------------------------------------


def _owned_follow_up(
    session: Session, owner: User, follow_up_id: uuid.UUID, *, lock: bool = False
) -> FollowUp:
    query = select(FollowUp).where(FollowUp.id == follow_up_id)
    if lock:
        query = query.with_for_update().execution_options(**_FRESH)
    item = session.scalar(query)
    if item is None or item.owner_id != owner.id:
        raise NotFound("No such follow-up")
    return item


def get_follow_up(session: Session, owner: User, follow_up_id: uuid.UUID) -> FollowUp:
    return _owned_follow_up(session, owner, follow_up_id)


def list_follow_ups(
    session: Session,
    owner: User,
    *,
    status: str | None,
    contact_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[FollowUp]:
    """My follow-ups in send order."""
    query = select(FollowUp).where(FollowUp.owner_id == owner.id)
    if status is not None:
        query = query.where(FollowUp.status == status)
    if contact_id is not None:
        query = query.where(FollowUp.contact_id == owned_contact(session, owner, contact_id).id)
    return oldest_first_page(
        session, query, FollowUp.send_at, FollowUp.id, limit=limit, cursor=cursor
    )


def _lock_side(session: Session, item: FollowUp) -> Contact:
    side = session.scalar(
        select(Contact)
        .where(Contact.id == item.contact_id)
        .with_for_update()
        .execution_options(**_FRESH)
    )
    if side is None or side.removed_at is not None:
        raise NotFound("No such contact")
    return side


def update_follow_up(
    session: Session,
    owner: User,
    follow_up_id: uuid.UUID,
    changes: dict,
    *,
    now: datetime,
    policy: ThrottlePolicy,
    commit: bool = True,
) -> FollowUp:
    """Edit a scheduled follow-up's body, kind or time; a new time is validated again; commits
    unless told not to (the offline push commits several changes at once)."""
    item = _owned_follow_up(session, owner, follow_up_id, lock=True)
    if item.status != SCHEDULED:
        raise FollowUpNotScheduled()
    side = _lock_side(session, item)
    if "body" in changes:
        item.body = clean_body(changes["body"])
    if "kind" in changes:
        item.kind = changes["kind"]
    if "send_at" in changes:
        requested = _requested_time(changes["send_at"], now, "send_at")
        recipient = session.get(User, item.recipient_id)
        deliver_at = delivery_time(recipient, requested)
        _fit(recipient, side, pair_schedule(session, side, excluding=item.id), deliver_at, policy)
        item.send_at, item.deliver_at = requested, deliver_at
        item.requeued, item.status_reason = False, None
    item.updated_at = now
    if commit:
        session.commit()
    return item


def cancel_follow_up(
    session: Session, owner: User, follow_up_id: uuid.UUID, now: datetime, *, commit: bool = True
) -> None:
    """Cancel a scheduled follow-up (again: nothing changes); commits unless told not to."""
    item = _owned_follow_up(session, owner, follow_up_id, lock=True)
    if item.status == CANCELLED:
        return
    if item.status != SCHEDULED:
        raise FollowUpNotScheduled()
    _lock_side(session, item)
    item.status, item.status_reason, item.updated_at = CANCELLED, OWNER_CANCELLED, now
    settle_plan(session, item.plan_id, now)
    if commit:
        session.commit()
