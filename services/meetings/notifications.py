"""Where meeting push notifications are queued: the one place, so push delivery plugs in here.

`queue_notification` runs inside the transaction of the change it announces (a request made,
accepted, a meeting cancelled), so a rolled-back change announces nothing. Its parameters are
those of the push domain's `services.push.outbox.notify_meeting` (branch `push`, not on main
when this was written): once that is on main, the body becomes that one call and nothing else
changes. Until then it records nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

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
    # The push outbox is not on main yet: deliberately nothing is written (see the module doc).
