"""Portable SQL expressions the two dialects spell differently."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services.models import UTCDateTime


class days_between(FunctionElement):
    """Fractional days from the first timestamp expression to the second."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "
        f"{compiler.process(start, **kw)})) / 86400.0)"
    )


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"
    )


class minute_start(FunctionElement):
    """A UTC timestamp expression truncated to its minute (cheap enough to group 50,000 by)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "minute_start"


@compiles(minute_start, "postgresql")
def _minute_start_postgresql(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"date_trunc('minute', {compiler.process(value, **kw)})"


@compiles(minute_start, "sqlite")
def _minute_start_sqlite(element, compiler, **kw):
    # The stored text up to the minute, with zero seconds: a string slice, no date parsing.
    (value,) = list(element.clauses)
    return f"(substr({compiler.process(value, **kw)}, 1, 16) || ':00')"


class plus_seconds(FunctionElement):
    """A UTC timestamp expression moved by a whole number of seconds, exactly."""

    type = UTCDateTime()
    inherit_cache = True
    name = "plus_seconds"

    def __init__(self, value, seconds: int) -> None:
        super().__init__(value, literal(int(seconds), Integer()))


@compiles(plus_seconds, "postgresql")
def _plus_seconds_postgresql(element, compiler, **kw):
    value, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({value} + make_interval(secs => {seconds}))"


@compiles(plus_seconds, "sqlite")
def _plus_seconds_sqlite(element, compiler, **kw):
    # datetime() keeps whole seconds; the stored fraction ('.ffffff') is glued back on, so the
    # result compares as text exactly like the stored values do.
    value, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(datetime({value}, {seconds} || ' seconds') || substr({value}, 20))"


class uuid_text(FunctionElement):
    """A UUID column as canonical hyphenated text, made by the database."""

    type = String()
    inherit_cache = True
    name = "uuid_text"


@compiles(uuid_text, "postgresql")
def _uuid_text_postgresql(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS TEXT)"


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element, compiler, **kw):
    # SQLAlchemy keeps UUIDs on SQLite as 32 lowercase hex digits.
    (column,) = list(element.clauses)
    value = compiler.process(column, **kw)
    parts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr({value}, {start}, {length})" for start, length in parts)


class shifted_timestamp_text(FunctionElement):
    """A UTC timestamp moved by a whole number of seconds, as 'YYYY-MM-DDTHH:MM:SS' text.

    With the UTC offset of a zone, that is the local wall-clock time (to the second). The
    shift is rendered into the SQL as a constant: the cheapest form on both databases.
    """

    type = String()
    inherit_cache = False  # the shift is part of the SQL text, not a bound parameter
    name = "shifted_timestamp_text"

    def __init__(self, value, seconds: int) -> None:
        self.seconds = int(seconds)
        super().__init__(value)


@compiles(shifted_timestamp_text, "postgresql")
def _shifted_timestamp_text_postgresql(element, compiler, **kw):
    # to_char, not a cast to text: a cast's format follows the server's DateStyle.
    (column,) = list(element.clauses)
    value = compiler.process(column, **kw)
    return (
        f"to_char(({value} AT TIME ZONE 'UTC') + interval '{element.seconds} seconds', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS')"
    )


@compiles(shifted_timestamp_text, "sqlite")
def _shifted_timestamp_text_sqlite(element, compiler, **kw):
    (column,) = list(element.clauses)
    value = compiler.process(column, **kw)
    return f"replace(datetime({value}, '{element.seconds:+d} seconds'), ' ', 'T')"
