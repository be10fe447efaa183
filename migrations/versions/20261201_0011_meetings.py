"""Who to meet and 1:1 meetings (issue 17): offers and seeks on the profile, the discoverable
opt-in and pending-request counters per registration, the meeting set-up of an event, the
match index, meeting spots, requests, meetings and the people in them, calendar feed tokens.

Exactly-once booking lives in two partial unique indexes over active meetings (status other
than 'cancelled'): a seat of a spot holds one meeting per slot start
(`uq_meetings_active_seat`), a person is in one meeting per slot start
(`uq_meeting_participants_active_user_id_starts_at`). Every active meeting lies on the event's
slot grid, so the same start is the same slot (services/meetings/setup.py keeps it so).
A sender has at most one pending request per recipient and event (`uq_meeting_requests_
pending_pair`).

New columns have server defaults (empty tag lists, not discoverable, zero counters, 30-minute
slots), so existing rows need no backfill.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_MEETING = sa.text("status <> 'cancelled'")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("offers", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
    )
    op.add_column(
        "users", sa.Column("seeks", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
    )
    op.add_column(
        "events",
        sa.Column(
            "meeting_slot_minutes", sa.Integer(), server_default=sa.text("30"), nullable=False
        ),
    )
    op.add_column("events", sa.Column("meeting_hours", sa.JSON(), nullable=True))
    op.add_column(
        "registrations",
        sa.Column("discoverable", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "registrations",
        sa.Column(
            "pending_requests_out", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column(
        "registrations",
        sa.Column("pending_requests_in", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )

    op.create_table(
        "meeting_spots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_meeting_spots_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_meeting_spots_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_spots")),
        sa.UniqueConstraint("event_id", "name", name=op.f("uq_meeting_spots_event_id_name")),
    )

    op.create_table(
        "match_tags",
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("tag", sa.String(length=120), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("shuffle_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_match_tags_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_match_tags_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_match_tags_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("registration_id", "kind", "tag", name=op.f("pk_match_tags")),
    )
    op.create_index(
        "ix_match_tags_event_id_kind_tag_user_id_shuffle_key",
        "match_tags",
        ["event_id", "kind", "tag", "user_id", "shuffle_key"],
        unique=False,
    )
    op.create_index(
        "ix_match_tags_event_id_user_id", "match_tags", ["event_id", "user_id"], unique=False
    )

    op.create_table(
        "meeting_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("from_user_id", sa.Uuid(), nullable=False),
        sa.Column("to_user_id", sa.Uuid(), nullable=False),
        sa.Column("from_registration_id", sa.Uuid(), nullable=False),
        sa.Column("to_registration_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_meeting_requests_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_user_id"],
            ["users.id"],
            name=op.f("fk_meeting_requests_from_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"],
            ["users.id"],
            name=op.f("fk_meeting_requests_to_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_registration_id"],
            ["registrations.id"],
            name=op.f("fk_meeting_requests_from_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_registration_id"],
            ["registrations.id"],
            name=op.f("fk_meeting_requests_to_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_requests")),
    )
    op.create_index(
        "uq_meeting_requests_pending_pair",
        "meeting_requests",
        ["event_id", "from_user_id", "to_user_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_meeting_requests_from_user_id_to_user_id_event_id_status",
        "meeting_requests",
        ["from_user_id", "to_user_id", "event_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_meeting_requests_from_user_id_created_at_id",
        "meeting_requests",
        ["from_user_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_meeting_requests_to_user_id_created_at_id",
        "meeting_requests",
        ["to_user_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_meeting_requests_event_id_status",
        "meeting_requests",
        ["event_id", "status"],
        unique=False,
    )

    op.create_table(
        "meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("spot_id", sa.Uuid(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Uuid(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_meetings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["meeting_requests.id"],
            name=op.f("fk_meetings_request_id_meeting_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_meetings_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_meetings_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spot_id"],
            ["meeting_spots.id"],
            name=op.f("fk_meetings_spot_id_meeting_spots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"],
            ["users.id"],
            name=op.f("fk_meetings_cancelled_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("request_id", name=op.f("uq_meetings_request_id")),
    )
    op.create_index(
        "uq_meetings_active_seat",
        "meetings",
        ["spot_id", "seat", "starts_at"],
        unique=True,
        sqlite_where=ACTIVE_MEETING,
        postgresql_where=ACTIVE_MEETING,
    )
    op.create_index("ix_meetings_event_id_status", "meetings", ["event_id", "status"], unique=False)

    op.create_table(
        "meeting_participants",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_participants_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_meeting_participants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_meeting_participants")),
    )
    op.create_index(
        "uq_meeting_participants_active_user_id_starts_at",
        "meeting_participants",
        ["user_id", "starts_at"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_index("uq_meeting_participants_active_user_id_starts_at", "meeting_participants")
    op.drop_table("meeting_participants")
    op.drop_index("ix_meetings_event_id_status", "meetings")
    op.drop_index("uq_meetings_active_seat", "meetings")
    op.drop_table("meetings")
    for name in (
        "ix_meeting_requests_event_id_status",
        "ix_meeting_requests_to_user_id_created_at_id",
        "ix_meeting_requests_from_user_id_created_at_id",
        "ix_meeting_requests_from_user_id_to_user_id_event_id_status",
        "uq_meeting_requests_pending_pair",
    ):
        op.drop_index(name, "meeting_requests")
    op.drop_table("meeting_requests")
    op.drop_index("ix_match_tags_event_id_user_id", "match_tags")
    op.drop_index("ix_match_tags_event_id_kind_tag_user_id_shuffle_key", "match_tags")
    op.drop_table("match_tags")
    op.drop_table("meeting_spots")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would drop `users` and, with foreign keys
    # on, cascade the delete to every table that refers to it.
    op.drop_column("registrations", "pending_requests_in")
    op.drop_column("registrations", "pending_requests_out")
    op.drop_column("registrations", "discoverable")
    op.drop_column("events", "meeting_hours")
    op.drop_column("events", "meeting_slot_minutes")
    op.drop_column("users", "seeks")
    op.drop_column("users", "offers")
