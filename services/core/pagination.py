"""Opaque keyset cursors: stable while rows are added, unlike offsets."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from services.core.clock import in_supported_years
from services.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def invalid_cursor() -> InvalidInput:
    return InvalidInput(
        "The cursor is not one this API issued", errors={"cursor": ["Invalid cursor."]}
    )


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(v) if v is not None else None for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str | None]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_cursor()
    return values


def page_from_rows(rows: list[T], limit: int, cursor_of) -> Page[T]:
    """`rows` was fetched with limit + 1: the extra row only says whether a next page exists."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode_cursor(*cursor_of(rows[-1])))
    return Page(rows, None)


def cursor_time(raw: str | None) -> datetime:
    """The instant a cursor carries: aware, and inside the years the API accepts."""
    try:
        at = datetime.fromisoformat(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise invalid_cursor() from exc
    if at.tzinfo is None or not in_supported_years(at):
        raise invalid_cursor()
    return at


def time_id_cursor(row_time, row_id) -> tuple[str, str]:
    return (row_time.isoformat(), str(row_id))


def _time_id_position(cursor: str) -> tuple[datetime, uuid.UUID]:
    raw_time, raw_id = decode_cursor(cursor, 2)
    after_time = cursor_time(raw_time)
    try:
        after_id = uuid.UUID(raw_id)
    except (TypeError, ValueError) as exc:
        raise invalid_cursor() from exc
    return after_time, after_id


def after_time_id(time_column, id_column, cursor: str):
    """WHERE clause for rows after the (time, id) position a cursor names, ascending order."""
    at, last_id = _time_id_position(cursor)
    return (time_column > at) | ((time_column == at) & (id_column > last_id))


def before_time_id(time_column, id_column, cursor: str):
    """WHERE clause for rows after the (time, id) position a cursor names, descending order."""
    at, last_id = _time_id_position(cursor)
    return (time_column < at) | ((time_column == at) & (id_column < last_id))


def oldest_first_page(
    session: Session, query: Select, time_column, id_column, *, limit: int, cursor: str | None
) -> Page:
    """One page of a query's entities in (time, id) order, after the cursor's position."""
    query = query.order_by(time_column, id_column).limit(limit + 1)
    if cursor:
        query = query.where(after_time_id(time_column, id_column, cursor))
    time_key, id_key = time_column.key, id_column.key
    return page_from_rows(
        list(session.scalars(query)),
        limit,
        lambda row: time_id_cursor(getattr(row, time_key), getattr(row, id_key)),
    )
