"""Nothing a client can send within the spec's limits gets a non-JSON answer: gunicorn's
request-line and header limits fit every URL the spec allows, and what goes over them is
refused as problem+json (api/edge.py), not gunicorn's HTML page."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from api.cli import spec_dict
from api.contract import operations
from api.edge import HEADER_FIELD_LIMIT, REQUEST_LINE_LIMIT, problem_response
from tests.support.live import gunicorn_server

STRONG_SECRET = "s" * 48
SIZE_OF = {"uuid": 36, "date-time": 40}


def _longest(schema: dict) -> int | None:
    if "enum" in schema:
        return max(len(str(v)) for v in schema["enum"])
    if schema.get("type") in ("integer", "number", "boolean"):
        return 20
    if schema.get("format") in SIZE_OF:
        return SIZE_OF[schema["format"]]
    return schema.get("maxLength")


def test_every_url_the_spec_allows_fits_gunicorns_request_line(app):
    spec = spec_dict(app)
    unbounded, too_long = [], []
    for path, method, operation in operations(spec):
        # An operation's own parameter overrides the path's of the same name (OpenAPI).
        by_name = {(p["in"], p["name"]): p for p in spec["paths"][path].get("parameters", [])}
        by_name.update({(p["in"], p["name"]): p for p in operation.get("parameters", [])})
        parameters = list(by_name.values())
        line = len(method) + len(" HTTP/1.1 ") + len(path)
        for parameter in parameters:
            if parameter["in"] not in ("query", "path"):
                continue
            longest = _longest(parameter["schema"])
            if longest is None:
                unbounded.append(f"{method.upper()} {path} {parameter['name']}")
                continue
            # Percent-encoding at worst triples a value (UTF-8 adds more only past ASCII, which
            # maxLength counts as one character; allow 9 bytes per character to be safe).
            line += len(parameter["name"]) + 2 + longest * 9
        if line > REQUEST_LINE_LIMIT:
            too_long.append(f"{method.upper()} {path}: {line}")
    assert not unbounded, "query/path parameters without maxLength: " + ", ".join(unbounded)
    assert not too_long, too_long


def test_a_bearer_token_and_keys_fit_a_header_field(app):
    spec = spec_dict(app)
    for _, _, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header":
                assert (_longest(parameter["schema"]) or 0) * 3 < HEADER_FIELD_LIMIT


def test_problem_response_is_a_complete_json_answer():
    raw = problem_response(400, "Bad Request", "Request Line is too large (9000 > 8190)")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/problem+json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body)["reason"] == "uri_too_long"


def _raw_request(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.slow
def test_gunicorn_refuses_oversized_requests_as_problem_json(database_url):
    with gunicorn_server(database_url, SECRET_KEY=STRONG_SECRET) as server:
        long_query = "x" * (REQUEST_LINE_LIMIT + 10)
        status, headers, body = _raw_request(
            server.base_url,
            f"GET /v1/contacts?q={long_query} HTTP/1.1\r\nHost: t\r\n\r\n".encode(),
        )
        assert status == 414
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["reason"] == "uri_too_long"

        big_header = "y" * (HEADER_FIELD_LIMIT + 10)
        status, headers, body = _raw_request(
            server.base_url,
            f"GET /v1/health HTTP/1.1\r\nHost: t\r\nX-Big: {big_header}\r\n\r\n".encode(),
        )
        assert status == 431
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["reason"] == "request_header_fields_too_large"

        # The longest cursor the spec allows, in a long but legal URL: the app answers.
        cursor = "c" * 500
        status, headers, body = _raw_request(
            server.base_url,
            f"GET /v1/contacts?cursor={cursor}&q={'q' * 100} HTTP/1.1\r\nHost: t\r\n"
            "Connection: close\r\n\r\n".encode(),
        )
        assert status == 401
        assert headers["content-type"] == "application/problem+json"
