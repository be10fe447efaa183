from marshmallow import Schema, fields, validate

from api.fields import Instant
from api.resources.messaging.schemas import MessageSendSchema
from api.schemas import PageArgsSchema, page_of
from services.messaging.follow_up_states import PLAN_ACTIVE, PLAN_CANCELLED, PLAN_COMPLETED
from services.messaging.followups import CADENCES, STATUSES
from services.messaging.messaging import KINDS, MAX_BODY_LENGTH


class FollowUpCreateSchema(MessageSendSchema):
    """A message's body and kind, and when to send it."""

    send_at = Instant(
        required=True,
        metadata={
            "description": "When to send; delivery moves past the recipient's quiet hours "
            "(see deliver_at)"
        },
    )


class FollowUpPatchSchema(Schema):
    send_at = Instant(metadata={"description": "A new time is validated against the policy"})
    body = fields.String(validate=validate.Length(min=1, max=MAX_BODY_LENGTH))
    kind = fields.String(validate=validate.OneOf(KINDS))


class FollowUpSchema(Schema):
    id = fields.UUID(required=True)
    contact_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    plan_id = fields.UUID(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    body = fields.String(required=True)
    send_at = Instant(required=True, metadata={"description": "The time asked for"})
    deliver_at = Instant(
        required=True,
        metadata={
            "description": "When it goes out: send_at moved past the recipient's quiet hours"
        },
    )
    status = fields.String(
        required=True,
        metadata={"enum": list(STATUSES), "description": "scheduled, sent, cancelled or skipped"},
    )
    reason = fields.String(
        attribute="status_reason",
        allow_none=True,
        required=True,
        metadata={
            "description": "Why it was skipped (the policy's reason, or blocked), cancelled "
            "(owner_cancelled, contact_replied, recipient_unavailable, contact_removed, …) or "
            "re-queued once (the time-based reason it was refused for)"
        },
    )
    requeued = fields.Boolean(
        required=True,
        metadata={"description": "Refused once at delivery for a time-based reason, tried again"},
    )
    message_id = fields.UUID(allow_none=True, required=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


FollowUpPageSchema = page_of(FollowUpSchema, "FollowUpPageSchema")


class FollowUpListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(STATUSES), load_default=None)
    contact_id = fields.UUID(load_default=None)


class PlanCreateSchema(Schema):
    cadence = fields.String(
        required=True,
        validate=validate.OneOf(CADENCES),
        metadata={
            "description": "gentle: thank_you at start, offer at +14 d; standard: thank_you at "
            "start, offer at +7 d; keep_warm: check_in every 90 days until 3 are unanswered "
            "(contacts who have written at least once)"
        },
    )
    start_at = Instant(metadata={"description": "Default: the earliest time the policy allows"})
    bodies = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_BODY_LENGTH), allow_none=True),
        validate=validate.Length(max=10),
        metadata={"description": "The items' texts in order; missing ones get a default text"},
    )


class PlanSchema(Schema):
    id = fields.UUID(required=True)
    contact_id = fields.UUID(required=True)
    cadence = fields.String(required=True, metadata={"enum": list(CADENCES)})
    status = fields.String(
        required=True,
        metadata={
            "enum": [PLAN_ACTIVE, PLAN_COMPLETED, PLAN_CANCELLED],
            "description": "active, completed or cancelled",
        },
    )
    reason = fields.String(attribute="status_reason", allow_none=True, required=True)
    start_at = Instant(required=True)
    created_at = Instant(required=True)
    follow_ups = fields.List(fields.Nested(FollowUpSchema), required=True)
