from marshmallow import Schema, ValidationError, fields, validate

from api.fields import ClockTime, Instant, TimeZoneName
from services.accounts.accounts import MIN_PASSWORD_LENGTH, password_weakness
from services.meetings import tags


def not_weak(password: str) -> None:
    problem = password_weakness(password)
    if problem:
        raise ValidationError(problem)


def tag_list(description: str):
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        validate=validate.Length(max=tags.MAX_TAGS),
        metadata={
            "description": f"{description}: at most {tags.MAX_TAGS} tags, stored trimmed and "
            f"lowercased, {tags.MIN_TAG_LENGTH}-{tags.MAX_TAG_LENGTH} characters each"
        },
    )


class QuietHoursSchema(Schema):
    start = ClockTime(required=True, metadata={"example": "21:00"})
    end = ClockTime(required=True, metadata={"example": "08:00"})


class ShareSchema(Schema):
    email = fields.Boolean()
    company = fields.Boolean()
    title = fields.Boolean()
    headline = fields.Boolean()


class RegisterSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True,
        load_only=True,
        validate=[validate.Length(min=MIN_PASSWORD_LENGTH, max=1024), not_weak],
    )
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    timezone = TimeZoneName(metadata={"example": "Europe/Berlin"})


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )


class ProfileSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.Email(
        validate=validate.Length(max=254),
        metadata={
            "description": "Changing it needs `current_password`; the new address is "
            "unverified until the mail sent to it is confirmed"
        },
    )
    email_verified = fields.Boolean(dump_only=True)
    current_password = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "Required with `email`"},
    )
    display_name = fields.String(validate=validate.Length(min=1, max=120))
    headline = fields.String(allow_none=True, validate=validate.Length(max=200))
    company = fields.String(allow_none=True, validate=validate.Length(max=120))
    title = fields.String(allow_none=True, validate=validate.Length(max=120))
    primary_focus = fields.String(
        allow_none=True,
        validate=validate.Length(max=120),
        metadata={"description": "The one thing you want to be known for"},
    )
    timezone = TimeZoneName()
    quiet_hours = fields.Nested(QuietHoursSchema)
    share = fields.Nested(
        ShareSchema,
        metadata={"description": "What a contact exchange shows; display_name is always shared"},
    )
    offers = tag_list("What you can offer (help, intros, knowledge)")
    seeks = tag_list("What you are looking for")
    created_at = Instant(dump_only=True)
    profile_updated_at = Instant(dump_only=True)


class HintSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class ProfileUpdateResultSchema(ProfileSchema):
    hints = fields.List(fields.Nested(HintSchema), required=True)


class TokenPairSchema(Schema):
    access_token = fields.String(
        required=True, metadata={"description": "Send as `Authorization: Bearer …`"}
    )
    refresh_token = fields.String(
        required=True,
        metadata={"description": "For POST /v1/auth/refresh only; used up by each refresh"},
    )
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds the access token is valid"}
    )
    token_type = fields.String(required=True, metadata={"example": "Bearer"})


class AuthResultSchema(TokenPairSchema):
    user = fields.Nested(ProfileSchema, required=True)


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SignInSchema(Schema):
    id = fields.UUID(required=True)
    created_at = Instant(required=True)
    last_used_at = Instant(required=True, metadata={"description": "Moves at most once a minute"})
    user_agent = fields.String(allow_none=True, required=True)
    current = fields.Boolean(
        required=True, metadata={"description": "The sign-in this request's token belongs to"}
    )


class SignInListSchema(Schema):
    items = fields.List(fields.Nested(SignInSchema), required=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )
    new_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024)
    )


class MailedTokenSchema(Schema):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The `token: …` line of the mail"},
    )


class PasswordResetSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class PasswordResetConfirmSchema(MailedTokenSchema):
    new_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024)
    )


class EmptySchema(Schema):
    pass


