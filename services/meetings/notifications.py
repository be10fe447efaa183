"""Where meeting push notifications are queued: the one place, so push delivery plugs in here.

`queue_notification` runs inside the transaction of the change it announces (a request made,
accepted, a meeting cancelled), so a rolled-back change announces nothing: it writes the push
domain's notification outbox (`services.push.outbox.notify_meeting`), whose worker applies the
recipient's settings, mutes, quiet hours and limits before anything reaches a phone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.push import outbox

MEETING_REQUEST = "meeting_request"
MEETING_ACCEPTED = "meeting_accepted"
MEETING_CANCELLED = "meeting_cancelled"
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
    if type not in KINDS:
        raise ValueError(f"not a meeting notification: {type!r}")
    outbox.notify_meeting(
        session,
        type=type,
        user_id=user_id,
        actor_id=actor_id,
        meeting_id=meeting_id,
        event_id=event_id,
        now=now,
    )
