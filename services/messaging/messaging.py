"""Messages between connections, the throttle's view of a pair, and recipient controls.

Every send goes through `send_locked`: the pair is locked, the policy decides on counters read
under that lock, and the message, both sides' counters and the cancellation of the recipient's
automated follow-ups toward the sender are written in one transaction.

Lock order (every path that takes several row locks follows it, so no two transactions wait on
each other in a cycle): a follow-up the worker claimed → the connection (the pair) → both
contact rows → the sender's and the recipient's user rows, in id order (only for cold messages,
which the per-sender and per-recipient caps count) → follow-up plans. Follow-up rows touched
while holding other locks are taken with SKIP LOCKED: one locked by a worker is being delivered,
and the worker re-checks its plan after it gets the pair, so it sees what we did.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, or_, select, true, update
from sqlalchemy.orm import Session, lazyload

from services.accounts import hints as hint_rules
from services.core.db import is_postgresql
from services.core.errors import InvalidInput, NotFound
from services.core.models import Connection, Contact, FollowUp, Message, User
from services.core.pagination import (
    Page,
    cursor_time,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
)
from services.messaging.follow_up_states import (
    NO_KEY_UPDATE,
    cancel_all_toward,
    cancel_items,
    cancel_plans,
)
from services.messaging.throttle import (
    PairState,
    ThrottleDecision,
    ThrottlePolicy,
    decide,
    in_conversation,
    refusal_error,
)
from services.networking.contacts import Blocked, counterpart, owned_contact
from services.push import outbox

KINDS = ("thank_you", "offer", "ask", "check_in", "other")
MAX_BODY_LENGTH = 5000

CONTACT_REPLIED = "contact_replied"
RECIPIENT_UNAVAILABLE = "recipient_unavailable"

# Recipient controls.
MUTE = "mute"
UNMUTE = "unmute"
NOT_INTERESTED = "not_interested"

_LOCK = NO_KEY_UPDATE
_FRESH = {"populate_existing": True}  # a locked read must not be answered from the identity map


# The pair, locked -----------------------------------------------------------------------------


@dataclass
class Pair:
    """Both sides of a connection, seen from the sender (`mine`) toward the recipient."""

    connection: Connection
    mine: Contact
    theirs: Contact | None
    recipient_gone: bool = False

    @property
    def blocked(self) -> bool:
        return self.connection.blocked_at is not None

    @property
    def recipient_unavailable(self) -> bool:
        theirs = self.theirs
        return (
            self.recipient_gone
            or theirs is None
            or theirs.removed_at is not None
            or theirs.muted_at is not None
            or theirs.not_interested_at is not None
        )


def own_side(session: Session, owner: User, contact_id: uuid.UUID) -> Contact:
    """`owned_contact` for the hot paths: the same 404s, without loading the tags."""
    contact = session.scalar(
        select(Contact).options(lazyload(Contact.tags)).where(Contact.id == contact_id)
    )
    if contact is None or contact.owner_id != owner.id or contact.removed_at is not None:
        raise NotFound("No such contact")
    return contact


def _sides_query(side: Contact):
    return (
        select(Contact, User.deleted_at)
        .options(lazyload(Contact.tags))  # never read here; spares the selectin query
        .join(User, User.id == Contact.owner_id)
        .where(
            or_(
                Contact.id == side.id,
                and_(Contact.owner_id == side.other_id, Contact.other_id == side.owner_id),
            )
        )
    )


def _pair_from_rows(connection: Connection, side: Contact, rows) -> Pair:
    mine = theirs = None
    recipient_gone = False
    for contact, owner_deleted_at in rows:
        if contact.id == side.id:
            mine = contact
        else:
            theirs, recipient_gone = contact, owner_deleted_at is not None
    return Pair(connection, mine, theirs, recipient_gone)


def lock_pair(session: Session, side: Contact) -> Pair:
    """Lock the connection, then both sides; fresh values, whatever the session held before."""
    connection = session.scalar(
        select(Connection)
        .where(Connection.id == side.connection_id)
        .with_for_update(**_LOCK)
        .execution_options(**_FRESH)
    )
    rows = session.execute(
        _sides_query(side).with_for_update(of=Contact, **_LOCK).execution_options(**_FRESH)
    ).all()
    return _pair_from_rows(connection, side, rows)


def read_pair(session: Session, side: Contact) -> Pair:
    """The same view without locks (allowance: a read-only answer)."""
    connection = session.get(Connection, side.connection_id)
    return _pair_from_rows(connection, side, session.execute(_sides_query(side)).all())


def lock_users_for_caps(session: Session, sender_id: uuid.UUID, recipient_id: uuid.UUID) -> None:
    """Serialize cold sends per sender and per recipient, so the rolling caps stay exact.

    The caps count across pairs, which the pair lock doesn't cover. One at a time, in id order.
    SQLite needs none: its writers are serialized already (BEGIN IMMEDIATE).
    """
    if not is_postgresql(session.get_bind()):
        return
    for user_id in sorted((sender_id, recipient_id)):
        session.execute(select(User.id).where(User.id == user_id).with_for_update(**_LOCK))


# The throttle's state -----------------------------------------------------------------------


def _recent(session: Session, *conditions, since: datetime, limit: int) -> tuple[datetime, ...]:
    """Send times inside a window, newest first, at most `limit` (an indexed range read)."""
    rows = session.scalars(
        select(Message.sent_at)
        .where(*conditions, Message.sent_at > since)
        .order_by(Message.sent_at.desc())
        .limit(limit)
    )
    return tuple(rows)


def side_state(side: Contact) -> PairState:
    """The counters the owner -> contact rules read, from the owner's side of the pair."""
    return PairState(
        unanswered_streak=side.unanswered_streak,
        last_sent_at=side.last_sent_at,
        last_received_at=side.last_received_at,
        recipient_ever_wrote=side.other_ever_wrote,
    )


