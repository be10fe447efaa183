from marshmallow import Schema, fields, validate

from api.fields import ClockTime, Instant, TimeZoneName
from services.accounts.accounts import MIN_PASSWORD_LENGTH


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
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024)
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
    email = fields.String(dump_only=True)
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
    created_at = Instant(dump_only=True)
    profile_updated_at = Instant(dump_only=True)


class HintSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class ProfileUpdateResultSchema(ProfileSchema):
    hints = fields.List(fields.Nested(HintSchema), required=True)


class AuthResultSchema(Schema):
    user = fields.Nested(ProfileSchema, required=True)
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})


class ExportSchema(Schema):
    """Everything Wellspring holds about me."""

    profile = fields.Dict(required=True)
    registrations = fields.List(fields.Dict(), required=True)
    check_ins = fields.List(fields.Dict(), required=True)
    contacts = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "My contacts with my private notes and tags"},
    )
    messages = fields.List(fields.Dict(), required=True)
    follow_ups = fields.List(fields.Dict(), required=True)
    follow_up_plans = fields.List(fields.Dict(), required=True)
