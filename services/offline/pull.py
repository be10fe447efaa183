"""The pull: `{changes, timestamp}` for one person, written out as it is read.

First pull (no `last_pulled_at`): every row of every table in `created`, streamed from the
database (rows are fetched in batches and turned into JSON text one by one, so memory stays
flat whatever the size of the world). Later pulls: the change log names the rows touched since
the watermark of `last_pulled_at`; each is read again and goes to `updated` if it is still in
the person's world, `deleted` if not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from services.core.errors import InvalidInput
from services.offline import tracking, world

SCHEMA_VERSION = 1


def _check_schema_version(schema_version: int | None) -> None:
    if schema_version not in (None, SCHEMA_VERSION):
        raise InvalidInput(errors={"schema_version": [f"Only {SCHEMA_VERSION} is served."]})


def pull_changes(
    read_sessions: sessionmaker[Session],
    write_sessions: sessionmaker[Session],
    user_id: uuid.UUID,
    *,
    last_pulled_at: int | None,
    schema_version: int | None = SCHEMA_VERSION,
) -> Iterator[str]:
    """The answer as pieces of JSON text. The first piece is produced eagerly (the snapshot is
    taken and its watermark stored before this returns), the rest as the caller iterates."""
    _check_schema_version(schema_version)
    pieces = _answer(read_sessions, write_sessions, user_id, last_pulled_at or None)
    first = next(pieces)
    return _chain(first, pieces)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _answer(
    read_sessions: sessionmaker[Session],
    write_sessions: sessionmaker[Session],
    user_id: uuid.UUID,
    last_pulled_at: int | None,
) -> Iterator[str]:
    with tracking.read_snapshot(read_sessions, write_sessions) as snapshot:
        yield '{"changes":{'
        connection = snapshot.connection
        day = world.strength_day(snapshot.at)
        viewer = world.Viewer(user_id, day, world.my_events(connection, user_id))
        if last_pulled_at is None:
            for index, table in enumerate(world.TABLES):
                yield ("," if index else "") + f'"{table}":{{"created":['
                yield from _rows(world.READERS[table](connection, viewer))
                yield '],"updated":[],"deleted":[]}'
        else:
            since = tracking.watermark_for(connection, last_pulled_at)
            touched = touched_rows(connection, viewer, since, last_pulled_at)
            for index, table in enumerate(world.TABLES):
                ids = touched.get(table, set())
                present: set[str] = set()
                yield ("," if index else "") + f'"{table}":{{"created":[],"updated":['
                if ids:
                    rows = list(world.READERS[table](connection, viewer, ids))
                    present = {row["id"] for row in rows}
                    yield from _rows(iter(rows))
                gone = sorted(str(i) for i in ids if str(i) not in present)
                yield '],"deleted":' + json.dumps(gone) + "}"
        yield '},"timestamp":' + str(snapshot.at_ms) + "}"


def touched_rows(
    connection, viewer: world.Viewer, since: tracking.Since, last_pulled_at: int
) -> dict[str, set[uuid.UUID]]:
    """{sync table: row ids} changed after the watermark, for this person: what the change
    log names for them and for their events, and on the first pull of a new day the contacts
    whose strength or going_cold time alone moved."""
    user_id = viewer.user_id
    touched = tracking.changed_rows(connection, [user_id], world.USER_LOG_TABLES, since)
    for log_table, ids in tracking.changed_rows(
        connection, viewer.events or {}, world.EVENT_LOG_TABLES, since
    ).items():
        touched.setdefault(world.EVENT_LOG_TABLES[log_table], set()).update(ids)
    then = world.strength_day(tracking.from_ms(last_pulled_at))
    if then != viewer.at:
        decayed = world.contacts_decayed(connection, user_id, then, viewer.at)
        touched.setdefault("contacts", set()).update(decayed)
    return touched


def _rows(rows: Iterator[dict]) -> Iterator[str]:
    """Rows as comma-separated JSON objects, handed on in pieces of 200."""
    buffer: list[str] = []
    separator = ""
    for row in rows:
        buffer.append(separator + json.dumps(row, separators=(",", ":")))
        separator = ","
        if len(buffer) >= 200:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)
