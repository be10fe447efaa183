"""Where meeting push notifications are queued: the one place, so push delivery plugs in here.

`queue_notification` runs inside the transaction of the change it announces (a request made,
accepted, a meeting cancelled), so a rolled-back change announces nothing. Until the push
domain's outbox is on main it records nothing: the call sites and their payloads are final,
the body of this function is the only thing to replace.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

MEETING_REQUEST = "meeting_request"
MEETING_ACCEPTED = "meeting_accepted"
MEETING_CANCELLED = "meeting_cancelled"
KINDS = (MEETING_REQUEST, MEETING_ACCEPTED, MEETING_CANCELLED)


def queue_notification(
    session: Session,
    *,
    recipient_id: uuid.UUID,
    kind: str,
    sender_id: uuid.UUID | None,
    data: dict[str, Any],
) -> None:
    """Queue one push for `recipient_id` in the caller's transaction (see the module doc)."""
    assert kind in KINDS, kind
    # Push outbox: not on main yet (issue "Push", branch `push`). Deliberately a no-op.
    return None
