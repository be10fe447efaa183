from uuid import UUID

from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.resources.checkins.schemas import (
    CheckInResultSchema,
    CheckInScanSchema,
    ScanLogArgsSchema,
    ScanLogPageSchema,
)
from services.checkin import checkins

blp = Blueprint("checkins", __name__, url_prefix="/v1", description="Door and session check-in")


@blp.route("/events/<uuid:event_id>/check-ins")
class CheckIns(MethodView):
    @blp.authenticated
    @blp.arguments(CheckInScanSchema)
    @blp.response(201, CheckInResultSchema)
    @blp.alt_response(
        200,
        schema=CheckInResultSchema,
        description="Nothing new stored: already_checked_in / already_checked_out",
    )
    @blp.problems(403, 404, 409)
    def post(self, scan, event_id: UUID):
        """Scan a badge at the door or a session room (staff and organizers)."""
        result = checkins.scan_badge(
            db_session(),
            scanner=current_user(),
            event_id=event_id,
            scan=checkins.BadgeScan(**scan),
            now=now(),
        )
        return result.body, (201 if result.created else 200)

    @blp.authenticated
    @blp.arguments(ScanLogArgsSchema, location="query")
    @blp.response(200, ScanLogPageSchema)
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """The scan log for devices catching up: stored entries and exits (staff); with
        `since`, also the scans undone after it, as `undone` tombstones."""
        return checkins.scan_log(db_session(), current_user(), event_id, **args)


@blp.route("/check-ins/<uuid:check_in_id>")
class CheckInItem(MethodView):
    @blp.authenticated
    @blp.response(204)
    @blp.problems(403, 404, 409)
    def delete(self, check_in_id: UUID):
        """Undo a mistaken scan: its scanner within 15 minutes, or an organizer at any time."""
        checkins.undo_check_in(db_session(), current_user(), check_in_id, now())
