from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.resources.checkins.schemas import AttendeeNameSchema
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
    kind = fields.String(required=True)
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
    original_status = fields.String(
        metadata={"description": "For a duplicate: what the first sync answered"}
    )
    reason = fields.String(metadata={"description": "For a refusal"})
    detail = fields.String()
    errors = fields.Dict()
    check_in_id = fields.String()
    registration_id = fields.String()
    first_checked_in_at = fields.String(metadata={"format": "date-time"})
    checked_in_at = fields.String(metadata={"format": "date-time"})
    # The rest of what the single check-in endpoint answers.
    attendee = fields.Nested(AttendeeNameSchema)
    scanned_at = fields.String(metadata={"format": "date-time"})
    received_at = fields.String(metadata={"format": "date-time"})
    direction = fields.String()
    session_id = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    contact_id = fields.String()
    created = fields.Boolean(metadata={"description": "Whether this scan stored something new"})


class SyncResponseSchema(Schema):
    results = fields.List(fields.Nested(SyncResultSchema), required=True)
