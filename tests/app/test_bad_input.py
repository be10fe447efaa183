"""Bad input never gets a 500: every operation in the spec, fed junk, answers a problem; and the
limits of issue 12 (body size, Content-Type, nesting, digits, surrogates, years): problem+json
below 500, nothing stored."""

import base64
import io
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from services.core.models import Event
from tests.support import assert_problem, event_with_staff, new_session, new_user, register
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


# Issue 12: limits ----------------------------------------------------------------------------

MIB = 1024 * 1024


def _event_body(**overrides):
    return {
        "name": "Limits",
        "starts_at": "2026-06-01T08:00:00Z",
        "ends_at": "2026-06-01T18:00:00Z",
        "timezone": "Europe/Berlin",
        **overrides,
    }


def _events(db) -> int:
    return db.scalar(select(func.count()).select_from(Event))


class _Unreadable(io.RawIOBase):
    """A body stream that fails the test if anyone reads it."""

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return 0

    def tell(self):
        return 0

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def test_a_body_over_the_limit_is_refused_with_413(anon, db):
    user = new_user(anon.client)
    before = _events(db)
    body = json.dumps(_event_body(venue="x" * (2 * MIB)))
    response = user.client.post(
        "/v1/events",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert_problem(response, 413, "payload_too_large")
    assert _events(db) == before


def test_a_huge_declared_body_is_refused_before_it_is_read(anon):
    response = anon.client.post(
        "/v1/auth/register",
        input_stream=_Unreadable(),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(200 * MIB)},
    )
    assert_problem(response, 413, "payload_too_large")


