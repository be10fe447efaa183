from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.resources.accounts.schemas import HintSchema
from api.schemas import PageArgsSchema, page_of
from services.meetings import booking, recommendations, requests, setup


class WallClockOrInstant(fields.DateTime):
    """ISO 8601 with a UTC offset (an instant), or without one (the event's local clock)."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date and time."}

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError as exc:
            raise self.make_error("invalid") from exc


class MeetingHoursSchema(Schema):
    starts_at = WallClockOrInstant(
        required=True,
        metadata={
            "description": "An instant, or a wall-clock time in the event's zone (no offset); "
            "answered as an instant (UTC)"
        },
    )
    ends_at = WallClockOrInstant(required=True)


class MeetingSetupFields(Schema):
    meeting_slot_minutes = fields.Integer(
        validate=validate.Range(min=setup.MIN_SLOT_MINUTES, max=setup.MAX_SLOT_MINUTES),
        metadata={"description": "Length of a meeting slot, in minutes"},
    )
    meeting_hours = fields.List(
        fields.Nested(MeetingHoursSchema),
        validate=validate.Length(max=setup.MAX_HOUR_BLOCKS),
        metadata={
            "description": "Blocks in which 1:1 meetings happen; a slot starts at a block's start "
            "plus a whole number of slot lengths and ends inside the block"
        },
    )


class RegistrationChangesSchema(Schema):
    discoverable = fields.Boolean(
        required=True,
        metadata={
            "description": "Opt in to recommendations and to meeting requests from people who "
            "are not your contacts, at this event"
        },
    )


class RecommendationArgsSchema(Schema):
    limit = fields.Integer(
        load_default=recommendations.DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=recommendations.MAX_LIMIT),
    )


class RecommendationReasonSchema(Schema):
    kind = fields.String(
        required=True,
        metadata={"description": "offers_what_you_seek, seeks_what_you_offer or shared_focus"},
    )
    tags = fields.List(fields.String(), required=True)


class RecommendationSchema(Schema):
    user_id = fields.UUID(required=True)
    display_name = fields.String(required=True)
    headline = fields.String(required=True, allow_none=True)
    score = fields.Integer(
        required=True,
        metadata={
            "description": "3 per tag they offer that you seek, 2 per tag they seek that "
            "you offer, 1 for a shared primary focus"
        },
    )
    why = fields.List(fields.Nested(RecommendationReasonSchema), required=True)


class RecommendationListSchema(Schema):
    items = fields.List(fields.Nested(RecommendationSchema), required=True)


class SpotCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    capacity = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Meetings this spot holds at the same time"},
    )


class SpotSchema(Schema):
    id = fields.UUID(dump_only=True)
    event_id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    capacity = fields.Integer(dump_only=True)
    created_at = Instant(dump_only=True)


class SpotListSchema(Schema):
    items = fields.List(fields.Nested(SpotSchema), required=True)


class PersonSchema(Schema):
    user_id = fields.UUID(required=True)
    display_name = fields.String(required=True)


class MeetingRequestCreateSchema(Schema):
    to_user_id = fields.UUID(required=True)
    slots = fields.List(
        Instant(),
        required=True,
        validate=validate.Length(min=1, max=requests.MAX_SLOTS),
        metadata={"description": "1-3 slot starts inside the event's meeting hours"},
    )
    message = fields.String(
        required=True, validate=validate.Length(min=1, max=requests.MAX_MESSAGE_LENGTH)
    )
    kind = fields.String(required=True, validate=validate.OneOf(requests.KINDS))


class MeetingRequestSchema(Schema):
    id = fields.UUID(required=True)
    event_id = fields.UUID(required=True)
    from_user_id = fields.UUID(required=True)
    to_user_id = fields.UUID(required=True)
    with_ = fields.Nested(
        PersonSchema,
        data_key="with",
        required=True,
        metadata={"description": "The other person"},
    )
    kind = fields.String(required=True)
    message = fields.String(required=True)
    slots = fields.List(fields.String(), required=True, metadata={"description": "UTC instants"})
    status = fields.String(
        required=True, metadata={"description": "pending, accepted, declined or cancelled"}
    )
    created_at = Instant(required=True)
    responded_at = Instant(required=True, allow_none=True)


class MeetingRequestCreatedSchema(MeetingRequestSchema):
    hints = fields.List(fields.Nested(HintSchema), required=True)


MeetingRequestPageSchema = page_of(MeetingRequestSchema, "MeetingRequestPageSchema")


class MeetingRequestListArgsSchema(PageArgsSchema):
    direction = fields.String(
        load_default=requests.INCOMING,
        validate=validate.OneOf((requests.INCOMING, requests.OUTGOING)),
    )
    status = fields.String(validate=validate.OneOf(requests.STATUSES))
    event_id = fields.UUID()


class AcceptSchema(Schema):
    slot = Instant(required=True, metadata={"description": "One of the proposed slots"})


class SpotRefSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class MeetingSchema(Schema):
    id = fields.UUID(required=True)
    event_id = fields.UUID(required=True)
    request_id = fields.UUID(required=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    spot = fields.Nested(SpotRefSchema, required=True)
    with_ = fields.Nested(
        PersonSchema, data_key="with", required=True, metadata={"description": "The other person"}
    )
    status = fields.String(required=True, metadata={"description": "booked, cancelled or held"})


MeetingPageSchema = page_of(MeetingSchema, "MeetingPageSchema")


class MeetingListArgsSchema(PageArgsSchema):
    event_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(booking.MEETING_STATUSES))


class CalendarTokenSchema(Schema):
    url = fields.String(
        required=True,
        metadata={"description": "<PUBLIC_BASE_URL>/v1/calendar/<token>.ics; the old one stops"},
    )
