"""SQLAlchemy 2 typed models. Every datetime is stored and returned as aware UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC in, aware UTC out. SQLite keeps naive UTC text; PostgreSQL a timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(), dict[str, Any]: JSON()}


# Accounts ---------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(120))
    headline: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(120))
    primary_focus: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    quiet_hours_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_hours_end: Mapped[str] = mapped_column(String(5), default="08:00")
    share_email: Mapped[bool] = mapped_column(Boolean, default=False)
    share_company: Mapped[bool] = mapped_column(Boolean, default=True)
    share_title: Mapped[bool] = mapped_column(Boolean, default=True)
    share_headline: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the person offers and seeks (normalised tags, services/meetings/tags.py).
    offers: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    seeks: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime]
    profile_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    @property
    def quiet_hours(self) -> dict[str, str]:
        return {"start": self.quiet_hours_start, "end": self.quiet_hours_end}

    @property
    def share(self) -> dict[str, bool]:
        return {
            "email": self.share_email,
            "company": self.share_company,
            "title": self.share_title,
            "headline": self.share_headline,
        }


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Only a SHA-256 of the token is kept: a database leak gives no usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


# Events -----------------------------------------------------------------------------------


class Event(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # 1:1 meetings (services/meetings/setup.py): slot length, and the blocks of meeting hours
    # as [{"starts_at": ISO UTC, "ends_at": ISO UTC}] in time order.
    meeting_slot_minutes: Mapped[int] = mapped_column(
        Integer, default=30, server_default=text("30")
    )
    meeting_hours: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


class EventStaff(Base):
    __tablename__ = "event_staff"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))  # organizer | staff
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class EventSession(Base):
    """A talk or room slot inside an event."""

    __tablename__ = "event_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    room: Mapped[str | None] = mapped_column(String(120))
    capacity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        # One live registration per person and event; cancelled ones stay as history.
        Index(
            "uq_registrations_live_event_user",
            "event_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'registered'"),
            postgresql_where=text("status = 'registered'"),
        ),
        Index("ix_registrations_event_id_created_at", "event_id", "created_at"),
        # Cover the stats, so they read no table rows: counts by status, walk-ins by
        # created_at and the exchanges (the first); networkers by exchange count (the second).
        Index(
            "ix_registrations_event_id_status_created_at_exchange_count",
            "event_id",
            "status",
            "created_at",
            "exchange_count",
        ),
        Index(
            "ix_registrations_event_id_checked_in_at_door_exchange_count",
            "event_id",
            "checked_in_at_door",
            "exchange_count",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))  # registered | cancelled
    badge_code: Mapped[str] = mapped_column(String(64))
    badge_issued_at: Mapped[datetime]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    # Counters for the organizer stats, kept in the transactions that change what they count
    # (services/checkin/checkins.py, services/networking/contacts.py): the stats read one index
    # instead of
    # joining 100,000s of scans and connections. `checked_in_at_door`: a door attendance
    # exists; `exchange_count`: connections made at this event while this registration was
    # the person's live one.
    checked_in_at_door: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    exchange_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Meetings (services/meetings): the opt-in to recommendations and requests from strangers,
    # and the pending meeting requests counted against the caps, changed in the transaction
    # that makes, answers or cancels a request.
    discoverable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pending_requests_out: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    pending_requests_in: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    user: Mapped[User] = relationship()


class BadgeCode(Base):
    """Every badge code ever issued, so a rotated one can answer `badge_revoked`.

    Looked up by SHA-256 of the code: the index compares digests, so lookup time says nothing
    about how much of a guessed code was right.
    """

    __tablename__ = "badge_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# Check-in ---------------------------------------------------------------------------------

DOOR = "door"


class Attendance(Base):
    """Derived presence of one registration at one place (the door or a session).

    Kept in the same transaction as the scans that change it; `first_checked_in_at` is the
    earliest entry scan ever stored, so late offline scans move it back.
    """

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("registration_id", "place"),
        # Covers door totals, arrival buckets, per-session counts and who is checked in (it
        # carries `inside` and `registration_id`), so the stats read no table rows.
        Index(
            "ix_attendances_event_id_place_first_checked_in_at",
            "event_id",
            "place",
            "first_checked_in_at",
            "inside",
            "registration_id",
        ),
        # Per-session counts: a session's place is its id, so one narrow range per session.
        Index("ix_attendances_place", "place"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("event_sessions.id", ondelete="CASCADE")
    )
    place: Mapped[str] = mapped_column(String(36))  # "door" or the session id
    first_checked_in_at: Mapped[datetime]
    first_check_in_id: Mapped[uuid.UUID]
    inside: Mapped[bool] = mapped_column(Boolean)
    last_scanned_at: Mapped[datetime]


class CheckIn(Base):
    """One stored scan (entry or exit); rejected and duplicate scans store nothing here."""

    __tablename__ = "check_ins"
    __table_args__ = (
        Index("ix_check_ins_event_id_updated_at_id", "event_id", "updated_at", "id"),
        Index("ix_check_ins_registration_id_place", "registration_id", "place"),
        Index("ix_check_ins_event_id_scanned_at_id", "event_id", "scanned_at", "id"),  # CSV
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("event_sessions.id", ondelete="CASCADE")
    )
    place: Mapped[str] = mapped_column(String(36))
    direction: Mapped[str] = mapped_column(String(10))  # entry | exit
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    device_id: Mapped[str | None] = mapped_column(String(100))
    scanned_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    client_scan_id: Mapped[str | None] = mapped_column(String(100))
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class ScanReceipt(Base):
    """The answer given to a scan with a `client_scan_id`, replayed for retries and syncs."""

    __tablename__ = "scan_receipts"
    __table_args__ = (UniqueConstraint("scanner_id", "client_scan_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    scanner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_scan_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # check_in | contact
    fingerprint: Mapped[str] = mapped_column(String(64))
    created: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


# Contacts ---------------------------------------------------------------------------------


class Connection(Base):
    """Two people who exchanged contacts; one row per unordered pair (user_a_id < user_b_id),
    so two people scanning each other at the same moment still make one connection."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("user_a_id", "user_b_id"),
        CheckConstraint("user_a_id < user_b_id", name="ordered_pair"),
        Index("ix_connections_event_id_created_at", "event_id", "created_at"),
        # The follow-up share of the networking stats reads only followed-up connections.
        Index(
            "ix_connections_event_id_met_at_first_message_at",
            "event_id",
            "met_at",
            "first_message_at",
            sqlite_where=text("first_message_at IS NOT NULL"),
            postgresql_where=text("first_message_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_b_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    met_at: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    blocked_at: Mapped[datetime | None]
    blocked_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # When either person first wrote (set with that message): the stats' follow-up share.
    first_message_at: Mapped[datetime | None]


class Contact(Base):
    """One side of a connection: what `owner` keeps about `other`.

    The other person's profile is read live from `users` (a reference, not a copy). The
    counters are the owner → other direction's throttle and strength state; they change in the
    same transaction as each message, so a decision never scans message history.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("owner_id", "other_id"),
        Index("ix_contacts_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    other_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    met_in_person: Mapped[bool] = mapped_column(Boolean, default=True)
    met_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag; bumped on each change
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # the owner removed this side; counters are kept
    # Set when `other` blocked `owner`: the name `owner` keeps seeing, instead of anything live.
    frozen_display_name: Mapped[str | None] = mapped_column(String(120))

    # Recipient controls the owner set on messages *from* `other`.
    muted_at: Mapped[datetime | None]
    not_interested_at: Mapped[datetime | None]

    # owner → other direction, kept current with every message.
    unanswered_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    last_received_at: Mapped[datetime | None]  # other's last message to owner
    other_ever_wrote: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    replies_received: Mapped[int] = mapped_column(Integer, default=0)
    asks_sent: Mapped[int] = mapped_column(Integer, default=0)
    offers_sent: Mapped[int] = mapped_column(Integer, default=0)
    asks_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    last_interaction_at: Mapped[datetime | None]

    tags: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", order_by="ContactTag.tag", lazy="selectin"
    )


class ContactTag(Base):
    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_owner_id_tag", "owner_id", "tag"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


# Messages and follow-ups ------------------------------------------------------------------


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_sender_id_recipient_id_sent_at", "sender_id", "recipient_id", "sent_at"),
        Index("ix_messages_recipient_id_sent_at", "recipient_id", "sent_at"),
        Index("ix_messages_sender_id_cold_sent_at", "sender_id", "cold", "sent_at"),
        Index("ix_messages_recipient_id_cold_sent_at", "recipient_id", "cold", "sent_at"),
        Index("ix_messages_connection_id_sent_at_id", "connection_id", "sent_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # thank_you | offer | ask | check_in | other
    body: Mapped[str] = mapped_column(Text)
    cold: Mapped[bool] = mapped_column(Boolean)  # sent while the recipient had never written
    sent_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class FollowUpPlan(Base):
    __tablename__ = "follow_up_plans"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    cadence: Mapped[str] = mapped_column(String(20))  # gentle | standard | keep_warm
    status: Mapped[str] = mapped_column(String(20))  # active | completed | cancelled
    status_reason: Mapped[str | None] = mapped_column(String(40))
    start_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_status_deliver_at", "status", "deliver_at"),
        Index("ix_follow_ups_owner_id_status_send_at", "owner_id", "status", "send_at"),
        Index("ix_follow_ups_contact_id_status_send_at", "contact_id", "status", "send_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("follow_up_plans.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    send_at: Mapped[datetime]  # what the owner asked for
    deliver_at: Mapped[datetime]  # send_at moved out of the recipient's quiet hours
    status: Mapped[str] = mapped_column(String(20))  # scheduled | sent | cancelled | skipped
    status_reason: Mapped[str | None] = mapped_column(String(40))
    requeued: Mapped[bool] = mapped_column(Boolean, default=False)
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# Push notifications -----------------------------------------------------------------------


class PushDevice(Base):
    """A phone or browser that receives pushes: an APNs/FCM token or a Web Push subscription.

    One account per token: registering a known token moves it to the caller. `session_id` is the
    access token (session) that registered it, so signing that session out removes the device.
    """

    __tablename__ = "push_devices"
    __table_args__ = (UniqueConstraint("provider", "token_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(10))  # apns | fcm | webpush
    platform: Mapped[str] = mapped_column(String(10))  # ios | android | web
    token: Mapped[str] = mapped_column(Text)  # the device token, or the Web Push endpoint
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of `token`, for uniqueness
    p256dh: Mapped[str | None] = mapped_column(String(200))
    auth: Mapped[str | None] = mapped_column(String(100))
    app_version: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(35))
    session_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotificationSettings(Base):
    """A person's push choices (no row: the defaults). Its row is also the lock that makes the
    per-person push limits exact when several workers decide at once."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    messages: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    contacts: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    invitations: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    meetings: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    previews: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime]


class Notification(Base):
    """The notification outbox and the in-app feed: one row per thing that happened to `user`,
    written in the transaction of the change that causes it; the worker decides it (sent,
    dropped, collapsed into a later one, or held until `due_at`) and fans it out to devices."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_due_at", "status", "due_at"),
        Index("ix_notifications_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_notifications_user_id_status_sent_at", "user_id", "status", "sent_at"),
        Index(
            "ix_notifications_user_id_collapse_key_status_sent_at",
            "user_id",
            "collapse_key",
            "status",
            "sent_at",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(12))  # queued | sent | dropped | collapsed
    status_reason: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    meeting_id: Mapped[uuid.UUID | None]
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    collapse_key: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))  # None: made from the actor's name
    preview: Mapped[str | None] = mapped_column(Text)  # the message text; pushed only with previews
    collapsed_count: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict[str, Any] | None]  # what was pushed, once decided
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PushDelivery(Base):
    """One decided notification to one device: the send queue, with its retries."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        Index("ix_push_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("push_devices.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))  # queued | sent | failed | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# Retries ----------------------------------------------------------------------------------


class IdempotencyRecord(Base):
    """The first answer to a creating POST sent with an Idempotency-Key (kept 24 h)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key"),
        Index("ix_idempotency_records_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(300))  # method and path
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # in_flight | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# Meetings (services/meetings) -------------------------------------------------------------
#
# Columns added elsewhere: users.offers / users.seeks (normalised tags), registrations.
# discoverable and the two pending-request counters, events.meeting_slot_minutes and
# events.meeting_hours.

ACTIVE_MEETING = text("status <> 'cancelled'")


class MeetingSpot(Base):
    """A table (or corner) at the venue where 1:1 meetings happen; `capacity` meetings at once."""

    __tablename__ = "meeting_spots"
    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class MatchTag(Base):
    """One tag of a discoverable registration, as the recommendations read it.

    A copy of the person's offers, seeks and primary focus (kind `offer`/`seek`/`focus`),
    kept only while the registration is discoverable, so ranking an event reads one index
    range per tag of the caller instead of every attendee. `shuffle_key` orders ties
    differently for each viewer and day (services/meetings/recommendations.py).
    """

    __tablename__ = "match_tags"
    __table_args__ = (
        Index(
            "ix_match_tags_event_id_kind_tag_user_id_shuffle_key",
            "event_id",
            "kind",
            "tag",
            "user_id",
            "shuffle_key",
        ),
        Index("ix_match_tags_event_id_user_id", "event_id", "user_id"),
    )

    registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # offer | seek | focus
    tag: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    shuffle_key: Mapped[int] = mapped_column(Integer)


class MeetingRequest(Base):
    """A request for a 1:1 meeting at an event, with 1-3 proposed slot starts."""

    __tablename__ = "meeting_requests"
    __table_args__ = (
        # One pending request per sender, recipient and event: a second is refused, not queued.
        Index(
            "uq_meeting_requests_pending_pair",
            "event_id",
            "from_user_id",
            "to_user_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_meeting_requests_from_user_id_to_user_id_event_id_status",
            "from_user_id",
            "to_user_id",
            "event_id",
            "status",
        ),
        Index("ix_meeting_requests_from_user_id_created_at_id", "from_user_id", "created_at", "id"),
        Index("ix_meeting_requests_to_user_id_created_at_id", "to_user_id", "created_at", "id"),
        Index("ix_meeting_requests_event_id_status", "event_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    from_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    from_registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    to_registration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(10))  # offer | ask
    message: Mapped[str] = mapped_column(Text)
    slots: Mapped[list[str]] = mapped_column(JSON)  # ISO UTC instants, sorted
    status: Mapped[str] = mapped_column(String(20))  # pending | accepted | declined | cancelled
    created_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]


class Meeting(Base):
    """A booked 1:1 meeting: a slot, a seat at a spot, two people.

    Exactly-once is the database's job: an active meeting holds its seat through
    `uq_meetings_active_seat`, and each person's time through meeting_participants.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        Index(
            "uq_meetings_active_seat",
            "spot_id",
            "seat",
            "starts_at",
            unique=True,
            sqlite_where=ACTIVE_MEETING,
            postgresql_where=ACTIVE_MEETING,
        ),
        Index("ix_meetings_event_id_status", "event_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meeting_requests.id", ondelete="CASCADE"), unique=True
    )
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    spot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_spots.id", ondelete="CASCADE"))
    seat: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # booked | cancelled | held
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    held_at: Mapped[datetime | None]

    spot: Mapped[MeetingSpot] = relationship(lazy="joined", innerjoin=True)


class MeetingParticipant(Base):
    """One person's hold on a slot: no one is in two active meetings starting at once."""

    __tablename__ = "meeting_participants"
    __table_args__ = (
        Index(
            "uq_meeting_participants_active_user_id_starts_at",
            "user_id",
            "starts_at",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    starts_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CalendarFeed(Base):
    """A person's calendar feed token (SHA-256 kept); rotating replaces it."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


# Offline sync -----------------------------------------------------------------------------


class SyncChange(Base):
    """One row per (scope, table, row) a transaction touched, written by database triggers
    (migration 0009), never by application code: services/offline reads it.

    `scope` is a user (their own world) or an event (its row and sessions for every member;
    its scanner kit). `pos` orders changes by when they became visible: the writing
    transaction's id on PostgreSQL, the log's commit-ordered counter on SQLite."""

    __tablename__ = "sync_changes"
    __table_args__ = (
        Index("ix_sync_changes_scope_tbl_pos", "scope", "tbl", "pos"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    scope: Mapped[uuid.UUID]
    tbl: Mapped[str] = mapped_column(String(20))
    row_id: Mapped[uuid.UUID]
    pos: Mapped[int] = mapped_column(BigInteger)


class SyncWatermark(Base):
    """The `timestamp` a pull answered (ms) → where its successor starts: `pos`, and on
    PostgreSQL the pull's snapshot (`pg_snapshot` text) to leave out what it already saw."""

    __tablename__ = "sync_watermarks"

    at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pos: Mapped[int] = mapped_column(BigInteger)
    snapshot: Mapped[str | None] = mapped_column(Text)
