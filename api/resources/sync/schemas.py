from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.resources.checkins.schemas import INSTANT, SOMETIMES, UUID, AttendeeNameSchema
from services.checkin.checkins import ENTRY, EXIT
from services.checkin.sync import CHECK_IN, CONTACT, MAX_BATCH


class QueuedScanSchema(Schema):
    client_scan_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf((CHECK_IN, CONTACT)))
    event_id = fields.UUID(required=True)
    badge = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    scanned_at = Instant(metadata={"description": "When the phone scanned; default now"})
    session_id = fields.UUID(metadata={"description": "check_in only; omit for the door"})
    direction = fields.String(load_default=ENTRY, validate=validate.OneOf((ENTRY, EXIT)))
    device_id = fields.String(validate=validate.Length(min=1, max=100))
    note = fields.String(
        validate=validate.Length(max=5000),
        metadata={"description": "contact only: your private note"},
    )


class SyncBatchSchema(Schema):
    scans = fields.List(
        fields.Nested(QueuedScanSchema),
        required=True,
        validate=validate.Length(max=MAX_BATCH, error=f"At most {MAX_BATCH} scans per batch."),
    )


class SyncResultSchema(Schema):
    client_scan_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": [CHECK_IN, CONTACT]})
    status = fields.String(
        required=True,
        metadata={
            "description": "checked_in, already_checked_in, checked_out, already_checked_out, "
            "connected, duplicate (replayed: nothing changed), or the refusal's "
            "reason (e.g. badge_revoked)"
        },
    )
    http_status = fields.Integer(
        required=True, metadata={"description": "What the single endpoint would have answered"}
    )
    # The rest depends on the scan's kind and outcome: each key is present only where the
    # single endpoint would have answered it.
    original_status = fields.String(
        metadata={**SOMETIMES, "description": "For a duplicate: what the first sync answered"}
    )
    reason = fields.String(metadata={**SOMETIMES, "description": "For a refusal"})
    detail = fields.String(metadata=SOMETIMES)
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), metadata=SOMETIMES
    )
    check_in_id = fields.String(metadata={**SOMETIMES, **UUID})
    registration_id = fields.String(metadata={**SOMETIMES, **UUID})
    first_checked_in_at = fields.String(allow_none=True, metadata={**SOMETIMES, **INSTANT})
    checked_in_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    attendee = fields.Nested(AttendeeNameSchema, metadata=SOMETIMES)
    scanned_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    received_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    direction = fields.String(metadata={**SOMETIMES, "enum": [ENTRY, EXIT]})
    session_id = fields.String(allow_none=True, metadata={**SOMETIMES, **UUID})
    device_id = fields.String(allow_none=True, metadata=SOMETIMES)
    contact_id = fields.String(metadata={**SOMETIMES, **UUID})
    created = fields.Boolean(
        metadata={**SOMETIMES, "description": "Whether this scan stored something new"}
    )


class SyncResponseSchema(Schema):
    results = fields.List(fields.Nested(SyncResultSchema), required=True)
