"""Breaking changes between two OpenAPI 3.0 documents: the v1 compatibility gate.

`breaking_changes(published, current)` lists, one sentence each, what would break an app built
against `published`. What counts (docs/versioning.md):
- a path, an operation, or a documented success answer (status, media type, header) removed;
- an `operationId` changed (generated clients name their functions after it);
- requests: a new required parameter or body field, a parameter or field removed (the API
  refuses unknown input), a body that becomes required, a type changed, an enum value removed,
  a limit narrowed (maxLength/maximum/maxItems down, minLength/minimum/minItems up, a pattern
  added or changed, `nullable` dropped);
- answers: a field removed or no longer always present (`required` dropped), a type changed,
  `nullable` added, an enum value removed, or a value added to a closed enum (a generated
  client refuses values it does not know; open sets such as `reason` are written
  `anyOf: [Enum, string]` and may grow).
Adding paths, operations, optional request fields, answer fields, error statuses and values of
open enums is not breaking.

A small checker written for these rules, rather than an npm diff tool: Optic reports to its
vendor's services (analytics, error reporting) and needs a git or cloud baseline, and
openapi-diff has no notion of operationIds or of open versus closed enums; this one runs inside
pytest in milliseconds, offline, with nothing to install.
"""

from __future__ import annotations

from typing import Any

METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_NARROWER_IF_LOWER = ("maxLength", "maximum", "maxItems", "maxProperties")
_NARROWER_IF_HIGHER = ("minLength", "minimum", "minItems", "minProperties")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return _Checker(old, new).run()


