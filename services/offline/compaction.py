"""Keeping the change log and the watermarks from growing with every write and every pull.

Two things grow without this: `sync_watermarks` (one row per pull answered) and
`sync_changes` (one row per write per scope, so a contact edited a hundred times has a hundred
rows). A pass, run by the worker:

1. **Compacts** the log below the oldest watermark still kept (the floor): of the rows every
   kept watermark has already seen, only the newest per (scope, table, row) stays. No pull
   from a kept watermark asks for any of them (they are before its position), and a pull from
   older than the floor reads the whole log of its person, where one row per record is all it
   needs: the record is read again now and sent in `updated`, or in `deleted` if it left the
   person's world. So a phone silent for months still converges, deletions included, without
   a reset; its answer is just longer.
2. **Drops watermarks** older than the retention (the newest older one stays as the next
   floor). A phone whose `last_pulled_at` was one of them falls back to the whole-log answer
   above.

Compaction uses the floor an *earlier* pass set, never the one this pass sets: a pull or push
that looked up a watermark just before it was dropped reads the log under that watermark's
position, so rows below it are only compacted a pass later (the worker runs one a day).
PostgreSQL: positions below a watermark's xmin belong to transactions that had ended before
its snapshot, so every later snapshot sees them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.models import SyncChange, SyncWatermark
from services.offline.tracking import chunks, to_ms

DEFAULT_RETENTION = timedelta(days=30)
DELETE_BATCH = 5_000


@dataclass(frozen=True)
class CompactionReport:
    floor_ms: int | None  # the watermark the log was compacted below (None: nothing kept yet)
    changes_removed: int
    watermarks_removed: int


def compact_change_log(
    read_sessions: sessionmaker[Session],
    write_sessions: sessionmaker[Session],
    now: datetime,
    *,
    retention: timedelta = DEFAULT_RETENTION,
    batch: int = DELETE_BATCH,
) -> CompactionReport:
    """One maintenance pass: compact below the current floor, then advance the floor past
    watermarks older than `retention`. The log is read in a read transaction and deleted from
    in short write transactions of `batch` rows (SQLite's one writer is never held for long);
    a pass cut short is resumed by the next."""
    log, marks = SyncChange.__table__, SyncWatermark.__table__
    changes_removed = 0
    with read_sessions() as reader:
        floor = reader.execute(
            select(marks.c.at_ms, marks.c.pos).order_by(marks.c.at_ms).limit(1)
        ).first()
        if floor is not None:
            newer = (
                func.row_number()
                .over(
                    partition_by=(log.c.scope, log.c.tbl, log.c.row_id), order_by=log.c.seq.desc()
                )
                .label("newer")
            )
            ranked = select(log.c.seq, newer).where(log.c.pos < floor.pos).subquery()
            superseded = reader.execute(
                select(ranked.c.seq).where(ranked.c.newer > 1).execution_options(yield_per=batch)
            ).scalars()
            for seqs in chunks(superseded, batch):
                with write_sessions() as session, session.begin():
                    session.execute(delete(log).where(log.c.seq.in_(seqs)))
                changes_removed += len(seqs)

    horizon = to_ms(now - retention)
    watermarks_removed = 0
    with read_sessions() as reader:
        next_floor = reader.execute(
            select(func.max(marks.c.at_ms)).where(marks.c.at_ms < horizon)
        ).scalar()
    while next_floor is not None:
        with write_sessions() as session, session.begin():
            oldest = (
                select(marks.c.at_ms)
                .where(marks.c.at_ms < next_floor)
                .order_by(marks.c.at_ms)
                .limit(batch)
            )
            removed = session.execute(delete(marks).where(marks.c.at_ms.in_(oldest))).rowcount
        watermarks_removed += removed
        if removed < batch:
            break
    return CompactionReport(
        floor_ms=None if floor is None else floor.at_ms,
        changes_removed=changes_removed,
        watermarks_removed=watermarks_removed,
    )
