"""What an account's erasure (services.accounts.privacy.erase_user) does to meetings: the
person's tags and match rows, their calendar feed and the text of their requests go; their
pending requests are withdrawn and their booked meetings cancelled (the other side's counters
and seats are freed). Counts for the stats stay, as anonymous aggregates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from services.core.models import (
    CalendarFeed,
    MatchTag,
    Meeting,
    MeetingParticipant,
    MeetingRequest,
    User,
)
from services.meetings.booking import BOOKED, CANCELLED
from services.meetings.requests import PENDING, release_counters

ERASED_MESSAGE = "[erased]"


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
