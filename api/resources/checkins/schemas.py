from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.schemas import PageArgsSchema, page_of
from services.checkin.checkins import ENTRY, EXIT

SCAN_STATUSES = ["checked_in", "already_checked_in", "checked_out", "already_checked_out"]
# Keys only some answers carry (a scan that stored nothing new has no scanned_at, …).
SOMETIMES = {"maybe_absent": True}
UUID = {"format": "uuid"}
INSTANT = {"format": "date-time"}


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
            "enum": SCAN_STATUSES,
            "description": "checked_in, already_checked_in, checked_out or already_checked_out",
        },
    )
    check_in_id = fields.String(
        metadata={
            **SOMETIMES,
            **UUID,
            "description": "The stored scan (the first entry when nothing new was stored)",
        }
    )
    registration_id = fields.String(required=True, metadata=UUID)
    attendee = fields.Nested(AttendeeNameSchema, required=True)
    checked_in_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    first_checked_in_at = fields.String(allow_none=True, metadata=INSTANT)
    scanned_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    received_at = fields.String(metadata={**SOMETIMES, **INSTANT})
    direction = fields.String(metadata={**SOMETIMES, "enum": [ENTRY, EXIT]})
    session_id = fields.String(allow_none=True, metadata=UUID)
    device_id = fields.String(allow_none=True, metadata=SOMETIMES)


class ScanLogArgsSchema(PageArgsSchema):
    since = Instant(metadata={"description": "Only scans stored or changed after this instant"})


class CheckInRecordSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    registration_id = fields.UUID()
    session_id = fields.UUID(allow_none=True)
    direction = fields.String(metadata={"enum": [ENTRY, EXIT]})
    scanned_at = Instant()
    received_at = Instant()
    updated_at = Instant()
    device_id = fields.String(allow_none=True)
    scanned_by_id = fields.UUID(allow_none=True)
    client_scan_id = fields.String(allow_none=True)


class UndoneScanSchema(Schema):
    check_in_id = fields.UUID(required=True)
    undone_at = Instant(required=True)


class ScanLogPageSchema(page_of(CheckInRecordSchema, "CheckInPageSchema")):
    undone = fields.List(
        fields.Nested(UndoneScanSchema),
        required=True,
        metadata={
            "description": "With `since`: scans undone after it (tombstones to drop); "
            "empty without `since`"
        },
    )
