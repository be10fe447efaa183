"""The notification outbox: what other domains call, inside their own transaction.

A notification is a row written in the same transaction as the change that causes it (a
message, a delivered follow-up, a contact scan, a staff invitation, a meeting request …): a
rolled-back change leaves none, and a committed one is never lost. The worker decides it later
(services.push.dispatch) and sends it (services.push.delivery). Nothing here locks or reads:
queuing costs one INSERT.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.core.models import Notification

MESSAGE_RECEIVED = "message_received"
CONTACT_EXCHANGED = "contact_exchanged"
STAFF_INVITATION = "staff_invitation"
MEETING_REQUEST = "meeting_request"
MEETING_ACCEPTED = "meeting_accepted"
MEETING_CANCELLED = "meeting_cancelled"
TYPES = (
    MESSAGE_RECEIVED,
    CONTACT_EXCHANGED,
    STAFF_INVITATION,
    MEETING_REQUEST,
    MEETING_ACCEPTED,
    MEETING_CANCELLED,
)
# Which setting turns each type off.
CATEGORY = {
    MESSAGE_RECEIVED: "messages",
    CONTACT_EXCHANGED: "contacts",
    STAFF_INVITATION: "invitations",
    MEETING_REQUEST: "meetings",
    MEETING_ACCEPTED: "meetings",
    MEETING_CANCELLED: "meetings",
}

QUEUED = "queued"
SENT = "sent"
DROPPED = "dropped"
COLLAPSED = "collapsed"


def notify(
    session: Session,
    *,
    user_id: uuid.UUID,
    type: str,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    message_id: uuid.UUID | None = None,
    collapse_key: str | None = None,
    title: str | None = None,
    preview: str | None = None,
) -> Notification:
    """Queue a notification for `user_id` in the caller's transaction (the caller commits).

    `actor_id` is the person who caused it: the recipient's mute / not-interested / block toward
    them drops it. `title` defaults to the actor's name at sending time; `preview` is text that
    is pushed only if the recipient turned `previews` on. `collapse_key` groups a conversation.
    """
    if type not in CATEGORY:
        raise ValueError(f"unknown notification type {type!r}")
    notification = Notification(
        user_id=user_id,
        type=type,
        status=QUEUED,
        actor_id=actor_id,
        contact_id=contact_id,
        event_id=event_id,
        meeting_id=meeting_id,
        message_id=message_id,
        collapse_key=collapse_key,
        title=title,
        preview=preview,
        collapsed_count=1,
        created_at=now,
        due_at=now,
        updated_at=now,
    )
    session.add(notification)
    return notification


def conversation_key(connection_id: uuid.UUID) -> str:
    """One collapse key per conversation (32 hex characters, so it fits every provider)."""
    return connection_id.hex


def notify_message_received(
    session: Session,
    *,
    recipient_id: uuid.UUID,
    sender_id: uuid.UUID,
    recipient_contact_id: uuid.UUID | None,
    connection_id: uuid.UUID,
    message_id: uuid.UUID,
    text: str,
    now: datetime,
) -> Notification:
    """A message (or a delivered follow-up) reached `recipient_id`."""
    return notify(
        session,
        user_id=recipient_id,
        type=MESSAGE_RECEIVED,
        now=now,
        actor_id=sender_id,
        contact_id=recipient_contact_id,
        message_id=message_id,
        collapse_key=conversation_key(connection_id),
        preview=text,
    )


def notify_contact_exchanged(
    session: Session,
    *,
    scanned_id: uuid.UUID,
    scanner_id: uuid.UUID,
    scanned_contact_id: uuid.UUID,
    event_id: uuid.UUID | None,
    now: datetime,
) -> Notification:
    """`scanner_id` scanned the badge of `scanned_id`; they are now each other's contacts."""
    return notify(
        session,
        user_id=scanned_id,
        type=CONTACT_EXCHANGED,
        now=now,
        actor_id=scanner_id,
        contact_id=scanned_contact_id,
        event_id=event_id,
    )


def notify_staff_invitation(
    session: Session,
    *,
    invitee_id: uuid.UUID,
    inviter_id: uuid.UUID | None,
    event_id: uuid.UUID,
    event_name: str,
    now: datetime,
) -> Notification:
    """An account whose verified email was invited to staff `event_id`."""
    return notify(
        session,
        user_id=invitee_id,
        type=STAFF_INVITATION,
        now=now,
        actor_id=inviter_id,
        event_id=event_id,
        title=f"Staff invitation: {event_name}"[:200],
    )


def notify_meeting(
    session: Session,
    *,
    type: str,
    user_id: uuid.UUID,
    actor_id: uuid.UUID,
    meeting_id: uuid.UUID,
    event_id: uuid.UUID | None,
    now: datetime,
) -> Notification:
    """`meeting_request` / `meeting_accepted` / `meeting_cancelled` for `user_id` (the other
    side of `actor_id`'s action); `meeting_id` is the request's or the meeting's id."""
    if type not in (MEETING_REQUEST, MEETING_ACCEPTED, MEETING_CANCELLED):
        raise ValueError(f"not a meeting notification: {type!r}")
    return notify(
        session,
        user_id=user_id,
        type=type,
        now=now,
        actor_id=actor_id,
        meeting_id=meeting_id,
        event_id=event_id,
    )
