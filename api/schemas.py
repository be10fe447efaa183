"""Schemas shared by every resource: problems, pages, list arguments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.core.pagination import DEFAULT_LIMIT, MAX_LIMIT


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error answer is written."""

    type = fields.String(required=True, metadata={"description": "URI naming the problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    reason = fields.String(metadata={"description": "Stable machine-readable reason"})
    request_id = fields.String(metadata={"description": "Quote it when reporting a problem"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "Validation messages by field (validation errors only)"},
    )
    next_allowed_at = fields.String(
        allow_none=True, metadata={"description": "Throttling: when to try again"}
    )
    earliest_allowed_at = fields.String(allow_none=True)
    retry_after = fields.Integer(metadata={"description": "Seconds until a retry can succeed"})

    class Meta:
        ordered = True
        unknown = "include"


class PageArgsSchema(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True, required=True)


class StatusSchema(Schema):
    status = fields.String(required=True)


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """A `{items, next_cursor}` schema for one kind of item."""
    return type(
        name, (PageSchema,), {"items": fields.List(fields.Nested(item_schema), required=True)}
    )


class WithExtra:
    """An object seen through a schema with a few more attributes (e.g. a profile plus hints)."""

    def __init__(self, obj, **extra) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._obj, name)
