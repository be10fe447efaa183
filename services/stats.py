"""Organizer stats: attendance, arrivals, sessions and networking for one event.

Every figure is an aggregate the database computes (COUNT/GROUP BY, window functions for the
median); Python only walks the few dozen arrival buckets and sessions, never the rows behind
them (the CSV export, which is rows, is services/check_in_export.py). Definitions (PRODUCT.md
"Stats definitions"):

- `registered`: registrations not cancelled; `walk_ins`: those of them created at or after the
  event's start.
- `checked_in`: registrations with a door attendance (at least one entry scan at the door that
  was not undone); `inside_now`: those whose last door scan is an entry (entries minus exits).
- `arrivals`: door attendances by their earliest entry scan (late offline scans included),
  bucketed on the event's local clock (services/arrival_buckets.py).
- `sessions`: distinct attendees with an entry scan per session, capacity, fill rate (may
  exceed 1 for an overfull room).
- `networking`: exchanges are connections whose `event_id` is this event (one per pair);
  networkers are door-checked-in attendees in at least one of them; the median counts all of a
  networker's exchanges here; a follow-up is a message either way on that connection within 7
  days of `met_at` (inclusive). With fewer than MIN_GROUP_SIZE networkers every networking
  figure, the exchange count included, is null and `suppressed` is true, so no one can be
  singled out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from services import events
from services.arrival_buckets import BucketGrid, from_epoch, to_epoch
from services.events import REGISTERED
from services.models import (
    DOOR,
    Attendance,
    Connection,
    Event,
    EventSession,
    Message,
    Registration,
    User,
)
from services.sqlfunctions import epoch_seconds, plus_seconds

DEFAULT_BUCKET_MINUTES = 15
MIN_BUCKET_MINUTES = 5
MAX_BUCKET_MINUTES = 240
MIN_GROUP_SIZE = 5
FOLLOW_UP_WINDOW = timedelta(days=7)
RATE_DIGITS = 4


@dataclass(frozen=True)
class ArrivalBucket:
    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True)
class SessionFill:
    session_id: uuid.UUID
    title: str
    starts_at: datetime
    checked_in: int
    capacity: int | None
    fill_rate: float | None


@dataclass(frozen=True)
class Networking:
    exchanges: int | None
    networkers: int | None
    networker_rate: float | None
    median_exchanges_per_networker: float | None
    followed_up_within_7d_rate: float | None
    suppressed: bool
    min_group_size: int = MIN_GROUP_SIZE


@dataclass(frozen=True)
class AttendanceTotals:
    """Door attendance totals, with the range of first arrivals for bucketing."""

    registered: int
    walk_ins: int
    checked_in: int
    inside_now: int
    first_arrival: datetime | None
    last_arrival: datetime | None


@dataclass(frozen=True)
class ArrivalSummary:
    """What the arrivals chart shows."""

    event_id: uuid.UUID
    event_name: str
    starts_at: datetime
    timezone: str
    bucket_minutes: int
    registered: int
    checked_in: int
    show_up_rate: float | None
    arrivals: list[ArrivalBucket]
    generated_at: datetime


@dataclass(frozen=True)
class EventStats:
    event_id: uuid.UUID
    timezone: str
    bucket_minutes: int
    generated_at: datetime
    registered: int
    checked_in: int
    show_up_rate: float | None
    walk_ins: int
    inside_now: int
    arrivals: list[ArrivalBucket]
    sessions: list[SessionFill]
    networking: Networking


def rate(numerator: float | None, denominator: float | None) -> float | None:
    """A share rounded for display; null when there is nothing to divide by."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, RATE_DIGITS)


def event_stats(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    now: datetime,
    bucket_minutes: int = DEFAULT_BUCKET_MINUTES,
) -> EventStats:
    """All stats of one event (organizers and staff)."""
    event, _role = events.require_staff(session, event_id, actor)
    totals = _attendance_totals(session, event)
    return EventStats(
        event_id=event.id,
        timezone=event.timezone,
        bucket_minutes=bucket_minutes,
        generated_at=now,
        registered=totals.registered,
        checked_in=totals.checked_in,
        show_up_rate=rate(totals.checked_in, totals.registered),
        walk_ins=totals.walk_ins,
        inside_now=totals.inside_now,
        arrivals=_arrivals(session, event, totals, bucket_minutes),
        sessions=_session_fill(session, event),
        networking=_networking(session, event, totals.checked_in),
    )


