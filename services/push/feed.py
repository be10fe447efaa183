"""`GET /v1/me/notifications`: what was pushed to me, newest first (the in-app feed).

It lists notifications that were sent, are held (quiet hours, a conversation's 5 minutes) or
were kept from the phone only by the hourly cap; not those dropped because the recipient said
so (category off, muted, blocked), nor those already read, nor those collapsed into a later one
(that one carries their count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.core.models import Notification, User
from services.core.pagination import Page, before_time_id, page_from_rows, time_id_cursor
from services.push.dispatch import notification_data
from services.push.outbox import DROPPED, QUEUED, SENT


@dataclass(frozen=True)
class FeedItem:
    id: Any
    type: str
    created_at: datetime
    data: dict[str, str]
    sent_at: datetime | None


def notifications_feed(
    session: Session, user: User, *, limit: int, cursor: str | None
) -> Page[FeedItem]:
    query = select(Notification).where(
        Notification.user_id == user.id,
        or_(
            Notification.status.in_((SENT, QUEUED)),
            and_(Notification.status == DROPPED, Notification.status_reason == "hourly_cap"),
        ),
    )
    if cursor:
        query = query.where(before_time_id(Notification.created_at, Notification.id, cursor))
    rows = list(
        session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
        )
    )
    page = page_from_rows(rows, limit, lambda n: time_id_cursor(n.created_at, n.id))
    return Page(
        [FeedItem(n.id, n.type, n.created_at, notification_data(n), n.sent_at) for n in page.items],
        page.next_cursor,
    )
