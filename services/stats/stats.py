"""Organizer stats: attendance, arrivals, sessions and networking for one event.

Every figure is an aggregate the database computes (COUNT/GROUP BY, window functions for the
median); Python only walks the few dozen arrival buckets and sessions, never the rows behind
them (the CSV export, which is rows, is services/checkin/check_in_export.py). Definitions
(PRODUCT.md
"Stats definitions"):

- `registered`: registrations not cancelled; `walk_ins`: those of them created at or after the
  event's start that checked in at the door (someone who registered late and never came is
  not a walk-in, so `walk_ins` never exceeds `checked_in`).
- `checked_in`: registrations with a door attendance (at least one entry scan at the door that
  was not undone); `inside_now`: those whose last door scan is an entry (entries minus exits).
- `arrivals`: door attendances by their earliest entry scan (late offline scans included),
  bucketed on the event's local clock (services/stats/arrival_buckets.py).
- `sessions`: distinct attendees with an entry scan per session, capacity, fill rate (may
  exceed 1 for an overfull room).
- `networking`: exchanges are connections whose `event_id` is this event (one per pair);
  networkers are door-checked-in registrations with at least one of them (exchanges count on
  the registration each person had when they were made); the median counts all of a
  networker's exchanges here; an exchange is followed up when the first message on it, either
  way, was sent at most 7 days after `met_at` (inclusive). With fewer than MIN_GROUP_SIZE
  networkers every networking figure, the exchange count included, is null and `suppressed`
  is true, so no one can be singled out.

The networking figures and the door flag come from counters kept on the rows by the services
that change them (registrations.exchange_count and checked_in_at_door, connections.
first_message_at; migration 0006), so no stats query reads a connection per person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from services.core.errors import InvalidInput
from services.core.models import (
    DOOR,
    Attendance,
    Connection,
    EventSession,
    Registration,
    User,
)
from services.core.sqlfunctions import minute_start, plus_days
from services.events import events
from services.events.events import REGISTERED, EventColumns
from services.meetings.booking import MeetingCounts, meeting_counts
from services.stats.arrival_buckets import (
    ArrivalBucket,
    ArrivalSummary,
    BucketGrid,
    from_epoch,
    to_epoch,
)

DEFAULT_BUCKET_MINUTES = 15
MIN_BUCKET_MINUTES = 5
MAX_BUCKET_MINUTES = 240
# An answer (and a chart) holds at most this many arrival buckets: an event dated years back
# with one old offline scan once made `bucket=5` answer 38 MB.
MAX_BUCKETS = 2000


class TooManyBuckets(InvalidInput):
    reason = "too_many_buckets"
    title = "The arrivals would need more buckets than one answer holds"


def _bucket_estimate(span_seconds: int, bucket_minutes: int) -> int:
    """At least as many buckets as the grid makes between two arrivals `span_seconds` apart:
    whole widths, plus the partial buckets at both ends and one a DST change can add."""
    return span_seconds // (bucket_minutes * 60) + 3


def _check_bucket_count(span_seconds: int, bucket_minutes: int) -> None:
    if _bucket_estimate(span_seconds, bucket_minutes) <= MAX_BUCKETS:
        return
    smallest = next(
        (
            minutes
            for minutes in range(bucket_minutes + 1, MAX_BUCKET_MINUTES + 1)
            if _bucket_estimate(span_seconds, minutes) <= MAX_BUCKETS
        ),
        None,
    )
    advice = (
        f"Use bucket={smallest} or more."
        if smallest is not None
        else f"The arrivals span too long for any bucket up to {MAX_BUCKET_MINUTES} minutes."
    )
    raise TooManyBuckets(
        f"At most {MAX_BUCKETS} buckets per answer. {advice}",
        errors={"bucket": [advice]},
        smallest_bucket=smallest,
        max_buckets=MAX_BUCKETS,
    )


MIN_GROUP_SIZE = 5
FOLLOW_UP_WINDOW = timedelta(days=7)
RATE_DIGITS = 4


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
    meetings: MeetingCounts | None = None  # null when suppressed, like every figure above


@dataclass(frozen=True)
class AttendanceTotals:
    """Registration and door attendance totals, first arrivals by minute for bucketing."""

    registered: int
    walk_ins: int
    checked_in: int
    inside_now: int
    exchanges: int
    arrivals_by_minute: dict[int, int]  # epoch seconds of a UTC minute -> first arrivals


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
        arrivals=_arrivals(event, totals, bucket_minutes),
        sessions=_session_fill(session, event),
        networking=_networking(session, event, totals),
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
        arrivals=_arrivals(event, totals, bucket_minutes),
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
    from services.stats import charts  # matplotlib loads on the first chart, not at app start

    summary = arrival_summary(session, actor, event_id, now=now, bucket_minutes=bucket_minutes)
    return charts.arrivals_png(summary)


# Attendance ---------------------------------------------------------------------------------


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1))), 0)


def _attendance_totals(session: Session, event: EventColumns) -> AttendanceTotals:
    # One read of the registrations index and one of the door attendances index; the door
    # rows come back grouped by minute (a few hundred groups), which is all the arrival
    # buckets need: bucket edges are whole local minutes, and UTC offsets have been whole
    # minutes in every zone since 1972, so a UTC minute never straddles an edge.
    registered, walk_ins, exchange_ends = session.execute(
        select(
            _count_where(Registration.status == REGISTERED),
            _count_where(
                and_(
                    Registration.status == REGISTERED,
                    Registration.created_at >= event.starts_at,
                    Registration.checked_in_at_door.is_(True),
                )
            ),
            func.coalesce(func.sum(Registration.exchange_count), 0),
        ).where(Registration.event_id == event.id)
    ).one()
    minute = minute_start(Attendance.first_checked_in_at)
    arrivals_by_minute: dict[int, int] = {}
    checked_in = inside_now = 0
    for at, arrived, inside in session.execute(
        select(minute, func.count(), _count_where(Attendance.inside))
        .where(Attendance.event_id == event.id, Attendance.place == DOOR)
        .group_by(minute)
    ):
        arrivals_by_minute[to_epoch(at)] = arrived
        checked_in += arrived
        inside_now += int(inside)
    return AttendanceTotals(
        registered=int(registered),
        walk_ins=int(walk_ins),
        checked_in=checked_in,
        inside_now=inside_now,
        # Each exchange counts once on each person's registration.
        exchanges=int(exchange_ends) // 2,
        arrivals_by_minute=arrivals_by_minute,
    )


def _arrivals(
    event: EventColumns, totals: AttendanceTotals, bucket_minutes: int
) -> list[ArrivalBucket]:
    minutes = totals.arrivals_by_minute
    if not minutes:
        return []
    zone = ZoneInfo(event.timezone)
    first, last = min(minutes), max(minutes)
    _check_bucket_count(last - first, bucket_minutes)
    grid = BucketGrid(
        zone, bucket_minutes * 60, event.starts_at.astimezone(zone).date(), first, last
    )
    counts: dict[int, int] = {}
    for minute, arrived in minutes.items():
        start = grid.bucket_of(minute)
        counts[start] = counts.get(start, 0) + arrived
    starts = grid.boundaries(first, last)
    ends = [*starts[1:], grid.next_boundary(starts[-1])]
    return [
        ArrivalBucket(from_epoch(start), from_epoch(end), counts.get(start, 0))
        for start, end in zip(starts, ends, strict=True)
    ]


def _session_fill(session: Session, event: EventColumns) -> list[SessionFill]:
    rows = session.execute(
        select(EventSession.id, EventSession.title, EventSession.starts_at, EventSession.capacity)
        .where(EventSession.event_id == event.id)
        .order_by(EventSession.starts_at, EventSession.id)
    ).all()
    # A session's attendances have its id as `place`: counted on the narrow (place) index.
    places = [str(row.id) for row in rows]
    present: dict[str, int] = {}
    if places:
        present = dict(
            session.execute(
                select(Attendance.place, func.count())
                .where(Attendance.place.in_(places))
                .group_by(Attendance.place)
            ).all()
        )
    fills = []
    for (session_id, title, starts_at, capacity), place in zip(rows, places, strict=True):
        checked_in = present.get(place, 0)
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


def _networking(session: Session, event: EventColumns, totals: AttendanceTotals) -> Networking:
    # People per exchange count among the checked-in (a few dozen rows, from the counters on
    # registrations): the networkers and their median without reading a single connection.
    histogram = sorted(
        session.execute(
            select(Registration.exchange_count, func.count())
            .where(
                Registration.event_id == event.id,
                Registration.checked_in_at_door == true(),
                Registration.exchange_count > 0,
            )
            .group_by(Registration.exchange_count)
        ).all()
    )
    networkers = sum(people for _exchanges, people in histogram)
    if networkers < MIN_GROUP_SIZE:
        return Networking(None, None, None, None, None, suppressed=True)
    followed = session.scalar(
        select(func.count()).where(
            Connection.event_id == event.id,
            Connection.first_message_at.is_not(None),
            Connection.first_message_at <= plus_days(Connection.met_at, FOLLOW_UP_WINDOW.days),
        )
    )
    return Networking(
        exchanges=totals.exchanges,
        networkers=networkers,
        networker_rate=rate(networkers, totals.checked_in),
        median_exchanges_per_networker=_median(histogram, networkers),
        followed_up_within_7d_rate=rate(followed, totals.exchanges),
        suppressed=False,
        meetings=meeting_counts(session, event.id),
    )


def _median(histogram: list[tuple[int, int]], total: int) -> float:
    """The median of `total` values given as sorted (value, how many) pairs."""
    middle = ((total + 1) // 2, (total + 2) // 2)  # 1-based; equal for an odd total
    found: list[int] = []
    seen = 0
    for value, people in histogram:
        seen += people
        while len(found) < 2 and seen >= middle[len(found)]:
            found.append(value)
    return (found[0] + found[1]) / 2