def pair_state(
    session: Session,
    pair: Pair,
    now: datetime,
    policy: ThrottlePolicy,
    *,
    with_daily_count: bool = False,
) -> PairState:
    """Counters from the sender's side, plus only the window reads the rules will look at."""
    mine = pair.mine
    state = replace(side_state(mine), recipient_unavailable=pair.recipient_unavailable)
    cap_start = now - policy.cap_window
    windows: dict[str, tuple[datetime, ...]] = {}
    if in_conversation(state, now, policy):
        windows["recent_to_recipient"] = _recent(
            session,
            Message.sender_id == mine.owner_id,
            Message.recipient_id == mine.other_id,
            since=now - policy.burst_window,
            limit=policy.burst_limit,
        )
    if state.cold:
        windows["recent_cold_to_recipient"] = _recent(
            session,
            Message.recipient_id == mine.other_id,
            Message.cold == true(),
            since=cap_start,
            limit=policy.recipient_cold_cap,
        )
    if state.cold or with_daily_count:
        windows["recent_cold_from_sender"] = _recent(
            session,
            Message.sender_id == mine.owner_id,
            Message.cold == true(),
            since=cap_start,
            limit=policy.daily_cold_cap,
        )
    return replace(state, **windows)


# Sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageView:
    """A message as one of its two people sees it."""

    message: Message
    contact_id: uuid.UUID | None  # the viewer's contact for the other person (None if removed)
    direction: str  # "outgoing" (the viewer sent it) or "incoming"

    def __getattr__(self, name):
        return getattr(self.message, name)


@dataclass(frozen=True)
class SentMessage:
    view: MessageView
    hints: list[hint_rules.Hint]


def _count_the_message(pair: Pair, kind: str, now: datetime) -> None:
    """Both sides' counters, exactly as relationship strength and the throttle read them."""
    mine, theirs = pair.mine, pair.theirs
    mine.sent_count += 1
    mine.last_sent_at = now
    mine.unanswered_streak += 1
    mine.last_interaction_at = now
    if kind == "ask":
        mine.asks_sent += 1
        mine.asks_in_a_row += 1
    elif kind == "offer":
        mine.offers_sent += 1
        mine.asks_in_a_row = 0
    theirs.received_count += 1
    theirs.last_received_at = now
    theirs.other_ever_wrote = True
    theirs.last_interaction_at = now
    if theirs.unanswered_streak > 0:
        theirs.replies_received += 1
    theirs.unanswered_streak = 0


def cancel_plans_toward(session: Session, side: Contact | None, reason: str, now: datetime) -> int:
    """Cancel the active plans `side`'s owner made toward its other person, and their items.

    Items a delivery worker holds are skipped here; it re-reads the plan after it gets the pair
    and cancels them itself. Plans first: with none active (the usual case) that is the only
    statement.
    """
    if side is None:
        return 0
    plan_ids = cancel_plans(session, side, reason, now)
    if not plan_ids:
        return 0
    return cancel_items(session, [FollowUp.plan_id.in_(plan_ids)], reason, now)


