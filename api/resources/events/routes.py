from uuid import UUID

from flask import current_app
from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now, public_base_url
from api.extensions import Blueprint
from api.resources.events.schemas import (
    AttendeeListArgsSchema,
    AttendeePageSchema,
    EventChangesSchema,
    EventSchema,
    EventWithRoleSchema,
    InvitationSchema,
    InvitationTokenSchema,
    JoinedSchema,
    MyInvitationListSchema,
    RegistrationSchema,
    SessionPageSchema,
    SessionSchema,
    StaffAssignSchema,
    StaffPageSchema,
    StaffRoleChangeSchema,
    StaffSchema,
)
from api.schemas import PageArgsSchema, WithExtra
from services.events import badges, events, invitations
from services.meetings import setup

MEETING_SETUP_FIELDS = ("meeting_slot_minutes", "meeting_hours")

blp = Blueprint(
    "events", __name__, url_prefix="/v1", description="Events, staff, sessions and registration"
)


def registration_view(registration):
    """A registration as the caller may see it: the badge code (and the URL its QR encodes)
    only for the badge's owner. Staff and organizers see names and status; the scanner reads
    the code off the badge, so nobody can connect with attendees without meeting them."""
    if registration.user_id != current_user().id:
        return _WithoutBadge(registration)
    return WithExtra(
        registration, badge_url=badges.badge_url(public_base_url(), registration.badge_code)
    )


class _WithoutBadge:
    def __init__(self, registration) -> None:
        self._registration = registration

    def __getattr__(self, name):
        if name in ("badge_code", "badge_url"):
            raise AttributeError(name)  # marshmallow leaves the field out
        return getattr(self._registration, name)


def _max_event_days() -> int:
    return current_app.config["MAX_EVENT_DAYS"]


@blp.route("/events")
class Events(MethodView):
    @blp.authenticated
    @blp.arguments(EventSchema)
    @blp.response(201, EventWithRoleSchema, location="/v1/events/{id}")
    def post(self, data):
        """Create an event; the caller becomes its organizer."""
        event = events.create_event(
            db_session(), current_user(), now=now(), max_days=_max_event_days(), **data
        )
        return WithExtra(event, my_role=events.ORGANIZER)


@blp.route("/events/<uuid:event_id>")
class EventItem(MethodView):
    @blp.authenticated
    @blp.response(200, EventWithRoleSchema)
    @blp.problems(404)
    def get(self, event_id: UUID):
        """An event, with the caller's role on it."""
        session = db_session()
        event = events.get_event(session, event_id)
        return WithExtra(event, my_role=events.role_on_event(session, event_id, current_user().id))

    @blp.authenticated
    @blp.arguments(EventChangesSchema(partial=True))
    @blp.response(200, EventWithRoleSchema)
    @blp.problems(403, 404, 409)
    def patch(self, changes, event_id: UUID):
        """Change an event (organizers only), its meeting set-up included: slot length and
        meeting hours (bounds without an offset are read on the event's clock); 409
        `meetings_booked` when booked meetings would fall off the new slot grid."""
        session, actor = db_session(), current_user()
        meeting_setup = {k: changes.pop(k) for k in MEETING_SETUP_FIELDS if k in changes}
        if meeting_setup or {"starts_at", "ends_at"} & changes.keys():
            # Staged (the event update commits both): new hours are read against the moved
            # event, and kept hours must still lie inside it.
            setup.stage_meeting_setup(session, actor, event_id, meeting_setup, changes)
        event = events.update_event(
            session, actor, event_id, changes, now(), max_days=_max_event_days()
        )
        return WithExtra(event, my_role=events.ORGANIZER)


@blp.route("/events/<uuid:event_id>/staff")
class EventStaff(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StaffPageSchema)
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """The event's organizers and staff (staff only), and its pending invitations
        (organizers only)."""
        session, user = db_session(), current_user()
        page = events.list_staff(session, user, event_id, **args)
        return WithExtra(page, invitations=invitations.pending(session, user, event_id))

    @blp.authenticated
    @blp.arguments(StaffAssignSchema)
    @blp.response(201, InvitationSchema)
    @blp.problems(403, 404)
    def post(self, data, event_id: UUID):
        """Invite an email address to the staff (organizers only). The answer is the same
        whether or not an account has that address; only accepting grants access."""
        return invitations.invite(
            db_session(), current_user(), event_id, now=now(), base_url=public_base_url(), **data
        )


