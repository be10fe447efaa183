from flask.views import MethodView
from sqlalchemy import text

from api.db import db_session
from api.extensions import Blueprint
from api.schemas import StatusSchema
from services.core.errors import Unavailable
from services.core.migrations import is_at_head

blp = Blueprint("health", __name__, url_prefix="/v1", description="Liveness and readiness")


class NotReady(Unavailable):
    reason = "not_ready"
    title = "Not ready to serve"


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, StatusSchema)
    @blp.problems(503)
    def get(self):
        """Liveness: the process answers and the database is reachable."""
        try:
            db_session().execute(text("SELECT 1"))
        except Exception as exc:
            raise NotReady("The database is not reachable") from exc
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200, StatusSchema)
    @blp.problems(503)
    def get(self):
        """Readiness: the database is reachable and its schema is at the latest migration."""
        try:
            at_head = is_at_head(db_session().connection())
        except Exception as exc:
            raise NotReady("The database is not reachable") from exc
        if not at_head:
            raise NotReady("Database migrations are not at head; run `make migrate`")
        return {"status": "ok"}
