from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.schemas import PageArgsSchema, page_of
from services.checkin.checkins import ENTRY, EXIT


class CheckInScanSchema(Schema):
    badge = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2048),
        metadata={
            "description": "The bare badge_code, or the QR's full URL (path ends in /b/<code>)"
        },
    )
    client_scan_id = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Made by the phone (a UUID); a retry with the same id changes nothing"
        },
    )
    scanned_at = Instant(metadata={"description": "Phone time of the scan; default now"})
    session_id = fields.UUID(metadata={"description": "Omit for the door"})
    direction = fields.String(load_default=ENTRY, validate=validate.OneOf((ENTRY, EXIT)))
    device_id = fields.String(validate=validate.Length(min=1, max=100))


class AttendeeNameSchema(Schema):
    display_name = fields.String(required=True)


class CheckInResultSchema(Schema):
    status = fields.String(
        required=True,
        metadata={
            "description": "checked_in, already_checked_in, checked_out or already_checked_out"
        },
    )
    check_in_id = fields.String(
        metadata={"description": "The stored scan (the first entry when nothing new was stored)"}
    )
    registration_id = fields.String(required=True)
    attendee = fields.Nested(AttendeeNameSchema, required=True)
    checked_in_at = fields.String(metadata={"format": "date-time"})
    first_checked_in_at = fields.String(metadata={"format": "date-time"})
    scanned_at = fields.String(metadata={"format": "date-time"})
    received_at = fields.String(metadata={"format": "date-time"})
    direction = fields.String()
    session_id = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)


class ScanLogArgsSchema(PageArgsSchema):
    since = Instant(metadata={"description": "Only scans stored or changed after this instant"})


class CheckInRecordSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    registration_id = fields.UUID()
    session_id = fields.UUID(allow_none=True)
    direction = fields.String()
    scanned_at = Instant()
    received_at = Instant()
    updated_at = Instant()
    device_id = fields.String(allow_none=True)
    scanned_by_id = fields.UUID(allow_none=True)
    client_scan_id = fields.String(allow_none=True)


CheckInPageSchema = page_of(CheckInRecordSchema, "CheckInPageSchema")
