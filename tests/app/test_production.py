"""Production settings: the secret-key refusal, JSON logs with request ids, CORS, error bodies
that show no internals, and bearer tokens and badge codes looked up only by their digest."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import event, text

from api import create_app
from api.config import DEFAULT_SECRET_KEY, InsecureConfiguration
from api.db import db_session
from api.logs import JsonFormatter
from tests.support import assert_problem, event_with_staff, new_user, register
from tests.support.live import free_port, gunicorn_server, start_gunicorn

REPO = Path(__file__).resolve().parents[2]
STRONG_SECRET = "s" * 48


def _app(engine, **config):
    return create_app({"ENGINE": engine, "PUBLIC_BASE_URL": "https://wellspring.test", **config})


# --- the secret key ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "", "short-but-not-default"])
def test_production_refuses_a_default_or_weak_secret_key(engine, secret):
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        _app(engine, WELLSPRING_ENV="production", SECRET_KEY=secret)


def test_production_starts_with_a_real_secret_key(engine):
    app = _app(engine, WELLSPRING_ENV="production", SECRET_KEY=STRONG_SECRET)
    assert app.config["SECRET_KEY"] == STRONG_SECRET


@pytest.mark.parametrize(
    "config",
    [{"WELLSPRING_ENV": "development"}, {"TESTING": True}, {"DEBUG": True}],
    ids=["development", "testing", "debug"],
)
def test_the_default_secret_key_is_accepted_off_production(engine, config):
    app = _app(engine, **{"WELLSPRING_ENV": "production", **config}, SECRET_KEY=DEFAULT_SECRET_KEY)
    assert app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY


# --- error bodies and JSON logs ---------------------------------------------------------------


@pytest.fixture
def app_with_test_routes(engine):
    """A fresh app with routes registered only here: one logs, one fails inside SQL."""
    app = _app(engine, TESTING=True, SECRET_KEY="test-secret")

    def log_something():
        logging.getLogger("wellspring.test").info("hello from a view", extra={"answer": 42})
        return {"ok": True}

    def fail_in_sql():
        db_session().execute(text("SELECT secret_column FROM no_such_table_for_the_test"))
        return {"unreachable": True}

    def fail_in_python():
        raise RuntimeError("internal detail: password=hunter2 at /srv/app/module.py")

    app.add_url_rule("/v1/_test/log", view_func=log_something)
    app.add_url_rule("/v1/_test/sql-error", view_func=fail_in_sql)
    app.add_url_rule("/v1/_test/crash", view_func=fail_in_python)
    return app


@contextmanager
def captured_json_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _log_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


FORBIDDEN_IN_ERROR_BODIES = (
    "Traceback",
    'File "',
    "SELECT",
    "no_such_table",
    "secret_column",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "hunter2",
    "/srv/app",
)


@pytest.mark.parametrize("path", ["/v1/_test/sql-error", "/v1/_test/crash"])
def test_an_internal_error_shows_no_traceback_or_sql_and_logs_it_with_the_request_id(
    app_with_test_routes, path
):
    client = app_with_test_routes.test_client()
    with captured_json_logs() as stream:
        response = client.get(path, headers={"X-Request-ID": "req-boom-1"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "req-boom-1" == response.headers["X-Request-ID"]
    raw = response.get_data(as_text=True)
    for fragment in FORBIDDEN_IN_ERROR_BODIES:
        assert fragment not in raw, fragment
    errors = [line for line in _log_lines(stream) if line["level"] == "ERROR"]
    assert errors, stream.getvalue()
    assert errors[0]["request_id"] == "req-boom-1"
    assert "Traceback" in errors[0]["exc_info"]  # the details go to the log, not the client


def test_every_log_line_inside_a_request_carries_its_request_id(app_with_test_routes):
    client = app_with_test_routes.test_client()
    with captured_json_logs() as stream:
        logging.getLogger("wellspring.test").info("outside any request")
        response = client.get("/v1/_test/log", headers={"X-Request-ID": "req-log-1"})
        generated = client.get("/v1/_test/log")
    assert response.status_code == 200
    lines = _log_lines(stream)
    outside, inside, inside_generated = lines
    assert "request_id" not in outside
    assert list(inside)[:5] == ["timestamp", "level", "logger", "message", "request_id"]
    assert inside["request_id"] == "req-log-1"
    assert inside["message"] == "hello from a view"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "wellspring.test"
    assert inside["answer"] == 42
    assert inside["timestamp"].endswith("Z")
    assert inside_generated["request_id"] == generated.headers["X-Request-ID"]


def test_validation_and_not_found_errors_show_no_internals(anon):
    for response in (
        anon.post("/v1/auth/register", json={"email": 5}),
        anon.client.post(
            "/v1/auth/register", data="{not json", headers={"Content-Type": "application/json"}
        ),
        anon.get("/v1/events/not-a-uuid"),
    ):
        raw = response.get_data(as_text=True)
        assert response.status_code < 500
        for fragment in FORBIDDEN_IN_ERROR_BODIES:
            assert fragment not in raw, (fragment, raw)


# --- CORS -------------------------------------------------------------------------------------

ORIGIN = "https://organizer.example"


def test_cors_is_off_by_default(anon):
    simple = anon.get("/v1/health", headers={"Origin": ORIGIN})
    preflight = anon.client.options(
        "/v1/events",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    for response in (simple, preflight):
        names = [name.lower() for name, _value in response.headers.items()]
        assert not [name for name in names if name.startswith("access-control")], names


def test_cors_allows_only_the_configured_origins(engine):
    app = _app(
        engine,
        TESTING=True,
        SECRET_KEY="test-secret",
        CORS_ORIGINS=f"{ORIGIN}, https://other.example",
    )
    client = app.test_client()
    allowed = client.get("/v1/health", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers

    stranger = client.get("/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers

    preflight = client.options(
        "/v1/events",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


# --- proxies ----------------------------------------------------------------------------------


def _remote_address_app(engine, **config):
    app = _app(engine, TESTING=True, SECRET_KEY="test-secret", **config)
    app.add_url_rule("/v1/_test/whoami", view_func=lambda: {"address": request.remote_addr})
    return app.test_client()


def test_forwarded_for_is_ignored_without_a_configured_proxy(engine):
    client = _remote_address_app(engine)
    answer = client.get("/v1/_test/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.get_json()["address"] == "127.0.0.1"


def test_behind_one_proxy_the_client_address_comes_from_forwarded_for(engine):
    client = _remote_address_app(engine, PROXY_COUNT=1)
    answer = client.get(
        "/v1/_test/whoami", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    )
    assert answer.get_json()["address"] == "203.0.113.9"  # the entry our proxy added


# --- secrets are looked up by digest ----------------------------------------------------------


@contextmanager
def recorded_sql_parameters(engine):
    seen: list[str] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append(f"{statement} {parameters!r}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_tokens_and_badge_codes_reach_the_database_only_as_sha256_digests(anon, engine):
    """The lookup is an index search for SHA-256(secret): the database never compares the
    secret itself, so response time says nothing about how much of a guess was right."""
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    badge = register(attendee, setup.event_id)["badge_code"]
    with recorded_sql_parameters(engine) as statements:
        assert attendee.get("/v1/me").status_code == 200
        assert setup.scan(badge).status_code == 201
        assert setup.scan(f"https://wellspring.test/b/{badge}").status_code == 200
    sql = "\n".join(statements)
    for secret in (attendee.token, setup.staff.token, badge):
        assert secret not in sql
        assert hashlib.sha256(secret.encode()).hexdigest() in sql


# --- gunicorn, as `make serve` starts it ------------------------------------------------------


def test_gunicorn_writes_json_access_lines_with_the_request_id(database_url):
    with gunicorn_server(database_url, SECRET_KEY=STRONG_SECRET) as server:
        request = urllib.request.Request(
            f"{server.base_url}/v1/health", headers={"X-Request-ID": "gunicorn-1"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        output = server.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(lines) == len([line for line in output.splitlines() if line.strip()]), output
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert access and access[-1]["request_id"] == "gunicorn-1", output
    assert access[-1]["status"] == 200 and access[-1]["path"] == "/v1/health"


def test_gunicorn_refuses_to_start_in_production_without_a_secret_key(database_url):
    with tempfile.TemporaryFile("w+") as output:
        server = start_gunicorn(database_url, free_port(), output)
        assert server.wait(timeout=60) != 0
        output.seek(0)
        assert "Refusing to start: SECRET_KEY" in output.read()