def test_the_sync_endpoint_takes_what_500_scans_need(anon):
    setup = event_with_staff(anon.client)
    scans = [
        {
            "client_scan_id": f"scan-{i:04d}-{'x' * 60}",
            "kind": "contact",
            "event_id": setup.event_id,
            "badge": "b" * 200,
            "device_id": "d" * 100,
            "note": "n" * 2500,
        }
        for i in range(500)
    ]
    body = json.dumps({"scans": scans})
    assert len(body) > MIB
    response = setup.staff.client.post(
        "/v1/sync/scans",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {setup.staff.token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def _raw_post(caller, path, raw, content_type="application/json"):
    return caller.client.post(
        path,
        data=raw,
        content_type=content_type,
        headers={"Authorization": f"Bearer {caller.token}"},
    )


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_deeper_than_32_is_refused(anon, db, depth):
    user = new_user(anon.client)
    before = _events(db)
    raw = json.dumps(_event_body())[:-1] + ', "venue": ' + "[" * depth + "]" * depth + "}"
    response = _raw_post(user, "/v1/events", raw)
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert _events(db) == before


def test_json_nested_32_deep_is_still_parsed(anon):
    user = new_user(anon.client)
    raw = json.dumps(_event_body())[:-1] + ', "venue": ' + "[" * 31 + "]" * 31 + "}"
    response = _raw_post(user, "/v1/events", raw)
    assert_problem(response, 422)  # parsed; the venue is just not a string
    assert "venue" in response.get_json()["errors"]


@pytest.mark.parametrize("digits", [31, 5000, 100_000])
def test_a_number_with_more_than_30_digits_is_refused(anon, db, digits):
    user = new_user(anon.client)
    before = _events(db)
    raw = json.dumps(_event_body())[:-1] + ', "capacity": 1' + "0" * (digits - 1) + "}"
    response = _raw_post(user, "/v1/events", raw)
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    fraction = json.dumps(_event_body())[:-1] + ', "capacity": 0.' + "1" * digits + "}"
    assert _raw_post(user, "/v1/events", fraction).status_code in (400, 422)
    assert _events(db) == before


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\ud800\\ud800"])
def test_a_lone_surrogate_in_any_string_is_refused(anon, db, text):
    user = new_user(anon.client)
    before = _events(db)
    raw = json.dumps(_event_body())[:-1] + f', "venue": "{text}"' + "}"
    response = _raw_post(user, "/v1/events", raw)
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert _events(db) == before
    # a key too
    raw_key = '{"' + text + '": 1}'
    assert _raw_post(user, "/v1/events", raw_key).status_code in (400, 422)
    # a query string can't carry one: its bytes are UTF-8, an encoded surrogate is invalid
    response = user.get("/v1/contacts", query_string="q=%ED%A0%80")
    assert response.status_code == 200


def test_a_proper_surrogate_pair_is_fine(anon):
    user = new_user(anon.client)
    raw = json.dumps(_event_body())[:-1] + ', "venue": "\\ud83d\\ude00 hall"}'
    assert _raw_post(user, "/v1/events", raw).status_code == 201


@pytest.mark.parametrize(
    "instant",
    [
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:01Z",
        "9999-12-31T23:59:59-12:00",
    ],
)
def test_timestamps_outside_2000_to_2100_are_refused(anon, db, instant):
    setup = event_with_staff(anon.client)
    before = _events(db)
    response = setup.organizer.post("/v1/events", json=_event_body(starts_at=instant))
    assert_problem(response, 422)
    response = setup.organizer.post(
        "/v1/events", json=_event_body(starts_at="2026-06-01T08:00:00Z", ends_at=instant)
    )
    assert_problem(response, 422)
    assert _events(db) == before
    path = f"/v1/events/{setup.event_id}/check-ins"
    assert_problem(setup.staff.get(path, query_string={"since": instant}), 422)
    attendee = new_user(anon.client)
    badge = register(attendee, setup.event_id)["badge_code"]
    assert_problem(setup.scan(badge, scanned_at=instant), 422)


def test_cursors_outside_2000_to_2100_are_refused(anon):
    setup = event_with_staff(anon.client)
    for when in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "1970-01-01T00:00:00"):
        raw = json.dumps([when, "00000000-0000-0000-0000-000000000000"]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for path in (
            f"/v1/events/{setup.event_id}/check-ins",
            f"/v1/events/{setup.event_id}/sessions",
            "/v1/contacts",
            "/v1/inbox",
            "/v1/follow-ups",
        ):
            response = setup.organizer.get(path, query_string={"cursor": cursor})
            assert_problem(response, 422)
    strength = json.dumps(
        ["0001-01-01T00:00:00+00:00", "1", "00000000-0000-0000-0000-000000000000"]
    )
    cursor = base64.urlsafe_b64encode(strength.encode()).decode().rstrip("=")
    response = setup.organizer.get(
        "/v1/contacts", query_string={"cursor": cursor, "sort": "strength"}
    )
    assert_problem(response, 422)


def test_an_event_name_with_mathtext_draws_as_text(anon, clock):
    setup = event_with_staff(anon.client, name=r"$\foo$ and $x^{$")
    attendee = new_user(anon.client)
    setup.scan(register(attendee, setup.event_id)["badge_code"])
    response = setup.organizer.get(f"/v1/events/{setup.event_id}/stats/arrivals.png")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/png"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_json_endpoint_refuses_other_content_types_with_415(anon, db, content_type):
    user = new_user(anon.client)
    before = _events(db)
    headers = {"Authorization": f"Bearer {user.token}"}
    body = json.dumps(_event_body())
    response = user.client.post("/v1/events", data=body, content_type=content_type, headers=headers)
    assert_problem(response, 415, "unsupported_media_type")
    assert _events(db) == before
    me = user.get("/v1/me").get_json()
    response = user.client.patch(
        "/v1/me", data=json.dumps({"headline": "new"}), content_type=content_type, headers=headers
    )
    assert_problem(response, 415, "unsupported_media_type")
    after = user.get("/v1/me").get_json()
    assert after["profile_updated_at"] == me["profile_updated_at"]
    assert after["headline"] == me["headline"]


def test_json_with_a_charset_and_bodiless_posts_are_fine(anon):
    user = new_user(anon.client)
    headers = {"Authorization": f"Bearer {user.token}"}
    response = user.client.post(
        "/v1/events",
        data=json.dumps(_event_body()),
        content_type="application/json; charset=utf-8",
        headers=headers,
    )
    assert response.status_code == 201
    event_id = response.get_json()["id"]
    # A POST that takes no body needs no Content-Type.
    assert user.client.post(
        f"/v1/events/{event_id}/registrations", headers=headers
    ).status_code in (
        200,
        201,
    )
