"""Indexes for the organizer stats and the check-in CSV.

Each covers one stats query so that it reads only the index: registrations by event and
status (registered, walk-ins, the checked-in people's user ids); door attendances with their
first check-in time, presence and registration (totals, arrival buckets, who is checked in;
it replaces the (event_id, place) index, which it extends); connections by event with both
people and the meeting time (networking); check-ins by event in scan time order (the CSV
streams in that order without a sort).

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-27 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_registrations_event_id_status_created_at_user_id_id",
        "registrations",
        ["event_id", "status", "created_at", "user_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_attendances_event_id_place_first_checked_in_at",
        "attendances",
        ["event_id", "place", "first_checked_in_at", "inside", "registration_id"],
        unique=False,
    )
    op.drop_index("ix_attendances_event_id_place", table_name="attendances")
    op.create_index(
        "ix_connections_event_id_user_a_id_user_b_id_met_at_id",
        "connections",
        ["event_id", "user_a_id", "user_b_id", "met_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_check_ins_event_id_scanned_at_id",
        "check_ins",
        ["event_id", "scanned_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_check_ins_event_id_scanned_at_id", table_name="check_ins")
    op.drop_index("ix_connections_event_id_user_a_id_user_b_id_met_at_id", table_name="connections")
    op.create_index(
        "ix_attendances_event_id_place", "attendances", ["event_id", "place"], unique=False
    )
    op.drop_index("ix_attendances_event_id_place_first_checked_in_at", table_name="attendances")
    op.drop_index(
        "ix_registrations_event_id_status_created_at_user_id_id", table_name="registrations"
    )
