"""The contract's conventions, applied to the whole OpenAPI document when it is rendered.

Views and schemas say only what is particular to them; whatever follows from a convention is
added here, so an endpoint added tomorrow inherits it without edits:

- `operationId` from api/operation_ids.py, unless the view set one (`@blp.doc(operationId=…)`);
- response schemas: every property is `required`, since a dump writes every field it declares,
  unless the field says it may be left out (`metadata={"maybe_absent": True}`, for a dict whose
  keys vary); write-only fields excepted. A schema that is a request body too gets only its
  read-only fields required (OpenAPI binds `required` + `readOnly` to responses alone);
  `allow_none` is `nullable` and `dump_only` is `readOnly` (apispec does those two);
- one `Reason` enum: every `reason` the server can answer (each DomainError subclass's, plus
  the HTTP layer's), each described by its class's docstring or title; every property named
  `reason` refers to it, as `anyOf: [Reason, string]` so that an older app meeting a newer
  reason still parses the answer;
- every 429 declares `Retry-After`; every 2xx of an operation taking `Idempotency-Key` declares
  `Idempotent-Replayed`; an operation answering 304 takes `If-None-Match`;
- a non-JSON answer without a schema (images, CSV, vCard) is `type: string, format: binary`;
- a request body whose schema requires nothing is optional (an empty PATCH works);
- `servers` is PUBLIC_BASE_URL.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Iterator
from typing import Any

import apispec

from api.fields import ClockTime, TimeZoneName
from api.operation_ids import OPERATION_IDS

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
JSON_TYPES = ("application/json", "application/problem+json")
REASON = "Reason"
REASON_REF = f"#/components/schemas/{REASON}"
MAYBE_ABSENT = "x-maybe-absent"

# The document a deployment serves names its own PUBLIC_BASE_URL; the committed and published
# copies name `make run`'s default instead, so they do not depend on where they were made.
CANONICAL_SERVER = {
    "url": "http://127.0.0.1:5000",
    "description": "`make run` on a laptop; a deployment's /v1/openapi.json names its own "
    "PUBLIC_BASE_URL here",
}

# Answered by the HTTP layer rather than a domain rule (api/errors.py).
HTTP_REASONS = {
    "bad_request": "The request is malformed (e.g. a body that is not JSON).",
    "not_authenticated": "No valid bearer token.",
    "forbidden": "Not allowed.",
    "not_found": "No such resource, or not yours to see.",
    "method_not_allowed": "This path does not take that method.",
    "not_acceptable": "No representation matches the Accept header.",
    "conflict": "Conflict with the current state.",
    "precondition_failed": "If-Match named an ETag that is no longer current.",
    "payload_too_large": "The body is over the size limit.",
    "unsupported_media_type": "A JSON endpoint was sent another Content-Type.",
    "validation_failed": "The request did not pass validation; `errors` says where.",
    "precondition_required": "This request needs an If-Match header.",
    "rate_limited": "Too many requests; `Retry-After` says when to try again.",
    "request_header_fields_too_large": "The request line or headers are over the limit.",
    "uri_too_long": "The request line (path and query) is over the server's limit.",
    "not_implemented": "The server does not support a feature the request needs.",
    "http_error": "Another HTTP-level refusal.",
    "internal_error": "Something went wrong on the server; quote the request_id.",
}

HEADERS = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key (nothing new was done)",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string", "maxLength": 1000},
    "description": "The ETag you hold; when it is still current the answer is 304 with no body",
}

# The shape of an IANA name (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5, UTC,
# EST5EDT); whether the zone exists is checked by the server (422 otherwise).
IANA_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def field_properties(self, field, ret=None, **kwargs) -> dict[str, Any]:
    """apispec attribute function (bound to the marshmallow converter): what a field's class or
    metadata says beyond apispec's own rules."""
    properties: dict[str, Any] = {}
    if field.metadata.get("maybe_absent"):
        properties[MAYBE_ABSENT] = True
    if isinstance(field, TimeZoneName):
        properties.setdefault("pattern", IANA_ZONE_PATTERN)
        properties.setdefault("example", "Europe/Berlin")
        properties.setdefault("maxLength", 64)
    if isinstance(field, ClockTime):
        properties.setdefault("pattern", CLOCK_TIME_PATTERN)
        properties.setdefault("example", "21:00")
    return properties