def _iso(**kwargs) -> fields.String:
    """An instant the export already wrote as ISO 8601 text."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


class ExportedProfileSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    display_name = fields.String()
    headline = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    primary_focus = fields.String(allow_none=True)
    timezone = fields.String()
    offers = fields.List(fields.String())
    seeks = fields.List(fields.String())
    quiet_hours = fields.Nested(QuietHoursSchema)
    share = fields.Nested(ShareSchema)
    created_at = _iso()
    profile_updated_at = _iso(allow_none=True)


class ExportedRegistrationSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    event_name = fields.String()
    status = fields.String(metadata={"enum": ["registered", "cancelled"]})
    badge_code = fields.String(allow_none=True, metadata={"description": "Live ones only"})
    discoverable = fields.Boolean()
    created_at = _iso()
    cancelled_at = _iso(allow_none=True)


class ExportedCheckInSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    registration_id = fields.UUID()
    session_id = fields.UUID(allow_none=True)
    session_title = fields.String(allow_none=True)
    direction = fields.String(metadata={"enum": ["entry", "exit"]})
    scanned_at = _iso()
    received_at = _iso()


class ExportedPersonSchema(Schema):
    """The other person, as they share themselves."""

    user_id = fields.UUID()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    headline = fields.String(allow_none=True)


class ExportedContactSchema(Schema):
    id = fields.UUID()
    person = fields.Nested(ExportedPersonSchema)
    event_id = fields.UUID(allow_none=True)
    met_in_person = fields.Boolean()
    met_at = _iso()
    note = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    muted = fields.Boolean()
    not_interested = fields.Boolean()


class ExportedMessageSchema(Schema):
    id = fields.UUID()
    direction = fields.String(metadata={"enum": ["sent", "received"]})
    sender_id = fields.UUID()
    recipient_id = fields.UUID()
    kind = fields.String()
    body = fields.String()
    sent_at = _iso()
    read_at = _iso(allow_none=True)


class ExportedFollowUpSchema(Schema):
    id = fields.UUID()
    contact_id = fields.UUID()
    plan_id = fields.UUID(allow_none=True)
    kind = fields.String()
    body = fields.String()
    send_at = _iso()
    deliver_at = _iso(allow_none=True)
    status = fields.String()
    status_reason = fields.String(allow_none=True)


class ExportedPlanSchema(Schema):
    id = fields.UUID()
    contact_id = fields.UUID()
    cadence = fields.String()
    status = fields.String()
    start_at = _iso()


class ExportedSignInSchema(Schema):
    id = fields.UUID()
    created_at = _iso()
    last_used_at = _iso()
    user_agent = fields.String(allow_none=True)


class ExportedInvitationSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    event_name = fields.String()
    role = fields.String()
    status = fields.String()
    created_at = _iso()
    responded_at = _iso(allow_none=True)


class ExportedMailSchema(Schema):
    id = fields.UUID()
    kind = fields.String()
    to = fields.String()
    subject = fields.String()
    body = fields.String(metadata={"description": "Any token it carried reads (token not kept)"})
    status = fields.String()
    created_at = _iso()
    sent_at = _iso(allow_none=True)


class ExportedDeviceSchema(Schema):
    id = fields.UUID()
    provider = fields.String()
    platform = fields.String()
    app_version = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    created_at = _iso()


class ExportedNotificationSettingsSchema(Schema):
    messages = fields.Boolean()
    contacts = fields.Boolean()
    invitations = fields.Boolean()
    meetings = fields.Boolean()
    previews = fields.Boolean()


class ExportedNotificationSchema(Schema):
    id = fields.UUID()
    type = fields.String()
    status = fields.String()
    created_at = _iso()
    sent_at = _iso(allow_none=True)
    data = fields.Dict(keys=fields.String(), values=fields.String())


class ExportedMeetingPersonSchema(Schema):
    user_id = fields.UUID()
    display_name = fields.String()


class ExportedMeetingRequestSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    event_name = fields.String()
    direction = fields.String(metadata={"enum": ["sent", "received"]})
    with_ = fields.Nested(ExportedMeetingPersonSchema, data_key="with", attribute="with")
    kind = fields.String()
    message = fields.String()
    slots = fields.List(fields.String(metadata={"format": "date-time"}))
    status = fields.String()
    created_at = _iso()
    responded_at = _iso(allow_none=True)


class ExportedMeetingSchema(Schema):
    id = fields.UUID()
    event_id = fields.UUID()
    event_name = fields.String()
    request_id = fields.UUID()
    with_ = fields.Nested(ExportedMeetingPersonSchema, data_key="with", attribute="with")
    spot = fields.String()
    starts_at = _iso()
    ends_at = _iso()
    status = fields.String()
    cancelled_at = _iso(allow_none=True)
    held_at = _iso(allow_none=True)


class ExportedCalendarFeedSchema(Schema):
    created_at = _iso()


class ExportSchema(Schema):
    """Everything Wellspring holds about me."""

    profile = fields.Nested(ExportedProfileSchema, required=True)
    registrations = fields.List(fields.Nested(ExportedRegistrationSchema), required=True)
    check_ins = fields.List(fields.Nested(ExportedCheckInSchema), required=True)
    contacts = fields.List(
        fields.Nested(ExportedContactSchema),
        required=True,
        metadata={"description": "My contacts with my private notes and tags"},
    )
    messages = fields.List(fields.Nested(ExportedMessageSchema), required=True)
    follow_ups = fields.List(fields.Nested(ExportedFollowUpSchema), required=True)
    follow_up_plans = fields.List(fields.Nested(ExportedPlanSchema), required=True)
    sessions = fields.List(
        fields.Nested(ExportedSignInSchema),
        required=True,
        metadata={"description": "My sign-ins, without tokens"},
    )
    invitations = fields.List(
        fields.Nested(ExportedInvitationSchema),
        required=True,
        metadata={"description": "Staff invitations to my email"},
    )
    mail = fields.List(
        fields.Nested(ExportedMailSchema),
        required=True,
        metadata={"description": "Mail sent to me, without the tokens it carried"},
    )
    devices = fields.List(
        fields.Nested(ExportedDeviceSchema),
        required=True,
        metadata={"description": "Push devices (not their tokens)"},
    )
    notification_settings = fields.Nested(ExportedNotificationSettingsSchema, required=True)
    notifications = fields.List(fields.Nested(ExportedNotificationSchema), required=True)
    meeting_requests = fields.List(
        fields.Nested(ExportedMeetingRequestSchema),
        required=True,
        metadata={"description": "Meeting requests I sent or received"},
    )
    meetings = fields.List(fields.Nested(ExportedMeetingSchema), required=True)
    calendar_feed = fields.Nested(
        ExportedCalendarFeedSchema,
        required=True,
        allow_none=True,
        metadata={"description": "Whether I have a calendar feed (its token is not kept)"},
    )
