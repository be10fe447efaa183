"""Issue 12, point 11: headers every answer carries, weak passwords, what the logs keep."""

import json
import logging

import pytest

from api.logs import AccessJsonFormatter, JsonFormatter
from tests.support import assert_problem, event_with_staff, new_user, register, unique_email


def test_every_answer_says_nosniff(anon):
    user = new_user(anon.client)
    for response in (
        anon.get("/v1/health"),
        anon.get("/v1/me"),  # an error
        user.get("/v1/me"),
        anon.get("/v1/openapi.json"),
        anon.get("/v1/no-such-path"),
    ):
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.status_code


def test_personal_answers_are_not_stored_by_caches(anon):
    setup = event_with_staff(anon.client)
    bo = new_user(anon.client)
    registration = register(bo, setup.event_id)
    register(setup.staff, setup.event_id)
    contact = setup.staff.post(
        "/v1/contacts/scan", json={"badge": registration["badge_code"], "event_id": setup.event_id}
    )
    personal = [
        bo.get("/v1/me"),
        bo.patch("/v1/me", json={"headline": "h"}),
        bo.get("/v1/me/export"),
        setup.staff.get("/v1/contacts"),
        setup.staff.get(f"/v1/contacts/{contact.get_json()['id']}"),
        setup.staff.get(f"/v1/contacts/{contact.get_json()['id']}/messages"),
        bo.get("/v1/inbox"),
        anon.post("/v1/auth/login", json={"email": bo.email, "password": bo.password}),  # a token
        anon.post(
            "/v1/auth/register",
            json={"email": unique_email(), "password": "a long password", "display_name": "X"},
        ),
    ]
    for response in personal:
        assert response.status_code < 300, response.get_json()
        assert "no-store" in response.headers.get("Cache-Control", ""), response.request.path


@pytest.mark.parametrize("password", [" " * 12, "\t\n" * 6, "a" * 12, "1111111111111", "ÿ" * 10])
def test_a_password_of_whitespace_or_one_repeated_character_is_refused(anon, password):
    response = anon.post(
        "/v1/auth/register",
        json={"email": unique_email(), "password": password, "display_name": "Weak"},
    )
    body = assert_problem(response, 422)
    assert "password" in body["errors"]


def test_a_varied_password_is_still_accepted(anon):
    response = anon.post(
        "/v1/auth/register",
        json={"email": unique_email(), "password": "aaaaaaaaab", "display_name": "Fine"},
    )
    assert response.status_code == 201


def _record(message, *args, name="flask-limiter"):
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


def test_log_lines_carry_no_email_address():
    line = JsonFormatter().format(
        _record(
            "ratelimit %s (%s) exceeded at endpoint: %s",
            "5 per 15 minutes",
            "login-account:zelda.zebra@example.org",
            "accounts.Login",
        )
    )
    assert "zelda.zebra@example.org" not in line
    assert "example.org" not in line
    assert json.loads(line)["message"]


def test_access_log_keeps_no_query_string():
    atoms = {
        "m": "GET",
        "U": "/v1/contacts",
        "q": "q=zelda+zebrafish&tag=investor",
        "s": "200",
        "D": 1500,
        "B": 10,
        "h": "127.0.0.1",
        "a": "curl",
        "{x-request-id}o": "abc",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "-", (), None)
    record.args = atoms
    line = AccessJsonFormatter().format(record)
    assert "zelda" not in line and "investor" not in line
    assert json.loads(line)["path"] == "/v1/contacts"
    assert json.loads(line)["query_params"] == ["q", "tag"]
