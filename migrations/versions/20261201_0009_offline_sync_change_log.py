"""Offline-first sync: a change log written by database triggers, and pull watermarks.

`sync_changes` gets one row per (scope, table, row) touched by a transaction, written by
AFTER triggers on every table the sync reads, so any code path that writes those tables
(today's services, tomorrow's features, a hand-run UPDATE) is tracked without knowing about it.
`scope` is whose view changed: a user (their profile, contacts, messages, follow-ups,
registrations, the events and sessions they joined or left) or an event (its own row and
sessions for every member: `event`, `event_sessions`; its scanner kit: `kit`).

`pos` orders changes by *visibility*, not by the time they were written:
- PostgreSQL: the writing transaction's id (`pg_current_xact_id()`, 64-bit). A pull reads in a
  REPEATABLE READ snapshot and remembers that snapshot's xmin: every transaction with a smaller
  id had ended before the snapshot, so a change not seen by this pull has pos ≥ xmin, and the
  next pull asks for pos ≥ xmin. A slow transaction that stamped its rows early is still caught.
- SQLite: one writer at a time, so the AUTOINCREMENT counter is in commit order; `pos` is the
  counter's value when the statement ran, plus one, and a pull's watermark is the committed
  counter plus one.

`sync_watermarks` maps the millisecond `timestamp` a pull answered (one pull per millisecond)
to where its next pull starts: `pos`, and on PostgreSQL the pull's snapshot, so changes it
already saw are not sent again even while an older transaction holds the xmin back.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared-profile columns: a change reaches every contact row that shows this person.
_SHARED = (
    "display_name",
    "headline",
    "company",
    "title",
    "email",
    "share_email",
    "share_company",
    "share_title",
    "share_headline",
    "deleted_at",
)
_REGISTRATION = (
    "status",
    "badge_code",
    "badge_issued_at",
    "cancelled_at",
    "checked_in_at_door",
    "user_id",
    "event_id",
)

# What each write emits: (operations, SELECT of (scope, tbl, row_id)). {R} is the row (NEW, or
# OLD for a delete), {changed(a, b)} true when an UPDATE changed one of those columns (always
# true for INSERT and DELETE).
_ALL = ("INSERT", "UPDATE", "DELETE")
TRACKED: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "users": [
        (("INSERT", "UPDATE"), "SELECT {R}.id, 'profile', {R}.id"),
        (
            ("UPDATE",),
            "SELECT c.owner_id, 'contacts', c.id FROM contacts c "
            "WHERE c.other_id = {R}.id AND {changed(" + ", ".join(_SHARED) + ")}",
        ),
        # An erased person's messages leave their counterparts' worlds.
        (
            ("UPDATE",),
            "SELECT m.recipient_id, 'messages', m.id FROM messages m "
            "WHERE m.sender_id = {R}.id AND {changed(deleted_at)}",
        ),
        (
            ("UPDATE",),
            "SELECT m.sender_id, 'messages', m.id FROM messages m "
            "WHERE m.recipient_id = {R}.id AND {changed(deleted_at)}",
        ),
        (
            ("UPDATE",),
            "SELECT r.event_id, 'kit', r.id FROM registrations r "
            "WHERE r.user_id = {R}.id AND {changed(display_name, deleted_at)}",
        ),
    ],
    "events": [(("UPDATE",), "SELECT {R}.id, 'event', {R}.id")],
    "event_staff": [
        (_ALL, "SELECT {R}.user_id, 'events', {R}.event_id"),
        (
            _ALL,
            "SELECT {R}.user_id, 'sessions', s.id FROM event_sessions s "
            "WHERE s.event_id = {R}.event_id",
        ),
    ],
    "event_sessions": [(_ALL, "SELECT {R}.event_id, 'event_sessions', {R}.id")],
    "registrations": [
        (
            _ALL,
            "SELECT {R}.user_id, 'registrations', {R}.id "
            "WHERE {changed(" + ", ".join(_REGISTRATION) + ")}",
        ),
        (_ALL, "SELECT {R}.user_id, 'events', {R}.event_id WHERE {changed(status, user_id)}"),
        (
            _ALL,
            "SELECT {R}.user_id, 'sessions', s.id FROM event_sessions s "
            "WHERE s.event_id = {R}.event_id AND {changed(status, user_id)}",
        ),
        (
            _ALL,
            "SELECT {R}.event_id, 'kit', {R}.id WHERE {changed(" + ", ".join(_REGISTRATION) + ")}",
        ),
    ],
    "attendances": [
        (
            _ALL,
            "SELECT r.user_id, 'registrations', r.id FROM registrations r "
            "WHERE r.id = {R}.registration_id AND {R}.place = 'door' "
            "AND {changed(first_checked_in_at, inside)}",
        ),
        (
            _ALL,
            "SELECT {R}.event_id, 'kit', {R}.registration_id "
            "WHERE {R}.place = 'door' AND {changed(first_checked_in_at, inside)}",
        ),
    ],
    "badge_codes": [
        (
            _ALL,
            "SELECT r.event_id, 'kit', r.id FROM registrations r "
            "WHERE r.id = {R}.registration_id AND {changed(revoked_at, code_hash)}",
        ),
    ],
    "connections": [
        (
            ("UPDATE",),
            "SELECT c.owner_id, 'contacts', c.id FROM contacts c "
            "WHERE c.connection_id = {R}.id AND {changed(blocked_at, blocked_by_id)}",
        ),
    ],
    "contacts": [
        (_ALL, "SELECT {R}.owner_id, 'contacts', {R}.id"),
        # A removed (or restored) side takes its conversation and follow-ups with it.
        (
            ("UPDATE", "DELETE"),
            "SELECT {R}.owner_id, 'messages', m.id FROM messages m "
            "WHERE m.connection_id = {R}.connection_id AND {changed(removed_at)}",
        ),
        (
            ("UPDATE", "DELETE"),
            "SELECT {R}.owner_id, 'follow_ups', f.id FROM follow_ups f "
            "WHERE f.contact_id = {R}.id AND {changed(removed_at)}",
        ),
    ],
    "contact_tags": [(("INSERT", "DELETE"), "SELECT {R}.owner_id, 'contacts', {R}.contact_id")],
    "messages": [
        (_ALL, "SELECT {R}.sender_id, 'messages', {R}.id"),
        (_ALL, "SELECT {R}.recipient_id, 'messages', {R}.id"),
    ],
    "follow_ups": [(_ALL, "SELECT {R}.owner_id, 'follow_ups', {R}.id")],
}

_LETTER = {"INSERT": "i", "UPDATE": "u", "DELETE": "d"}


def _render(select_sql: str, operation: str, dialect: str) -> str:
    row = "OLD" if operation == "DELETE" else "NEW"
    text = select_sql.replace("{R}", row)
    while "{changed(" in text:
        start = text.index("{changed(")
        end = text.index(")}", start)
        columns = [c.strip() for c in text[start + len("{changed(") : end].split(",")]
        if operation == "UPDATE":
            op_ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
            condition = "(" + " OR ".join(f"OLD.{c} {op_} NEW.{c}" for c in columns) + ")"
        else:
            condition = "(1 = 1)"
        text = text[:start] + condition + text[end + 2 :]
    return text


def _insert(select_sql: str, dialect: str) -> str:
    if dialect == "postgresql":
        pos = "pg_current_xact_id()::text::bigint"
    else:
        pos = "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'sync_changes'), 0) + 1"
    return (
        "INSERT INTO sync_changes (scope, tbl, row_id, pos) "
        f"SELECT x.scope, x.tbl, x.row_id, {pos} FROM ({select_sql}) AS x"
    )


def trigger_statements(dialect: str) -> list[str]:
    """CREATE statements for every tracking trigger (and, on PostgreSQL, its function)."""
    statements = []
    for table, emits in TRACKED.items():
        for operation in _ALL:
            selects = [s for ops, s in emits if operation in ops]
            if not selects:
                continue
            name = f"sync_track_{table}_{_LETTER[operation]}"
            rendered = [_render(_named(s), operation, dialect) for s in selects]
            if dialect == "postgresql":
                body = "\n".join(_insert(s, dialect) + ";" for s in rendered)
                statements.append(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
                )
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            else:
                body = "\n".join(_insert(s, dialect) + ";" for s in rendered)
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
                    f"FOR EACH ROW BEGIN\n{body}\nEND"
                )
    return statements


def _named(select_sql: str) -> str:
    """Name the three emitted columns (SQLite has no column list on a subquery's alias)."""
    head, sep, rest = select_sql.partition(" FROM ")
    if not sep:
        head, sep, rest = select_sql.partition(" WHERE ")
    parts = _split_top_level(head.removeprefix("SELECT "))
    named = ", ".join(f"{p} AS {n}" for p, n in zip(parts, ("scope", "tbl", "row_id"), strict=True))
    return f"SELECT {named}{sep}{rest}" if sep else f"SELECT {named}"


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current.strip())
    return parts


def drop_statements(dialect: str) -> list[str]:
    statements = []
    for table, emits in TRACKED.items():
        for operation in _ALL:
            if not any(operation in ops for ops, _ in emits):
                continue
            name = f"sync_track_{table}_{_LETTER[operation]}"
            if dialect == "postgresql":
                statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                statements.append(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {name}")
    return statements


def upgrade() -> None:
    op.create_table(
        "sync_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("scope", sa.Uuid(), nullable=False),
        sa.Column("tbl", sa.String(length=20), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("pos", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sync_changes_scope_tbl_pos"), "sync_changes", ["scope", "tbl", "pos"])
    op.create_table(
        "sync_watermarks",
        sa.Column("at_ms", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pos", sa.BigInteger(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("at_ms", name=op.f("pk_sync_watermarks")),
    )
    dialect = op.get_bind().dialect.name
    for statement in trigger_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_statements(dialect):
        op.execute(statement)
    op.drop_table("sync_watermarks")
    op.drop_index(op.f("ix_sync_changes_scope_tbl_pos"), table_name="sync_changes")
    op.drop_table("sync_changes")
