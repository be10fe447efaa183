"""An event's meeting set-up: spots at the venue, the slot length and the meeting hours.

Meeting hours are blocks of time; a slot starts at a block's start plus a whole number of slot
lengths and ends inside the block. Slot lengths are real minutes, so across a DST change a
block given on the local clock ("01:00" to "04:00" on the night clocks go back) holds the
slots of its real length. A bound given without a UTC offset is a wall-clock time in the
event's zone: one that does not exist there (inside the spring-forward gap) is refused, one
that exists twice (inside the fall-back hour) means the first of the two.

Booking relies on every active meeting lying on the grid (overlap then means the same start,
which unique indexes can guard), so a change of slot length or hours that would take a booked
meeting off the grid is refused (409 `meetings_booked`); blocks may not overlap each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.errors import NotEventStaff
from services.core.formatting import to_iso
from services.core.models import Event, Meeting, MeetingSpot, User
from services.events import events
from services.meetings.errors import InvalidMeetingSetup, MeetingsBooked, SpotNameTaken

DEFAULT_SLOT_MINUTES = 30
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 10, 60
MAX_HOUR_BLOCKS = 20
ACTIVE_STATUSES = ("booked", "held")
# Spots are listed, and filled, oldest first (by name among those added at the same instant).
SPOT_ORDER = (MeetingSpot.created_at, MeetingSpot.name, MeetingSpot.id)


@dataclass(frozen=True)
class HourBlock:
    starts_at: datetime
    ends_at: datetime


def to_local_instant(value: datetime, zone_name: str, field: str) -> datetime:
    """An aware instant as is; a naive one read on the event's clock (see the module doc)."""
    zone = ZoneInfo(zone_name)
    try:
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        instant = value.replace(tzinfo=zone, fold=0).astimezone(UTC)
        back = instant.astimezone(zone).replace(tzinfo=None)
    except (OverflowError, ValueError) as exc:
        raise InvalidMeetingSetup(errors={field: ["Out of range."]}) from exc
    if back != value:
        raise InvalidMeetingSetup(
            "That local time does not exist in the event's time zone",
            errors={field: [f"{value.isoformat()} does not exist in {zone_name} (DST gap)."]},
        )
    return instant


def hour_blocks(event: Event) -> list[HourBlock]:
    return [
        HourBlock(datetime.fromisoformat(b["starts_at"]), datetime.fromisoformat(b["ends_at"]))
        for b in (event.meeting_hours or [])
    ]


def slot_length(event: Event) -> timedelta:
    return timedelta(minutes=event.meeting_slot_minutes or DEFAULT_SLOT_MINUTES)


def is_slot_start(blocks: Sequence[HourBlock], length: timedelta, start: datetime) -> bool:
    return any(
        block.starts_at <= start
        and start + length <= block.ends_at
        and (start - block.starts_at) % length == timedelta(0)
        for block in blocks
    )


def slot_starts(event: Event) -> list[datetime]:
    """Every slot start of the event, in time order."""
    length = slot_length(event)
    starts: list[datetime] = []
    for block in hour_blocks(event):
        start = block.starts_at
        while start + length <= block.ends_at:
            starts.append(start)
            start += length
    return starts