def check_pair(
    session: Session, pair: Pair, now: datetime, policy: ThrottlePolicy
) -> tuple[ThrottleDecision, PairState]:
    """The policy's answer for the locked pair (cold sends also lock both people for the caps)."""
    if not pair.mine.other_ever_wrote and not pair.recipient_unavailable:
        lock_users_for_caps(session, pair.mine.owner_id, pair.mine.other_id)
    state = pair_state(session, pair, now, policy)
    return decide(state, now, policy), state


def write_message(session: Session, pair: Pair, kind: str, body: str, now: datetime) -> Message:
    """Store an allowed message and everything that changes with it (caller commits)."""
    mine = pair.mine
    message = Message(
        connection_id=pair.connection.id,
        sender_id=mine.owner_id,
        recipient_id=mine.other_id,
        kind=kind,
        body=body,
        cold=not mine.other_ever_wrote,
        sent_at=now,
    )
    session.add(message)
    if pair.connection.first_message_at is None:  # the stats' follow-up share reads it
        pair.connection.first_message_at = now
    _count_the_message(pair, kind, now)
    # A message from the contact ends the automated follow-ups they planned toward the sender.
    cancel_plans_toward(session, pair.theirs, CONTACT_REPLIED, now)
    session.flush()
    # Its push is queued in this transaction: sent only if the message commits.
    outbox.notify_message_received(
        session,
        recipient_id=mine.other_id,
        sender_id=mine.owner_id,
        recipient_contact_id=pair.theirs.id if pair.theirs is not None else None,
        connection_id=pair.connection.id,
        message_id=message.id,
        text=body,
        now=now,
    )
    return message


def clean_body(body: str, field_name: str = "body") -> str:
    text = body.strip()
    if not text:
        raise InvalidInput("The message is empty", errors={field_name: ["Must not be blank."]})
    return text


def send_message(
    session: Session,
    sender: User,
    contact_id: uuid.UUID,
    *,
    body: str,
    kind: str,
    now: datetime,
    policy: ThrottlePolicy,
) -> SentMessage:
    """Send a message to a contact if the policy allows it now; commits."""
    body = clean_body(body)
    pair = lock_pair(session, own_side(session, sender, contact_id))
    if pair.mine.removed_at is not None:  # removed while we waited for the lock
        raise NotFound("No such contact")
    if pair.blocked:
        raise Blocked()
    decision, state = check_pair(session, pair, now, policy)
    if not decision.allowed:
        raise refusal_error(decision, now)
    message = write_message(session, pair, kind, body, now)
    hints = hint_rules.message_hints(
        body=body, kind=kind, cold=state.cold, asks_in_a_row=pair.mine.asks_in_a_row
    )
    session.commit()
    return SentMessage(MessageView(message, pair.mine.id, "outgoing"), hints)


# Allowance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    can_send_now: bool
    reason: str | None
    next_allowed_at: datetime | None
    unanswered_streak: int
    daily_remaining: int
    new_contact: bool
    in_conversation: bool


def allowance(
    session: Session, owner: User, contact_id: uuid.UUID, now: datetime, policy: ThrottlePolicy
) -> Allowance:
    """What a send would get now, for the app to ask before it tries (reads only)."""
    pair = read_pair(session, own_side(session, owner, contact_id))
    state = pair_state(session, pair, now, policy, with_daily_count=True)
    used = sum(1 for sent in state.recent_cold_from_sender if sent > now - policy.cap_window)
    if pair.blocked:
        decision = ThrottleDecision(False, Blocked.reason)
    else:
        decision = decide(state, now, policy)
    return Allowance(
        can_send_now=decision.allowed,
        reason=decision.reason,
        next_allowed_at=decision.next_allowed_at,
        unanswered_streak=state.unanswered_streak,
        daily_remaining=max(0, policy.daily_cold_cap - used),
        new_contact=state.new_contact,
        in_conversation=in_conversation(state, now, policy),
    )


# Reading ------------------------------------------------------------------------------------


def _before(cursor: str):
    """Rows older than the (sent_at, id) position a cursor names (newest-first lists)."""
    raw_time, raw_id = decode_cursor(cursor, 2)
    at = cursor_time(raw_time)
    try:
        message_id = uuid.UUID(raw_id)
    except (TypeError, ValueError) as exc:
        raise invalid_cursor() from exc
    return or_(Message.sent_at < at, and_(Message.sent_at == at, Message.id < message_id))


