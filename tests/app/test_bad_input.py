"""Bad input never gets a 500: every operation in the spec, fed junk, answers a problem."""

import json
import re
import uuid

import pytest

from tests.support import event_with_staff, new_session, new_user, register
from tests.support.messaging_support import messaging_ids

JUNK_VALUES = [
    None,
    "",
    "x" * 5000,
    -1,
    10**20,
    3.5,
    True,
    [],
    {},
    ["a"],
    {"a": 1},
    "2026-13-45T99:99:99Z",
    "../../etc/passwd",
    "\u0000",
    "😀" * 50,
]
JUNK_BODIES = ["not json at all", "[]", "null", "123", '"string"', "{", json.dumps({"x": 1})]


@pytest.fixture
def world(anon, app, db, clock):
    setup = event_with_staff(anon.client)
    registration = register(new_user(anon.client), setup.event_id)
    session = new_session(setup.organizer, setup.event_id)
    check_in = setup.scan(registration["badge_code"]).get_json()
    spec = anon.get("/v1/openapi.json").get_json()
    ids = KnownIds(
        event_id=setup.event_id,
        registration_id=registration["id"],
        check_in_id=check_in["check_in_id"],
        session_id=session["id"],
        **messaging_ids(db, setup.organizer, clock.now()),
    )
    return setup, spec, ids


class KnownIds(dict):
    """Path ids of real resources; any other id in a path gets a random (unknown) UUID."""

    def __missing__(self, key):
        return str(uuid.uuid4())


def _operations(spec):
    for path, operations in spec["paths"].items():
        if path == "/v1/auth/logout":  # would revoke the caller's token and end the test early
            continue
        for method, operation in operations.items():
            if method in ("get", "post", "patch", "put"):
                yield path, method, operation


def _body_fields(spec, operation) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return []
    ref = content["schema"].get("$ref", "")
    schema = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return list(schema.get("properties", {}))


def _assert_handled(response, context):
    assert response.status_code < 500, (context, response.get_data(as_text=True)[:500])
    assert response.status_code != 401, (context, "the caller lost its token mid-test")
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", context


def test_junk_bodies_and_fields_never_500(world):
    setup, spec, ids = world
    client = setup.organizer
    for path, method, operation in _operations(spec):
        url = path.format_map(ids)
        call = getattr(client.client, method)
        headers = {"Authorization": f"Bearer {client.token}"}
        if method in ("post", "patch", "put"):
            for raw in JUNK_BODIES:
                response = call(url, data=raw, content_type="application/json", headers=headers)
                _assert_handled(response, (method, path, raw))
            for field in _body_fields(spec, operation):
                for value in JUNK_VALUES:
                    response = call(url, json={field: value}, headers=headers)
                    _assert_handled(response, (method, path, field, value))
        for param in operation.get("parameters", []):
            if param.get("in") != "query":
                continue
            for value in ("", "-1", "abc", "9" * 30, "2026-13-01T00:00:00Z", "%00"):
                response = call(url, query_string={param["name"]: value}, headers=headers)
                _assert_handled(response, (method, path, param["name"], value))


def test_bad_ids_in_paths_are_404_not_500(world):
    setup, spec, _ids = world
    for path, method, _operation in _operations(spec):
        if "{" not in path:
            continue
        for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"):
            url = re.sub(r"\{[a-z_]+\}", bad, path)
            response = getattr(setup.organizer.client, method)(
                url, headers={"Authorization": f"Bearer {setup.organizer.token}"}, json={}
            )
            _assert_handled(response, (method, path, bad))
            assert response.status_code in (404, 422), (method, path, bad)
