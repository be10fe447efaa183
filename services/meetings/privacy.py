"""Meetings in the account export and erasure (services.accounts.privacy).

Export: the person's requests (sent and received, with the text), their meetings and whether
they have a calendar feed (never its token). Erasure: the person's tags and match rows, their
calendar feed and the text of their requests go; their pending requests are withdrawn and their
booked meetings cancelled (the other side's counters and seats are freed). Counts for the stats
stay, as anonymous aggregates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session, aliased

from services.core.formatting import to_iso
from services.core.models import (
    CalendarFeed,
    Event,
    MatchTag,
    Meeting,
    MeetingParticipant,
    MeetingRequest,
    User,
)
from services.meetings.booking import BOOKED, CANCELLED
from services.meetings.requests import PENDING, release_counters

ERASED_MESSAGE = "[erased]"


def export_meeting_data(session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """My meeting requests both ways, my meetings, and my calendar feed's age (not its token).
    The other person appears by id and display name, as the meetings API shows them."""
    other = aliased(User)
    requests = session.execute(
        select(MeetingRequest, Event.name, other.display_name)
        .join(Event, Event.id == MeetingRequest.event_id)
        .join(
            other,
            other.id == _the_other(MeetingRequest.from_user_id, MeetingRequest.to_user_id, user_id),
        )
        .where(or_(MeetingRequest.from_user_id == user_id, MeetingRequest.to_user_id == user_id))
        .order_by(MeetingRequest.created_at, MeetingRequest.id)
    ).all()
    meetings = session.execute(
        select(Meeting, Event.name, other.display_name)
        .join(Event, Event.id == Meeting.event_id)
        .join(other, other.id == _the_other(Meeting.requester_id, Meeting.recipient_id, user_id))
        .where(or_(Meeting.requester_id == user_id, Meeting.recipient_id == user_id))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    feed = session.get(CalendarFeed, user_id)
    return {
        "meeting_requests": [
            {
                "id": str(r.id),
                "event_id": str(r.event_id),
                "event_name": event_name,
                "direction": "sent" if r.from_user_id == user_id else "received",
                "with": {
                    "user_id": str(_other_id(r.from_user_id, r.to_user_id, user_id)),
                    "display_name": name,
                },
                "kind": r.kind,
                "message": r.message,
                "slots": list(r.slots),
                "status": r.status,
                "created_at": to_iso(r.created_at),
                "responded_at": to_iso(r.responded_at),
            }
            for r, event_name, name in requests
        ],
        "meetings": [
            {
                "id": str(m.id),
                "event_id": str(m.event_id),
                "event_name": event_name,
                "request_id": str(m.request_id),
                "with": {
                    "user_id": str(_other_id(m.requester_id, m.recipient_id, user_id)),
                    "display_name": name,
                },
                "spot": m.spot.name,
                "starts_at": to_iso(m.starts_at),
                "ends_at": to_iso(m.ends_at),
                "status": m.status,
                "cancelled_at": to_iso(m.cancelled_at),
                "held_at": to_iso(m.held_at),
            }
            for m, event_name, name in meetings
        ],
        "calendar_feed": None if feed is None else {"created_at": to_iso(feed.created_at)},
    }


def _the_other(first, second, user_id: uuid.UUID):
    """SQL: whichever of two user-id columns is not me."""
    return case((first == user_id, second), else_=first)


def _other_id(first: uuid.UUID, second: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    return second if first == user_id else first


def forget_person(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    """Runs inside the erasure's transaction; does not commit."""
    session.execute(update(User).where(User.id == user_id).values(offers=[], seeks=[]))
    session.execute(delete(MatchTag).where(MatchTag.user_id == user_id))
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    pending = session.scalars(
        select(MeetingRequest)
        .where(
            or_(MeetingRequest.from_user_id == user_id, MeetingRequest.to_user_id == user_id),
            MeetingRequest.status == PENDING,
        )
        .with_for_update()
    ).all()
    for request in pending:
        request.status = "cancelled"
        request.responded_at = now
        release_counters(session, request)
    session.execute(
        update(MeetingRequest)
        .where(MeetingRequest.from_user_id == user_id)
        .values(message=ERASED_MESSAGE)
    )
    booked = select(Meeting.id).where(
        or_(Meeting.requester_id == user_id, Meeting.recipient_id == user_id),
        Meeting.status == BOOKED,
    )
    ids = list(session.scalars(booked))
    if ids:
        session.execute(
            update(Meeting)
            .where(Meeting.id.in_(ids))
            .values(status=CANCELLED, cancelled_at=now, cancelled_by_id=user_id)
        )
        session.execute(
            update(MeetingParticipant)
            .where(MeetingParticipant.meeting_id.in_(ids))
            .values(active=False)
        )
    session.flush()
