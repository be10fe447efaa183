"""Events, staff roles, sessions and registrations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from services.core.errors import (
    Conflict,
    InvalidInput,
    NotEventStaff,
    NotFound,
    NotOrganizer,
    PermissionDenied,
)
from services.core.models import (
    DOOR,
    Attendance,
    Event,
    EventSession,
    EventStaff,
    Registration,
    User,
)
from services.core.pagination import (
    Page,
    after_time_id,
    oldest_first_page,
    page_from_rows,
    time_id_cursor,
)
from services.events import badges

# The longest an event may last, start to end (MAX_EVENT_DAYS in the app's config): its
# check-in window, scan log and stats grow with it.
MAX_EVENT_DAYS = 31
ORGANIZER = "organizer"
STAFF = "staff"
ROLES = (ORGANIZER, STAFF)
REGISTERED = "registered"
CANCELLED = "cancelled"


class EventFull(Conflict):
    reason = "event_full"
    title = "The event has reached its capacity"


class LastOrganizer(Conflict):
    reason = "last_organizer"
    title = "An event needs at least one organizer"


class UnknownUser(InvalidInput):
    reason = "unknown_user"
    title = "No account with this email"


@dataclass
class Registered:
    registration: Registration
    created: bool


@dataclass
class StaffAssignment:
    staff: EventStaff
    created: bool


@dataclass
class AttendeeRow:
    registration: Registration
    attendance: Attendance | None

    @property
    def checked_in(self) -> bool:
        return self.attendance is not None

    @property
    def first_checked_in_at(self) -> datetime | None:
        return self.attendance.first_checked_in_at if self.attendance else None

    @property
    def inside(self) -> bool:
        return bool(self.attendance and self.attendance.inside)


def _check_span(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput(
            "An end must come after its start", errors={"ends_at": ["Must be after starts_at."]}
        )


def _check_event_span(starts_at: datetime, ends_at: datetime, max_days: int) -> None:
    _check_span(starts_at, ends_at)
    if ends_at - starts_at > timedelta(days=max_days):
        raise InvalidInput(
            f"An event lasts at most {max_days} days",
            errors={"ends_at": [f"Must be at most {max_days} days after starts_at."]},
            max_event_days=max_days,
        )


def get_event(session: Session, event_id: uuid.UUID) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No such event")
    return event


def role_on_event(session: Session, event_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(EventStaff.role).where(
            EventStaff.event_id == event_id, EventStaff.user_id == user_id
        )
    )


# An Event entity, or a read-only row of its columns (what require_staff answers).
EventColumns = Event | Row

# Core rows, not ORM entities: loading an Event entity costs three times the query itself,
# and every door scan starts here.
_EVENT_WITH_ROLE = (
    select(Event.__table__, EventStaff.__table__.c.role)
    .outerjoin(
        EventStaff,
        (EventStaff.event_id == Event.id) & (EventStaff.user_id == bindparam("user_id")),
    )
    .where(Event.id == bindparam("event_id"))
)


def require_staff(session: Session, event_id: uuid.UUID, user: User) -> tuple[EventColumns, str]:
    """The event (a read-only row of its columns), and the caller's role on it; organizers
    count as staff. One query for both, built once."""
    row = (
        session.connection()
        .execute(_EVENT_WITH_ROLE, {"event_id": event_id, "user_id": user.id})
        .first()
    )
    if row is None:
        raise NotFound("No such event")
    if row.role is None:
        raise NotEventStaff()
    return row, row.role


def require_organizer(session: Session, event_id: uuid.UUID, user: User) -> Event:
    event = get_event(session, event_id)
    if role_on_event(session, event_id, user.id) != ORGANIZER:
        raise NotOrganizer()
    return event


def create_event(
    session: Session,
    organizer: User,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    now: datetime,
    venue: str | None = None,
    capacity: int | None = None,
    max_days: int = MAX_EVENT_DAYS,
) -> Event:
    _check_event_span(starts_at, ends_at, max_days)
    event = Event(
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=timezone,
        venue=venue,
        capacity=capacity,
        created_by_id=organizer.id,
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    session.flush()
    session.add(EventStaff(event_id=event.id, user_id=organizer.id, role=ORGANIZER, created_at=now))
    session.commit()
    return event


def update_event(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
    *,
    max_days: int = MAX_EVENT_DAYS,
) -> Event:
    event = require_organizer(session, event_id, actor)
    starts_at = changes.get("starts_at", event.starts_at)
    ends_at = changes.get("ends_at", event.ends_at)
    _check_event_span(starts_at, ends_at, max_days)
    outside = session.scalar(
        select(func.count())
        .select_from(EventSession)
        .where(
            EventSession.event_id == event.id,
            (EventSession.starts_at < starts_at) | (EventSession.ends_at > ends_at),
        )
    )
    if outside:
        raise InvalidInput(
            "The new times would leave sessions outside the event",
            errors={"starts_at": [f"{outside} session(s) would fall outside."]},
        )
    for name, value in changes.items():
        setattr(event, name, value)
    event.updated_at = now
    session.commit()
    return event


def assign_staff(
    session: Session, actor: User, event_id: uuid.UUID, *, email: str, role: str, now: datetime
) -> StaffAssignment:
    require_organizer(session, event_id, actor)
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise UnknownUser(errors={"email": ["No account with this email."]})
    existing = session.scalar(
        select(EventStaff)
        .where(EventStaff.event_id == event_id, EventStaff.user_id == user.id)
        .with_for_update()
    )
    if existing is not None:
        if existing.role == ORGANIZER and role != ORGANIZER:
            organizers = session.scalar(
                select(func.count())
                .select_from(EventStaff)
                .where(EventStaff.event_id == event_id, EventStaff.role == ORGANIZER)
            )
            if organizers <= 1:
                raise LastOrganizer()
        existing.role = role
        session.commit()
        return StaffAssignment(existing, created=False)
    staff = EventStaff(event_id=event_id, user_id=user.id, role=role, created_at=now)
    session.add(staff)
    try:
        session.commit()
    except IntegrityError:  # the same person added twice at once: the other request did it
        session.rollback()
        staff = session.scalar(
            select(EventStaff).where(EventStaff.event_id == event_id, EventStaff.user_id == user.id)
        )
        return StaffAssignment(staff, created=False)
    return StaffAssignment(staff, created=True)


def list_staff(
    session: Session, actor: User, event_id: uuid.UUID, *, limit: int, cursor: str | None = None
) -> Page[EventStaff]:
    require_staff(session, event_id, actor)
    query = (
        select(EventStaff)
        .options(joinedload(EventStaff.user))
        .where(EventStaff.event_id == event_id)
    )
    return oldest_first_page(
        session, query, EventStaff.created_at, EventStaff.id, limit=limit, cursor=cursor
    )


def create_session(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    room: str | None = None,
    capacity: int | None = None,
) -> EventSession:
    event = require_organizer(session, event_id, actor)
    _check_span(starts_at, ends_at)
    if starts_at < event.starts_at or ends_at > event.ends_at:
        raise InvalidInput(
            "A session must lie inside its event",
            errors={"starts_at": ["The session must lie inside the event."]},
        )
    event_session = EventSession(
        event_id=event.id,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        room=room,
        capacity=capacity,
        created_at=now,
    )
    session.add(event_session)
    session.commit()
    return event_session


def list_sessions(
    session: Session, event_id: uuid.UUID, *, limit: int, cursor: str | None = None
) -> Page[EventSession]:
    """The event's sessions in time order."""
    get_event(session, event_id)
    query = select(EventSession).where(EventSession.event_id == event_id)
    return oldest_first_page(
        session, query, EventSession.starts_at, EventSession.id, limit=limit, cursor=cursor
    )


