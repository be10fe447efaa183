"""Which changes a pull has not sent yet: read snapshots, watermarks and the change log.

The database writes the log (see migration 0009): every INSERT, UPDATE or DELETE on a tracked
table adds rows (scope, tbl, row_id, pos) in the same transaction. `pos` is the writing
transaction's id on PostgreSQL and the log's commit-ordered counter on SQLite.

A pull reads everything from one snapshot and stores, for its successor, where "after this
pull" starts (`Since`):
- PostgreSQL: a REPEATABLE READ transaction; stored are the snapshot's xmin and the snapshot
  itself. Every transaction with a smaller id had ended when the snapshot was taken, so a
  change this pull could not see (a transaction still in flight, however early it wrote) has
  pos ≥ xmin and is not visible in the snapshot: exactly what the next pull asks for. Keeping
  the snapshot, not just xmin, means a long transaction anywhere on the server (it holds xmin
  back) does not make every pull send again what the previous one sent.
- SQLite: a deferred read transaction (WAL); writers are serialized, so the committed counter
  at the snapshot is the exact boundary: unseen changes have pos > counter.

The `timestamp` answered is the clock just after the snapshot was taken (rounded up to the
millisecond); one watermark row per answered millisecond (a pull that finds its millisecond
taken answers the next free one). A later pull looks its watermark up by that exact
timestamp; a timestamp the server never answered falls back to the newest watermark at or
before it, position only (its snapshot was older: changes may be sent twice, none is missed).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Select, String, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from services.core.models import SyncChange, SyncWatermark

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
IN_CHUNK = 500


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // _MS


def from_ms(value: int) -> datetime:
    return EPOCH + value * _MS


@dataclass(frozen=True)
class Since:
    """Where 'after a pull' starts in the change log: pos ≥ `pos`, and on PostgreSQL not visible
    in that pull's `snapshot` (so a change it saw is not sent again, even when an older
    transaction, anywhere on the server, was still open and held its xmin back)."""

    pos: int
    snapshot: str | None = None


EVERYTHING = Since(0)


@dataclass(frozen=True)
class Snapshot:
    """An open read transaction and what its successor needs."""

    connection: Connection
    since: Since  # every change this snapshot does not show is after `since`
    at_ms: int  # the `timestamp` to answer: the clock just after the snapshot

    @property
    def at(self) -> datetime:
        return from_ms(self.at_ms)


@contextmanager
def read_snapshot(
    read_sessions: sessionmaker[Session], write_sessions: sessionmaker[Session]
) -> Iterator[Snapshot]:
    """A consistent read of the whole database, and its watermark; the watermark is stored
    (committed, through a session of `write_sessions`) before this yields, so the answer built
    from the snapshot may name its timestamp. The read session stays open until the caller
    is done (a streamed answer reads while it is sent)."""
    session = read_sessions()
    try:
        bind = session.get_bind()
        postgresql = bind.dialect.name == "postgresql"
        if isinstance(bind, Connection):
            connection = bind  # a test's connection, inside the test's own transaction
        else:
            # A connection of its own: REPEATABLE READ from its first statement on.
            options = {"isolation_level": "REPEATABLE READ"} if postgresql else {}
            connection = session.connection(execution_options=options)
        if postgresql:
            # The first statement takes the transaction's snapshot; clock_timestamp() runs
            # after it was taken.
            row = connection.execute(
                text(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                    "pg_current_snapshot()::text, "
                    "ceil(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
                )
            ).one()
            since, at_ms = Since(int(row[0]), row[1]), int(row[2])
        else:
            counter = connection.execute(
                text("SELECT seq FROM sqlite_sequence WHERE name = 'sync_changes'")
            ).scalar()
            since, at_ms = Since((counter or 0) + 1), math.ceil(time.time() * 1000)
        at_ms = record_watermark(write_sessions, at_ms, since)
        yield Snapshot(connection, since, at_ms)
    finally:
        session.close()


def record_watermark(write_sessions: sessionmaker[Session], at_ms: int, since: Since) -> int:
    """Store `since` under the first free millisecond from `at_ms` on; answer that millisecond.
    (Two pulls in one millisecond: the later answers a millisecond later, each keeps its own.)"""
    table = SyncWatermark.__table__
    with write_sessions() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for candidate in range(at_ms, at_ms + 1000):
            statement = (
                insert(table)
                .values(at_ms=candidate, pos=since.pos, snapshot=since.snapshot)
                .on_conflict_do_nothing(index_elements=[table.c.at_ms])
                .returning(table.c.at_ms)
            )
            if session.execute(statement).scalar() is not None:
                session.commit()
                return candidate
    raise RuntimeError("no free millisecond for a sync watermark")


def watermark_for(connection: Connection, last_pulled_at: int | None) -> Since:
    """Where changes 'after last_pulled_at' start: everything for a first pull; the pull's own
    watermark for a timestamp this server answered; else the newest watermark stored at or
    before it (its snapshot was older: changes may come twice, none is missed)."""
    if not last_pulled_at:
        return EVERYTHING
    table = SyncWatermark.__table__
    exact = connection.execute(
        select(table.c.pos, table.c.snapshot).where(table.c.at_ms == last_pulled_at)
    ).first()
    if exact is not None:
        return Since(int(exact.pos), exact.snapshot)
    earlier = connection.execute(
        select(table.c.pos)
        .where(table.c.at_ms <= last_pulled_at)
        .order_by(table.c.at_ms.desc())
        .limit(1)
    ).scalar()
    return Since(int(earlier)) if earlier is not None else EVERYTHING


def chunks(values: Iterable, size: int = IN_CHUNK) -> Iterator[list]:
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def changes_query(scopes: list[uuid.UUID], tables: list[str], since: Since) -> Select:
    """(tbl, row_id) logged for these scopes and tables after `since` (the bench explains it)."""
    log = SyncChange.__table__
    query = (
        select(log.c.tbl, log.c.row_id)
        .distinct()
        .where(log.c.scope.in_(scopes), log.c.tbl.in_(tables), log.c.pos >= since.pos)
    )
    if since.snapshot is not None:
        query = query.where(
            text(
                "NOT pg_visible_in_snapshot("
                "CAST(CAST(sync_changes.pos AS text) AS xid8), CAST(:seen AS pg_snapshot))"
            ).bindparams(bindparam("seen", since.snapshot, type_=String))
        )
    return query


def changed_rows(
    connection: Connection,
    scopes: Iterable[uuid.UUID],
    tables: Iterable[str],
    since: Since,
    row_ids: Iterable[uuid.UUID] | None = None,
) -> dict[str, set[uuid.UUID]]:
    """{tbl: row ids} logged for these scopes and tables after `since`."""
    log = SyncChange.__table__
    found: dict[str, set[uuid.UUID]] = {}
    scopes, tables = list(scopes), list(tables)
    if not scopes or not tables:
        return found
    for scope_batch in chunks(scopes):
        query = changes_query(scope_batch, tables, since)
        if row_ids is None:
            for tbl, row_id in connection.execute(query):
                found.setdefault(tbl, set()).add(row_id)
            continue
        for id_batch in chunks(row_ids):
            for tbl, row_id in connection.execute(query.where(log.c.row_id.in_(id_batch))):
                found.setdefault(tbl, set()).add(row_id)
    return found
