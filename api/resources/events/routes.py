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
    RegistrationSchema,
    SessionPageSchema,
    SessionSchema,
    StaffAssignSchema,
    StaffPageSchema,
    StaffSchema,
)
from api.schemas import PageArgsSchema, WithExtra
from services.events import badges, events
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
        if meeting_setup:  # staged; the event update commits both
            setup.stage_meeting_setup(session, actor, event_id, meeting_setup)
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
        """The event's organizers and staff (staff only)."""
        return events.list_staff(db_session(), current_user(), event_id, **args)

    @blp.authenticated
    @blp.arguments(StaffAssignSchema)
    @blp.response(201, StaffSchema)
    @blp.alt_response(200, schema=StaffSchema, description="Already on the staff; role updated")
    @blp.problems(403, 404, 409)
    def post(self, data, event_id: UUID):
        """Add someone (by account email) as staff or organizer (organizers only)."""
        result = events.assign_staff(db_session(), current_user(), event_id, now=now(), **data)
        return result.staff, (201 if result.created else 200)


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
