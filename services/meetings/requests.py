"""Meeting requests: proposing 1-3 slots to another attendee, under the "don't pester" rules.

Who may be asked: an attendee registered at the event who is discoverable there, or who is
already my contact (anyone else: 404, as if they were not there). Refusals, first match wins:
- 403 `recipient_unavailable`: they declined a request of mine at this event, muted me or
  marked me "not interested", or one of us blocked the other. One answer for all, so a decline
  is never revealed (and it is final for the event).
- 409 `request_pending`: I already have a pending request to them here.
- 429 `requests_cap`: I have SENDER_PENDING_CAP pending requests at this event.
- 429 `recipient_busy`: they have RECIPIENT_PENDING_CAP pending incoming requests.
The caps are counters on the two registrations, raised by conditional UPDATEs (`... WHERE
pending < cap`) in registration id order: the row lock each takes makes parallel requests
count exactly, on either database, and the order keeps two people requesting each other at once
from deadlocking. They go down in the transaction that answers or cancels a request.
A request made carries the message coach's hints (services.accounts.hints).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts.hints import Hint, message_hints
from services.core.db import retrying_transient_conflicts
from services.core.errors import InvalidInput, NotFound
from services.core.formatting import to_iso
from services.core.models import Connection, Contact, MeetingRequest, Registration, User
from services.core.pagination import Page, before_time_id, page_from_rows, time_id_cursor
from services.events import events
from services.meetings import notifications, setup
from services.meetings.errors import (
    InvalidSlot,
    NotRegistered,
    RecipientBusy,
    RecipientUnavailable,
    RequestNotPending,
    RequestPending,
    RequestsCap,
    UnknownAttendee,
)

SENDER_PENDING_CAP = 10  # pending outgoing requests per sender and event
RECIPIENT_PENDING_CAP = 20  # pending incoming requests per recipient and event
MAX_SLOTS = 3
MAX_MESSAGE_LENGTH = 500
KINDS = ("offer", "ask")
PENDING, ACCEPTED, DECLINED, CANCELLED = "pending", "accepted", "declined", "cancelled"
STATUSES = (PENDING, ACCEPTED, DECLINED, CANCELLED)
INCOMING, OUTGOING = "incoming", "outgoing"

_registrations = Registration.__table__


# A request between two people in one of these keeps them out of each other's recommendations
# at the event (pending or accepted: already in play; declined: either way, final).
IN_PLAY_OR_DECLINED = (PENDING, ACCEPTED, DECLINED)


@dataclass
class RequestView:
    request: MeetingRequest
    other: User  # the person on the other side, from the viewer's seat
    hints: list[Hint] = field(default_factory=list)

    def __getattr__(self, name):
        return getattr(self.request, name)

    @property
    def with_(self) -> dict:
        return {"user_id": self.other.id, "display_name": self.other.display_name}


def parse_slot(raw: str | datetime) -> datetime:
    return raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)


def _check_slots(event, slots: list[datetime], now: datetime) -> list[str]:
    blocks, length = setup.hour_blocks(event), setup.slot_length(event)
    problems = []
    unique = sorted(set(slots))
    if not 1 <= len(unique) <= MAX_SLOTS:
        problems.append(f"Propose 1-{MAX_SLOTS} different slots.")
    for slot in unique:
        if not setup.is_slot_start(blocks, length, slot):
            problems.append(f"{to_iso(slot)} is not a slot start inside the meeting hours.")
        elif slot <= now:
            problems.append(f"{to_iso(slot)} has already started.")
    if problems:
        raise InvalidSlot(errors={"slots": problems})
    return [to_iso(slot) for slot in unique]


def _sides(session: Session, me: uuid.UUID, other: uuid.UUID):
    """My contact row toward them, theirs toward me, and the connection (any may be None)."""
    rows = session.scalars(
        select(Contact).where(
            or_(
                (Contact.owner_id == me) & (Contact.other_id == other),
                (Contact.owner_id == other) & (Contact.other_id == me),
            )
        )
    ).all()
    mine = next((c for c in rows if c.owner_id == me), None)
    theirs = next((c for c in rows if c.owner_id == other), None)
    low, high = sorted((me, other))
    connection = session.scalar(
        select(Connection).where(Connection.user_a_id == low, Connection.user_b_id == high)
    )
    return mine, theirs, connection


def _unavailable(session, event_id, sender_id, recipient_id, theirs, connection) -> bool:
    if connection is not None and connection.blocked_at is not None:
        return True
    if theirs is not None and (theirs.muted_at is not None or theirs.not_interested_at is not None):
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    MeetingRequest.from_user_id == sender_id,
                    MeetingRequest.to_user_id == recipient_id,
                    MeetingRequest.event_id == event_id,
                    MeetingRequest.status == DECLINED,
                )
            )
        )
    )


def _raise_counters(session: Session, sender_reg: Registration, recipient_reg: Registration):
    """+1 pending on both registrations, each only below its cap; in id order."""
    refused = set()
    caps = {
        sender_reg.id: (_registrations.c.pending_requests_out, SENDER_PENDING_CAP, "sender"),
        recipient_reg.id: (
            _registrations.c.pending_requests_in,
            RECIPIENT_PENDING_CAP,
            "recipient",
        ),
    }
    for registration_id in sorted(caps):
        column, cap, who = caps[registration_id]
        result = session.execute(
            update(_registrations)
            .where(_registrations.c.id == registration_id, column < cap)
            .values({column.key: column + 1})
        )
        if result.rowcount == 0:
            refused.add(who)
    if "sender" in refused:
        raise RequestsCap(
            f"At most {SENDER_PENDING_CAP} pending meeting requests per event; wait for answers "
            "or cancel one.",
            next_allowed_at=None,
        )
    if "recipient" in refused:
        raise RecipientBusy(next_allowed_at=None)


def release_counters(session: Session, request: MeetingRequest) -> None:
    """-1 pending on both registrations (the request left `pending`); in id order."""
    columns = {
        request.from_registration_id: _registrations.c.pending_requests_out,
        request.to_registration_id: _registrations.c.pending_requests_in,
    }
    for registration_id in sorted(columns):
        column = columns[registration_id]
        session.execute(
            update(_registrations)
            .where(_registrations.c.id == registration_id, column > 0)
            .values({column.key: column - 1})
        )


def request_meeting(
    session: Session,
    sender: User,
    event_id: uuid.UUID,
    *,
    to_user_id: uuid.UUID,
    slots: list[datetime],
    message: str,
    kind: str,
    now: datetime,
) -> RequestView:
    """Ask another attendee for a 1:1 meeting at one of `slots`; commits (see the module doc)."""
    event = events.get_event(session, event_id)
    sender_reg = events.live_registration(session, event_id, sender.id)
    if sender_reg is None:
        raise NotRegistered()
    if to_user_id == sender.id:
        raise InvalidInput(errors={"to_user_id": ["You cannot request a meeting with yourself."]})
    recipient = session.get(User, to_user_id)
    recipient_reg = events.live_registration(session, event_id, to_user_id)
    if recipient is None or recipient.deleted_at is not None or recipient_reg is None:
        raise UnknownAttendee()
    mine, theirs, connection = _sides(session, sender.id, to_user_id)
    is_contact = mine is not None and mine.removed_at is None
    if not recipient_reg.discoverable and not is_contact:
        raise UnknownAttendee()
    body = message.strip()
    if not body or len(body) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(errors={"message": [f"1-{MAX_MESSAGE_LENGTH} characters."]})
    if kind not in KINDS:
        raise InvalidInput(errors={"kind": [f"One of {', '.join(KINDS)}."]})
    stored_slots = _check_slots(event, slots, now)
    if _unavailable(session, event_id, sender.id, to_user_id, theirs, connection):
        raise RecipientUnavailable()

    def write() -> MeetingRequest:
        pending = session.scalar(
            select(
                exists().where(
                    MeetingRequest.event_id == event_id,
                    MeetingRequest.from_user_id == sender.id,
                    MeetingRequest.to_user_id == to_user_id,
                    MeetingRequest.status == PENDING,
                )
            )
        )
        if pending:
            raise RequestPending()
        _raise_counters(session, sender_reg, recipient_reg)
        request = MeetingRequest(
            event_id=event_id,
            from_user_id=sender.id,
            to_user_id=to_user_id,
            from_registration_id=sender_reg.id,
            to_registration_id=recipient_reg.id,
            kind=kind,
            message=body,
            slots=stored_slots,
            status=PENDING,
            created_at=now,
        )
        session.add(request)
        try:
            session.flush()
        except IntegrityError as exc:  # a twin request committed first (the unique index)
            session.rollback()
            raise RequestPending() from exc
        notifications.queue_notification(
            session,
            type=notifications.MEETING_REQUEST,
            user_id=to_user_id,
            actor_id=sender.id,
            meeting_id=request.id,
            event_id=event_id,
            now=now,
        )
        session.commit()
        return request

    request = retrying_transient_conflicts(session, write)
    cold = mine is None or not mine.other_ever_wrote
    asks = ((mine.asks_in_a_row if mine else 0) + 1) if kind == "ask" else 0
    hints = message_hints(body=body, kind=kind, cold=cold, asks_in_a_row=asks)
    return RequestView(request, recipient, hints)


def lock_request(session: Session, request_id: uuid.UUID) -> MeetingRequest | None:
    return session.scalar(
        select(MeetingRequest)
        .where(MeetingRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _answer(
    session: Session, actor: User, request_id: uuid.UUID, *, as_recipient: bool, status: str, now
) -> None:
    request = lock_request(session, request_id)
    party = request.to_user_id if request is not None and as_recipient else None
    if request is not None and not as_recipient:
        party = request.from_user_id
    if request is None or party != actor.id:
        raise NotFound("No such meeting request")
    if request.status == status:
        return  # a retried decline or cancel
    if request.status != PENDING:
        raise RequestNotPending()
    request.status = status
    request.responded_at = now
    release_counters(session, request)
    session.commit()


def decline_request(session: Session, actor: User, request_id: uuid.UUID, now: datetime) -> None:
    """The recipient says no; final for this event. The requester only ever sees `declined`."""
    _answer(session, actor, request_id, as_recipient=True, status=DECLINED, now=now)


def cancel_request(session: Session, actor: User, request_id: uuid.UUID, now: datetime) -> None:
    """The requester withdraws a pending request."""
    _answer(session, actor, request_id, as_recipient=False, status=CANCELLED, now=now)


def list_requests(
    session: Session,
    viewer: User,
    *,
    direction: str,
    status: str | None = None,
    event_id: uuid.UUID | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[RequestView]:
    """My incoming or outgoing requests, newest first."""
    mine = MeetingRequest.to_user_id if direction == INCOMING else MeetingRequest.from_user_id
    other = MeetingRequest.from_user_id if direction == INCOMING else MeetingRequest.to_user_id
    query = (
        select(MeetingRequest, User)
        .join(User, User.id == other)
        .where(mine == viewer.id)
        .order_by(MeetingRequest.created_at.desc(), MeetingRequest.id.desc())
        .limit(limit + 1)
    )
    if status:
        query = query.where(MeetingRequest.status == status)
    if event_id:
        query = query.where(MeetingRequest.event_id == event_id)
    if cursor:
        query = query.where(before_time_id(MeetingRequest.created_at, MeetingRequest.id, cursor))
    rows = [RequestView(request, user) for request, user in session.execute(query)]
    return page_from_rows(rows, limit, lambda v: time_id_cursor(v.created_at, v.id))
