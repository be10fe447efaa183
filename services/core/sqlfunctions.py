"""Portable SQL expressions the two dialects spell differently."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services.core.models import UTCDateTime


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
    # The stored text up to the minute ('YYYY-MM-DD HH:MM'): a string slice, no date parsing.
    (value,) = list(element.clauses)
    return f"substr({compiler.process(value, **kw)}, 1, 16)"


class plus_days(FunctionElement):
    """A UTC timestamp expression moved by a whole number of days (of 24 h), exactly."""

    type = UTCDateTime()
    inherit_cache = True
    name = "plus_days"

    def __init__(self, value, days: int) -> None:
        super().__init__(value, literal(int(days), Integer()))


@compiles(plus_days, "postgresql")
def _plus_days_postgresql(element, compiler, **kw):
    # Seconds, not days: an interval's days follow the session's time zone across DST.
    value, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({value} + make_interval(secs => {days} * 86400))"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    # UTC text: only the date part changes, so the stored time of day (with its fraction) is
    # glued back on; the result compares as text exactly like the stored values do. date()
    # parses once, about 3 times cheaper than datetime() with seconds.
    value, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(date({value}, {days} || ' days') || substr({value}, 11))"


class uuid_key(FunctionElement):
    """A UUID column as text in the form each database hands over cheapest, for matching up
    rows in Python (a dict key), not for showing: 32 hex digits on SQLite (as stored),
    hyphenated on PostgreSQL. Either way no UUID object is made per row."""

    type = String()
    inherit_cache = True
    name = "uuid_key"


@compiles(uuid_key, "postgresql")
def _uuid_key_postgresql(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS TEXT)"


@compiles(uuid_key, "sqlite")
def _uuid_key_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return compiler.process(value, **kw)


class utc_second_key(FunctionElement):
    """Text naming the UTC second of a timestamp column, for matching up rows in Python (a
    dict key), in the form each database makes cheapest; its first 19 characters are the key.

    SQLite hands over the stored 'YYYY-MM-DD HH:MM:SS.ffffff' text as it is (the caller cuts
    it); PostgreSQL writes the whole epoch seconds as digits (to_char costs it twice as much).
    """

    type = String()
    inherit_cache = True
    name = "utc_second_key"


@compiles(utc_second_key, "postgresql")
def _utc_second_key_postgresql(element, compiler, **kw):
    # Truncated first, so the double date_part returns is a whole number (exact below 2^53).
    (value,) = list(element.clauses)
    seconds = f"date_part('epoch', date_trunc('second', {compiler.process(value, **kw)}))"
    return f"CAST(CAST({seconds} AS BIGINT) AS TEXT)"


@compiles(utc_second_key, "sqlite")
def _utc_second_key_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return compiler.process(value, **kw)
