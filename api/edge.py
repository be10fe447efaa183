"""What gunicorn answers by itself, before the app sees a request, as problem+json too.

gunicorn refuses a request line or headers over its limits (and a few malformed requests)
with a small HTML page; a client that expects JSON on every error would fail to parse it.
`install()` (called from gunicorn.conf.py) swaps gunicorn's error writer for one that writes
the same status as RFC 9457 problem+json. The limits themselves are in gunicorn.conf.py.
"""

from __future__ import annotations

import json

from gunicorn import util

REQUEST_LINE_LIMIT = 8190  # gunicorn's maximum (0 would mean unlimited)
HEADER_FIELD_LIMIT = 16380
HEADER_COUNT_LIMIT = 100

_REASONS = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def problem_response(status: int, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer (the connection closes after it)."""
    if status == 400 and detail.startswith("Request Line is too large"):
        status, title = 414, "URI Too Long"
    reason = _REASONS.get(status, "http_error")
    body = json.dumps(
        {
            "type": f"urn:wellspring:problem:{reason}",
            "title": title,
            "status": status,
            "detail": detail or title,
            "reason": reason,
            "request_id": "-",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, problem_response(int(status_int), reason, mesg))


def install() -> None:
    util.write_error = write_problem