def arrival_summary(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    now: datetime,
    bucket_minutes: int = DEFAULT_BUCKET_MINUTES,
) -> ArrivalSummary:
    """Totals and arrival buckets only: what the chart needs (organizers and staff)."""
    event, _role = events.require_staff(session, event_id, actor)
    totals = _attendance_totals(session, event)
    return ArrivalSummary(
        event_id=event.id,
        event_name=event.name,
        starts_at=event.starts_at,
        timezone=event.timezone,
        bucket_minutes=bucket_minutes,
        registered=totals.registered,
        checked_in=totals.checked_in,
        show_up_rate=rate(totals.checked_in, totals.registered),
        arrivals=_arrivals(session, event, totals, bucket_minutes),
        generated_at=now,
    )


def arrivals_chart_png(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    now: datetime,
    bucket_minutes: int = DEFAULT_BUCKET_MINUTES,
) -> bytes:
    """The arrivals chart as PNG (organizers and staff)."""
    from services import charts  # matplotlib loads on the first chart, not at app start

    summary = arrival_summary(session, actor, event_id, now=now, bucket_minutes=bucket_minutes)
    return charts.arrivals_png(summary)


# Attendance ---------------------------------------------------------------------------------


def _attendance_totals(session: Session, event: Event) -> AttendanceTotals:
    registered, walk_ins = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Registration.created_at >= event.starts_at, 1))), 0),
        ).where(Registration.event_id == event.id, Registration.status == REGISTERED)
    ).one()
    checked_in, inside_now, first, last = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Attendance.inside, 1))), 0),
            func.min(Attendance.first_checked_in_at),
            func.max(Attendance.first_checked_in_at),
        ).where(Attendance.event_id == event.id, Attendance.place == DOOR)
    ).one()
    return AttendanceTotals(
        registered=registered,
        walk_ins=int(walk_ins),
        checked_in=checked_in,
        inside_now=int(inside_now),
        first_arrival=first,
        last_arrival=last,
    )


def _arrivals(
    session: Session, event: Event, totals: AttendanceTotals, bucket_minutes: int
) -> list[ArrivalBucket]:
    if totals.first_arrival is None:
        return []
    zone = ZoneInfo(event.timezone)
    first, last = to_epoch(totals.first_arrival), to_epoch(totals.last_arrival)
    grid = BucketGrid(
        zone, bucket_minutes * 60, event.starts_at.astimezone(zone).date(), first, last
    )
    arrived = Attendance.first_checked_in_at
    offsets = [literal(span.offset) for span in grid.spans]
    span_number: ColumnElement[int] = literal(0)
    offset: ColumnElement[int] = offsets[0]
    if len(grid.spans) > 1:
        # The offset is constant within a span; a CASE on the (few) transitions picks it.
        transitions = [from_epoch(span.start) for span in grid.spans[1:]]
        span_number = case(
            *((arrived < at, literal(number)) for number, at in enumerate(transitions)),
            else_=literal(len(transitions)),
        )
        offset = case(
            *((arrived < at, offsets[number]) for number, at in enumerate(transitions)),
            else_=offsets[-1],
        )
    # Non-negative integer division is a floor on both databases.
    local_index = (epoch_seconds(arrived) + offset - literal(grid.origin)) // literal(grid.width)
    indexed = (
        select(span_number.label("span"), local_index.label("local_index"))
        .where(Attendance.event_id == event.id, Attendance.place == DOOR)
        .subquery()
    )
    counts: dict[int, int] = {}
    for span, index, count in session.execute(
        select(indexed.c.span, indexed.c.local_index, func.count()).group_by(
            indexed.c.span, indexed.c.local_index
        )
    ):
        start = grid.start_of(int(span), int(index))
        counts[start] = counts.get(start, 0) + count
    # Arrivals stored between the two queries may reach past the range read first.
    low = min([grid.bucket_of(first), *counts])
    high = max([last, *counts])
    starts = grid.boundaries(low, high)
    ends = [*starts[1:], grid.next_boundary(starts[-1])]
    return [
        ArrivalBucket(from_epoch(start), from_epoch(end), counts.get(start, 0))
        for start, end in zip(starts, ends, strict=True)
    ]


