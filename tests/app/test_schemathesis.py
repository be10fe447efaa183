"""Fuzzing every operation of the committed spec against the app, in process (WSGI, no network).

Schemathesis generates valid and invalid requests from `openapi/openapi.json` for each operation
it documents (new endpoints are picked up by `make openapi` alone) and sends them, authenticated
as an organizer who is also registered at their own event. Path ids are drawn either from what
Schemathesis invents or from real rows made for the test, so the happy paths are reached too.
Every answer must be: no 5xx, a documented status code, the documented content type, a body that
matches the documented schema, documented headers, and no internals in an error body.

Each operation runs in its own rolled-back transaction. FUZZ_EXAMPLES bounds the examples per
operation (default 25) to keep the suite well inside CI's budget on both databases; a longer
hunt: `FUZZ_EXAMPLES=300 FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/app/test_schemathesis.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import event_with_staff, new_session, new_user, register

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# CI replays the same examples every run; FUZZ_RANDOM=1 explores new ones (for a longer hunt).
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")


def _explicit_responses_only(spec: dict[str, Any]) -> dict[str, Any]:
    """The committed spec without each operation's catch-all `default` response.

    flask-smorest documents `default` (any other error) on every operation, which would let any
    status pass the conformance check; without it, every status the app answers must be listed.
    """
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].pop("default", None)
    return spec


schema = schemathesis.openapi.from_dict(_explicit_responses_only(json.loads(SPEC_PATH.read_text())))

# Real ids for the running test, by path-parameter name, and real values for body fields of
# these names (a badge that scans, an event one attends); filled by the `fuzz_world` fixture.
REAL_IDS: dict[str, str] = {}
REAL_BODY_VALUES: dict[str, list[Any]] = {}

INTERNALS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "SELECT ", "INSERT ")


@schema.hook
def flatmap_path_parameters(_context, path_parameters: dict[str, Any] | None):
    """Use a real id half of the time, so views get past the 404 and into their logic."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, REAL_IDS[name]]) if name in REAL_IDS else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def _with_real_values(value: Any) -> st.SearchStrategy:
    if isinstance(value, list):
        return st.tuples(*(_with_real_values(item) for item in value)).map(list)
    if not isinstance(value, dict):
        return st.just(value)
    return st.fixed_dictionaries(
        {
            key: st.sampled_from([item, *REAL_BODY_VALUES[key]])
            if key in REAL_BODY_VALUES
            else _with_real_values(item)
            for key, item in value.items()
        }
    )


@schema.hook
def flatmap_body(_context, body: Any):
    """Fields like `badge` and `event_id`, also inside lists (a sync batch), get real values."""
    return _with_real_values(body)


@schemathesis.check
def no_internals_in_error_bodies(_ctx, response, _case) -> bool | None:
    """Errors say what went wrong for the client, never how the server is built."""
    if response.status_code >= 400:
        text = response.text
        leaked = [fragment for fragment in INTERNALS if fragment in text]
        assert not leaked, f"error body shows internals: {leaked}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    no_internals_in_error_bodies,
]


@pytest.fixture
def fuzz_world(app, anon) -> dict[str, Any]:
    """An organizer registered at their own event, with staff, a session, a check-in and another
    attendee; ids for the path parameters the spec names."""
    setup = event_with_staff(anon.client)
    organizer = setup.organizer
    registration = register(organizer, setup.event_id)
    other = new_user(anon.client, display_name="Other Attendee")
    other_registration = register(other, setup.event_id)
    event_session = new_session(organizer, setup.event_id)
    check_in = setup.scan(other_registration["badge_code"]).get_json()
    REAL_BODY_VALUES.clear()
    REAL_BODY_VALUES.update(
        {
            "badge": [
                registration["badge_code"],
                f"https://wellspring.test/b/{other_registration['badge_code']}",
            ],
            "event_id": [setup.event_id],
            "session_id": [event_session["id"]],
            "email": [other.email],
        }
    )
    REAL_IDS.clear()
    REAL_IDS.update(
        {
            "event_id": setup.event_id,
            "registration_id": registration["id"],
            "session_id": event_session["id"],
            "check_in_id": check_in["check_in_id"],
        }
    )
    contact = organizer.post(
        "/v1/contacts/scan",
        json={"badge": other_registration["badge_code"], "event_id": setup.event_id},
    )
    if contact.status_code in (200, 201):  # the endpoint exists once contacts are served
        REAL_IDS["contact_id"] = contact.get_json().get("id") or contact.get_json()["contact_id"]
    yield {"app": app, "token": organizer.token}
    REAL_IDS.clear()
    REAL_BODY_VALUES.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case, fuzz_world):
    case.call_and_validate(
        app=fuzz_world["app"],
        headers={"Authorization": f"Bearer {fuzz_world['token']}"},
        checks=CHECKS,
    )
