"""What a blocked person still sees of the one who blocked them: the display name as it was.

`contacts.frozen_display_name` is set on the blocked person's side when the other person
blocks them; while it is set, that side shows this name and nothing else of the blocker's live
profile (no email, company, title or headline, nothing they change later). Erasing the blocker
replaces it with "deleted user". Existing blocked connections are filled from the blocker's
current display name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("frozen_display_name", sa.String(length=120), nullable=True))
    # The blocked side of each blocked connection: its owner is not the blocker.
    op.execute(
        """
        UPDATE contacts SET frozen_display_name = (
            SELECT users.display_name FROM users WHERE users.id = contacts.other_id
        )
        WHERE EXISTS (
            SELECT 1 FROM connections
            WHERE connections.id = contacts.connection_id
              AND connections.blocked_at IS NOT NULL
              AND connections.blocked_by_id = contacts.other_id
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("frozen_display_name")