@blp.route("/events/<uuid:event_id>/staff/<uuid:user_id>")
class EventStaffMember(MethodView):
    @blp.authenticated
    @blp.arguments(StaffRoleChangeSchema)
    @blp.response(200, StaffSchema)
    @blp.problems(403, 404, 409)
    def patch(self, data, event_id: UUID, user_id: UUID):
        """Change a member's role (organizers only); the last organizer stays one (409)."""
        return invitations.change_role(db_session(), current_user(), event_id, user_id, **data)

    @blp.authenticated
    @blp.response(204)
    @blp.problems(403, 404, 409)
    def delete(self, event_id: UUID, user_id: UUID):
        """Remove a member (organizers only); their next request is refused. The last
        organizer cannot be removed (409)."""
        invitations.remove_member(db_session(), current_user(), event_id, user_id)


@blp.route("/events/<uuid:event_id>/invitations/<uuid:invitation_id>")
class EventInvitation(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(403, 404)
    def delete(self, event_id: UUID, invitation_id: UUID):
        """Revoke a pending invitation (organizers only); its token stops working."""
        invitations.revoke_invitation(db_session(), current_user(), event_id, invitation_id, now())


@blp.route("/me/invitations")
class MyInvitations(MethodView):
    @blp.authenticated
    @blp.response(200, MyInvitationListSchema)
    def get(self):
        """Pending staff invitations to my email, once it is verified."""
        return {"items": invitations.my_invitations(db_session(), current_user(), now())}


@blp.route("/invitations/<uuid:invitation_id>/accept")
class AcceptInvitation(MethodView):
    @blp.authenticated
    @blp.response(200, JoinedSchema)
    @blp.problems(404, 409)
    def post(self, invitation_id: UUID):
        """Accept an invitation to my verified email: I join the event's staff."""
        return invitations.accept(db_session(), current_user(), invitation_id, now())


@blp.route("/invitations/<uuid:invitation_id>/decline")
class DeclineInvitation(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(404, 409)
    def post(self, invitation_id: UUID):
        """Decline an invitation to my verified email."""
        invitations.decline(db_session(), current_user(), invitation_id, now())


@blp.route("/invitations/accept")
class AcceptInvitationWithToken(MethodView):
    @blp.authenticated
    @blp.arguments(InvitationTokenSchema)
    @blp.response(200, JoinedSchema)
    @blp.problems(400)
    def post(self, data):
        """Accept with the mailed token: the signed-in account joins the event's staff."""
        return invitations.accept_with_token(db_session(), current_user(), data["token"], now())


@blp.route("/events/<uuid:event_id>/sessions")
class EventSessions(MethodView):
    @blp.authenticated
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SessionPageSchema)
    @blp.problems(404)
    def get(self, args, event_id: UUID):
        """The event's sessions, in time order."""
        return events.list_sessions(db_session(), event_id, **args)

    @blp.authenticated
    @blp.arguments(SessionSchema)
    @blp.response(201, SessionSchema)
    @blp.problems(403, 404)
    def post(self, data, event_id: UUID):
        """Add a session (organizers only); it must lie inside the event."""
        return events.create_session(db_session(), current_user(), event_id, now=now(), **data)


@blp.route("/events/<uuid:event_id>/registrations")
class EventRegistrations(MethodView):
    @blp.authenticated
    @blp.response(201, RegistrationSchema, location="/v1/registrations/{id}")
    @blp.alt_response(200, schema=RegistrationSchema, description="Already registered")
    @blp.problems(404, 409)
    def post(self, event_id: UUID):
        """Register the caller; again → 200 with the same registration."""
        result = events.register_attendee(db_session(), current_user(), event_id, now())
        return registration_view(result.registration), (201 if result.created else 200)

    @blp.authenticated
    @blp.arguments(AttendeeListArgsSchema, location="query")
    @blp.response(200, AttendeePageSchema)
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """The attendee list with door check-in status (staff only)."""
        return events.list_registrations(db_session(), current_user(), event_id, **args)
