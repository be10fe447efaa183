from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.resources.accounts.schemas import HintSchema
from api.schemas import PageArgsSchema, page_of
from services.messaging.messaging import KINDS, MAX_BODY_LENGTH

KIND_DESCRIPTION = "thank_you, offer, ask, check_in or other (default)"


class MessageSendSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_BODY_LENGTH))
    kind = fields.String(
        load_default="other",
        validate=validate.OneOf(KINDS),
        metadata={"description": KIND_DESCRIPTION},
    )


class MessageSchema(Schema):
    id = fields.UUID(required=True)
    contact_id = fields.UUID(
        allow_none=True,
        metadata={"description": "Your contact for the other person (null if you removed it)"},
    )
    direction = fields.String(
        required=True,
        metadata={
            "enum": ["outgoing", "incoming"],
            "description": "outgoing (you sent it) or incoming",
        },
    )
    sender_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    body = fields.String(required=True)
    sent_at = Instant(required=True)
    read_at = Instant(allow_none=True, required=True)


class SentMessageSchema(MessageSchema):
    hints = fields.List(
        fields.Nested(HintSchema),
        required=True,
        metadata={"description": "Coaching; never blocks. Each has a stable code."},
    )


MessagePageSchema = page_of(MessageSchema, "MessagePageSchema")


class InboxArgsSchema(PageArgsSchema):
    unread = fields.Boolean(
        load_default=None,
        metadata={"description": "true: only unread; false: only read; omitted: all"},
    )


class MarkAllReadSchema(Schema):
    contact_id = fields.UUID(metadata={"description": "Only messages from this contact"})
    up_to = Instant(metadata={"description": "Only messages sent up to this instant"})


class MarkedSchema(Schema):
    marked = fields.Integer(required=True, metadata={"description": "Messages newly marked read"})


class AllowanceSchema(Schema):
    can_send_now = fields.Boolean(required=True)
    reason = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Why not (recipient_unavailable, awaiting_reply, min_gap, …)"},
    )
    next_allowed_at = Instant(
        allow_none=True,
        required=True,
        metadata={"description": "When a send would be allowed; null when only a reply helps"},
    )
    unanswered_streak = fields.Integer(required=True)
    daily_remaining = fields.Integer(
        required=True, metadata={"description": "Messages to new contacts left in 24 h"}
    )
    new_contact = fields.Boolean(required=True, metadata={"description": "They never wrote to you"})
    in_conversation = fields.Boolean(
        required=True, metadata={"description": "They wrote to you within the last 24 h"}
    )