class ContractSpec(apispec.APISpec):
    """An APISpec whose rendered document has the conventions above applied."""

    servers_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return apply_conventions(super().to_dict(), server_url=self.servers_url)


def install(api, server_url: str | None) -> None:
    """Make `api.spec` render with the conventions (api.extensions.Api calls it once; it
    adds `field_properties` to the marshmallow converter itself, before any schema is read)."""
    api.spec.__class__ = ContractSpec
    api.spec.servers_url = server_url


# The pass over the document --------------------------------------------------------------


def apply_conventions(spec: dict[str, Any], *, server_url: str | None) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    if REASON in schemas:
        raise ValueError(
            f"a schema named {REASON}Schema takes the component name {REASON!r}, which is the "
            "enum of every reason: rename that schema class"
        )
    schemas[REASON] = reason_schema()
    for path, method, operation in operations(spec):
        if not operation.get("operationId"):
            name = OPERATION_IDS.get(operation_key(path, method))
            if name:
                operation["operationId"] = name
        _type_bodies_and_headers(spec, operation)
    for schema in schemas.values():
        _nullable_refs(schema)
    _require_response_fields(spec)
    _refer_reasons(spec)
    _document_429s(spec)
    for schema in schemas.values():
        _strip_markers(schema)
    if server_url:
        spec["servers"] = [{"url": server_url.rstrip("/")}]
    return spec


def canonical(spec: dict[str, Any]) -> dict[str, Any]:
    """The form that is committed and published: the server is `make run`'s default."""
    spec = dict(spec)
    spec["servers"] = [CANONICAL_SERVER]
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def operation_key(path: str, method: str) -> str:
    return f"{method.upper()} {path}"


def reason_schema() -> dict[str, Any]:
    reasons = all_reasons()
    lines = "\n".join(f"- `{reason}`: {text}" for reason, text in reasons.items())
    return {
        "type": "string",
        "enum": list(reasons),
        "description": "Every `reason` the server answers, stable across versions "
        "(new ones may be added: treat an unknown one by its HTTP status).\n\n" + lines,
        "x-enum-descriptions": list(reasons.values()),
        # Open: a newer server may answer a reason an older app does not know (docs/versioning.md).
        "x-extensible-enum": True,
    }


def all_reasons() -> dict[str, str]:
    """reason → description, from every DomainError subclass loaded and the HTTP layer."""
    from services.core.errors import DomainError

    found: dict[str, str] = {}
    for cls in _subclasses(DomainError):
        reason = cls.__dict__.get("reason")
        if not isinstance(reason, str) or reason in found:
            continue
        doc = cls.__dict__.get("__doc__")
        text = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ") if doc else cls.title
        found[reason] = text.rstrip(".") + "."
    for reason, text in HTTP_REASONS.items():
        found.setdefault(reason, text)
    return dict(sorted(found.items()))


def _subclasses(cls: type) -> Iterator[type]:
    seen: set[type] = set()
    stack = list(cls.__subclasses__())
    while stack:
        sub = stack.pop(0)
        if sub in seen:
            continue
        seen.add(sub)
        yield sub
        stack.extend(sub.__subclasses__())


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].removeprefix("#/").split("/")
        target: Any = spec
        for part in parts:
            target = target[part]
        node = target
    return node