def _resolve_blocks(
    event: Event, raw: list[dict[str, datetime]], length: timedelta, event_changes: dict[str, Any]
):
    if len(raw) > MAX_HOUR_BLOCKS:
        raise InvalidMeetingSetup(errors={"meeting_hours": [f"At most {MAX_HOUR_BLOCKS} blocks."]})
    # Read on the clock and within the bounds the event will have once the same PATCH's other
    # changes (a new time zone, new dates) are applied.
    timezone = event_changes.get("timezone") or event.timezone
    event_starts = event_changes.get("starts_at") or event.starts_at
    event_ends = event_changes.get("ends_at") or event.ends_at
    blocks = []
    for index, item in enumerate(raw):
        if item.get("starts_at") is None or item.get("ends_at") is None:
            raise InvalidMeetingSetup(
                errors={f"meeting_hours.{index}": ["A block needs starts_at and ends_at."]}
            )
        start = to_local_instant(item["starts_at"], timezone, f"meeting_hours.{index}")
        end = to_local_instant(item["ends_at"], timezone, f"meeting_hours.{index}")
        if end - start < length:
            raise InvalidMeetingSetup(
                errors={f"meeting_hours.{index}": ["A block must hold at least one slot."]}
            )
        if start < event_starts or end > event_ends:
            raise InvalidMeetingSetup(
                errors={f"meeting_hours.{index}": ["Meeting hours must lie inside the event."]}
            )
        blocks.append(HourBlock(start, end))
    blocks.sort(key=lambda b: b.starts_at)
    for earlier, later in pairwise(blocks):
        if later.starts_at < earlier.ends_at:
            raise InvalidMeetingSetup(errors={"meeting_hours": ["Blocks must not overlap."]})
    return blocks


def stage_meeting_setup(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    changes: dict[str, Any],
    event_changes: dict[str, Any] | None = None,
) -> Event:
    """Apply `meeting_slot_minutes` / `meeting_hours` (organizers only). Does not commit: the
    event update that follows commits both, or neither. `event_changes` are that update's
    (`timezone`, `starts_at`, `ends_at`): new meeting hours are read against them, and the hours
    kept must still lie inside the moved event (422 otherwise: send new ones with the move)."""
    event = events.require_organizer(session, event_id, actor)
    session.refresh(event, with_for_update=True)  # booking reads it FOR SHARE
    minutes = changes.get("meeting_slot_minutes", event.meeting_slot_minutes)
    if not MIN_SLOT_MINUTES <= minutes <= MAX_SLOT_MINUTES:
        raise InvalidMeetingSetup(
            errors={"meeting_slot_minutes": [f"{MIN_SLOT_MINUTES}-{MAX_SLOT_MINUTES} minutes."]}
        )
    length = timedelta(minutes=minutes)
    if "meeting_hours" in changes:
        blocks = _resolve_blocks(event, changes["meeting_hours"] or [], length, event_changes or {})
    else:
        # The hours kept must still lie inside the event if the same PATCH moves it.
        kept = [{"starts_at": b.starts_at, "ends_at": b.ends_at} for b in hour_blocks(event)]
        blocks = _resolve_blocks(event, kept, length, event_changes or {})
    booked = session.execute(
        select(Meeting.starts_at, Meeting.ends_at).where(
            Meeting.event_id == event.id, Meeting.status.in_(ACTIVE_STATUSES)
        )
    ).all()
    for starts_at, ends_at in booked:
        if ends_at - starts_at != length or not is_slot_start(blocks, length, starts_at):
            raise MeetingsBooked()
    event.meeting_slot_minutes = minutes
    if "meeting_hours" in changes or event.meeting_hours is not None:  # none set stays none
        event.meeting_hours = [
            {"starts_at": to_iso(b.starts_at), "ends_at": to_iso(b.ends_at)} for b in blocks
        ]
    session.flush()
    return event


def add_spot(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    name: str,
    capacity: int = 1,
    now: datetime,
) -> MeetingSpot:
    events.require_organizer(session, event_id, actor)
    spot = MeetingSpot(event_id=event_id, name=name.strip(), capacity=capacity, created_at=now)
    session.add(spot)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise SpotNameTaken() from exc
    return spot


def list_spots(session: Session, actor: User, event_id: uuid.UUID) -> list[MeetingSpot]:
    """The event's spots: for its staff and for its registered attendees."""
    events.get_event(session, event_id)
    if (
        events.role_on_event(session, event_id, actor.id) is None
        and events.live_registration(session, event_id, actor.id) is None
    ):
        raise NotEventStaff("Only the event's staff and attendees may see its spots")
    return list(
        session.scalars(
            select(MeetingSpot).where(MeetingSpot.event_id == event_id).order_by(*SPOT_ORDER)
        )
    )
