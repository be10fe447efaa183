from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.fields import Instant
from api.schemas import PageArgsSchema, page_of
from services.push.providers import PROVIDERS

B64URL = validate.Regexp(r"^[A-Za-z0-9_-]+=*$", error="Must be URL-safe base64.")


class SubscriptionKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=[validate.Length(min=80, max=100), B64URL])
    auth = fields.String(required=True, validate=[validate.Length(min=16, max=32), B64URL])


class SubscriptionSchema(Schema):
    endpoint = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    keys = fields.Nested(SubscriptionKeysSchema, required=True)
    expiration_time = fields.Raw(data_key="expirationTime", load_default=None, allow_none=True)


class DeviceCreateSchema(Schema):
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    token = fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=4096),
        metadata={"description": "The APNs device token or FCM registration token"},
    )
    subscription = fields.Nested(
        SubscriptionSchema,
        load_default=None,
        metadata={"description": "webpush: the browser's PushSubscription (toJSON())"},
    )
    platform = fields.String(required=True, validate=validate.OneOf(("ios", "android", "web")))
    app_version = fields.String(load_default=None, validate=validate.Length(max=40))
    locale = fields.String(load_default=None, validate=validate.Length(max=35))

    @validates_schema
    def one_target(self, data, **kwargs):
        if data.get("provider") == "webpush":
            if data.get("subscription") is None:
                raise ValidationError("Required for webpush.", "subscription")
            if data.get("token") is not None:
                raise ValidationError("A webpush device has no token.", "token")
        elif data.get("provider") in ("apns", "fcm"):
            if data.get("token") is None:
                raise ValidationError("Required for apns and fcm.", "token")
            if data.get("subscription") is not None:
                raise ValidationError("Only webpush devices have a subscription.", "subscription")


class DeviceSchema(Schema):
    id = fields.UUID(required=True)
    provider = fields.String(required=True)
    platform = fields.String(required=True)
    app_version = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    created_at = Instant(required=True)


class DeviceListSchema(Schema):
    items = fields.List(fields.Nested(DeviceSchema), required=True)


class NotificationSettingsSchema(Schema):
    messages = fields.Boolean(required=True)
    contacts = fields.Boolean(required=True)
    invitations = fields.Boolean(required=True)
    meetings = fields.Boolean(required=True)
    previews = fields.Boolean(
        required=True, metadata={"description": "Whether a push may carry message text"}
    )


class NotificationSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True)
    created_at = Instant(required=True)
    data = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    sent_at = Instant(allow_none=True, required=True)


NotificationPageSchema = page_of(NotificationSchema, "NotificationPageSchema")


class NotificationArgsSchema(PageArgsSchema):
    pass
