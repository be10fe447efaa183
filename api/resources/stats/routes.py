from uuid import UUID

from flask import Response, stream_with_context
from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.extensions import Blueprint
from api.resources.stats.schemas import EventStatsSchema, StatsArgsSchema
from services.checkin import check_in_export
from services.stats import stats

blp = Blueprint(
    "stats",
    __name__,
    url_prefix="/v1",
    description="Organizer stats: attendance, arrivals, sessions, networking; CSV and chart",
)

# Live figures: a browser or proxy must not serve yesterday's numbers.
NO_STORE = {"Cache-Control": "no-store"}


@blp.route("/events/<uuid:event_id>/stats")
class EventStats(MethodView):
    @blp.authenticated
    @blp.arguments(StatsArgsSchema, location="query")
    @blp.response(200, EventStatsSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """Attendance, arrivals, session fill and networking aggregates (organizers and staff)."""
        result = stats.event_stats(
            db_session(), current_user(), event_id, now=now(), bucket_minutes=args["bucket"]
        )
        return result, 200, NO_STORE


@blp.route("/events/<uuid:event_id>/check-ins.csv")
class CheckInsCsv(MethodView):
    @blp.authenticated
    @blp.response(
        200,
        content_type="text/csv",
        description="RFC 4180 CSV (UTF-8, CRLF): a header row, then one row per stored scan "
        "(entry or exit, door or session; undone scans left out) in scan time order. Times "
        "are local to the event's zone, to the second, with their UTC offset "
        "(2026-10-25T02:10:00+02:00). Text typed by people that a spreadsheet would run as a "
        "formula is prefixed with an apostrophe. Columns: "
        + ", ".join(check_in_export.CSV_HEADER)
        + ".",
        headers={"Content-Disposition": {"schema": {"type": "string"}}},
    )
    @blp.problems(403, 404)
    def get(self, event_id: UUID):
        """The check-in log as CSV, streamed (organizers and staff)."""
        # The stream asks db_session for its session again: Flask closes the view's one when
        # the view returns, before the body is read.
        chunks = check_in_export.check_ins_csv(db_session, current_user(), event_id)
        return Response(
            stream_with_context(chunks),
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="check-ins-{event_id}.csv"',
                **NO_STORE,
            },
        )


@blp.route("/events/<uuid:event_id>/stats/arrivals.png")
class ArrivalsChart(MethodView):
    @blp.authenticated
    @blp.arguments(StatsArgsSchema, location="query")
    @blp.response(
        200,
        content_type="image/png",
        description="Arrivals per bucket and checked in so far, on the event's local clock, "
        "with the registered and checked-in totals",
    )
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """The arrival curve as a PNG chart (organizers and staff)."""
        image = stats.arrivals_chart_png(
            db_session(), current_user(), event_id, now=now(), bucket_minutes=args["bucket"]
        )
        return Response(image, mimetype="image/png", headers=NO_STORE)
