"""flask-smorest Api and Blueprint subclasses carrying our conventions, and the limiter."""

from __future__ import annotations

import functools
import http
import math
import time

import flask_smorest
from flask import g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest.utils import prepare_response

from api.limits import require_json_body
from api.schemas import ProblemSchema
from services.core.db import retrying_transient_conflicts

PROBLEM_JSON = "application/problem+json"
BEARER_AUTH = [{"bearerAuth": []}]


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, **kwargs):
        """flask-smorest's, then the contract's conventions (api/contract.py) on render."""
        super()._init_spec(**kwargs)
        from api import contract

        contract.install(self, self._app.config.get("PUBLIC_BASE_URL"))

    def _register_error_handlers(self):
        """api.errors registers the problem+json handlers instead of flask-smorest's."""

    def _register_responses(self):
        # Same as flask-smorest's, but errors are documented as application/problem+json.
        # The field rules go in first: registering the responses converts ProblemSchema.
        from api import contract

        self.ma_plugin.converter.add_attribute_function(contract.field_properties)
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


# A non-JSON answer (image, CSV, vCard) is bytes: documented so, a generated client returns them.
BINARY = {"type": "string", "format": "binary"}
JSON_TYPES = (None, "application/json", PROBLEM_JSON)
LOCATION_DOC = {
    "description": "Where the created resource can be read",
    "schema": {"type": "string", "format": "uri-reference"},
}


class Blueprint(flask_smorest.Blueprint):
    def response(
        self, status_code, schema=None, *, content_type=None, location: str | None = None, **kwargs
    ):
        """flask-smorest's, plus:
        - a non-JSON `content_type` without a schema is documented as bytes (the view returns
          a Response of that type);
        - `location`: a path template filled from the answer's fields
          (`location="/v1/events/{id}"`), sent as `Location` on this status and documented."""
        if schema is None and content_type not in JSON_TYPES:
            schema = BINARY
        if location:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Location": LOCATION_DOC}
        document = super().response(status_code, schema, content_type=content_type, **kwargs)
        if not location:
            return document

        def decorator(func):
            documented = document(func)

            @functools.wraps(documented)
            def wrapper(*args, **kw):
                response = documented(*args, **kw)
                if response.status_code == status_code and "Location" not in response.headers:
                    body = response.get_json(silent=True)
                    if isinstance(body, dict):
                        response.headers["Location"] = location.format_map(body)
                return response

            return wrapper

        return decorator

    def problems(self, *statuses: int):
        """Document the error answers a view can give, as problem+json."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=http.HTTPStatus(status).name)(func)
            return func

        return decorator

    def arguments(self, schema, *, location: str = "json", **kwargs):
        """flask-smorest's, plus a documented 400 (a body that is not JSON within the limits)
        and 415 (a body sent as another Content-Type, refused before it is parsed).

        A schema class is instantiated here, once: webargs would build a new instance (deep
        copies of every field) on every request."""
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse

        def decorator(func):
            parsed = parse(func)

            @functools.wraps(parsed)
            def json_only(*args, **kwargs):
                require_json_body()
                return parsed(*args, **kwargs)

            return self.problems(400, 415)(json_only)

        return decorator

    def authenticated(self, func):
        """Require a valid bearer token; the user is then `api.auth.current_user()`."""
        from api.auth import load_user_from_token
        from api.db import SAFE_METHODS, db_session
        from api.idempotency import HEADER_DOC, run_idempotently

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            load_user_from_token()
            if request.method in SAFE_METHODS:
                return func(*args, **kwargs)

            # Every write reruns from the start when PostgreSQL undid it for a deadlock or a
            # serialization failure (services/core/db.py: the lock order, the retry).
            def view():
                # The session is looked up here: an Idempotency-Key swaps in an atomic one.
                return retrying_transient_conflicts(db_session(), lambda: func(*args, **kwargs))

            if request.method == "POST":
                return run_idempotently(view)
            return view()

        if func.__name__ == "post":
            # Every authenticated POST takes an Idempotency-Key (409 in flight, 422 reused).
            wrapper = self.doc(parameters=[HEADER_DOC])(wrapper)
            wrapper = self.problems(409, 422)(wrapper)
        wrapper = self.doc(security=BEARER_AUTH)(wrapper)
        return self.problems(401)(wrapper)


def _remote_address() -> str:
    return get_remote_address() or "unknown"


limiter = Limiter(key_func=_remote_address, default_limits=[])
remote_address = _remote_address


def enforce_limit(spec: str, name: str, *identifiers: str) -> None:
    """Count one request against `spec` (e.g. "5 per hour") for these identifiers, atomically
    before the work; over it → 429 with Retry-After. Identifiers that are personal (an email)
    are passed as digests."""
    from limits import parse

    from services.core.errors import RateLimited

    item = parse(spec)
    if not limiter.limiter.hit(item, name, *identifiers):
        reset_at, _remaining = limiter.limiter.get_window_stats(item, name, *identifiers)
        raise RateLimited(
            "Too many requests of this kind; try again later",
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )


def request_id() -> str:
    return getattr(g, "request_id", "-")