def _type_bodies_and_headers(spec: dict[str, Any], operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    names = {(p.get("in"), p.get("name")) for p in parameters if isinstance(p, dict)}
    idempotent = ("header", "Idempotency-Key") in names
    responses = operation.get("responses", {})
    for status, response in responses.items():
        if "$ref" in response:
            continue
        for media_type, content in response.get("content", {}).items():
            if media_type not in JSON_TYPES and not content.get("schema"):
                content["schema"] = {"type": "string", "format": "binary"}
        if idempotent and status.startswith("2"):
            response.setdefault("headers", {}).setdefault(
                "Idempotent-Replayed", HEADERS["Idempotent-Replayed"]
            )
    for parameter in parameters:
        # A query, path or header parameter is absent or a string, never null: apispec's
        # `nullable` (from load_default=None) would make generators type it `X | None` twice.
        schema = parameter.get("schema") if isinstance(parameter, dict) else None
        if schema and schema.get("nullable"):
            del schema["nullable"]
            if schema.get("default", 0) is None:
                del schema["default"]
            if "enum" in schema:
                schema["enum"] = [value for value in schema["enum"] if value is not None]
    if "304" in responses and ("header", "If-None-Match") not in names:
        parameters.append(dict(IF_NONE_MATCH))
    if not parameters:
        del operation["parameters"]
    body = operation.get("requestBody")
    if body and body.get("required"):
        for content in body.get("content", {}).values():
            schema = _resolve(spec, content.get("schema", {}))
            if schema.get("type") == "object" and not schema.get("required"):
                body["required"] = False


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


def _reachable(spec: dict[str, Any], roots: list[Any]) -> set[str]:
    schemas = spec["components"]["schemas"]
    found: set[str] = set()
    stack = [name for root in roots for name in _refs_in(root)]
    while stack:
        name = stack.pop()
        if name in found or name not in schemas:
            continue
        found.add(name)
        stack.extend(_refs_in(schemas[name]))
    return found


def _require_response_fields(spec: dict[str, Any]) -> None:
    answers: list[Any] = []
    requests: list[Any] = []
    for _, _, operation in operations(spec):
        answers.extend(operation.get("responses", {}).values())
        requests.append(operation.get("requestBody"))
        requests.extend(operation.get("parameters", []))
    answers.extend(spec["components"].get("responses", {}).values())
    in_answers = _reachable(spec, answers)
    in_requests = _reachable(spec, requests)
    for name, schema in spec["components"]["schemas"].items():
        if name in in_answers:
            _require(schema, also_a_request=name in in_requests)


def _require(schema: dict[str, Any], *, also_a_request: bool) -> None:
    properties = schema.get("properties")
    if not properties:
        return
    required = list(schema.get("required", []))
    for name, prop in properties.items():
        if prop.get(MAYBE_ABSENT) or prop.get("writeOnly") or name in required:
            continue
        if also_a_request and not prop.get("readOnly"):
            continue
        required.append(name)
    if required:
        schema["required"] = sorted(required)
    for prop in properties.values():
        # An inline object (a Dict or a nested dict without a component) follows its parent.
        if prop.get("type") == "object" and "properties" in prop:
            _require(prop, also_a_request=also_a_request)


def _nullable_refs(node: Any) -> None:
    """apispec writes a nullable nested schema as `anyOf: [X, {type: object, nullable: true}]`,
    which generators read as "X or any object"; it becomes `anyOf: [X], nullable: true`."""
    if isinstance(node, dict):
        parts = node.get("anyOf")
        if isinstance(parts, list) and len(parts) == 2:
            refs = [p for p in parts if "$ref" in p]
            loose = [p for p in parts if p == {"nullable": True, "type": "object"}]
            if len(refs) == 1 and len(loose) == 1:
                node["anyOf"] = refs
                node["nullable"] = True
        for value in node.values():
            _nullable_refs(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_refs(value)


def _refer_reasons(spec: dict[str, Any]) -> None:
    """Every string property named `reason` is the Reason enum, kept open for newer reasons."""
    for schema in spec["components"]["schemas"].values():
        for name, prop in (schema.get("properties") or {}).items():
            if name == "reason" and prop.get("type") == "string" and "enum" not in prop:
                reason = {"anyOf": [{"$ref": REASON_REF}, {"type": "string"}]}
                if prop.get("nullable"):
                    reason["nullable"] = True
                if prop.get("description"):
                    reason["description"] = prop["description"]
                schema["properties"][name] = reason


def _document_429s(spec: dict[str, Any]) -> None:
    targets: list[dict[str, Any]] = []
    for _, _, operation in operations(spec):
        response = operation.get("responses", {}).get("429")
        if response is not None:
            targets.append(_resolve(spec, response))
    for response in targets:
        response.setdefault("headers", {}).setdefault("Retry-After", HEADERS["Retry-After"])


def _strip_markers(node: Any) -> None:
    if isinstance(node, dict):
        node.pop(MAYBE_ABSENT, None)
        for value in node.values():
            _strip_markers(value)
    elif isinstance(node, list):
        for value in node:
            _strip_markers(value)


_OPERATION_ID = re.compile(r"^[a-z]+[A-Z][A-Za-z0-9]*$")


def check_operation_ids(spec: dict[str, Any]) -> list[str]:
    """What is wrong with the operationIds, each as an instruction (empty when all is well)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    keys = set()
    for path, method, operation in operations(spec):
        key = operation_key(path, method)
        keys.add(key)
        name = operation.get("operationId")
        if not name:
            problems.append(
                f"{key} has no operationId: add the line\n"
                f'    "{key}": "verbNoun",\n'
                "to OPERATION_IDS in api/operation_ids.py (camelCase verb + noun, e.g. "
                "listWidgets / createWidget; never rename a published one), then run "
                "`make openapi`."
            )
            continue
        if not _OPERATION_ID.match(name):
            problems.append(f"{key}: operationId {name!r} is not camelCase verbNoun.")
        if name in seen:
            problems.append(f"{key}: operationId {name!r} is already used by {seen[name]}.")
        seen[name] = key
    stale = sorted(set(OPERATION_IDS) - keys)
    for key in stale:
        problems.append(f"api/operation_ids.py names {key!r}, which the spec does not have.")
    return problems


# Answers checked against the document (tests: CHECK_ANSWERS) ------------------------------

_RULE_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def answer_mismatches(spec: dict[str, Any], rule: str, method: str, status: int, body: Any):
    """Where a JSON answer disagrees with its documented schema: a required field missing, a
    null where the field is not nullable, a value of another type. Empty when it agrees."""
    path = _RULE_PARAM.sub(r"{\1}", rule)
    operation = spec.get("paths", {}).get(path, {}).get(method.lower())
    if operation is None:
        return []
    responses = operation.get("responses", {})
    response = _resolve(spec, responses.get(str(status)) or responses.get("default") or {})
    for media_type, content in response.get("content", {}).items():
        if media_type in JSON_TYPES and "schema" in content:
            found: list[str] = []
            _check(spec, content["schema"], body, f"{method} {path} {status}: body", found)
            return found
    return []


def _check(spec, schema, value, where: str, found: list[str]) -> None:
    schema = _resolve(spec, schema)
    if value is None:
        if not schema.get("nullable") and "anyOf" not in schema:
            found.append(f"{where} is null but not nullable")
        return
    if "anyOf" in schema or "oneOf" in schema:
        return
    expected = _JSON_TYPES.get(schema.get("type", ""))
    if expected and (
        not isinstance(value, expected) or (expected is int and isinstance(value, bool))
    ):
        found.append(f"{where} is {type(value).__name__}, documented {schema['type']}")
        return
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where} is {value!r}, not one of the documented enum")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value and not _resolve(spec, properties.get(name, {})).get("writeOnly"):
                found.append(f"{where}.{name} is required but missing")
        for name, item in value.items():
            if name in properties:
                _check(spec, properties[name], item, f"{where}.{name}", found)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value[:20]):
            _check(spec, schema["items"], item, f"{where}[{index}]", found)
