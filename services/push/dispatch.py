"""Deciding queued notifications: the respect rules, then one delivery per device.

One transaction per batch. It claims the due notifications (`FOR UPDATE SKIP LOCKED`: workers
never wait for each other's rows), locks the recipients' settings rows in id order (so the
per-person counts below are exact with several workers), and decides each notification:

1. its category is off in the recipient's settings → dropped (`category_off`);
2. the recipient muted, marked not-interested or blocked the actor → dropped (`muted`/`blocked`);
3. a message already read (on another device) → dropped (`read`);
4. inside the recipient's quiet hours → held until they end (`due_at` moves);
5. a push for the same conversation went out less than 5 minutes ago → held until 5 minutes
   after it;
6. 20 pushes already went to this person in the last hour → dropped (`hourly_cap`; the in-app
   feed still lists it);
7. otherwise sent: the queued notifications of the same conversation (held ones too) collapse
   into it ("N new messages"), its payload is fixed, and a delivery is queued for each of the
   recipient's devices whose provider is configured.

Lock order: notifications (skip-locked), then a transaction-scoped advisory lock per recipient
in key order (PostgreSQL); nothing that holds a recipient lock ever waits for a notification
row (siblings are claimed skip-locked too), so workers cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from services.core.models import (
    Connection,
    Contact,
    Message,
    Notification,
    NotificationSettings,
    PushDelivery,
    PushDevice,
    User,
    new_id,
)
from services.messaging.followups import delivery_time
from services.push.devices import DEFAULTS, SETTINGS
from services.push.outbox import (
    CATEGORY,
    COLLAPSED,
    CONTACT_EXCHANGED,
    DROPPED,
    MEETING_ACCEPTED,
    MEETING_CANCELLED,
    MEETING_REQUEST,
    MESSAGE_RECEIVED,
    QUEUED,
    SENT,
    STAFF_INVITATION,
)

CONVERSATION_GAP = timedelta(minutes=5)
HOURLY_CAP = 20
GIVE_UP_AFTER = timedelta(hours=24)


@dataclass
class DispatchReport:
    sent: int = 0
    collapsed: int = 0
    held: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0

    @property
    def decided(self) -> int:
        return self.sent + self.collapsed + self.held + sum(self.dropped.values())


def deep_link(notification: Notification) -> str:
    if notification.type in (MESSAGE_RECEIVED, CONTACT_EXCHANGED):
        return f"wellspring://contacts/{notification.contact_id or ''}".rstrip("/")
    if notification.type == STAFF_INVITATION:
        return f"wellspring://events/{notification.event_id}"
    return f"wellspring://meetings/{notification.meeting_id}"


def notification_data(notification: Notification) -> dict[str, str]:
    """The payload's `data` (and the feed's): ids as strings, the deep link."""
    data = {"notification_id": str(notification.id)}
    for name in ("contact_id", "event_id", "meeting_id"):
        value = getattr(notification, name)
        if value is not None:
            data[name] = str(value)
    data["deep_link"] = deep_link(notification)
    if notification.collapsed_count > 1:
        data["count"] = str(notification.collapsed_count)
    return data


def _text(notification: Notification, actor: str | None, previews: bool) -> tuple[str, str]:
    who = actor or "Someone"
    kind, count = notification.type, notification.collapsed_count
    if kind == MESSAGE_RECEIVED:
        title = notification.title or actor or "Wellspring"
        if count > 1:
            return title, f"{count} new messages"
        if previews and notification.preview:
            return title, notification.preview[:1000]
        return title, "Sent you a message"
    if kind == CONTACT_EXCHANGED:
        return notification.title or "New contact", f"You and {who} exchanged contacts."
    if kind == STAFF_INVITATION:
        return notification.title or "Staff invitation", "You are invited to join an event's staff."
    return {
        MEETING_REQUEST: ("Meeting request", f"{who} would like to meet you."),
        MEETING_ACCEPTED: ("Meeting booked", f"{who} accepted your meeting request."),
        MEETING_CANCELLED: ("Meeting cancelled", f"{who} cancelled your meeting."),
    }[kind]


def payload(
    notification: Notification, actor: str | None, previews: bool, badge: int
) -> dict[str, Any]:
    title, body = _text(notification, actor, previews)
    return {
        "type": notification.type,
        "title": title,
        "body": body,
        "data": notification_data(notification),
        "badge": badge,
        "collapse_key": notification.collapse_key,
    }


def lock_recipients(session: Session, user_ids: list[uuid.UUID]) -> None:
    """Serialize deciding for the same people across workers (PostgreSQL: transaction-scoped
    advisory locks, taken in key order so two workers never wait on each other in a cycle;
    SQLite: a write transaction already excludes every other)."""
    if not user_ids or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(uid.bytes[:8], "big", signed=True) for uid in user_ids})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM "
            "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
        ),
        {"keys": keys},
    )


class _Context:
    """What the rules read for one batch, fetched in a few set queries."""

    def __init__(self, session: Session, rows: list[Notification], now: datetime):
        users = sorted({n.user_id for n in rows})
        actors = {n.actor_id for n in rows if n.actor_id is not None}
        lock_recipients(session, users)
        self.settings = {uid: dict(DEFAULTS) for uid in users}
        for row in session.execute(
            select(
                NotificationSettings.user_id,
                *(getattr(NotificationSettings, name) for name in SETTINGS),
            ).where(NotificationSettings.user_id.in_(users))
        ):
            self.settings[row[0]] = dict(zip(SETTINGS, row[1:], strict=True))
        # Plain rows (what quiet hours need), not entities: a batch reads hundreds.
        self.users = {
            row.id: row
            for row in session.execute(
                select(User.id, User.timezone, User.quiet_hours_start, User.quiet_hours_end).where(
                    User.id.in_(users)
                )
            )
        }
        self.names = (
            dict(
                session.execute(select(User.id, User.display_name).where(User.id.in_(actors))).all()
            )
            if actors
            else {}
        )
        self.controls: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        if actors:
            for owner, other, muted, not_interested, blocked in session.execute(
                select(
                    Contact.owner_id,
                    Contact.other_id,
                    Contact.muted_at,
                    Contact.not_interested_at,
                    Connection.blocked_at,
                )
                .join(Connection, Connection.id == Contact.connection_id)
                .where(Contact.owner_id.in_(users), Contact.other_id.in_(actors))
            ):
                if blocked is not None:
                    self.controls[(owner, other)] = "blocked"
                elif muted is not None or not_interested is not None:
                    self.controls[(owner, other)] = "muted"
        since_hour = now - timedelta(hours=1)
        self.hourly = defaultdict(
            int,
            session.execute(
                select(Notification.user_id, func.count())
                .where(
                    Notification.user_id.in_(users),
                    Notification.status == SENT,
                    Notification.sent_at > since_hour,
                )
                .group_by(Notification.user_id)
            ).all(),
        )
        keys = {(n.user_id, n.collapse_key) for n in rows if n.collapse_key}
        self.last_sent: dict[tuple[uuid.UUID, str], datetime] = {}
        if keys:
            for user_id, key, last in session.execute(
                select(
                    Notification.user_id, Notification.collapse_key, func.max(Notification.sent_at)
                )
                .where(
                    tuple_(Notification.user_id, Notification.collapse_key).in_(list(keys)),
                    Notification.status == SENT,
                    Notification.sent_at > now - CONVERSATION_GAP,
                )
                .group_by(Notification.user_id, Notification.collapse_key)
            ):
                self.last_sent[(user_id, key)] = last
        message_ids = [n.message_id for n in rows if n.message_id is not None]
        self.read = (
            set(
                session.scalars(
                    select(Message.id).where(
                        Message.id.in_(message_ids), Message.read_at.is_not(None)
                    )
                )
            )
            if message_ids
            else set()
        )


def _claim(session: Session, now: datetime, batch: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.status == QUEUED, Notification.due_at <= now)
            .order_by(Notification.due_at, Notification.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )


def _siblings(
    session: Session, keys: set[tuple[uuid.UUID, str]], claimed: set[uuid.UUID]
) -> list[Notification]:
    """Queued notifications of the same conversations not in the batch (held ones)."""
    if not keys:
        return []
    rows = session.scalars(
        select(Notification)
        .where(
            Notification.status == QUEUED,
            tuple_(Notification.user_id, Notification.collapse_key).in_(list(keys)),
        )
        .with_for_update(skip_locked=True)
    )
    return [row for row in rows if row.id not in claimed]


def dispatch_batch(
    session: Session, now: datetime, *, providers: Collection[str], batch: int = 500
) -> DispatchReport:
    """Decide up to `batch` due notifications; the caller commits."""
    report = DispatchReport()
    rows = _claim(session, now, batch)
    if not rows:
        return report
    context = _Context(session, rows, now)

    # Units: a notification on its own, or a conversation's due notifications together.
    units: dict[Any, list[Notification]] = defaultdict(list)
    for row in rows:
        units[(row.user_id, row.collapse_key) if row.collapse_key else row.id].append(row)

    to_send: list[tuple[Notification, list[Notification]]] = []
    sent_keys: set[tuple[uuid.UUID, str]] = set()

    def drop(row: Notification, reason: str) -> None:
        row.status, row.status_reason, row.updated_at = DROPPED, reason, now
        report.dropped[reason] = report.dropped.get(reason, 0) + 1

    def hold(group: list[Notification], until: datetime) -> None:
        for row in group:
            row.due_at, row.updated_at = until, now
        report.held += len(group)

    for group in units.values():
        first = group[0]
        user, settings = context.users[first.user_id], context.settings[first.user_id]
        live = []
        for row in group:
            if not settings[CATEGORY[row.type]]:
                drop(row, "category_off")
            elif row.actor_id is not None and (row.user_id, row.actor_id) in context.controls:
                drop(row, context.controls[(row.user_id, row.actor_id)])
            elif row.message_id is not None and row.message_id in context.read:
                drop(row, "read")
            else:
                live.append(row)
        if not live:
            continue
        quiet_end = delivery_time(user, now)
        if quiet_end > now:
            hold(live, quiet_end)
            continue
        key = (first.user_id, first.collapse_key) if first.collapse_key else None
        last = context.last_sent.get(key) if key else None
        if last is not None and now < last + CONVERSATION_GAP:
            hold(live, last + CONVERSATION_GAP)
            continue
        if context.hourly[first.user_id] >= HOURLY_CAP:
            for row in live:
                drop(row, "hourly_cap")
            continue
        context.hourly[first.user_id] += 1
        if key:
            context.last_sent[key] = now
            sent_keys.add(key)
        # The newest carries the push (its text, its contact); the rest collapse into it.
        live.sort(key=lambda n: (n.created_at, str(n.id)))
        to_send.append((live[-1], live[:-1]))

    claimed = {row.id for row in rows}
    held_siblings: dict[tuple[uuid.UUID, str], list[Notification]] = defaultdict(list)
    for sibling in _siblings(session, sent_keys, claimed):
        if sibling.message_id is not None and sibling.message_id in context.read:
            continue  # read already: left for its own turn, which drops it
        held_siblings[(sibling.user_id, sibling.collapse_key)].append(sibling)

    unread = (
        dict(
            session.execute(
                select(Message.recipient_id, func.count())
                .where(
                    Message.recipient_id.in_({n.user_id for n, _ in to_send}),
                    Message.read_at.is_(None),
                )
                .group_by(Message.recipient_id)
            ).all()
        )
        if to_send
        else {}
    )
    devices: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if to_send and providers:
        for device_id, user_id in session.execute(
            select(PushDevice.id, PushDevice.user_id).where(
                PushDevice.user_id.in_({n.user_id for n, _ in to_send}),
                PushDevice.provider.in_(list(providers)),
            )
        ):
            devices[user_id].append(device_id)

    deliveries = []
    for carrier, collapsed in to_send:
        if carrier.collapse_key:
            collapsed = collapsed + held_siblings.get((carrier.user_id, carrier.collapse_key), [])
        for row in collapsed:
            row.status, row.status_reason, row.updated_at = COLLAPSED, "collapsed", now
            carrier.collapsed_count += row.collapsed_count
        report.collapsed += len(collapsed)
        previews = context.settings[carrier.user_id]["previews"]
        carrier.payload = payload(
            carrier,
            context.names.get(carrier.actor_id),
            previews,
            unread.get(carrier.user_id, 0),
        )
        carrier.status, carrier.sent_at, carrier.updated_at = SENT, now, now
        report.sent += 1
        for device_id in devices.get(carrier.user_id, ()):
            deliveries.append(
                {
                    "id": new_id(),
                    "notification_id": carrier.id,
                    "device_id": device_id,
                    "status": QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "give_up_at": now + GIVE_UP_AFTER,
                    "created_at": now,
                }
            )
    session.flush()
    if deliveries:
        session.execute(insert(PushDelivery), deliveries)
    report.deliveries = len(deliveries)
    return report