def register_attendee(
    session: Session, user: User, event_id: uuid.UUID, now: datetime
) -> Registered:
    """Register the caller; registering again returns the live registration unchanged."""
    event = get_event(session, event_id)
    live = live_registration(session, event_id, user.id)
    if live is not None:
        return Registered(live, created=False)
    if event.capacity is not None:
        # Lock the event row so two last-seat registrations cannot both pass the count.
        session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
        count = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.event_id == event.id, Registration.status == REGISTERED)
        )
        if count >= event.capacity:
            raise EventFull()
    code = badges.new_badge_code()
    registration = Registration(
        event_id=event.id,
        user_id=user.id,
        status=REGISTERED,
        badge_code=code,
        badge_issued_at=now,
        created_at=now,
    )
    session.add(registration)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request registered this person first
        session.rollback()
        return Registered(live_registration(session, event_id, user.id), created=False)
    badges.record_badge_code(session, registration, code, now)
    session.commit()
    return Registered(registration, created=True)


def live_registration(
    session: Session, event_id: uuid.UUID, user_id: uuid.UUID
) -> Registration | None:
    return session.scalar(
        select(Registration).where(
            Registration.event_id == event_id,
            Registration.user_id == user_id,
            Registration.status == REGISTERED,
        )
    )


def registration_for_owner_or_organizer(
    session: Session, actor: User, registration_id: uuid.UUID, *, lock: bool = False
) -> Registration:
    """Owner or organizer may act; event staff get 403; anyone else 404 (it is private)."""
    query = select(Registration).where(Registration.id == registration_id)
    if lock:
        query = query.with_for_update()
    registration = session.scalar(query)
    if registration is None:
        raise NotFound("No such registration")
    if registration.user_id == actor.id:
        return registration
    role = role_on_event(session, registration.event_id, actor.id)
    if role == ORGANIZER:
        return registration
    if role == STAFF:
        raise PermissionDenied("Only the attendee or an organizer may do this")
    raise NotFound("No such registration")


def cancel_registration(
    session: Session, actor: User, registration_id: uuid.UUID, now: datetime
) -> None:
    registration = registration_for_owner_or_organizer(session, actor, registration_id, lock=True)
    if registration.status == CANCELLED:
        return
    registration.status = CANCELLED
    registration.cancelled_at = now
    session.commit()


def rotate_badge(
    session: Session, actor: User, registration_id: uuid.UUID, now: datetime
) -> Registration:
    """A new badge code for the attendee or an organizer; the old one scans as badge_revoked."""
    registration = registration_for_owner_or_organizer(session, actor, registration_id, lock=True)
    badges.replace_code(session, registration, now)
    session.commit()
    return registration


def list_registrations(
    session: Session,
    actor: User,
    event_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
) -> Page[AttendeeRow]:
    """The attendee list for staff, with door check-in status, oldest registration first."""
    require_staff(session, event_id, actor)
    query = (
        select(Registration, Attendance)
        .options(joinedload(Registration.user))
        .outerjoin(
            Attendance, (Attendance.registration_id == Registration.id) & (Attendance.place == DOOR)
        )
        .where(Registration.event_id == event_id)
        .order_by(Registration.created_at, Registration.id)
        .limit(limit + 1)
    )
    if status:
        query = query.where(Registration.status == status)
    if cursor:
        query = query.where(after_time_id(Registration.created_at, Registration.id, cursor))
    rows = [AttendeeRow(r, a) for r, a in session.execute(query)]
    return page_from_rows(
        rows, limit, lambda row: time_id_cursor(row.registration.created_at, row.registration.id)
    )
