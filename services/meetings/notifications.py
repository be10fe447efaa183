"""Where meeting push notifications are queued: the one place meetings talk to push.

`queue_notification` runs inside the transaction of the change it announces (a request made,
accepted, a meeting cancelled) and writes a row in the push outbox
(`services.push.outbox.notify_meeting`), so a rolled-back change announces nothing and the push
worker applies its respect rules (mutes, quiet hours, the person's meeting setting) when it
sends. A decline sends nothing: it is never announced.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.push.outbox import (
    MEETING_ACCEPTED,
    MEETING_CANCELLED,
    MEETING_REQUEST,
    notify_meeting,
)

KINDS = (MEETING_REQUEST, MEETING_ACCEPTED, MEETING_CANCELLED)


def queue_notification(
    session: Session,
    *,
    type: str,
    user_id: uuid.UUID,
    actor_id: uuid.UUID,
    meeting_id: uuid.UUID,
    event_id: uuid.UUID,
    now: datetime,
) -> None:
    """Queue one push for `user_id` about `actor_id`'s action, in the caller's transaction.
    `meeting_id` is the request's id for `meeting_request`, the meeting's otherwise."""
    notify_meeting(
        session,
        type=type,
        user_id=user_id,
        actor_id=actor_id,
        meeting_id=meeting_id,
        event_id=event_id,
        now=now,
    )
