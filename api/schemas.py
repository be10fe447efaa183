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
    reason = fields.String(
        required=True,
        metadata={"description": "Stable machine-readable reason (see the Reason enum)"},
    )
    request_id = fields.String(
        required=True, metadata={"description": "Quote it when reporting a problem"}
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "maybe_absent": True,
            "description": "Validation: messages by field (a whole-body problem under "
            "`_schema` or `_request`); a message about a part of the field starts with its "
            "path (`3.badge: Missing data for required field.`)",
        },
    )
    next_allowed_at = fields.String(
        allow_none=True,
        metadata={
            "maybe_absent": True,
            "format": "date-time",
            "description": "Throttling: when a send would be allowed (null: only a reply helps)",
        },
    )
    earliest_allowed_at = fields.String(
        allow_none=True,
        metadata={
            "maybe_absent": True,
            "format": "date-time",
            "description": "Scheduling: the earliest send_at the policy allows (null: none)",
        },
    )
    retry_after = fields.Integer(
        metadata={
            "maybe_absent": True,
            "minimum": 1,
            "description": "Seconds until a retry can succeed (as the Retry-After header)",
        }
    )
    window_opens_at = fields.String(
        metadata={
            "maybe_absent": True,
            "format": "date-time",
            "description": "outside_check_in_window: when scans start to count",
        }
    )
    window_closes_at = fields.String(
        metadata={
            "maybe_absent": True,
            "format": "date-time",
            "description": "outside_check_in_window: when scans stop counting (the event's end)",
        }
    )
    current_etag = fields.String(
        metadata={
            "maybe_absent": True,
            "description": "412: the resource's current ETag, to reload and retry with",
        }
    )

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