def _page(views: list[MessageView], limit: int) -> Page[MessageView]:
    if len(views) > limit:
        views = views[:limit]
        last = views[-1]
        return Page(views, encode_cursor(last.sent_at.isoformat(), last.id))
    return Page(views, None)


def _view(message: Message, viewer_id: uuid.UUID, contact_id: uuid.UUID | None) -> MessageView:
    direction = "outgoing" if message.sender_id == viewer_id else "incoming"
    return MessageView(message, contact_id, direction)


def conversation(
    session: Session, owner: User, contact_id: uuid.UUID, *, limit: int, cursor: str | None
) -> Page[MessageView]:
    """Both directions of one conversation, newest first."""
    side = owned_contact(session, owner, contact_id)
    query = select(Message).where(Message.connection_id == side.connection_id)
    if cursor:
        query = query.where(_before(cursor))
    rows = session.scalars(
        query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit + 1)
    ).all()
    return _page([_view(m, owner.id, side.id) for m in rows], limit)


def inbox(
    session: Session, owner: User, *, unread: bool | None, limit: int, cursor: str | None
) -> Page[MessageView]:
    """Messages to me, newest first; `unread=True` only those not yet read."""
    query = (
        select(Message, Contact.id, Contact.removed_at)
        .outerjoin(
            Contact, and_(Contact.owner_id == owner.id, Contact.other_id == Message.sender_id)
        )
        .where(Message.recipient_id == owner.id)
    )
    if unread is True:
        query = query.where(Message.read_at.is_(None))
    elif unread is False:
        query = query.where(Message.read_at.is_not(None))
    if cursor:
        query = query.where(_before(cursor))
    rows = session.execute(
        query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit + 1)
    ).all()
    views = [
        _view(message, owner.id, side_id if removed_at is None else None)
        for message, side_id, removed_at in rows
    ]
    return _page(views, limit)


def _contact_of(session: Session, owner_id: uuid.UUID, other_id: uuid.UUID) -> uuid.UUID | None:
    row = session.execute(
        select(Contact.id, Contact.removed_at).where(
            Contact.owner_id == owner_id, Contact.other_id == other_id
        )
    ).first()
    return row.id if row is not None and row.removed_at is None else None


def mark_read(
    session: Session,
    owner: User,
    message_id: uuid.UUID,
    now: datetime,
    *,
    at: datetime | None = None,
    commit: bool = True,
) -> MessageView:
    """Mark one message to me as read (the first read time is kept); commits unless told not
    to. `at`: when it was read, if not now (a phone that read it offline)."""
    message = session.get(Message, message_id)
    if message is None or message.recipient_id != owner.id:
        raise NotFound("No such message")
    if message.read_at is None:
        message.read_at = at or now
    if commit:
        session.commit()
    return _view(message, owner.id, _contact_of(session, owner.id, message.sender_id))


def mark_all_read(
    session: Session,
    owner: User,
    now: datetime,
    *,
    contact_id: uuid.UUID | None = None,
    up_to: datetime | None = None,
) -> int:
    """Mark my unread messages read (from one contact, sent up to an instant); commits."""
    conditions = [
        Message.recipient_id == owner.id,
        Message.read_at.is_(None),
        Message.sent_at <= min(up_to or now, now),
    ]
    if contact_id is not None:
        conditions.append(Message.sender_id == owned_contact(session, owner, contact_id).other_id)
    result = session.execute(
        update(Message)
        .where(*conditions)
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


# Recipient controls -------------------------------------------------------------------------


def set_recipient_control(
    session: Session, owner: User, contact_id: uuid.UUID, control: str, now: datetime
) -> None:
    """Mute, unmute or mark "not interested" the person behind one of my contacts; commits.

    Acts on messages *from* them: their sends answer `recipient_unavailable` (which control is
    not revealed) and their pending follow-ups to me are cancelled. Unmute lifts both controls.
    """
    mine = owned_contact(session, owner, contact_id, lock=True)
    changed = False
    if control == MUTE and mine.muted_at is None:
        mine.muted_at, changed = now, True
    elif control == NOT_INTERESTED and mine.not_interested_at is None:
        mine.not_interested_at, changed = now, True
    elif control == UNMUTE and (mine.muted_at or mine.not_interested_at):
        mine.muted_at = mine.not_interested_at = None
        changed = True
    if changed:
        mine.updated_at = now
        mine.version += 1
    if control in (MUTE, NOT_INTERESTED):
        cancel_all_toward(session, counterpart(session, mine), RECIPIENT_UNAVAILABLE, now)
    session.commit()
