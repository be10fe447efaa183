"""Contact exchange by badge scan, and each person's side of a connection."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import vobject
from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from services.accounts.accounts import shared_profile
from services.checkin.checkins import (
    MAX_CLOCK_SKEW,
    BadgeScan,
    ScanResult,
    commit_or_replay,
    replay_receipt,
    store_receipt,
)
from services.core.errors import InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from services.core.models import (
    Connection,
    Contact,
    ContactTag,
    Event,
    Registration,
    User,
)
from services.core.pagination import (
    Page,
    before_time_id,
    cursor_time,
    decode_cursor,
    invalid_cursor,
    page_from_rows,
    time_id_cursor,
)
from services.core.sqlfunctions import days_between
from services.events import badges, events
from services.meetings.booking import mark_held_by_scan
from services.messaging.follow_up_states import cancel_all_toward
from services.push import outbox


class OwnBadge(InvalidInput):
    reason = "own_badge"
    title = "That is your own badge"


class NotRegisteredAtEvent(PermissionDenied):
    reason = "not_registered"
    title = "You are not registered for this event"


class Blocked(PermissionDenied):
    reason = "blocked"
    title = "You cannot connect with or message this person"


@dataclass(frozen=True)
class Exchange:
    created: bool
    contact: ContactView


_COUNT_EXCHANGE = (
    update(Registration.__table__)
    .where(Registration.__table__.c.id == bindparam("registration_id"))
    .values(exchange_count=Registration.__table__.c.exchange_count + 1)
)


def ordered_pair(first: uuid.UUID, second: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (first, second) if first < second else (second, first)


def owned_contact(
    session: Session, owner: User, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    """The caller's own, not removed, side; anyone else's is a 404 (it is private)."""
    query = select(Contact).where(Contact.id == contact_id)
    if lock:
        # A locked read must see the row as it is now, not as this session last saw it.
        query = query.with_for_update().execution_options(populate_existing=True)
    contact = session.scalar(query)
    if contact is None or contact.owner_id != owner.id or contact.removed_at is not None:
        raise NotFound("No such contact")
    return contact


def counterpart(session: Session, contact: Contact, *, lock: bool = False) -> Contact | None:
    """The other person's side of the same connection (it may have been removed)."""
    query = select(Contact).where(
        Contact.owner_id == contact.other_id, Contact.other_id == contact.owner_id
    )
    if lock:
        # A locked read must see the row as it is now, not as this session last saw it.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def connection_of(session: Session, contact: Contact, *, lock: bool = False) -> Connection:
    query = select(Connection).where(Connection.id == contact.connection_id)
    if lock:
        # A locked read must see the row as it is now, not as this session last saw it.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def _lock_or_create_connection(
    session: Session, scanner: User, other: User, event: Event, met_at: datetime, now: datetime
) -> tuple[Connection, bool]:
    user_a, user_b = ordered_pair(scanner.id, other.id)
    query = (
        select(Connection)
        .where(Connection.user_a_id == user_a, Connection.user_b_id == user_b)
        .with_for_update()
    )
    connection = session.scalar(query)
    if connection is not None:
        return connection, False
    connection = Connection(
        user_a_id=user_a,
        user_b_id=user_b,
        event_id=event.id,
        met_at=met_at,
        created_by_id=scanner.id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(connection)
    except IntegrityError:
        # The other person scanned us at the same moment and their row won: use it.
        return session.scalar(query), False
    return connection, True


def _count_exchange(session: Session, *registration_ids: uuid.UUID) -> None:
    """One more exchange for each person's registration at the event (the stats' counter).

    Row by row in id order: two exchanges that share a person then lock in the same order.
    """
    for registration_id in sorted(registration_ids):
        session.execute(_COUNT_EXCHANGE, {"registration_id": registration_id})


def _side(
    session: Session,
    connection: Connection,
    owner: User,
    other: User,
    event: Event,
    met_at: datetime,
    now: datetime,
) -> tuple[Contact, bool]:
    contact = session.scalar(
        select(Contact).where(Contact.owner_id == owner.id, Contact.other_id == other.id)
    )
    if contact is not None:
        return contact, False
    contact = Contact(
        connection_id=connection.id,
        owner_id=owner.id,
        other_id=other.id,
        event_id=event.id,
        met_in_person=True,
        met_at=met_at,
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    session.flush()
    return contact, True


def apply_exchange(
    session: Session,
    *,
    scanner: User,
    event: Event,
    scan: BadgeScan,
    note: str | None,
    now: datetime,
) -> ScanResult:
    """Connect the scanner with the badge's owner, inside the caller's transaction."""
    fingerprint = scan.fingerprint("contact", event.id)
    replayed = replay_receipt(session, scanner, scan.client_scan_id, fingerprint)
    if replayed is not None:
        return replayed
    met_at = scan.scanned_at or now
    if met_at > now + MAX_CLOCK_SKEW:
        raise InvalidInput(
            "scanned_at is in the future",
            errors={"scanned_at": ["Must not be more than 5 minutes ahead."]},
        )
    scanner_registration = events.live_registration(session, event.id, scanner.id)
    if scanner_registration is None:
        raise NotRegisteredAtEvent()
    registration = badges.resolve_badge(session, scan.badge, event.id)
    other = registration.user
    if other.id == scanner.id:
        raise OwnBadge(errors={"badge": ["You scanned your own badge."]})

    connection, _new = _lock_or_create_connection(session, scanner, other, event, met_at, now)
    if connection.blocked_at is not None:
        raise Blocked()
    mine, created = _side(session, connection, scanner, other, event, met_at, now)
    if mine.removed_at is not None:  # I removed them before; scanning again brings them back
        mine.removed_at = None
        mine.updated_at = now
        mine.version += 1
        created = True
    if _new:
        theirs, _ = _side(session, connection, other, scanner, event, met_at, now)
        _count_exchange(session, scanner_registration.id, registration.id)
        # The person whose badge was scanned learns of it (queued in this transaction).
        outbox.notify_contact_exchanged(
            session,
            scanned_id=other.id,
            scanner_id=scanner.id,
            scanned_contact_id=theirs.id,
            event_id=event.id,
            now=now,
        )
    if mark_held_by_scan(session, event_id=event.id, people=(scanner.id, other.id), at=met_at):
        # They scanned each other at their booked meeting: face to face, on both sides.
        for side in (mine, counterpart(session, mine)):
            if side is not None and not side.met_in_person:
                side.met_in_person = True
                side.updated_at = now
                side.version += 1
    if note is not None and created:
        mine.note = note
    result = ScanResult(
        created,
        {"status": "connected" if created else "already_connected", "contact_id": str(mine.id)},
    )
    store_receipt(session, scanner, scan.client_scan_id, "contact", fingerprint, result, now)
    return result


def exchange_by_scan(
    session: Session,
    *,
    scanner: User,
    event_id: uuid.UUID,
    scan: BadgeScan,
    note: str | None,
    now: datetime,
) -> Exchange:
    """Scan another attendee's badge: one connection, a side for each person; commits."""
    event = events.get_event(session, event_id)
    result = commit_or_replay(
        session,
        scanner,
        scan,
        "contact",
        event_id,
        lambda: apply_exchange(
            session, scanner=scanner, event=event, scan=scan, note=note, now=now
        ),
    )
    contact = session.get(Contact, uuid.UUID(result.body["contact_id"]))
    return Exchange(result.created, _view(session, contact, now))


# Relationship strength ------------------------------------------------------------------
#
# strength = round(100 * base * decay), from 0 to 100, where
#   base  = 0.30·met_in_person + 0.20·min(sent, 5)/5 + 0.25·min(received, 5)/5
#           + 0.25·min(replies_received, 3)/3
#   decay = 0.5 ^ (days since the last exchange, or since meeting / 90)   (90-day half-life)
# Meeting face to face counts most on its own (principle 3); hearing back counts more than
# sending (a tie is two-way); silence halves a tie every 90 days (principle 1).
# A contact is "going cold" when base ≥ GOING_COLD_MIN_BASE (a real tie) and nothing was
# exchanged for GOING_COLD_AFTER_DAYS.
STRENGTH_HALF_LIFE_DAYS = 90.0
GOING_COLD_AFTER_DAYS = 60
GOING_COLD_MIN_BASE = 0.5


def _capped(count, cap: int):
    return case((count > cap, cap), else_=count) * 1.0 / cap


def strength_base_sql():
    return (
        case((Contact.met_in_person, 0.30), else_=0.0)
        + 0.20 * _capped(Contact.sent_count, 5)
        + 0.25 * _capped(Contact.received_count, 5)
        + 0.25 * _capped(Contact.replies_received, 3)
    )


def last_touch_sql():
    return func.coalesce(Contact.last_interaction_at, Contact.met_at)


def strength_sql(now: datetime):
    decay = func.power(0.5, days_between(last_touch_sql(), now) / STRENGTH_HALF_LIFE_DAYS)
    return func.round(100.0 * strength_base_sql() * decay)


def _strength_base(contact: Contact) -> float:
    """`strength_base_sql`, for one contact in Python."""
    return (
        (0.30 if contact.met_in_person else 0.0)
        + 0.20 * min(contact.sent_count, 5) / 5
        + 0.25 * min(contact.received_count, 5) / 5
        + 0.25 * min(contact.replies_received, 3) / 3
    )


def strength_of(contact: Contact, now: datetime) -> int:
    base = _strength_base(contact)
    last = contact.last_interaction_at or contact.met_at
    days = max(0.0, (now - last).total_seconds() / 86400)
    return round(100 * base * 0.5 ** (days / STRENGTH_HALF_LIFE_DAYS))


def going_cold_of(contact: Contact, now: datetime) -> bool:
    """A real tie (base ≥ GOING_COLD_MIN_BASE) with nothing exchanged for GOING_COLD_AFTER_DAYS:
    what the `going_cold` filter selects, for one contact."""
    base = _strength_base(contact)
    last = contact.last_interaction_at or contact.met_at
    return base >= GOING_COLD_MIN_BASE and last < now - timedelta(days=GOING_COLD_AFTER_DAYS)


# Reading and editing one's own contacts -------------------------------------------------


@dataclass(frozen=True)
class ContactView:
    """My side of a connection, with the other person's live, shared profile."""

    contact: Contact
    other: User
    strength: int

    @property
    def person(self) -> dict:
        return shared_profile(self.other, self.contact.frozen_display_name)

    @property
    def etag(self) -> str:
        return f'"{self.contact.id.hex[:12]}.{self.contact.version}"'


def _view(session: Session, contact: Contact, now: datetime) -> ContactView:
    return ContactView(contact, session.get(User, contact.other_id), strength_of(contact, now))


def get_contact(session: Session, owner: User, contact_id: uuid.UUID, now: datetime) -> ContactView:
    return _view(session, owned_contact(session, owner, contact_id), now)


SORTS = ("recent", "strength")


def list_contacts(
    session: Session,
    owner: User,
    *,
    now: datetime,
    limit: int,
    cursor: str | None = None,
    event_id: uuid.UUID | None = None,
    tag: str | None = None,
    q: str | None = None,
    going_cold: bool = False,
    sort: str = "recent",
) -> Page[ContactView]:
    """My contacts, newest first (or strongest first); keyset cursors, so contacts added
    while paging never shift or repeat items. A strength cursor carries the instant its
    ranking was computed at, so every page ranks the same way."""
    other = aliased(User)
    query = (
        select(Contact, other)
        .join(other, other.id == Contact.other_id)
        .where(Contact.owner_id == owner.id, Contact.removed_at.is_(None))
    )
    if event_id is not None:
        query = query.where(Contact.event_id == event_id)
    if tag:
        query = query.where(
            Contact.id.in_(
                select(ContactTag.contact_id).where(
                    ContactTag.owner_id == owner.id, ContactTag.tag == normalize_tag(tag)
                )
            )
        )
    if q:
        needle = q.strip().lower()
        # Only what the other person shares may match, or a search would reveal hidden fields;
        # of someone who blocked me, only the name I still see.
        live = Contact.frozen_display_name.is_(None)
        query = query.where(
            or_(
                and_(live, func.lower(other.display_name).contains(needle, autoescape=True)),
                and_(
                    live,
                    other.share_company,
                    func.lower(other.company).contains(needle, autoescape=True),
                ),
                and_(
                    live,
                    other.share_title,
                    func.lower(other.title).contains(needle, autoescape=True),
                ),
                func.lower(Contact.frozen_display_name).contains(needle, autoescape=True),
                func.lower(Contact.note).contains(needle, autoescape=True),
            )
        )
    if going_cold:
        query = query.where(
            strength_base_sql() >= GOING_COLD_MIN_BASE,
            last_touch_sql() <= now - timedelta(days=GOING_COLD_AFTER_DAYS),
        )

    if sort == "strength":
        ranked_at = now
        if cursor:
            raw_at, raw_strength, raw_id = decode_cursor(cursor, 3)
            ranked_at, after_strength, after_id = _parse_strength_cursor(
                raw_at, raw_strength, raw_id
            )
        strength = strength_sql(ranked_at)
        query = query.add_columns(strength.label("strength")).order_by(
            strength.desc(), Contact.id.desc()
        )
        if cursor:
            query = query.where(
                or_(
                    strength < after_strength,
                    and_(strength == after_strength, Contact.id < after_id),
                )
            )
        rows = [
            (ContactView(c, o, int(s)), s) for c, o, s in session.execute(query.limit(limit + 1))
        ]
        page = page_from_rows(
            rows, limit, lambda row: (ranked_at.isoformat(), row[1], row[0].contact.id)
        )
        return Page([view for view, _ in page.items], page.next_cursor)

    query = query.order_by(Contact.created_at.desc(), Contact.id.desc())
    if cursor:
        query = query.where(before_time_id(Contact.created_at, Contact.id, cursor))
    rows = [
        ContactView(c, o, strength_of(c, now)) for c, o in session.execute(query.limit(limit + 1))
    ]
    return page_from_rows(rows, limit, lambda v: time_id_cursor(v.contact.created_at, v.contact.id))


def _parse_strength_cursor(raw_at, raw_strength, raw_id):
    ranked_at = cursor_time(raw_at)
    try:
        strength = float(raw_strength)
        after_id = uuid.UUID(raw_id)
    except (TypeError, ValueError) as exc:
        raise invalid_cursor() from exc
    if not math.isfinite(strength):
        raise invalid_cursor()
    return ranked_at, strength, after_id


MAX_TAGS = 20


def normalize_tag(tag: str) -> str:
    return tag.strip().lower()


def update_contact(
    session: Session,
    owner: User,
    contact_id: uuid.UUID,
    *,
    changes: dict,
    if_match: str | None,
    now: datetime,
    commit: bool = True,
) -> ContactView:
    """Edit my private note and tags; with If-Match, a stale ETag is refused (412).
    `commit=False` leaves the commit to the caller (the offline push)."""
    contact = owned_contact(session, owner, contact_id, lock=True)
    view = _view(session, contact, now)
    if if_match is not None and if_match.strip() not in ("*", view.etag):
        raise PreconditionFailed(
            "This contact changed since you read it; reload and retry", current_etag=view.etag
        )
    _apply_edit(contact, owner, changes, now)
    if commit:
        session.commit()
    else:
        session.flush()
    return _view(session, contact, now)


def edit_contacts(
    session: Session, owner: User, edits: dict[uuid.UUID, dict], now: datetime
) -> None:
    """Edit the note and tags of several of my contacts at once (the offline push): one locked
    read for all of them, one flush; the caller commits. Same rules as `update_contact`."""
    contacts = session.scalars(
        select(Contact)
        .where(Contact.id.in_(sorted(edits)))
        .order_by(Contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {c.id: c for c in contacts if c.owner_id == owner.id and c.removed_at is None}
    for contact_id, changes in edits.items():
        contact = found.get(contact_id)
        if contact is None:
            raise NotFound("No such contact")
        _apply_edit(contact, owner, changes, now)
    session.flush()


def _apply_edit(contact: Contact, owner: User, changes: dict, now: datetime) -> None:
    """Set the note and tags `changes` names. Only a real change moves the version (the ETag)
    and `updated_at`: an empty PATCH, or one repeating what is stored, leaves them (and the
    rows, so phones are not sent the contact again)."""
    changed = False
    if "note" in changes and changes["note"] != contact.note:
        contact.note = changes["note"]
        changed = True
    if "tags" in changes:
        wanted = sorted({normalize_tag(t) for t in changes["tags"] if t.strip()})
        if len(wanted) > MAX_TAGS:
            raise InvalidInput(errors={"tags": [f"At most {MAX_TAGS} tags."]})
        if wanted != sorted(t.tag for t in contact.tags):
            contact.tags = [ContactTag(tag=t, owner_id=owner.id) for t in wanted]
            changed = True
    if changed:
        contact.version += 1
        contact.updated_at = now


def remove_contact(session: Session, owner: User, contact_id: uuid.UUID, now: datetime) -> None:
    """Remove my side only: my note, tags and pending follow-ups go; theirs stays.

    The row itself is kept (hidden) so the throttle's memory of this pair survives:
    removing and re-adding someone must not reset how much you may write to them.
    """
    contact = owned_contact(session, owner, contact_id, lock=True)
    contact.removed_at = now
    contact.note = None
    contact.tags = []
    contact.version += 1
    contact.updated_at = now
    cancel_all_toward(session, contact, "contact_removed", now)
    session.commit()


def block_contact(session: Session, owner: User, contact_id: uuid.UUID, now: datetime) -> None:
    """Neither person may message or re-connect; the blocker's side is removed.

    The blocked person keeps their side and only ever learns `blocked` when they try; from
    then on their side shows the blocker's display name as it was, and nothing live.
    """
    # Same lock order as a send: the connection first, then the sides.
    connection = connection_of(session, owned_contact(session, owner, contact_id), lock=True)
    contact = owned_contact(session, owner, contact_id, lock=True)
    if connection.blocked_at is None:
        connection.blocked_at = now
        connection.blocked_by_id = owner.id
    contact.removed_at = now
    contact.version += 1
    contact.updated_at = now
    theirs = counterpart(session, contact, lock=True)
    if theirs is not None and theirs.frozen_display_name is None:
        # From now on the blocked person sees my name as it is now, and nothing else of me.
        theirs.frozen_display_name = owner.display_name
        theirs.version += 1
        theirs.updated_at = now
    cancel_all_toward(session, contact, "blocked", now)
    cancel_all_toward(session, theirs, "blocked", now)
    session.commit()


# vCard ------------------------------------------------------------------------------------


def _vcard(view: ContactView):
    card = vobject.vCard()
    shared = view.person
    card.add("fn").value = shared["display_name"]
    given, _, family = shared["display_name"].rpartition(" ")
    card.add("n").value = vobject.vcard.Name(family=family or given, given=given if family else "")
    if shared["email"]:
        card.add("email").value = shared["email"]
    if shared["company"]:
        card.add("org").value = [shared["company"]]
    if shared["title"]:
        card.add("title").value = shared["title"]
    if view.contact.note:
        card.add("note").value = view.contact.note
    card.add("uid").value = f"urn:uuid:{view.contact.id}"
    return card


def contact_vcard(session: Session, owner: User, contact_id: uuid.UUID, now: datetime) -> str:
    """One contact as vCard 3.0: only what they share, plus my note as NOTE."""
    return _vcard(get_contact(session, owner, contact_id, now)).serialize()


def all_contacts_vcard(session: Session, owner: User, now: datetime) -> Iterator[str]:
    """Every contact of mine, one vCard after another, produced as it is read."""
    other = aliased(User)
    query = (
        select(Contact, other)
        .join(other, other.id == Contact.other_id)
        .where(Contact.owner_id == owner.id, Contact.removed_at.is_(None))
        .order_by(Contact.created_at, Contact.id)
        .execution_options(yield_per=200)
    )
    for contact, other_user in session.execute(query):
        yield _vcard(ContactView(contact, other_user, 0)).serialize()
