"""What a request may be, checked before any view reads it (issue 12; docs/limits.md).

- Size: a body over MAX_CONTENT_LENGTH (1 MiB) is refused with 413 from its Content-Length,
  before a byte of it is read; the offline sync takes up to SYNC_MAX_CONTENT_LENGTH (500 scans
  with notes). A body without a length (chunked) is cut off at the same limit while it is read.
- Shape of JSON bodies: nesting deeper than MAX_JSON_DEPTH, a number literal with more than
  MAX_NUMBER_DIGITS digits (Python would spend seconds converting a 100,000-digit integer), a
  non-finite number, or a lone UTF-16 surrogate in any string or key (PostgreSQL cannot store
  it) → 400, before webargs parses the body.
- Content-Type: a view that reads a JSON body refuses a body sent as anything else with 415
  (it used to be ignored silently, and a PATCH then changed nothing but `updated_at`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

MIB = 1024 * 1024
DEFAULT_MAX_CONTENT_LENGTH = 1 * MIB
# 500 scans, each with a 5,000-character note, as JSON escapes at worst: about 16 MiB; a real
# batch (codes and ids) is about 150 KB.
DEFAULT_SYNC_MAX_CONTENT_LENGTH = 16 * MIB
SYNC_ENDPOINT = "sync.SyncScans"
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 30
_DIGITS = re.compile(r"\d")


class MalformedJSON(BadRequest):
    description = "The request body is not valid JSON within the API's limits."

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem
        # Read by api.errors.http_problem, like webargs' validation messages.
        self.data = {"messages": {"_request": [problem]}}


def limit_body_size() -> None:
    """before_request: choose this endpoint's limit and refuse a larger declared body."""
    config = current_app.config
    limit = config["MAX_CONTENT_LENGTH"]
    if request.endpoint == SYNC_ENDPOINT:
        limit = config["SYNC_MAX_CONTENT_LENGTH"]
        request.max_content_length = limit
    if request.content_length is not None and limit is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"The body is over the limit of {limit} bytes for this path.")


def _has_body() -> bool:
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def is_json_type() -> bool:
    mimetype = request.mimetype
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def require_json_body() -> None:
    """In a view that reads a JSON body: a body of another type is refused (415)."""
    if request.mimetype and not is_json_type():
        raise UnsupportedMediaType(f"This endpoint takes application/json, not {request.mimetype}.")
    if not request.mimetype and _has_body():
        raise UnsupportedMediaType("Send the body as application/json (Content-Type).")


def _refuse_number(literal: str) -> float:
    raise ValueError(literal)


def _parse_int(literal: str) -> int:
    if len(literal) - literal.startswith("-") > MAX_NUMBER_DIGITS:
        raise _TooManyDigits()
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(_DIGITS.findall(literal)) > MAX_NUMBER_DIGITS:
        raise _TooManyDigits()
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise _TooManyDigits()
    return value


class _TooManyDigits(ValueError):
    pass


def _check_shape(document: Any) -> str | None:
    """Why the parsed document is refused (depth, surrogates), or None. Iterative: a deep
    document must not exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                return "Text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)."
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels."
            if isinstance(value, dict):
                for key, item in value.items():
                    if not _encodable(key):
                        return "Text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)."
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_within_limits(body: bytes | str) -> Any:
    """The document, or MalformedJSON saying which limit it broke."""
    try:
        document = json.loads(
            body, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_number
        )
    except _TooManyDigits as exc:
        raise MalformedJSON(
            f"Numbers must have at most {MAX_NUMBER_DIGITS} digits and be finite."
        ) from exc
    except RecursionError as exc:
        raise MalformedJSON(f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJSON("The request body is not valid JSON.") from exc
    problem = _check_shape(document)
    if problem:
        raise MalformedJSON(problem)
    return document


def check_json_body() -> None:
    """before_request: a JSON body is checked against the limits before anything parses it."""
    if not is_json_type() or not _has_body():
        return
    parse_json_within_limits(request.get_data(cache=True))
