"""The spec is first-class for client generators: every operation named, answers typed, the
conventions of api/contract.py applied to every operation (new ones included)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from api.cli import spec_dict
from api.contract import all_reasons, check_operation_ids, operations

# Component names whose answers may stay untyped (none today; say why when adding one).
# `Empty` is the contract's `{}` answer (password reset, resend): an object that has no fields.
UNTYPED_ALLOWED: set[str] = {"Empty"}


@pytest.fixture(scope="module")
def spec(app) -> dict[str, Any]:
    return spec_dict(app)


def test_the_spec_is_valid_openapi(spec):
    validate(spec)


def test_every_operation_has_a_unique_camel_case_verb_noun_operation_id(spec):
    problems = check_operation_ids(spec)
    assert not problems, "\n\n".join(problems)


def test_every_answer_body_is_typed(spec):
    """No documented answer comes back as Any/unknown in a generated client."""
    schemas = spec["components"]["schemas"]
    untyped: list[str] = []

    def walk(node: Any, where: str, seen: set[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in seen and name not in UNTYPED_ALLOWED:
                walk(schemas[name], name, seen | {name})
            return
        if not {"type", "anyOf", "oneOf", "allOf", "enum"} & set(node):
            untyped.append(where)
            return
        for combiner in ("anyOf", "oneOf", "allOf"):
            for index, part in enumerate(node.get(combiner, [])):
                walk(part, f"{where}/{combiner}/{index}", seen)
        if "items" in node:
            walk(node["items"], f"{where}[]", seen)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            walk(extra, f"{where}{{*}}", seen)
        if node.get("type") == "object" and not node.get("properties") and not extra:
            untyped.append(f"{where} (an object with no properties)")
        for name, prop in (node.get("properties") or {}).items():
            walk(prop, f"{where}.{name}", seen)

    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            content = response.get("content", {})
            if status.startswith("2") and status != "204" and not content:
                untyped.append(f"{method.upper()} {path} {status}: no content declared")
            for media_type, body in content.items():
                where = f"{method.upper()} {path} {status} {media_type}"
                if "schema" not in body:
                    untyped.append(f"{where}: no schema")
                else:
                    walk(body["schema"], where, set())
    assert not untyped, "untyped answers:\n" + "\n".join(untyped)


def test_binary_and_text_answers_are_bytes(spec):
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            for media_type, body in response.get("content", {}).items():
                if media_type.startswith(("image/", "text/")):
                    assert body["schema"] == {"type": "string", "format": "binary"}, (
                        path,
                        method,
                        status,
                    )
    badge = spec["paths"]["/v1/registrations/{registration_id}/badge.png"]["get"]
    assert "image/png" in badge["responses"]["200"]["content"]
    assert badge["responses"]["200"]["headers"]["ETag"]["schema"] == {"type": "string"}
    assert any(p["name"] == "If-None-Match" for p in badge["parameters"])


def test_every_429_declares_retry_after_and_creating_posts_take_idempotency_keys(spec):
    seen_429 = 0
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        if "429" in responses:
            seen_429 += 1
            response = responses["429"]
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            assert response["headers"]["Retry-After"]["schema"]["type"] == "integer", path
        if method == "post" and "201" in responses:
            names = [p["name"] for p in operation.get("parameters", [])]
            if operation.get("security"):
                assert "Idempotency-Key" in names, path
                assert "Idempotent-Replayed" in responses["201"]["headers"], path
    assert seen_429 >= 2


def test_answer_fields_are_required_nullable_and_read_only_as_dumped(spec):
    schemas = spec["components"]["schemas"]
    registration = schemas["Registration"]
    assert {"id", "status", "event_id", "user_id"} <= set(registration["required"])
    assert "badge_code" not in registration["required"]  # the owner's answers only
    assert registration["properties"]["status"]["enum"] == ["registered", "cancelled"]
    assert registration["properties"]["id"]["readOnly"] is True
    assert registration["properties"]["cancelled_at"]["nullable"] is True
    contact = schemas["Contact"]
    assert {"id", "display_name", "email", "met_at"} <= set(contact["required"])
    assert contact["properties"]["email"]["nullable"] is True
    # A request body marks what the server sets read-only; the answer always has it.
    assert schemas["Event"]["properties"]["id"]["readOnly"] is True
    assert "id" not in schemas["Event"]["required"]
    assert {"id", "created_at", "my_role"} <= set(schemas["EventWithRole"]["required"])
    # Query parameters are never null (one enum class, not three, in a generated client).
    follow_ups = spec["paths"]["/v1/follow-ups"]["get"]["parameters"]
    status = next(p for p in follow_ups if p["name"] == "status")["schema"]
    assert None not in status["enum"] and "nullable" not in status


def test_problem_fields_are_typed_and_reason_is_the_reason_enum(spec):
    schemas = spec["components"]["schemas"]
    problem = schemas["Problem"]["properties"]
    assert problem["reason"]["anyOf"][0] == {"$ref": "#/components/schemas/Reason"}
    assert problem["next_allowed_at"]["format"] == "date-time"
    assert problem["earliest_allowed_at"]["format"] == "date-time"
    assert problem["retry_after"]["type"] == "integer"
    assert problem["current_etag"]["type"] == "string"
    assert problem["errors"]["additionalProperties"]["items"]["type"] == "string"
    assert set(schemas["Problem"]["required"]) == {
        "type", "title", "status", "detail", "reason", "request_id"
    }  # fmt: skip
    reasons = schemas["Reason"]["enum"]
    for reason in (
        "unknown_badge",
        "registration_cancelled",
        "wrong_event",
        "outside_check_in_window",
        "undo_window_passed",
        "rate_limited",
        "invalid_credentials",
        "own_badge",
        "not_event_staff",
        "precondition_failed",
        "unknown_user",
        "min_gap",
        "validation_failed",
    ):
        assert reason in reasons
    assert len(schemas["Reason"]["x-enum-descriptions"]) == len(reasons)
    assert all(text.strip() for text in all_reasons().values())


def test_a_new_domain_error_joins_the_reason_enum_without_edits(app):
    from services.core.errors import Conflict

    class BrandNewRefusal(Conflict):
        """Refused for a reason no one had before."""

        reason = "brand_new_refusal"

    assert all_reasons()["brand_new_refusal"] == "Refused for a reason no one had before."
    del BrandNewRefusal


def test_the_served_spec_names_the_deployment_as_its_server(anon):
    assert anon.get("/v1/openapi.json").get_json()["servers"] == [
        {"url": "https://wellspring.test"}
    ]


def test_created_resources_answer_their_location(anon, spec):
    from tests.support import new_event, new_user

    organizer = new_user(anon.client)
    created = organizer.post(
        "/v1/events",
        json={
            "name": "Located",
            "starts_at": "2026-06-01T08:00:00Z",
            "ends_at": "2026-06-01T18:00:00Z",
            "timezone": "UTC",
        },
    )
    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/events/{created.get_json()['id']}"
    assert organizer.get(created.headers["Location"]).status_code == 200
    event = new_event(organizer)
    registered = organizer.post(f"/v1/events/{event['id']}/registrations")
    assert registered.headers["Location"] == f"/v1/registrations/{registered.get_json()['id']}"
    again = organizer.post(f"/v1/events/{event['id']}/registrations")
    assert again.status_code == 200 and "Location" not in again.headers
    for path in ("/v1/events", "/v1/contacts/scan", "/v1/contacts/{contact_id}/follow-ups"):
        headers = spec["paths"][path]["post"]["responses"]["201"]["headers"]
        assert headers["Location"]["schema"]["format"] == "uri-reference"
