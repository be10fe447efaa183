from uuid import UUID

from flask import Response
from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now, public_base_url
from api.extensions import Blueprint
from api.resources.meetings.schemas import (
    AcceptSchema,
    CalendarTokenSchema,
    MeetingListArgsSchema,
    MeetingPageSchema,
    MeetingRequestCreatedSchema,
    MeetingRequestCreateSchema,
    MeetingRequestListArgsSchema,
    MeetingRequestPageSchema,
    MeetingSchema,
    RecommendationArgsSchema,
    RecommendationListSchema,
    SpotCreateSchema,
    SpotListSchema,
    SpotSchema,
)
from services.meetings import booking, calendar, recommendations, requests, setup

blp = Blueprint(
    "meetings",
    __name__,
    url_prefix="/v1",
    description="Who to meet, meeting requests, booked 1:1 meetings and the calendar feed",
)


@blp.route("/events/<uuid:event_id>/recommendations")
class Recommendations(MethodView):
    @blp.authenticated
    @blp.doc(operationId="listRecommendations")
    @blp.arguments(RecommendationArgsSchema, location="query")
    @blp.response(200, RecommendationListSchema)
    @blp.problems(403, 404, 409)
    def get(self, args, event_id: UUID):
        """A handful of people worth meeting here, with why (registered and discoverable
        callers; 409 `not_discoverable` otherwise)."""
        items = recommendations.recommend(
            db_session(), current_user(), event_id, limit=args["limit"], now=now()
        )
        return {"items": items}


@blp.route("/events/<uuid:event_id>/meeting-spots")
class MeetingSpots(MethodView):
    @blp.authenticated
    @blp.doc(operationId="createMeetingSpot")
    @blp.arguments(SpotCreateSchema)
    @blp.response(201, SpotSchema)
    @blp.problems(403, 404)
    def post(self, data, event_id: UUID):
        """Add a meeting spot (a table name and how many meetings it holds at once;
        organizers only)."""
        return setup.add_spot(db_session(), current_user(), event_id, now=now(), **data)

    @blp.authenticated
    @blp.doc(operationId="listMeetingSpots")
    @blp.response(200, SpotListSchema)
    @blp.problems(403, 404)
    def get(self, event_id: UUID):
        """The event's meeting spots (its staff and registered attendees)."""
        return {"items": setup.list_spots(db_session(), current_user(), event_id)}


@blp.route("/events/<uuid:event_id>/meeting-requests")
class MeetingRequests(MethodView):
    @blp.authenticated
    @blp.doc(operationId="createMeetingRequest")
    @blp.arguments(MeetingRequestCreateSchema)
    @blp.response(201, MeetingRequestCreatedSchema)
    @blp.problems(403, 404, 429)
    def post(self, data, event_id: UUID):
        """Ask a discoverable attendee (or a contact) for a 1:1 meeting at one of 1-3 slots.

        Refusals: 404 (not discoverable and not a contact); 403 `recipient_unavailable`
        (declined before at this event, muted, blocked: one answer for all); 409
        `request_pending`; 429 `requests_cap` (your pending requests) or `recipient_busy`
        (theirs); 422 `invalid_slot`. The answer carries the message coach's `hints`.
        """
        return requests.request_meeting(db_session(), current_user(), event_id, now=now(), **data)


@blp.route("/me/meeting-requests")
class MyMeetingRequests(MethodView):
    @blp.authenticated
    @blp.doc(operationId="listMeetingRequests")
    @blp.arguments(MeetingRequestListArgsSchema, location="query")
    @blp.response(200, MeetingRequestPageSchema)
    @blp.problems(422)
    def get(self, args):
        """My incoming or outgoing meeting requests, newest first."""
        return requests.list_requests(db_session(), current_user(), **args)


@blp.route("/meeting-requests/<uuid:request_id>/accept")
class AcceptRequest(MethodView):
    @blp.authenticated
    @blp.doc(operationId="acceptMeetingRequest")
    @blp.arguments(AcceptSchema)
    @blp.response(200, MeetingSchema)
    @blp.problems(404)
    def post(self, data, request_id: UUID):
        """Accept one proposed slot: the meeting is booked at a free spot. 409 `slot_taken`
        (one of you is busy then) or `no_spot_free`."""
        return booking.accept_request(
            db_session(), current_user(), request_id, slot=data["slot"], now=now()
        )


@blp.route("/meeting-requests/<uuid:request_id>/decline")
class DeclineRequest(MethodView):
    @blp.authenticated
    @blp.doc(operationId="declineMeetingRequest")
    @blp.response(204)
    @blp.problems(404)
    def post(self, request_id: UUID):
        """Decline (the recipient); final for this event, and the requester only sees
        `declined`."""
        requests.decline_request(db_session(), current_user(), request_id, now())


@blp.route("/meeting-requests/<uuid:request_id>/cancel")
class CancelRequest(MethodView):
    @blp.authenticated
    @blp.doc(operationId="cancelMeetingRequest")
    @blp.response(204)
    @blp.problems(404)
    def post(self, request_id: UUID):
        """Withdraw a pending request (the requester)."""
        requests.cancel_request(db_session(), current_user(), request_id, now())


@blp.route("/me/meetings")
class MyMeetings(MethodView):
    @blp.authenticated
    @blp.doc(operationId="listMeetings")
    @blp.arguments(MeetingListArgsSchema, location="query")
    @blp.response(200, MeetingPageSchema)
    @blp.problems(422)
    def get(self, args):
        """My meetings in time order (`booked`, `cancelled`, `held`)."""
        return booking.list_meetings(db_session(), current_user(), **args)


@blp.route("/meetings/<uuid:meeting_id>")
class MeetingItem(MethodView):
    @blp.authenticated
    @blp.doc(operationId="cancelMeeting")
    @blp.response(204)
    @blp.problems(404, 409)
    def delete(self, meeting_id: UUID):
        """Cancel a meeting (either person); 409 `meeting_held` once it took place."""
        booking.cancel_meeting(db_session(), current_user(), meeting_id, now())


@blp.route("/me/calendar-token")
class CalendarToken(MethodView):
    @blp.authenticated
    @blp.doc(operationId="rotateCalendarToken")
    @blp.response(200, CalendarTokenSchema)
    def post(self):
        """A new calendar feed URL; the previous one stops working."""
        token = calendar.rotate_feed_token(db_session(), current_user(), now())
        return {"url": calendar.feed_url(public_base_url(), token)}


@blp.route("/calendar/<string:feed_token>.ics")
class CalendarFeed(MethodView):
    @blp.doc(
        operationId="getCalendarFeed",
        security=[],
        parameters=[
            {
                "in": "path",
                "name": "feed_token",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 100},
            }
        ],
    )
    @blp.response(200, content_type="text/calendar", description="My booked meetings")
    @blp.problems(404)
    def get(self, feed_token: str):
        """My booked meetings as iCalendar; the token in the URL is the only credential."""
        body = calendar.calendar_for_token(db_session(), feed_token, now())
        return Response(
            body,
            mimetype="text/calendar",
            headers={"Cache-Control": "private, max-age=300"},
        )
