from uuid import UUID

from flask import Response, request
from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now, public_base_url
from api.extensions import Blueprint
from api.resources.events.routes import registration_view
from api.resources.events.schemas import RegistrationSchema
from api.resources.meetings.schemas import RegistrationChangesSchema
from services.events import badges, events
from services.meetings import tags

blp = Blueprint(
    "badges",
    __name__,
    url_prefix="/v1",
    description="A registration, its badge QR and its rotation",
)

# The phone keeps the image for an hour and revalidates with the ETag after that.
BADGE_CACHE_CONTROL = "private, max-age=3600"


def _badge_response(registration_id: UUID, fmt: str) -> Response:
    registration = badges.owned_registration(db_session(), current_user(), registration_id)
    image = badges.render_badge(registration, public_base_url(), fmt)
    etag = f'"{image.etag}"'
    headers = {"ETag": etag, "Cache-Control": BADGE_CACHE_CONTROL}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(image.content, mimetype=image.mimetype, headers=headers)


@blp.route("/registrations/<uuid:registration_id>")
class RegistrationItem(MethodView):
    @blp.authenticated
    @blp.response(200, RegistrationSchema)
    @blp.problems(403, 404)
    def get(self, registration_id: UUID):
        """A registration (its attendee or an organizer)."""
        return registration_view(
            events.registration_for_owner_or_organizer(
                db_session(), current_user(), registration_id
            )
        )

    @blp.authenticated
    @blp.doc(operationId="updateRegistration")
    @blp.arguments(RegistrationChangesSchema)
    @blp.response(200, RegistrationSchema)
    @blp.problems(403, 404, 409)
    def patch(self, changes, registration_id: UUID):
        """Change my registration: `discoverable` opts in to recommendations and to meeting
        requests from people who are not my contacts (the attendee only)."""
        registration = tags.set_discoverable(
            db_session(), current_user(), registration_id, now=now(), **changes
        )
        return registration_view(registration)

    @blp.authenticated
    @blp.response(204)
    @blp.problems(403, 404)
    def delete(self, registration_id: UUID):
        """Cancel a registration (its attendee or an organizer); the badge stops scanning."""
        events.cancel_registration(db_session(), current_user(), registration_id, now())


def _documented_badge(content_type: str, description: str):
    """The decorators both badge formats share: auth, the image answer, 304 and errors."""

    def decorate(func):
        for decorator in reversed(
            (
                blp.authenticated,
                blp.response(
                    200,
                    content_type=content_type,
                    description=description,
                    headers={
                        "ETag": {"schema": {"type": "string"}},
                        "Cache-Control": {"schema": {"type": "string"}},
                    },
                ),
                blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)"),
                blp.problems(404, 409),
            )
        ):
            func = decorator(func)
        return func

    return decorate


@blp.route("/registrations/<uuid:registration_id>/badge.png")
class BadgePng(MethodView):
    @_documented_badge("image/png", "QR code PNG")
    def get(self, registration_id: UUID):
        """The badge QR as PNG (its attendee only); encodes <PUBLIC_BASE_URL>/b/<badge_code>."""
        return _badge_response(registration_id, "png")


@blp.route("/registrations/<uuid:registration_id>/badge.svg")
class BadgeSvg(MethodView):
    @_documented_badge("image/svg+xml", "QR code SVG")
    def get(self, registration_id: UUID):
        """The badge QR as SVG (its attendee only)."""
        return _badge_response(registration_id, "svg")


@blp.route("/registrations/<uuid:registration_id>/badge/rotate")
class BadgeRotate(MethodView):
    @blp.authenticated
    @blp.response(200, RegistrationSchema)
    @blp.problems(403, 404, 409)
    def post(self, registration_id: UUID):
        """Issue a new badge code (attendee or organizer); the old code scans as badge_revoked."""
        return registration_view(
            events.rotate_badge(db_session(), current_user(), registration_id, now())
        )
