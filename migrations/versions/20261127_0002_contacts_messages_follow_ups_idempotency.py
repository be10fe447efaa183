"""Contacts, messages, follow-ups and plans, idempotency records; users.deleted_at.

Drafted with autogenerate, then reviewed: one connection row per unordered pair (a unique
constraint plus a CHECK that user_a_id < user_b_id) so mutual scans cannot make two; the
owner → contact throttle counters live on the contact row; indexes for the rolling-window
counts the throttle makes (sender or recipient, cold, sent_at) and for the delivery worker's
claim query (status, deliver_at).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:46:44.401331
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint(
            "user_id", "scope", "key", name=op.f("uq_idempotency_records_user_id_scope_key")
        ),
    )
    op.create_index(
        "ix_idempotency_records_expires_at", "idempotency_records", ["expires_at"], unique=False
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_a_id", sa.Uuid(), nullable=False),
        sa.Column("user_b_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("user_a_id < user_b_id", name=op.f("ck_connections_ordered_pair")),
        sa.ForeignKeyConstraint(
            ["blocked_by_id"],
            ["users.id"],
            name=op.f("fk_connections_blocked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_connections_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_connections_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_a_id"],
            ["users.id"],
            name=op.f("fk_connections_user_a_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_b_id"],
            ["users.id"],
            name=op.f("fk_connections_user_b_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint(
            "user_a_id", "user_b_id", name=op.f("uq_connections_user_a_id_user_b_id")
        ),
    )
    op.create_index(
        "ix_connections_event_id_created_at",
        "connections",
        ["event_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_connections_user_b_id"), "connections", ["user_b_id"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("other_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("met_in_person", sa.Boolean(), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_interested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unanswered_streak", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("other_ever_wrote", sa.Boolean(), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("received_count", sa.Integer(), nullable=False),
        sa.Column("replies_received", sa.Integer(), nullable=False),
        sa.Column("asks_sent", sa.Integer(), nullable=False),
        sa.Column("offers_sent", sa.Integer(), nullable=False),
        sa.Column("asks_in_a_row", sa.Integer(), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_contacts_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_contacts_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["other_id"], ["users.id"], name=op.f("fk_contacts_other_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_contacts_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("owner_id", "other_id", name=op.f("uq_contacts_owner_id_other_id")),
    )
    op.create_index(op.f("ix_contacts_connection_id"), "contacts", ["connection_id"], unique=False)
    op.create_index(op.f("ix_contacts_other_id"), "contacts", ["other_id"], unique=False)
    op.create_index(
        "ix_contacts_owner_id_created_at_id",
        "contacts",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("sender_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cold", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_messages_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_messages_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(
        "ix_messages_connection_id_sent_at_id",
        "messages",
        ["connection_id", "sent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_messages_recipient_id_cold_sent_at",
        "messages",
        ["recipient_id", "cold", "sent_at"],
        unique=False,
    )
    op.create_index(
        "ix_messages_recipient_id_sent_at", "messages", ["recipient_id", "sent_at"], unique=False
    )
    op.create_index(
        "ix_messages_sender_id_cold_sent_at",
        "messages",
        ["sender_id", "cold", "sent_at"],
        unique=False,
    )
    op.create_index(
        "ix_messages_sender_id_recipient_id_sent_at",
        "messages",
        ["sender_id", "recipient_id", "sent_at"],
        unique=False,
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_tags_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_contact_tags_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "tag", name=op.f("pk_contact_tags")),
    )
    op.create_index(
        "ix_contact_tags_owner_id_tag", "contact_tags", ["owner_id", "tag"], unique=False
    )
    op.create_table(
        "follow_up_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_follow_up_plans_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_follow_up_plans_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_plans")),
    )
    op.create_index(
        op.f("ix_follow_up_plans_contact_id"), "follow_up_plans", ["contact_id"], unique=False
    )
    op.create_index(
        op.f("ix_follow_up_plans_owner_id"), "follow_up_plans", ["owner_id"], unique=False
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliver_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=True),
        sa.Column("requeued", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_follow_ups_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_follow_ups_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_follow_ups_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["follow_up_plans.id"],
            name=op.f("fk_follow_ups_plan_id_follow_up_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_follow_ups_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index(
        "ix_follow_ups_contact_id_status_send_at",
        "follow_ups",
        ["contact_id", "status", "send_at"],
        unique=False,
    )
    op.create_index(
        "ix_follow_ups_owner_id_status_send_at",
        "follow_ups",
        ["owner_id", "status", "send_at"],
        unique=False,
    )
    op.create_index(op.f("ix_follow_ups_plan_id"), "follow_ups", ["plan_id"], unique=False)
    op.create_index(
        op.f("ix_follow_ups_recipient_id"), "follow_ups", ["recipient_id"], unique=False
    )
    op.create_index(
        "ix_follow_ups_status_deliver_at", "follow_ups", ["status", "deliver_at"], unique=False
    )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
    op.drop_index("ix_follow_ups_status_deliver_at", table_name="follow_ups")
    op.drop_index(op.f("ix_follow_ups_recipient_id"), table_name="follow_ups")
    op.drop_index(op.f("ix_follow_ups_plan_id"), table_name="follow_ups")
    op.drop_index("ix_follow_ups_owner_id_status_send_at", table_name="follow_ups")
    op.drop_index("ix_follow_ups_contact_id_status_send_at", table_name="follow_ups")
    op.drop_table("follow_ups")
    op.drop_index(op.f("ix_follow_up_plans_owner_id"), table_name="follow_up_plans")
    op.drop_index(op.f("ix_follow_up_plans_contact_id"), table_name="follow_up_plans")
    op.drop_table("follow_up_plans")
    op.drop_index("ix_contact_tags_owner_id_tag", table_name="contact_tags")
    op.drop_table("contact_tags")
    op.drop_index("ix_messages_sender_id_recipient_id_sent_at", table_name="messages")
    op.drop_index("ix_messages_sender_id_cold_sent_at", table_name="messages")
    op.drop_index("ix_messages_recipient_id_sent_at", table_name="messages")
    op.drop_index("ix_messages_recipient_id_cold_sent_at", table_name="messages")
    op.drop_index("ix_messages_connection_id_sent_at_id", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_contacts_owner_id_created_at_id", table_name="contacts")
    op.drop_index(op.f("ix_contacts_other_id"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_connection_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index(op.f("ix_connections_user_b_id"), table_name="connections")
    op.drop_index("ix_connections_event_id_created_at", table_name="connections")
    op.drop_table("connections")
    op.drop_index("ix_idempotency_records_expires_at", table_name="idempotency_records")
    op.drop_table("idempotency_records")
