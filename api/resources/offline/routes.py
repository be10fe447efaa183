from uuid import UUID

from flask import Response, request, stream_with_context
from flask.views import MethodView

from api.auth import current_user
from api.db import database, db_session, now
from api.extensions import Blueprint
from api.policy import throttle_policy
from api.resources.offline.schemas import (
    ChangesSchema,
    PullArgsSchema,
    PullSchema,
    PushArgsSchema,
    ScannerKitArgsSchema,
    ScannerKitSchema,
)
from services.offline import pull, push, scanner_kit

blp = Blueprint(
    "offline",
    __name__,
    url_prefix="/v1",
    description="Offline-first sync (WatermelonDB's pull/push protocol) and the door scanner kit",
)


@blp.route("/sync/pull")
class SyncPull(MethodView):
    @blp.authenticated
    @blp.arguments(PullArgsSchema, location="query")
    @blp.response(200, PullSchema)
    @blp.doc(operationId="pullSyncChanges")
    @blp.problems(422)
    def get(self, args):
        """Your world's changes since `last_pulled_at` (all of it on a first pull), streamed.

        Every table appears. First pull: rows in `created`; later: created or changed rows in
        `updated` (set `sendCreatedAsUpdated`), rows gone from your world in `deleted`. A change
        is in the first pull whose `timestamp` is after it.
        """
        user_id = current_user().id
        db = database()
        # The pull reads from a snapshot of its own and stores its watermark in a short write
        # transaction; the request's session (it authenticated the caller) is done.
        db_session().close()
        pieces = pull.pull_changes(
            db.read_session_factory,
            db.session_factory,
            user_id,
            last_pulled_at=args.get("last_pulled_at"),
            schema_version=args["schema_version"],
        )
        # The request's own session closes only after the last piece is sent.
        return Response(stream_with_context(pieces), mimetype="application/json")


@blp.route("/sync/push")
class SyncPush(MethodView):
    @blp.authenticated
    @blp.arguments(PushArgsSchema, location="query")
    @blp.arguments(ChangesSchema)
    @blp.response(204)
    @blp.doc(operationId="pushSyncChanges")
    @blp.problems(409, 422)
    def post(self, args, _changes):
        """Apply the phone's changes, all or nothing.

        Allowed: contacts.updated (note, tags), messages.updated (read_at of received
        messages), follow_ups.updated (body, send_at, status `cancelled`), follow_ups.deleted,
        profile.updated (profile fields). A record changed on the server after
        `last_pulled_at` → 409 `sync_conflict` (pull, then push again); anything else → 422
        `sync_not_allowed` naming table and column; a follow-up the policy refuses → 422 with
        its reason. Either way nothing is applied.
        """
        push.push_changes(
            db_session(),
            current_user(),
            request.get_json(),  # the raw rows: WatermelonDB columns are checked by the service
            last_pulled_at=args["last_pulled_at"],
            now=now(),
            policy=throttle_policy(),
        )


@blp.route("/events/<uuid:event_id>/scanner-kit")
class ScannerKit(MethodView):
    @blp.authenticated
    @blp.arguments(ScannerKitArgsSchema, location="query")
    @blp.response(200, ScannerKitSchema)
    @blp.doc(operationId="getScannerKit")
    @blp.problems(403, 404)
    def get(self, args, event_id: UUID):
        """What a door phone needs to judge badges offline (staff): live badges by digest,
        revoked digests, and the `timestamp` to ask `since` next time."""
        staff = current_user()
        db = database()
        db_session().close()  # as for the pull: the kit reads from a snapshot of its own
        return scanner_kit.scanner_kit(
            db.read_session_factory,
            db.session_factory,
            staff,
            event_id,
            since=args.get("since"),
        )