class _Checker:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.problems: list[str] = []
        self._seen: set[tuple[int, int, str]] = set()

    def run(self) -> list[str]:
        for path, old_item in self.old.get("paths", {}).items():
            new_item = self.new.get("paths", {}).get(path)
            if new_item is None:
                self.problems.append(f"{path}: path removed")
                continue
            for method in METHODS:
                if method not in old_item:
                    continue
                where = f"{method.upper()} {path}"
                if method not in new_item:
                    self.problems.append(f"{where}: operation removed")
                    continue
                self._operation(
                    where,
                    old_item[method],
                    new_item[method],
                    old_item.get("parameters", []),
                    new_item.get("parameters", []),
                )
        return self.problems

    # Resolution ---------------------------------------------------------------------------

    def _deref(self, doc: dict[str, Any], node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    # Operations ---------------------------------------------------------------------------

    def _operation(self, where, old, new, old_shared, new_shared) -> None:
        if old.get("operationId") and old.get("operationId") != new.get("operationId"):
            self.problems.append(
                f"{where}: operationId changed from {old.get('operationId')!r} to "
                f"{new.get('operationId')!r}"
            )
        self._parameters(
            where,
            [*old_shared, *old.get("parameters", [])],
            [
                *new_shared,
                *new.get("parameters", []),
            ],
        )
        self._request_body(where, old.get("requestBody"), new.get("requestBody"))
        for status, old_response in old.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            new_response = new.get("responses", {}).get(status)
            if new_response is None:
                self.problems.append(f"{where}: answer {status} removed")
                continue
            self._response(f"{where} {status}", old_response, new_response)

    def _parameters(self, where, old_list, new_list) -> None:
        def by_key(doc, items):
            found = {}
            for item in items:
                item = self._deref(doc, item)
                found[(item.get("in"), item.get("name"))] = item
            return found

        old_params, new_params = by_key(self.old, old_list), by_key(self.new, new_list)
        for key, new_param in new_params.items():
            old_param = old_params.get(key)
            label = f"{where}: {key[0]} parameter {key[1]!r}"
            if old_param is None:
                if new_param.get("required"):
                    self.problems.append(f"{label} added as required")
                continue
            if new_param.get("required") and not old_param.get("required"):
                self.problems.append(f"{label} became required")
            self._schema(
                label, old_param.get("schema", {}), new_param.get("schema", {}), request=True
            )
        for key in old_params.keys() - new_params.keys():
            if key[0] != "header":  # an unknown header is ignored; a query parameter is refused
                self.problems.append(f"{where}: {key[0]} parameter {key[1]!r} removed")

    def _request_body(self, where, old, new) -> None:
        old, new = self._deref(self.old, old), self._deref(self.new, new)
        if not new:
            if old:
                self.problems.append(f"{where}: request body removed")
            return
        if not old:
            if new.get("required"):
                self.problems.append(f"{where}: a required request body was added")
            return
        if new.get("required") and not old.get("required"):
            self.problems.append(f"{where}: the request body became required")
        for media, content in old.get("content", {}).items():
            new_content = new.get("content", {}).get(media)
            if new_content is None:
                self.problems.append(f"{where}: request media type {media} removed")
                continue
            self._schema(
                f"{where} body",
                content.get("schema", {}),
                new_content.get("schema", {}),
                request=True,
            )

    def _response(self, where, old, new) -> None:
        old, new = self._deref(self.old, old), self._deref(self.new, new)
        for header in old.get("headers", {}):
            if header not in new.get("headers", {}):
                self.problems.append(f"{where}: header {header} removed")
        for media, content in old.get("content", {}).items():
            new_content = new.get("content", {}).get(media)
            if new_content is None:
                self.problems.append(f"{where}: media type {media} removed")
                continue
            self._schema(
                f"{where} {media}",
                content.get("schema", {}),
                new_content.get("schema", {}),
                request=False,
            )

    # Schemas ------------------------------------------------------------------------------

    def _schema(self, where: str, old: Any, new: Any, *, request: bool) -> None:
        key = (id(old), id(new), "req" if request else "res")
        if key in self._seen:
            return
        self._seen.add(key)
        old, new = self._deref(self.old, old), self._deref(self.new, new)
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        if old.get("type") != new.get("type"):
            self.problems.append(
                f"{where}: type changed from {old.get('type')} to {new.get('type')}"
            )
            return
        if old.get("format") != new.get("format") and old.get("format"):
            self.problems.append(
                f"{where}: format changed from {old.get('format')} to {new.get('format')}"
            )
        self._nullability(where, old, new, request=request)
        self._enum(where, old, new, request=request)
        if request:
            self._limits(where, old, new)
        for combiner in ("anyOf", "oneOf", "allOf"):
            old_parts, new_parts = old.get(combiner, []), new.get(combiner, [])
            if old_parts and len(old_parts) != len(new_parts):
                self.problems.append(f"{where}: {combiner} changed")
                continue
            for index, (o, n) in enumerate(zip(old_parts, new_parts, strict=False)):
                self._schema(f"{where} ({combiner} {index})", o, n, request=request)
        if "items" in old:
            self._schema(f"{where}[]", old["items"], new.get("items", {}), request=request)
        if isinstance(old.get("additionalProperties"), dict) and isinstance(
            new.get("additionalProperties"), dict
        ):
            self._schema(
                f"{where}{{*}}",
                old["additionalProperties"],
                new["additionalProperties"],
                request=request,
            )
        self._properties(where, old, new, request=request)

    def _properties(self, where, old, new, *, request: bool) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            label = f"{where}.{name}"
            new_prop = new_props.get(name)
            if new_prop is None:
                if request and self._deref(self.old, old_prop).get("readOnly"):
                    continue
                self.problems.append(f"{label}: field removed")
                continue
            if not request and name in old_required and name not in new_required:
                self.problems.append(f"{label}: no longer always present (required dropped)")
            self._schema(label, old_prop, new_prop, request=request)
        if request:
            for name in new_required - old_required:
                prop = self._deref(self.new, new_props.get(name, {}))
                if not prop.get("readOnly"):
                    self.problems.append(f"{where}.{name}: new required request field")

    def _nullability(self, where, old, new, *, request: bool) -> None:
        was, now = bool(old.get("nullable")), bool(new.get("nullable"))
        if request and was and not now:
            self.problems.append(f"{where}: no longer accepts null")
        if not request and now and not was:
            self.problems.append(f"{where}: may now be null")

    def _enum(self, where, old, new, *, request: bool) -> None:
        old_values, new_values = old.get("enum"), new.get("enum")
        if old_values is None:
            if new_values is not None and request:
                self.problems.append(f"{where}: now restricted to an enum")
            return
        if new_values is None:
            if not request:
                self.problems.append(f"{where}: no longer a closed enum")
            return
        removed = [v for v in old_values if v not in new_values]
        if removed:
            self.problems.append(f"{where}: enum values removed: {removed}")
        added = [v for v in new_values if v not in old_values]
        if added and not request and not old.get("x-extensible-enum"):
            self.problems.append(f"{where}: values added to a closed answer enum: {added}")

    def _limits(self, where, old, new) -> None:
        for name in _NARROWER_IF_LOWER:
            if name in new and (name not in old or new[name] < old[name]):
                self.problems.append(f"{where}: {name} narrowed to {new[name]}")
        for name in _NARROWER_IF_HIGHER:
            if name in new and (name not in old or new[name] > old[name]):
                self.problems.append(f"{where}: {name} narrowed to {new[name]}")
        if new.get("pattern") and new.get("pattern") != old.get("pattern"):
            self.problems.append(f"{where}: pattern added or changed")
