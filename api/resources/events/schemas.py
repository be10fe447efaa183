from marshmallow import Schema, fields, validate

from api.fields import Instant, TimeZoneName
from api.resources.meetings.schemas import MeetingHoursSchema, MeetingSetupFields
from api.schemas import PageArgsSchema, page_of
from services.events.events import CANCELLED, REGISTERED, ROLES

REGISTRATION_STATUSES = [REGISTERED, CANCELLED]


class EventSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    timezone = TimeZoneName(required=True, metadata={"example": "Europe/Berlin"})
    venue = fields.String(allow_none=True, validate=validate.Length(max=200))
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    created_by_id = fields.UUID(dump_only=True, allow_none=True)
    created_at = Instant(dump_only=True)
    updated_at = Instant(dump_only=True)
    meeting_slot_minutes = fields.Integer(
        dump_only=True, metadata={"description": "Length of a 1:1 meeting slot, in minutes"}
    )
    meeting_hours = fields.List(
        fields.Nested(MeetingHoursSchema),
        dump_only=True,
        allow_none=True,
        metadata={"description": "Blocks of time for 1:1 meetings (instants, UTC)"},
    )


class EventChangesSchema(EventSchema, MeetingSetupFields):
    """An event's fields, plus its meeting set-up (organizers change both with PATCH)."""

    meeting_slot_minutes = MeetingSetupFields._declared_fields["meeting_slot_minutes"]
    meeting_hours = MeetingSetupFields._declared_fields["meeting_hours"]


class EventWithRoleSchema(EventSchema):
    my_role = fields.String(
        allow_none=True,
        dump_only=True,
        metadata={"enum": list(ROLES), "description": "organizer, staff, or null"},
    )


class StaffAssignSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class StaffSchema(Schema):
    """A member of an event's staff (no email: staff see each other's names only)."""

    user_id = fields.UUID(dump_only=True)
    display_name = fields.String(attribute="user.display_name", dump_only=True)
    role = fields.String(dump_only=True, metadata={"enum": list(ROLES)})
    created_at = Instant(dump_only=True)


class StaffRoleChangeSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class InvitationSchema(Schema):
    """An invitation to the staff, as its organizers see it."""

    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    status = fields.String(
        dump_only=True, metadata={"description": "pending, accepted, declined or revoked"}
    )
    created_at = Instant(dump_only=True)


class StaffPageSchema(page_of(StaffSchema, "StaffMembersPageSchema")):
    invitations = fields.List(
        fields.Nested(InvitationSchema),
        required=True,
        metadata={"description": "Pending invitations (organizers only; empty for staff)"},
    )


class MyInvitationSchema(Schema):
    id = fields.UUID(dump_only=True)
    event_id = fields.UUID(dump_only=True)
    event_name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    created_at = Instant(dump_only=True)


class MyInvitationListSchema(Schema):
    items = fields.List(fields.Nested(MyInvitationSchema), required=True)


class InvitationTokenSchema(Schema):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The `token: …` line of the invitation mail"},
    )


class JoinedSchema(Schema):
    event_id = fields.UUID(required=True)
    role = fields.String(required=True)


class SessionSchema(Schema):
    id = fields.UUID(dump_only=True)
    event_id = fields.UUID(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    room = fields.String(allow_none=True, validate=validate.Length(max=120))
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    created_at = Instant(dump_only=True)


SessionPageSchema = page_of(SessionSchema, "SessionPageSchema")


class RegistrationSchema(Schema):
    id = fields.UUID(dump_only=True)
    event_id = fields.UUID(dump_only=True)
    user_id = fields.UUID(dump_only=True)
    badge_code = fields.String(
        dump_only=True,
        metadata={"maybe_absent": True, "description": "Only in the badge owner's own answers"},
    )
    badge_url = fields.String(
        dump_only=True,
        metadata={
            "maybe_absent": True,
            "description": "What the badge QR encodes: <PUBLIC_BASE_URL>/b/<badge_code> "
            "(owner only)",
        },
    )
    status = fields.String(
        dump_only=True,
        metadata={"enum": REGISTRATION_STATUSES, "description": "registered or cancelled"},
    )
    created_at = Instant(dump_only=True)
    cancelled_at = Instant(dump_only=True, allow_none=True)
    discoverable = fields.Boolean(
        dump_only=True,
        metadata={"description": "Recommended to and requestable by other attendees here"},
    )


class AttendeeSchema(Schema):
    registration_id = fields.UUID(attribute="registration.id")
    user_id = fields.UUID(attribute="registration.user_id")
    display_name = fields.String(attribute="registration.user.display_name")
    email = fields.String(attribute="registration.user.email")
    status = fields.String(
        attribute="registration.status", metadata={"enum": REGISTRATION_STATUSES}
    )
    registered_at = Instant(attribute="registration.created_at")
    checked_in = fields.Boolean()
    first_checked_in_at = Instant(allow_none=True)
    inside = fields.Boolean()


AttendeePageSchema = page_of(AttendeeSchema, "AttendeePageSchema")


class AttendeeListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(REGISTRATION_STATUSES))
