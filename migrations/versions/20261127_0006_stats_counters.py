"""Counters for the organizer stats: door check-in and exchanges per registration, first
message per connection; indexes that let the stats read them instead of every row.

At 50,000 attendees the networking figures joined 100,000 connections (both ends) with the
door attendances and probed the messages of each connection: 250-760 ms. The counters are
kept by the services in the same transactions as what they count, and this migration fills
them from the rows already stored:

- `registrations.checked_in_at_door`: a door attendance exists for the registration;
- `registrations.exchange_count`: connections made at the event with this person while this
  registration was live (someone who cancelled and registered again has exchanges on both);
- `connections.first_message_at`: the earliest message on the connection, either way.

Indexes: the registrations index the stats read becomes (event_id, status, created_at,
exchange_count) plus (event_id, checked_in_at_door, exchange_count); the connections index
over both people (used only by the old networking query) gives way to a partial one over
followed-up connections; attendances get a narrow (place) index for per-session counts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

registrations = sa.table(
    "registrations",
    sa.column("id", sa.Uuid()),
    sa.column("event_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("cancelled_at", sa.DateTime(timezone=True)),
    sa.column("checked_in_at_door", sa.Boolean()),
    sa.column("exchange_count", sa.Integer()),
)
attendances = sa.table(
    "attendances", sa.column("registration_id", sa.Uuid()), sa.column("place", sa.String())
)
connections = sa.table(
    "connections",
    sa.column("id", sa.Uuid()),
    sa.column("event_id", sa.Uuid()),
    sa.column("user_a_id", sa.Uuid()),
    sa.column("user_b_id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("first_message_at", sa.DateTime(timezone=True)),
)
messages = sa.table(
    "messages", sa.column("connection_id", sa.Uuid()), sa.column("sent_at", sa.DateTime())
)


def _backfill() -> None:
    op.execute(
        sa.update(registrations).values(
            checked_in_at_door=sa.exists().where(
                attendances.c.registration_id == registrations.c.id,
                attendances.c.place == "door",
            )
        )
    )

    def connections_with(end) -> sa.ScalarSelect:
        # Connections with this person made while this registration was live (the one an
        # exchange counts on); one count per end of the pair, so each uses its own index.
        return (
            sa.select(sa.func.count())
            .select_from(connections)
            .where(
                connections.c.event_id == registrations.c.event_id,
                end == registrations.c.user_id,
                connections.c.created_at >= registrations.c.created_at,
                sa.or_(
                    registrations.c.cancelled_at.is_(None),
                    connections.c.created_at < registrations.c.cancelled_at,
                ),
            )
            .scalar_subquery()
        )

    op.execute(
        sa.update(registrations).values(
            exchange_count=connections_with(connections.c.user_a_id)
            + connections_with(connections.c.user_b_id)
        )
    )
    op.execute(
        sa.update(connections).values(
            first_message_at=sa.select(sa.func.min(messages.c.sent_at))
            .where(messages.c.connection_id == connections.c.id)
            .scalar_subquery()
        )
    )


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns natively): a batch
    # table copy would DROP the old table, and with foreign keys on that cascades.
    op.add_column(
        "registrations",
        sa.Column("checked_in_at_door", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "registrations",
        sa.Column("exchange_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "connections", sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True)
    )
    _backfill()

    op.drop_index(
        "ix_registrations_event_id_status_created_at_user_id_id", table_name="registrations"
    )
    op.create_index(
        "ix_registrations_event_id_status_created_at_exchange_count",
        "registrations",
        ["event_id", "status", "created_at", "exchange_count"],
        unique=False,
    )
    op.create_index(
        "ix_registrations_event_id_checked_in_at_door_exchange_count",
        "registrations",
        ["event_id", "checked_in_at_door", "exchange_count"],
        unique=False,
    )
    op.drop_index("ix_connections_event_id_user_a_id_user_b_id_met_at_id", table_name="connections")
    op.create_index(
        "ix_connections_event_id_met_at_first_message_at",
        "connections",
        ["event_id", "met_at", "first_message_at"],
        unique=False,
        sqlite_where=sa.text("first_message_at IS NOT NULL"),
        postgresql_where=sa.text("first_message_at IS NOT NULL"),
    )
    op.create_index("ix_attendances_place", "attendances", ["place"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attendances_place", table_name="attendances")
    op.drop_index("ix_connections_event_id_met_at_first_message_at", table_name="connections")
    op.create_index(
        "ix_connections_event_id_user_a_id_user_b_id_met_at_id",
        "connections",
        ["event_id", "user_a_id", "user_b_id", "met_at", "id"],
        unique=False,
    )
    op.drop_index(
        "ix_registrations_event_id_checked_in_at_door_exchange_count", table_name="registrations"
    )
    op.drop_index(
        "ix_registrations_event_id_status_created_at_exchange_count", table_name="registrations"
    )
    op.create_index(
        "ix_registrations_event_id_status_created_at_user_id_id",
        "registrations",
        ["event_id", "status", "created_at", "user_id", "id"],
        unique=False,
    )
    op.drop_column("connections", "first_message_at")
    op.drop_column("registrations", "exchange_count")
    op.drop_column("registrations", "checked_in_at_door")
