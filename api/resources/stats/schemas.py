from marshmallow import Schema, fields, validate

from api.fields import Instant
from services.stats.stats import DEFAULT_BUCKET_MINUTES, MAX_BUCKET_MINUTES, MIN_BUCKET_MINUTES


class StatsArgsSchema(Schema):
    bucket = fields.Integer(
        load_default=DEFAULT_BUCKET_MINUTES,
        validate=validate.Range(min=MIN_BUCKET_MINUTES, max=MAX_BUCKET_MINUTES),
        metadata={
            "description": "Arrival bucket width in minutes, aligned to the event's local clock"
        },
    )


class ArrivalBucketSchema(Schema):
    start = Instant(required=True, metadata={"description": "First instant of the bucket (UTC)"})
    end = Instant(
        required=True,
        metadata={
            "description": "The next bucket's start; around a DST change a bucket can be "
            "longer or shorter than the width"
        },
    )
    count = fields.Integer(required=True, metadata={"description": "First door check-ins"})


class SessionFillSchema(Schema):
    session_id = fields.UUID(required=True)
    title = fields.String(required=True)
    starts_at = Instant(required=True)
    checked_in = fields.Integer(
        required=True, metadata={"description": "Distinct attendees scanned in"}
    )
    capacity = fields.Integer(required=True, allow_none=True)
    fill_rate = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "checked_in / capacity (above 1 if overfull); null: no capacity"},
    )


class MeetingCountsSchema(Schema):
    requested = fields.Integer(required=True, metadata={"description": "Every request made"})
    accepted = fields.Integer(
        required=True,
        metadata={"description": "Every request accepted, whatever happened to it after"},
    )
    held = fields.Integer(
        required=True, metadata={"description": "Meetings marked held by a badge scan"}
    )


class NetworkingSchema(Schema):
    exchanges = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Unique pairs who met here"}
    )
    networkers = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Checked-in attendees with at least one exchange here"},
    )
    networker_rate = fields.Float(required=True, allow_none=True)
    median_exchanges_per_networker = fields.Float(required=True, allow_none=True)
    followed_up_within_7d_rate = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "Share of exchanges with a message between the pair within 7 days"
        },
    )
    suppressed = fields.Boolean(
        required=True,
        metadata={
            "description": "True when fewer than min_group_size people networked: every "
            "figure above is then null, so no one can be singled out"
        },
    )
    min_group_size = fields.Integer(required=True)
    meetings = fields.Nested(
        MeetingCountsSchema,
        required=True,
        allow_none=True,
        metadata={"description": "1:1 meetings at the event; null when suppressed"},
    )


class EventStatsSchema(Schema):
    event_id = fields.UUID(required=True)
    timezone = fields.String(required=True)
    bucket_minutes = fields.Integer(required=True)
    generated_at = Instant(required=True)
    registered = fields.Integer(required=True, metadata={"description": "Not cancelled"})
    checked_in = fields.Integer(
        required=True, metadata={"description": "Registrations with an entry scan at the door"}
    )
    show_up_rate = fields.Float(required=True, allow_none=True)
    walk_ins = fields.Integer(
        required=True,
        metadata={
            "description": "Checked in at the door with a registration made at or after the "
            "event's start (never more than checked_in)"
        },
    )
    inside_now = fields.Integer(
        required=True, metadata={"description": "Door entries minus scanned exits"}
    )
    arrivals = fields.List(fields.Nested(ArrivalBucketSchema), required=True)
    sessions = fields.List(fields.Nested(SessionFillSchema), required=True)
    networking = fields.Nested(NetworkingSchema, required=True)
