"""The check-in log of one event as CSV, streamed (organizers and staff)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session

from services import events
from services.arrival_buckets import OffsetSpan, from_epoch, offset_spans, to_epoch
from services.checkins import MAX_CLOCK_SKEW
from services.models import DOOR, CheckIn, EventSession, Registration, User
from services.sqlfunctions import shifted_timestamp_text, uuid_text

CSV_CHUNK_ROWS = 2000
CSV_HEADER = (
    "check_in_id",
    "registration_id",
    "attendee_display_name",
    "direction",
    "place",
    "session_id",
    "session_title",
    "scanned_at",
    "received_at",
    "device_id",
)
# A spreadsheet runs a cell starting with one of these as a formula; attendee-typed text is
# prefixed with an apostrophe so an export can't carry one (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_ins_csv(
    session_for: Callable[[], Session], actor: User, event_id: uuid.UUID
) -> Iterator[str]:
    """The stored scans as RFC 4180 CSV chunks, times in the event's zone (organizers, staff).

    Access is checked now; the rows are read while the caller consumes the iterator, a chunk
    at a time (a server-side cursor on PostgreSQL), so the file is never held in memory. The
    database writes ids and local times as text, so Python only joins the strings up.
    `session_for` is asked for the session again when the rows are read: a web framework may
    have closed the first one by then (Flask does, once the view returns).
    """
    session = session_for()
    event, _role = events.require_staff(session, event_id, actor)
    zone = ZoneInfo(event.timezone)
    first_scan, last_change = session.execute(
        select(func.min(CheckIn.scanned_at), func.max(CheckIn.updated_at)).where(
            CheckIn.event_id == event.id
        )
    ).one()
    if first_scan is None:
        return iter([_csv_line(CSV_HEADER)])
    # received_at never passes the last change; scanned_at may lead it by the allowed skew.
    spans = offset_spans(zone, to_epoch(first_scan), to_epoch(last_change + MAX_CLOCK_SKEW) + 1)
    query = select(
        uuid_text(CheckIn.id),
        uuid_text(CheckIn.registration_id),
        CheckIn.direction,
        case((CheckIn.session_id.is_(None), DOOR), else_="session"),
        uuid_text(CheckIn.session_id),
        _local_time_text(CheckIn.scanned_at, spans),
        _local_time_text(CheckIn.received_at, spans),
        _spreadsheet_safe(CheckIn.device_id),
    ).where(CheckIn.event_id == event.id, CheckIn.undone_at.is_(None))
    # Core, not ORM, execution: the rows are plain text, and ORM row handling would cost as
    # much as the database's work. Names and titles are read once per person and session
    # instead of joined onto every scan row.
    connection = session.connection()
    names = {
        registration_id: _safe_text(name)
        for registration_id, name in connection.execute(
            select(uuid_text(Registration.id), User.display_name)
            .join(User, User.id == Registration.user_id)
            .where(Registration.event_id == event.id)
        )
    }
    titles = {
        session_id: _safe_text(title)
        for session_id, title in connection.execute(
            select(uuid_text(EventSession.id), EventSession.title).where(
                EventSession.event_id == event.id
            )
        )
    }
    return _csv_chunks(
        session_for,
        query.order_by(CheckIn.scanned_at, CheckIn.id).execution_options(yield_per=CSV_CHUNK_ROWS),
        names,
        titles,
    )


def _utc_offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _local_time_text(column, spans: list[OffsetSpan]) -> ColumnElement[str]:
    """ISO 8601 local time with its offset, e.g. 2026-10-25T02:10:00+02:00, made in SQL."""

    def at_offset(span: OffsetSpan) -> ColumnElement[str]:
        return shifted_timestamp_text(column, span.offset) + _utc_offset_text(span.offset)

    if len(spans) == 1:
        return at_offset(spans[0])
    return case(
        *(
            (column < from_epoch(after.start), at_offset(before))
            for before, after in pairwise(spans)
        ),
        else_=at_offset(spans[-1]),
    )


def _safe_text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _spreadsheet_safe(column) -> ColumnElement[str]:
    """`_safe_text` in SQL, for a column written on every row."""
    return case(
        (func.substr(column, 1, 1).in_(_FORMULA_STARTS), literal("'") + column),
        else_=column,
    )


def _csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_chunks(
    session_for: Callable[[], Session], query, names: dict[str, str], titles: dict[str, str]
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # excel dialect: RFC 4180 quoting, CRLF line ends; None → ""
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    result = session_for().connection().execute(query)
    try:
        for rows in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(
                (
                    check_in_id,
                    registration_id,
                    names.get(registration_id, ""),
                    direction,
                    place,
                    session_id,
                    titles.get(session_id, ""),
                    scanned_at,
                    received_at,
                    device_id,
                )
                for (
                    check_in_id,
                    registration_id,
                    direction,
                    place,
                    session_id,
                    scanned_at,
                    received_at,
                    device_id,
                ) in rows
            )
            yield buffer.getvalue()
    finally:
        result.close()
