"""The check-in log of one event as CSV, streamed (organizers and staff).

One row per stored scan (undone ones left out) in (scanned_at, id) order: ids as canonical
hyphenated UUIDs, times on the event's local clock to the second with their UTC offset
(2026-10-25T02:10:00+02:00), text that people typed made spreadsheet-safe, RFC 4180 quoting by
the csv module, CRLF line ends.

At 200,000 scans the cost is per row, so a row is a few dictionary look-ups
joined into one string. The database hands over raw text, never UUID or datetime objects
(services/core/sqlfunctions.py). Every field that may need quoting is rendered by the csv module
once per registration (its id and name), session (place, id, title), direction and device,
not once per row. Local times come from a cache per UTC second, filled from one per minute:
UTC offsets have been whole minutes in every zone since 1972, so the seconds carry over and
zoneinfo converts each minute once.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.models import DOOR, CheckIn, EventSession, Registration, User
from services.core.sqlfunctions import utc_second_key, uuid_key
from services.events import events

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
_CRLF = "\r\n"
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)


class _Echo:
    """A file whose write hands the text back, so csv.writer(...).writerow returns the line."""

    def write(self, text: str) -> str:
        return text


# The excel dialect: RFC 4180 quoting (a field holding a comma, a quote, CR or LF is quoted,
# inner quotes doubled), CRLF line ends, None written as "".
_csv_line: Callable[[tuple], str] = csv.writer(_Echo()).writerow


def _csv_fields(*values: str | None) -> str:
    """Adjacent fields of a row as the csv module writes them, without the line end."""
    if len(values) == 1 and not values[0]:
        return ""  # a row of one empty field is written '""', a field among others ''
    return _csv_line(values)[: -len(_CRLF)]


def _safe_text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _hyphenated(text: str) -> str:
    """Canonical UUID text from what uuid_key selects (32 hex digits on SQLite; PostgreSQL's
    text is canonical already)."""
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


class _Fragments(dict):
    """Raw value → its CSV fragment, rendered on first use."""

    def __init__(self, render: Callable[[str | None], str], known=()) -> None:
        super().__init__(known)
        self._render = render

    def __missing__(self, value: str | None) -> str:
        fragment = self[value] = self._render(value)
        return fragment


class _LocalTimes(dict):
    """A UTC second as utc_second_key selects it → local 'YYYY-MM-DDTHH:MM:SS+HH:MM' text.

    Keys are SQLite's stored text cut to the second ('YYYY-MM-DD HH:MM:SS') or PostgreSQL's
    whole epoch seconds as digits. A miss is made from its minute, converted once by zoneinfo.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self._zone = zone
        self._minutes: dict[int, tuple[str, str] | None] = {}

    def __missing__(self, key: str) -> str:
        stored_text = " " in key
        epoch = (datetime.fromisoformat(key) - _NAIVE_EPOCH) // _SECOND if stored_text else int(key)
        minute, second = divmod(epoch, 60)
        if minute not in self._minutes:
            self._minutes[minute] = self._minute(minute)
        parts = self._minutes[minute]
        if parts is None:
            instant = datetime.fromtimestamp(epoch, UTC).astimezone(self._zone)
            local = instant.isoformat(timespec="seconds")
        else:
            prefix, offset = parts
            local = f"{prefix}:{second:02d}{offset}"
        self[key] = local
        return local

    def _minute(self, minute: int) -> tuple[str, str] | None:
        """The local 'YYYY-MM-DDTHH:MM' and the UTC offset of a minute (None: odd seconds)."""
        local = datetime.fromtimestamp(minute * 60, UTC).astimezone(self._zone)
        if local.utcoffset() % _MINUTE:
            return None  # local mean time, before standard zones: converted to the second
        text = local.isoformat(timespec="minutes")  # 'YYYY-MM-DDTHH:MM+HH:MM'
        return text[:16], text[16:]


def check_ins_csv(
    session_for: Callable[[], Session], actor: User, event_id: uuid.UUID
) -> Iterator[str]:
    """The stored scans as RFC 4180 CSV chunks, times in the event's zone (organizers, staff).

    Access is checked now; the rows are read while the caller consumes the iterator, a chunk
    at a time (a server-side cursor on PostgreSQL), so the file is never held in memory.
    `session_for` is asked for the session again when the rows are read: a web framework may
    have closed the first one by then (Flask does, once the view returns).
    """
    session = session_for()
    event, _role = events.require_staff(session, event_id, actor)
    connection = session.connection()
    # Names and titles are read once per person and session instead of joined onto every
    # scan row; each becomes the CSV text of its columns.
    registrations = _Fragments(
        lambda registration_id: _csv_fields(_hyphenated(registration_id), ""),
        (
            (registration_id, _csv_fields(_hyphenated(registration_id), _safe_text(name)))
            for registration_id, name in connection.execute(
                select(uuid_key(Registration.id), User.display_name)
                .join(User, User.id == Registration.user_id)
                .where(Registration.event_id == event.id)
            ).all()
        ),
    )
    sessions = _Fragments(
        lambda session_id: _csv_fields("session", _hyphenated(session_id), ""),
        (
            (session_id, _csv_fields("session", _hyphenated(session_id), _safe_text(title)))
            for session_id, title in connection.execute(
                select(uuid_key(EventSession.id), EventSession.title).where(
                    EventSession.event_id == event.id
                )
            ).all()
        ),
    )
    sessions[None] = _csv_fields(DOOR, None, None)
    query = (
        select(
            uuid_key(CheckIn.id),  # hyphenated here: cheaper than SQLite's substr()s
            uuid_key(CheckIn.registration_id),
            CheckIn.direction,
            uuid_key(CheckIn.session_id),
            utc_second_key(CheckIn.scanned_at),
            utc_second_key(CheckIn.received_at),
            CheckIn.device_id,
        )
        .where(CheckIn.event_id == event.id, CheckIn.undone_at.is_(None))
        .order_by(CheckIn.scanned_at, CheckIn.id)
        .execution_options(yield_per=CSV_CHUNK_ROWS)
    )
    return _csv_chunks(
        session_for,
        query,
        registrations=registrations,
        sessions=sessions,
        local_times=_LocalTimes(ZoneInfo(event.timezone)),
    )


def _csv_chunks(
    session_for: Callable[[], Session],
    query,
    *,
    registrations: _Fragments,
    sessions: _Fragments,
    local_times: _LocalTimes,
) -> Iterator[str]:
    yield _csv_line(CSV_HEADER)
    directions = _Fragments(_csv_fields)
    devices = _Fragments(lambda device_id: _csv_fields(_safe_text(device_id)))
    # Core, not ORM, execution: ORM row handling would cost more than the rest together.
    result = session_for().connection().execute(query)
    try:
        for rows in result.partitions():
            yield "".join(
                [
                    f"{_hyphenated(check_in_id)},{registrations[registration_id]},"
                    f"{directions[direction]},{sessions[session_id]},"
                    f"{local_times[scanned_at[:19]]},{local_times[received_at[:19]]},"
                    f"{devices[device_id]}\r\n"
                    for (
                        check_in_id,
                        registration_id,
                        direction,
                        session_id,
                        scanned_at,
                        received_at,
                        device_id,
                    ) in rows
                ]
            )
    finally:
        result.close()
