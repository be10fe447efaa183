"""Push notifications: devices, notification settings, the notification outbox (also the
in-app feed) and the per-device delivery queue.

- `push_devices`: an APNs/FCM token or a Web Push subscription per row, unique per provider by
  the SHA-256 of the token (or endpoint), with the session that registered it;
- `notification_settings`: a row per person who changed a default (and the row the worker
  locks to keep the per-person limits exact);
- `notifications`: written in the transaction of the message / follow-up / scan / invitation
  that causes it; decided by the worker (sent, dropped, collapsed, or held until `due_at`);
- `push_deliveries`: a decided notification for one device, retried with back-off until
  `give_up_at`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:16:40
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("messages", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("contacts", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("invitations", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("meetings", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("previews", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "push_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("platform", sa.String(length=10), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=True),
        sa.Column("auth", sa.String(length=100), nullable=True),
        sa.Column("app_version", sa.String(length=40), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_push_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_devices")),
        sa.UniqueConstraint(
            "provider", "token_hash", name=op.f("uq_push_devices_provider_token_hash")
        ),
    )
    op.create_index(op.f("ix_push_devices_session_id"), "push_devices", ["session_id"])
    op.create_index(op.f("ix_push_devices_user_id"), "push_devices", ["user_id"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("meeting_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("collapse_key", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("preview", sa.Text(), nullable=True),
        sa.Column("collapsed_count", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_notifications_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notifications_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_notifications_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_notifications_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_actor_id"), "notifications", ["actor_id"])
    op.create_index(op.f("ix_notifications_contact_id"), "notifications", ["contact_id"])
    op.create_index(op.f("ix_notifications_message_id"), "notifications", ["message_id"])
    op.create_index("ix_notifications_status_due_at", "notifications", ["status", "due_at"])
    op.create_index(
        "ix_notifications_user_id_collapse_key_status_sent_at",
        "notifications",
        ["user_id", "collapse_key", "status", "sent_at"],
    )
    op.create_index(
        "ix_notifications_user_id_created_at_id", "notifications", ["user_id", "created_at", "id"]
    )
    op.create_index(
        "ix_notifications_user_id_status_sent_at", "notifications", ["user_id", "status", "sent_at"]
    )

    op.create_table(
        "push_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("give_up_at", UTC_TIME, nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["push_devices.id"],
            name=op.f("fk_push_deliveries_device_id_push_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_push_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_deliveries")),
    )
    op.create_index(op.f("ix_push_deliveries_device_id"), "push_deliveries", ["device_id"])
    op.create_index(
        op.f("ix_push_deliveries_notification_id"), "push_deliveries", ["notification_id"]
    )
    op.create_index(
        "ix_push_deliveries_status_next_attempt_at",
        "push_deliveries",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("push_deliveries")
    op.drop_table("notifications")
    op.drop_table("push_devices")
    op.drop_table("notification_settings")
