"""One person's world as WatermelonDB rows: what each sync table holds for them, now.

Every table has one reader, used three ways: the first pull streams all of it, a later pull
reads only the rows the change log names (a named row the reader no longer returns has left
the world: `deleted`), and the push compares what the phone sent with it.

Rows are plain dicts: `id` a string, times integers (ms since the epoch), `tags` a JSON
string. Derived contact columns (`strength`, `going_cold`) are evaluated at one instant per
answer: the pull's `timestamp`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, or_, select

from services.core.models import (
    DOOR,
    Attendance,
    Contact,
    ContactTag,
    Event,
    EventSession,
    EventStaff,
    FollowUp,
    Message,
    Registration,
    User,
)
from services.core.models import (
    Connection as ConnectionRow,
)
from services.networking import contacts as networking
from services.offline.tracking import chunks, to_ms

TABLES = (
    "profile",
    "events",
    "sessions",
    "registrations",
    "contacts",
    "messages",
    "follow_ups",
)
LIVE = "registered"
ATTENDEE = "attendee"
STREAM_ROWS = 1000


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    at: datetime  # derived columns (strength, going_cold) are evaluated at this instant
    events: dict[uuid.UUID, str] | None = None  # my events and roles, once read


def strength_day(instant: datetime) -> datetime:
    """The instant strength and going_cold are evaluated at for an answer made at `instant`:
    the start of its UTC day. They then move only once a day (a 90-day half-life loses less
    than a point a day), so a pull finds the contacts time alone changed only on its first
    pull of a new day, not on every pull."""
    return instant.replace(hour=0, minute=0, second=0, microsecond=0)


def _events(connection: Connection, viewer: Viewer) -> dict[uuid.UUID, str]:
    return viewer.events if viewer.events is not None else my_events(connection, viewer.user_id)


# profile ------------------------------------------------------------------------------------


def _email_verified_column():
    for name in ("email_verified", "email_verified_at"):
        column = getattr(User, name, None)
        if column is not None:
            return column
    return None


def profile_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    if ids is not None and viewer.user_id not in ids:
        return
    verified = _email_verified_column()
    columns = [
        User.id,
        User.display_name,
        User.headline,
        User.company,
        User.title,
        User.primary_focus,
        User.timezone,
        User.email,
        User.deleted_at,
    ]
    if verified is not None:
        columns.append(verified.label("verified"))
    row = connection.execute(select(*columns).where(User.id == viewer.user_id)).first()
    if row is None or row.deleted_at is not None:
        return
    value = getattr(row, "verified", None) if verified is not None else None
    yield {
        "id": str(row.id),
        "display_name": row.display_name,
        "headline": row.headline,
        "company": row.company,
        "title": row.title,
        "primary_focus": row.primary_focus,
        "timezone": row.timezone,
        "email": row.email,
        "email_verified": bool(value) if not isinstance(value, datetime) else True,
    }


# events and sessions ------------------------------------------------------------------------


def my_events(connection: Connection, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """{event id: my role}: staff and organizers by their role, live registrations as attendee."""
    roles: dict[uuid.UUID, str] = {}
    for event_id in connection.execute(
        select(Registration.event_id).where(
            Registration.user_id == user_id, Registration.status == LIVE
        )
    ).scalars():
        roles[event_id] = ATTENDEE
    for event_id, role in connection.execute(
        select(EventStaff.event_id, EventStaff.role).where(EventStaff.user_id == user_id)
    ):
        roles[event_id] = role
    return roles


def event_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    roles = _events(connection, viewer)
    wanted = [e for e in roles if ids is None or e in ids]
    for batch in chunks(wanted):
        for row in connection.execute(select(Event).where(Event.id.in_(batch))).mappings():
            yield {
                "id": str(row["id"]),
                "name": row["name"],
                "starts_at": to_ms(row["starts_at"]),
                "ends_at": to_ms(row["ends_at"]),
                "timezone": row["timezone"],
                "venue": row["venue"],
                "my_role": roles[row["id"]],
            }


def session_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    events = list(_events(connection, viewer))
    for batch in chunks(events):
        query = select(EventSession).where(EventSession.event_id.in_(batch))
        if ids is not None:
            query = query.where(EventSession.id.in_(list(ids)))
        for row in connection.execute(query).mappings():
            yield {
                "id": str(row["id"]),
                "event_id": str(row["event_id"]),
                "title": row["title"],
                "room": row["room"],
                "starts_at": to_ms(row["starts_at"]),
                "ends_at": to_ms(row["ends_at"]),
                "capacity": row["capacity"],
            }


# registrations ------------------------------------------------------------------------------


def registration_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    query = (
        select(
            Registration.id,
            Registration.event_id,
            Registration.badge_code,
            Registration.status,
            Attendance.first_checked_in_at,
        )
        .outerjoin(
            Attendance,
            and_(Attendance.registration_id == Registration.id, Attendance.place == DOOR),
        )
        .where(Registration.user_id == viewer.user_id)
    )
    for batch in [None] if ids is None else chunks(ids):
        scoped = query if batch is None else query.where(Registration.id.in_(batch))
        for row in connection.execute(scoped):
            yield {
                "id": str(row.id),
                "event_id": str(row.event_id),
                "badge_code": row.badge_code,
                "status": row.status,
                "checked_in_at": to_ms(row.first_checked_in_at),
            }


# contacts -----------------------------------------------------------------------------------

_CONTACT_COLUMNS = (
    Contact.id,
    Contact.event_id,
    Contact.other_id,
    Contact.met_in_person,
    Contact.met_at,
    Contact.note,
    Contact.muted_at,
    Contact.frozen_display_name,
    Contact.sent_count,
    Contact.received_count,
    Contact.replies_received,
    Contact.last_interaction_at,
    User.display_name,
    User.headline,
    User.company,
    User.title,
    User.email,
    User.share_email,
    User.share_company,
    User.share_title,
    User.share_headline,
    ConnectionRow.blocked_at,
)


def _contacts_query(user_id: uuid.UUID):
    return (
        select(*_CONTACT_COLUMNS)
        .join(User, User.id == Contact.other_id)
        .join(ConnectionRow, ConnectionRow.id == Contact.connection_id)
        .where(Contact.owner_id == user_id, Contact.removed_at.is_(None))
    )


def _tags(connection: Connection, contact_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {}
    rows = connection.execute(
        select(ContactTag.contact_id, ContactTag.tag)
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(ContactTag.contact_id, ContactTag.tag)
    )
    for contact_id, tag in rows:
        found.setdefault(contact_id, []).append(tag)
    return found


def _contact_row(row, tags: list[str], at: datetime) -> dict:
    # What they share now; if they blocked me, only their name as it was (accounts'
    # shared_profile, read from this row's columns).
    frozen = row.frozen_display_name is not None
    return {
        "id": str(row.id),
        "event_id": _id(row.event_id),
        "user_id": str(row.other_id),
        "display_name": row.frozen_display_name if frozen else row.display_name,
        "headline": row.headline if row.share_headline and not frozen else None,
        "company": row.company if row.share_company and not frozen else None,
        "title": row.title if row.share_title and not frozen else None,
        "email": row.email if row.share_email and not frozen else None,
        "met_in_person": bool(row.met_in_person),
        "met_at": to_ms(row.met_at),
        "note": row.note,
        "tags": json.dumps(tags),
        "strength": networking.strength_of(row, at),
        "going_cold": networking.going_cold_of(row, at),
        "muted": row.muted_at is not None,
        "blocked": row.blocked_at is not None,
    }


def contact_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    query = _contacts_query(viewer.user_id)
    if ids is None:
        result = connection.execute(
            query.order_by(Contact.id).execution_options(yield_per=STREAM_ROWS)
        )
        batches: Iterable = (list(part) for part in result.partitions())
    else:
        batches = (
            list(connection.execute(query.where(Contact.id.in_(batch)))) for batch in chunks(ids)
        )
    for rows in batches:
        if not rows:
            continue
        tags = _tags(connection, [r.id for r in rows])
        for row in rows:
            yield _contact_row(row, tags.get(row.id, []), viewer.at)


def contacts_decayed(
    connection: Connection, user_id: uuid.UUID, then: datetime, now: datetime
) -> set[uuid.UUID]:
    """My contacts whose strength or going_cold differs between two instants with no write:
    time alone moves them (strength halves every 90 days; a tie goes cold after 60)."""
    base = networking.strength_base_sql()
    touch = networking.last_touch_sql()
    cold_from = networking.GOING_COLD_AFTER_DAYS
    went_cold = and_(
        base >= networking.GOING_COLD_MIN_BASE,
        touch >= then - timedelta(days=cold_from),
        touch < now - timedelta(days=cold_from),
    )
    query = select(Contact.id).where(
        Contact.owner_id == user_id,
        Contact.removed_at.is_(None),
        or_(networking.strength_sql(then) != networking.strength_sql(now), went_cold),
    )
    return set(connection.execute(query).scalars())


# messages -----------------------------------------------------------------------------------


def message_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    """Both directions of every conversation with a contact I keep and who was not erased."""
    other = User.__table__.alias("other")
    query = (
        select(
            Message.id,
            Contact.id.label("contact_id"),
            Message.sender_id,
            Message.kind,
            Message.body,
            Message.sent_at,
            Message.read_at,
        )
        .select_from(Contact)
        .join(other, other.c.id == Contact.other_id)
        .join(Message, Message.connection_id == Contact.connection_id)
        .where(
            Contact.owner_id == viewer.user_id,
            Contact.removed_at.is_(None),
            other.c.deleted_at.is_(None),
        )
    )
    user_id = viewer.user_id
    for batch in [None] if ids is None else chunks(ids):
        scoped = query if batch is None else query.where(Message.id.in_(batch))
        result = connection.execute(scoped.execution_options(yield_per=STREAM_ROWS))
        for row in result:
            yield {
                "id": str(row.id),
                "contact_id": str(row.contact_id),
                "direction": "outgoing" if row.sender_id == user_id else "incoming",
                "kind": row.kind,
                "body": row.body,
                "sent_at": to_ms(row.sent_at),
                "read_at": to_ms(row.read_at),
            }


# follow-ups ---------------------------------------------------------------------------------


def follow_up_rows(connection: Connection, viewer: Viewer, ids=None) -> Iterator[dict]:
    query = (
        select(
            FollowUp.id,
            FollowUp.contact_id,
            FollowUp.plan_id,
            FollowUp.kind,
            FollowUp.body,
            FollowUp.send_at,
            FollowUp.status,
            FollowUp.status_reason,
        )
        .join(Contact, Contact.id == FollowUp.contact_id)
        .where(FollowUp.owner_id == viewer.user_id, Contact.removed_at.is_(None))
    )
    for batch in [None] if ids is None else chunks(ids):
        scoped = query if batch is None else query.where(FollowUp.id.in_(batch))
        result = connection.execute(scoped.execution_options(yield_per=STREAM_ROWS))
        for row in result:
            yield {
                "id": str(row.id),
                "contact_id": str(row.contact_id),
                "plan_id": _id(row.plan_id),
                "kind": row.kind,
                "body": row.body,
                "send_at": to_ms(row.send_at),
                "status": row.status,
                "reason": row.status_reason,
            }


READERS: dict[str, Callable[..., Iterator[dict]]] = {
    "profile": profile_rows,
    "events": event_rows,
    "sessions": session_rows,
    "registrations": registration_rows,
    "contacts": contact_rows,
    "messages": message_rows,
    "follow_ups": follow_up_rows,
}

# Change-log tables → sync tables. Event-scoped rows (`event`, `event_sessions`) are read for
# the events the person belongs to now.
USER_LOG_TABLES = TABLES
EVENT_LOG_TABLES = {"event": "events", "event_sessions": "sessions"}