def _session_fill(session: Session, event: Event) -> list[SessionFill]:
    # Grouped by `place` (the session id as text), which the (event_id, place, ...) index
    # covers; the few session rows are then matched up here.
    present: dict[str, int] = {
        place: count
        for place, count in session.execute(
            select(Attendance.place, func.count())
            .where(Attendance.event_id == event.id, Attendance.place != DOOR)
            .group_by(Attendance.place)
        )
    }
    rows = session.execute(
        select(EventSession.id, EventSession.title, EventSession.starts_at, EventSession.capacity)
        .where(EventSession.event_id == event.id)
        .order_by(EventSession.starts_at, EventSession.id)
    )
    fills = []
    for session_id, title, starts_at, capacity in rows:
        checked_in = present.get(str(session_id), 0)
        fills.append(
            SessionFill(
                session_id=session_id,
                title=title,
                starts_at=starts_at,
                checked_in=checked_in,
                capacity=capacity,
                fill_rate=rate(checked_in, capacity),
            )
        )
    return fills


# Networking ---------------------------------------------------------------------------------


def _networking(session: Session, event: Event, checked_in: int) -> Networking:
    networkers, median = _networkers_and_median(session, event)
    if networkers < MIN_GROUP_SIZE:
        return Networking(None, None, None, None, None, suppressed=True)
    at_event = Connection.event_id == event.id
    followed_up = exists().where(
        Message.connection_id == Connection.id,
        Message.sent_at >= Connection.met_at,
        Message.sent_at <= plus_seconds(Connection.met_at, int(FOLLOW_UP_WINDOW.total_seconds())),
    )
    exchanges, followed = session.execute(
        select(
            select(func.count()).where(at_event).scalar_subquery(),
            select(func.count()).where(at_event, followed_up).scalar_subquery(),
        )
    ).one()
    return Networking(
        exchanges=exchanges,
        networkers=networkers,
        networker_rate=rate(networkers, checked_in),
        median_exchanges_per_networker=median,
        followed_up_within_7d_rate=rate(followed, exchanges),
        suppressed=False,
    )


def _networkers_and_median(session: Session, event: Event) -> tuple[int, float | None]:
    """Checked-in people with an exchange here, and the median of their exchange counts."""
    at_event = Connection.event_id == event.id
    ends = union_all(
        select(Connection.user_a_id.label("user_id")).where(at_event),
        select(Connection.user_b_id.label("user_id")).where(at_event),
    ).subquery()
    checked_in_people = select(Registration.user_id).where(
        Registration.event_id == event.id,
        exists().where(Attendance.registration_id == Registration.id, Attendance.place == DOOR),
    )
    per_networker = (
        select(func.count().label("exchanges"))
        .where(ends.c.user_id.in_(checked_in_people))
        .group_by(ends.c.user_id)
        .subquery()
    )
    # The median from a histogram (people per exchange count): a few dozen rows to rank
    # instead of every networker. Casts keep the window sums integers on PostgreSQL too.
    histogram = (
        select(per_networker.c.exchanges, func.count().label("people"))
        .group_by(per_networker.c.exchanges)
        .subquery()
    )
    cumulative = select(
        histogram.c.exchanges,
        histogram.c.people,
        cast(func.sum(histogram.c.people).over(order_by=histogram.c.exchanges), BigInteger).label(
            "through"
        ),
        cast(func.sum(histogram.c.people).over(), BigInteger).label("networkers"),
    ).subquery()

    def holds(position):
        return and_(
            cumulative.c.through - cumulative.c.people < position,
            cumulative.c.through >= position,
        )

    # The middle position, or the two middle ones for an even count (then their mean).
    lower = (cumulative.c.networkers + 1) // 2
    upper = (cumulative.c.networkers + 2) // 2
    networkers, median = session.execute(
        select(func.max(cumulative.c.networkers), func.avg(cumulative.c.exchanges)).where(
            or_(holds(lower), holds(upper))
        )
    ).one()
    return int(networkers or 0), (float(median) if median is not None else None)
