from marshmallow import INCLUDE, Schema, fields, validate

from services.offline.pull import SCHEMA_VERSION

_MS = {"description": "Milliseconds since the epoch (UTC)"}
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class PullArgsSchema(Schema):
    last_pulled_at = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_MS),
        metadata={"description": "Your last pull's `timestamp`; absent, null or 0: first pull"},
    )
    schema_version = fields.Integer(
        load_default=SCHEMA_VERSION, validate=validate.OneOf((SCHEMA_VERSION,))
    )


class PushArgsSchema(Schema):
    last_pulled_at = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=MAX_MS),
        metadata={"description": "The `timestamp` of the pull this push follows"},
    )


# A WatermelonDB raw record: column → a string, number, boolean or null (typed so that a
# generated client gets `dict[str, str | float | bool | None]`, not `Any`).
RAW_RECORD = {
    "description": "A raw record: column name → value (id and the table's columns)",
    "additionalProperties": {
        "nullable": True,
        "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
    },
}


class TableChangesSchema(Schema):
    class Meta:
        unknown = INCLUDE

    created = fields.List(fields.Dict(metadata=RAW_RECORD), load_default=list)
    updated = fields.List(fields.Dict(metadata=RAW_RECORD), load_default=list)
    deleted = fields.List(fields.String(), load_default=list)


def _table(description: str):
    return fields.Nested(TableChangesSchema, metadata={"description": description})


class ChangesSchema(Schema):
    """A WatermelonDB changes object: per table, created and updated rows and deleted ids."""

    class Meta:
        unknown = INCLUDE  # an unknown table is refused by the service: 422 sync_not_allowed

    profile = _table(
        "One row, id = your user id: display_name, headline, company, title, "
        "primary_focus, timezone, email, email_verified"
    )
    events = _table("name, starts_at, ends_at, timezone, venue, my_role")
    sessions = _table("event_id, title, room, starts_at, ends_at, capacity")
    registrations = _table("event_id, badge_code, status, checked_in_at")
    contacts = _table(
        "event_id, user_id, display_name, headline, company, title, email, met_in_person, "
        "met_at, note, tags (a JSON string of an array), strength, going_cold, muted, blocked"
    )
    messages = _table("contact_id, direction, kind, body, sent_at, read_at")
    follow_ups = _table("contact_id, plan_id, kind, body, send_at, status, reason")


class PullSchema(Schema):
    changes = fields.Nested(ChangesSchema, required=True)
    timestamp = fields.Integer(required=True, metadata=_MS)


class ScannerKitArgsSchema(Schema):
    since = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_MS),
        metadata={"description": "The `timestamp` of your last kit: only what changed after it"},
    )


class KitBadgeSchema(Schema):
    badge_digest = fields.String(
        required=True, metadata={"description": "Lowercase hex SHA-256 of the badge code (UTF-8)"}
    )
    registration_id = fields.UUID(required=True)
    display_name = fields.String(required=True)
    status = fields.String(required=True)
    checked_in = fields.Boolean(required=True)


class ScannerKitSchema(Schema):
    timestamp = fields.Integer(required=True, metadata=_MS)
    badges = fields.List(fields.Nested(KitBadgeSchema), required=True)
    revoked = fields.List(
        fields.String(), required=True, metadata={"description": "Digests that admit no one"}
    )
