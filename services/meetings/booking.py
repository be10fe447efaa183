"""Booking a meeting when a request is accepted; cancelling it; marking it held.

Exactly one meeting per person and slot, and per seat of a spot and slot, is the database's
rule, not a read followed by a write. Every active meeting lies on the event's slot grid
(services/meetings/setup.py), so two active meetings overlap exactly when they start at the
same instant, and two partial unique indexes say it all:
- `uq_meetings_active_seat` (spot, seat, start) over active meetings: a spot of capacity N has
  seats 0..N-1, and a seat holds one meeting at a time;
- `uq_meeting_participants_active_user_id_starts_at` (person, start): nobody is in two
  active meetings at once.
Accepting reads which seats look free and inserts the meeting at the first one inside a
savepoint; a parallel accept that took the same seat makes the insert fail on the index (on
PostgreSQL it waits for the other transaction and fails once it commits), and the next free
seat is tried, until none is left (409 `no_spot_free`). The two participant rows then go in:
a person already booked at that start makes that fail (409 `slot_taken`) and nothing is kept.
The reads before only choose a seat and give the usual case its precise answer; the indexes
decide. The request row is locked first, so one request is accepted at most once, and the
event row is read FOR SHARE, so the meeting set-up cannot change under a booking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.db import retrying_transient_conflicts
from services.core.errors import NotFound
from services.core.models import (
    Event,
    Meeting,
    MeetingParticipant,
    MeetingRequest,
    MeetingSpot,
    User,
)
from services.core.pagination import Page, after_time_id, page_from_rows, time_id_cursor
from services.meetings import notifications, setup
from services.meetings.errors import (
    InvalidSlot,
    MeetingHeld,
    NoSpotFree,
    RequestNotPending,
    SlotTaken,
)
from services.meetings.requests import (
    ACCEPTED,
    PENDING,
    lock_request,
    parse_slot,
    release_counters,
)

BOOKED, CANCELLED, HELD = "booked", "cancelled", "held"
MEETING_STATUSES = (BOOKED, CANCELLED, HELD)
# A badge scan between the two marks their meeting held from its start to this long after it.
HELD_GRACE = timedelta(minutes=30)


@dataclass
class MeetingView:
    meeting: Meeting
    other: User

    def __getattr__(self, name):
        return getattr(self.meeting, name)

    @property
    def with_(self) -> dict:
        return {"user_id": self.other.id, "display_name": self.other.display_name}


def _free_seats(session: Session, event_id: uuid.UUID, starts_at: datetime):
    """(spot, seat) pairs with no active meeting at `starts_at`, spots in creation order."""
    spots = session.scalars(
        select(MeetingSpot).where(MeetingSpot.event_id == event_id).order_by(*setup.SPOT_ORDER)
    ).all()
    taken = set(
        session.execute(
            select(Meeting.spot_id, Meeting.seat).where(
                Meeting.event_id == event_id,
                Meeting.starts_at == starts_at,
                Meeting.status != CANCELLED,
            )
        ).all()
    )
    return [
        (spot, seat)
        for spot in spots
        for seat in range(spot.capacity)
        if (spot.id, seat) not in taken
    ]


def _someone_busy(session: Session, people: tuple[uuid.UUID, ...], starts_at: datetime) -> bool:
    return bool(
        session.scalar(
            select(func.count()).where(
                MeetingParticipant.user_id.in_(people),
                MeetingParticipant.starts_at == starts_at,
                MeetingParticipant.active.is_(True),
            )
        )
    )


def _book(session: Session, request: MeetingRequest, event: Event, starts_at, now) -> Meeting:
    people = (request.from_user_id, request.to_user_id)
    if _someone_busy(session, people, starts_at):
        raise SlotTaken()
    ends_at = starts_at + setup.slot_length(event)
    tried: set[tuple[uuid.UUID, int]] = set()
    while True:
        free = [
            (s, seat)
            for s, seat in _free_seats(session, event.id, starts_at)
            if (s.id, seat) not in tried
        ]
        if not free:
            raise NoSpotFree()
        spot, seat = free[0]
        tried.add((spot.id, seat))
        meeting = Meeting(
            event_id=event.id,
            request_id=request.id,
            requester_id=request.from_user_id,
            recipient_id=request.to_user_id,
            spot_id=spot.id,
            seat=seat,
            starts_at=starts_at,
            ends_at=ends_at,
            status=BOOKED,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(meeting)
        except IntegrityError:
            continue  # a parallel accept took this seat: try the next free one
        break
    try:
        with session.begin_nested():
            session.add_all(
                MeetingParticipant(meeting_id=meeting.id, user_id=person, starts_at=starts_at)
                for person in people
            )
    except IntegrityError as exc:
        raise SlotTaken() from exc
    return meeting


def accept_request(
    session: Session, actor: User, request_id: uuid.UUID, *, slot: datetime, now: datetime
) -> MeetingView:
    """The recipient accepts one proposed slot: a meeting is booked at a free spot; commits."""
    return retrying_transient_conflicts(
        session, lambda: _accept(session, actor, request_id, slot=slot, now=now)
    )


def _accept(
    session: Session, actor: User, request_id: uuid.UUID, *, slot: datetime, now: datetime
) -> MeetingView:
    request = lock_request(session, request_id)
    if request is None or request.to_user_id != actor.id:
        raise NotFound("No such meeting request")
    if request.status != PENDING:
        raise RequestNotPending()
    if slot not in {parse_slot(s) for s in request.slots}:
        raise InvalidSlot(errors={"slot": ["Accept one of the slots the request proposes."]})
    if slot <= now:
        raise InvalidSlot(errors={"slot": ["This slot has already started."]})
    event = session.scalar(
        select(Event)
        .where(Event.id == request.event_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if not setup.is_slot_start(setup.hour_blocks(event), setup.slot_length(event), slot):
        raise InvalidSlot(errors={"slot": ["The meeting hours changed; this is no longer a slot."]})
    meeting = _book(session, request, event, slot, now)
    request.status = ACCEPTED
    request.responded_at = now
    release_counters(session, request)
    notifications.queue_notification(
        session,
        type=notifications.MEETING_ACCEPTED,
        user_id=request.from_user_id,
        actor_id=actor.id,
        meeting_id=meeting.id,
        event_id=event.id,
        now=now,
    )
    session.commit()
    return MeetingView(meeting, session.get(User, request.from_user_id))


def cancel_meeting(session: Session, actor: User, meeting_id: uuid.UUID, now: datetime) -> None:
    """Either person cancels; the slot and the seat are free again; commits."""
    meeting = session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update(of=Meeting)
        .execution_options(populate_existing=True)
    )
    if meeting is None or actor.id not in (meeting.requester_id, meeting.recipient_id):
        raise NotFound("No such meeting")
    if meeting.status == CANCELLED:
        return
    if meeting.status == HELD:
        raise MeetingHeld()
    meeting.status = CANCELLED
    meeting.cancelled_at = now
    meeting.cancelled_by_id = actor.id
    session.execute(
        update(MeetingParticipant)
        .where(MeetingParticipant.meeting_id == meeting.id)
        .values(active=False)
    )
    other = meeting.recipient_id if actor.id == meeting.requester_id else meeting.requester_id
    notifications.queue_notification(
        session,
        type=notifications.MEETING_CANCELLED,
        user_id=other,
        actor_id=actor.id,
        meeting_id=meeting.id,
        event_id=meeting.event_id,
        now=now,
    )
    session.commit()


def _meetings_of(user_id: uuid.UUID):
    other_id = case(
        (Meeting.requester_id == user_id, Meeting.recipient_id), else_=Meeting.requester_id
    )
    return (
        select(Meeting, User)
        .join(
            MeetingParticipant,
            (MeetingParticipant.meeting_id == Meeting.id) & (MeetingParticipant.user_id == user_id),
        )
        .join(User, User.id == other_id)
    )


def list_meetings(
    session: Session,
    viewer: User,
    *,
    event_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[MeetingView]:
    """My meetings in time order (cancelled ones too, with their status)."""
    query = _meetings_of(viewer.id).order_by(Meeting.starts_at, Meeting.id).limit(limit + 1)
    if event_id:
        query = query.where(Meeting.event_id == event_id)
    if status:
        query = query.where(Meeting.status == status)
    if cursor:
        query = query.where(after_time_id(Meeting.starts_at, Meeting.id, cursor))
    rows = [MeetingView(meeting, other) for meeting, other in session.execute(query)]
    return page_from_rows(rows, limit, lambda v: time_id_cursor(v.starts_at, v.id))


def active_meetings_of(session: Session, user_id: uuid.UUID) -> list[MeetingView]:
    """Booked and held meetings of a person, in time order (the calendar feed)."""
    query = (
        _meetings_of(user_id)
        .where(Meeting.status != CANCELLED)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [MeetingView(meeting, other) for meeting, other in session.execute(query)]


def mark_held_by_scan(
    session: Session, *, event_id: uuid.UUID, people: tuple[uuid.UUID, uuid.UUID], at: datetime
) -> bool:
    """Two people exchanged contacts by badge scan at `at`: a booked meeting of theirs at this
    event that started by then and ended at most HELD_GRACE before becomes `held`. Runs in the
    caller's transaction (the scan's); True when a meeting was marked."""
    first, second = people
    earliest = at - timedelta(minutes=setup.MAX_SLOT_MINUTES) - HELD_GRACE
    candidates = session.scalars(
        select(Meeting)
        .join(MeetingParticipant, MeetingParticipant.meeting_id == Meeting.id)
        .where(
            MeetingParticipant.user_id == first,
            MeetingParticipant.active.is_(True),
            MeetingParticipant.starts_at >= earliest,
            MeetingParticipant.starts_at <= at,
            Meeting.event_id == event_id,
            Meeting.status == BOOKED,
        )
        .with_for_update(of=Meeting)
    ).all()
    marked = False
    for meeting in candidates:
        if second in (meeting.requester_id, meeting.recipient_id) and at <= (
            meeting.ends_at + HELD_GRACE
        ):
            meeting.status = HELD
            meeting.held_at = at
            marked = True
    return marked


@dataclass(frozen=True)
class MeetingCounts:
    requested: int
    accepted: int
    held: int
    people: int  # distinct people who requested or were requested


def meeting_counts(session: Session, event_id: uuid.UUID) -> MeetingCounts:
    """The stats' figures: every request made, every request accepted (whatever happened to
    its meeting after), every meeting marked held."""
    by_status = dict(
        session.execute(
            select(MeetingRequest.status, func.count())
            .where(MeetingRequest.event_id == event_id)
            .group_by(MeetingRequest.status)
        ).all()
    )
    held = session.scalar(
        select(func.count()).where(Meeting.event_id == event_id, Meeting.status == HELD)
    )
    senders = select(MeetingRequest.from_user_id.label("person")).where(
        MeetingRequest.event_id == event_id
    )
    recipients = select(MeetingRequest.to_user_id.label("person")).where(
        MeetingRequest.event_id == event_id
    )
    people = session.scalar(select(func.count()).select_from(senders.union(recipients).subquery()))
    return MeetingCounts(
        requested=sum(by_status.values()),
        accepted=by_status.get(ACCEPTED, 0),
        held=held or 0,
        people=people or 0,
    )
