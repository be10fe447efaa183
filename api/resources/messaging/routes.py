from uuid import UUID

from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.policy import throttle_policy
from api.resources.messaging.schemas import (
    AllowanceSchema,
    InboxArgsSchema,
    MarkAllReadSchema,
    MarkedSchema,
    MessagePageSchema,
    MessageSchema,
    MessageSendSchema,
    SentMessageSchema,
)
from api.schemas import PageArgsSchema, WithExtra
from services.messaging import messaging

blp = Blueprint(
    "messaging",
    __name__,
    url_prefix="/v1",
    description="Messages between contacts, the anti-pestering throttle, recipient controls",
)


@blp.route("/contacts/<uuid:contact_id>/messages")
class Conversation(MethodView):
    @blp.authenticated
    @blp.arguments(MessageSendSchema)
    @blp.response(201, SentMessageSchema)
    @blp.problems(403, 404, 409, 429)
    def post(self, data, contact_id: UUID):
        """Send a message, if the throttling policy allows it now.

        Refusals: 403 `recipient_unavailable` or `blocked`; 409 `awaiting_reply` (only a reply
        unlocks it); 429 `min_gap`, `conversation_burst`, `daily_cap` or `recipient_busy` with
        `Retry-After` and `next_allowed_at`. The answer carries coaching `hints`.
        """
        sent = messaging.send_message(
            db_session(), current_user(), contact_id, now=now(), policy=throttle_policy(), **data
        )
        return WithExtra(sent.view, hints=sent.hints)

    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MessagePageSchema)
    @blp.problems(404, 422)
    def get(self, args, contact_id: UUID):
        """The conversation with a contact, both directions, newest first."""
        return messaging.conversation(db_session(), current_user(), contact_id, **args)


@blp.route("/contacts/<uuid:contact_id>/allowance")
class Allowance(MethodView):
    @blp.authenticated
    @blp.response(200, AllowanceSchema)
    @blp.problems(404)
    def get(self, contact_id: UUID):
        """Could I message this contact now? Ask before trying."""
        return messaging.allowance(
            db_session(), current_user(), contact_id, now(), throttle_policy()
        )


@blp.route("/inbox")
class Inbox(MethodView):
    @blp.authenticated
    @blp.arguments(InboxArgsSchema, location="query")
    @blp.response(200, MessagePageSchema)
    @blp.problems(422)
    def get(self, args):
        """Messages to me, newest first."""
        return messaging.inbox(db_session(), current_user(), **args)


@blp.route("/inbox/read")
class InboxRead(MethodView):
    @blp.authenticated
    @blp.arguments(MarkAllReadSchema)
    @blp.response(200, MarkedSchema)
    @blp.problems(404, 422)
    def post(self, data):
        """Mark my unread messages read (all, or from one contact, or sent up to an instant)."""
        marked = messaging.mark_all_read(db_session(), current_user(), now(), **data)
        return {"marked": marked}


@blp.route("/messages/<uuid:message_id>/read")
class MessageRead(MethodView):
    @blp.authenticated
    @blp.response(200, MessageSchema)
    @blp.problems(404)
    def post(self, message_id: UUID):
        """Mark a message to me as read (its recipient only; the first read time is kept)."""
        return messaging.mark_read(db_session(), current_user(), message_id, now())


@blp.route("/contacts/<uuid:contact_id>/mute")
class Mute(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def post(self, contact_id: UUID):
        """Mute this contact: their messages to me are refused and their pending follow-ups to
        me cancelled. They see a generic `recipient_unavailable`."""
        messaging.set_recipient_control(
            db_session(), current_user(), contact_id, messaging.MUTE, now()
        )


@blp.route("/contacts/<uuid:contact_id>/unmute")
class Unmute(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def post(self, contact_id: UUID):
        """Let this contact write to me again (lifts both mute and not-interested)."""
        messaging.set_recipient_control(
            db_session(), current_user(), contact_id, messaging.UNMUTE, now()
        )


@blp.route("/contacts/<uuid:contact_id>/not-interested")
class NotInterested(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404)
    def post(self, contact_id: UUID):
        """Mark this contact "not interested": like mute, their messages to me are refused and
        their pending follow-ups to me cancelled, without revealing which control it was."""
        messaging.set_recipient_control(
            db_session(), current_user(), contact_id, messaging.NOT_INTERESTED, now()
        )
