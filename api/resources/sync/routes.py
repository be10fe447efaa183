from flask.views import MethodView

from api.auth import current_user
from api.db import db_session, now
from api.errors import status_for
from api.extensions import Blueprint
from api.resources.sync.schemas import SyncBatchSchema, SyncResponseSchema
from services.checkin import sync
from services.checkin.checkins import BadgeScan
from services.core.errors import InvalidInput

blp = Blueprint("sync", __name__, url_prefix="/v1", description="Offline scan sync")

_SCAN_FIELDS = ("badge", "scanned_at", "session_id", "direction", "device_id", "client_scan_id")


def _queued(item: dict) -> sync.QueuedScan:
    scan = BadgeScan(**{name: item[name] for name in _SCAN_FIELDS if name in item})
    return sync.QueuedScan(
        kind=item["kind"], event_id=item["event_id"], scan=scan, note=item.get("note")
    )


def _result_body(outcome: sync.SyncOutcome) -> dict:
    base = {"client_scan_id": outcome.queued.scan.client_scan_id, "kind": outcome.queued.kind}
    if outcome.error is not None:
        error = outcome.error
        body = {
            **base,
            "status": error.reason,
            "reason": error.reason,
            "detail": error.detail,
            "http_status": status_for(error),
            "created": False,
        }
        if isinstance(error, InvalidInput) and error.errors:
            body["errors"] = error.errors
        return body
    result = outcome.result
    status = result.body["status"]
    if status == "already_connected":
        status = "connected"
    body = {
        **base,
        **result.body,
        "status": status,
        "created": result.created,
        "http_status": 201 if result.created else 200,
    }
    if result.replayed:
        body.update(status="duplicate", original_status=status, created=False)
    return body


@blp.route("/sync/scans")
class SyncScans(MethodView):
    @blp.authenticated
    @blp.arguments(SyncBatchSchema)
    @blp.response(200, SyncResponseSchema)
    def post(self, batch):
        """Apply up to 500 queued offline scans; one result per scan, in order.

        Each scan answers what the single endpoint would have (`checked_in`,
        `already_checked_in`, `connected`, or a refusal's `reason`); a scan whose
        `client_scan_id` was already applied answers `duplicate` and changes nothing.
        """
        outcomes = sync.sync_scans(
            db_session(),
            scanner=current_user(),
            scans=[_queued(item) for item in batch["scans"]],
            now=now(),
        )
        return {"results": [_result_body(outcome) for outcome in outcomes]}
