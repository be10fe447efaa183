"""The Wellspring HTTP API: `create_app()` builds a configured Flask app."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, g, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from api.auth import init_auth
from api.config import (
    API_SETTINGS,
    PROJECT_ROOT,
    check_mail_settings,
    check_secret_key,
    config_from_environment,
    cors_origins,
    mail_from,
)
from api.db import Database, close_db_session
from api.errors import register_error_handlers
from api.extensions import Api, limiter
from api.limits import check_json_body, limit_body_size
from api.logs import configure_default_logging
from api.policy import EXTENSION as THROTTLE_POLICY
from api.policy import build_throttle_policy
from services.accounts import accounts
from services.accounts.revocations import revocation_set
from services.accounts.sessions import TokenAuthority
from services.accounts.tokens import AccessTokens
from services.core.clock import SystemClock
from services.core.db import make_engine
from services.core.errors import InvalidInput
from services.push.providers import PushConfig

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask("wellspring")
    app.config.update(API_SETTINGS)
    app.config.update(config_from_environment())
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    check_secret_key(app.config, debug=app.debug, testing=app.testing)
    check_mail_settings(app.config, debug=app.debug, testing=app.testing)
    app.config["MAIL_FROM"] = mail_from(app.config)
    configure_default_logging(app.config.get("LOG_LEVEL", "INFO"))

    if app.config.get("PASSWORD_HASH_PROFILE") == "fast":
        accounts.use_fast_password_hashing()
    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    app.extensions["wellspring.db"] = Database.for_engine(engine)
    app.extensions["wellspring.clock"] = app.config.get("CLOCK") or SystemClock()
    app.extensions[THROTTLE_POLICY] = build_throttle_policy(app.config)
    # Parsed at start: a malformed WEBPUSH_ENDPOINT_ALLOWLIST stops the app, not a request.
    app.extensions["wellspring.push_allowlist"] = PushConfig.from_mapping(app.config).allowlist()

    _register_request_id(app)
    app.after_request(set_safety_headers)
    _enable_cors_if_configured(app)
    _trust_configured_proxies(app)
    app.before_request(limit_body_size)
    app.before_request(check_json_body)
    app.before_request(reject_nul_characters)
    init_auth(app, build_token_authority(app.config))
    app.teardown_appcontext(close_db_session)

    api = build_api(app)
    app.extensions["wellspring.api"] = api
    from api.resources.links.routes import blp as links_blp

    app.register_blueprint(links_blp)
    _serve_docs_assets(app)
    register_error_handlers(app)
    limiter.init_app(app)
    if app.config.get("CHECK_ANSWERS"):
        _check_answers_against_spec(app, api)

    from api.cli import register_commands

    register_commands(app)
    return app


def build_token_authority(config: Mapping[str, Any]) -> TokenAuthority:
    return TokenAuthority(
        AccessTokens(config["SECRET_KEY"], int(config["ACCESS_TOKEN_TTL_SECONDS"])),
        revocation_set(
            config.get("TOKEN_REVOCATION_URL") or "",
            PROJECT_ROOT / "instance" / "revoked-sessions",
        ),
        timedelta(days=float(config["REFRESH_TOKEN_TTL_DAYS"])),
    )


def build_api(app: Flask) -> Api:
    from api.resources.accounts.routes import blp as accounts_blp
    from api.resources.badges.routes import blp as badges_blp
    from api.resources.checkins.routes import blp as checkins_blp
    from api.resources.contacts.routes import blp as contacts_blp
    from api.resources.events.routes import blp as events_blp
    from api.resources.followups.routes import blp as followups_blp
    from api.resources.health.routes import blp as health_blp
    from api.resources.meetings.routes import blp as meetings_blp
    from api.resources.messaging.routes import blp as messaging_blp
    from api.resources.offline.routes import blp as offline_blp
    from api.resources.push.routes import blp as push_blp
    from api.resources.stats.routes import blp as stats_blp
    from api.resources.sync.routes import blp as sync_blp

    api = Api(
        app,
        spec_kwargs={
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
            "info": {
                "description": "Check-in, contact exchange, follow-ups and stats for "
                "in-person networking events. Errors are RFC 9457 "
                "problem+json with a stable `reason`."
            },
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "The access_token from register or login",
        },
    )
    for blueprint in (
        health_blp,
        accounts_blp,
        events_blp,
        badges_blp,
        checkins_blp,
        contacts_blp,
        sync_blp,
    ):
        api.register_blueprint(blueprint)
    for blueprint in (
        messaging_blp,
        followups_blp,
        stats_blp,
        offline_blp,
        push_blp,
        meetings_blp,
    ):
        api.register_blueprint(blueprint)
    return api


def _serve_docs_assets(app: Flask) -> None:
    """/docs/assets/: Swagger UI's files from the installed swagger-ui-bundle package."""
    import swagger_ui_bundle
    from flask import send_from_directory

    folder = swagger_ui_bundle.swagger_ui_path

    @app.get("/docs/assets/<path:filename>")
    def docs_asset(filename: str):
        response = send_from_directory(folder, filename, max_age=86400)
        return response


def _check_answers_against_spec(app: Flask, api: Api) -> None:
    """Tests: every JSON answer is compared with its documented schema (required fields
    present, nulls only where nullable); disagreements collect in
    app.extensions["wellspring.answer_mismatches"] for the test fixture to report."""
    from api.contract import answer_mismatches

    found: list[str] = app.extensions.setdefault("wellspring.answer_mismatches", [])

    @app.after_request
    def compare_with_spec(response):
        if request.url_rule is None or not response.is_json or response.direct_passthrough:
            return response
        spec = app.extensions.get("wellspring.rendered_spec")
        if spec is None:
            spec = app.extensions["wellspring.rendered_spec"] = api.spec.to_dict()
        found.extend(
            answer_mismatches(
                spec,
                request.url_rule.rule,
                request.method,
                response.status_code,
                response.get_json(silent=True),
            )
        )
        return response


def schema_name(schema) -> str:
    """Component name: the class name without `Schema`; partial (PATCH) bodies get `Patch`."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


def _may_hold_nul(body: bytes) -> bool:
    """UTF-8 JSON can only carry NUL as the escape \\u0000; a body with neither that nor a
    zero byte (UTF-16 and UTF-32 have those) needs no walk through the parsed document."""
    return b"\\u0000" in body or b"\x00" in body


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def reject_nul_characters() -> None:
    """NUL can't be stored in PostgreSQL text; refuse it up front the same way on every DB."""
    in_query = any(_contains_nul(v) for v in request.args.values())
    in_body = request.is_json and _may_hold_nul(request.get_data(cache=True))
    in_body = in_body and _contains_nul(request.get_json(silent=True))
    if in_query or in_body:
        raise InvalidInput(
            "Text must not contain NUL characters",
            errors={"_request": ["Text must not contain NUL (\\u0000)."]},
        )


# What a browser app may send and read across origins (bearer auth, no cookies).
CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
CORS_EXPOSED_HEADERS = ["X-Request-ID", "Retry-After", "ETag", "Location"]


def _enable_cors_if_configured(app: Flask) -> None:
    """CORS stays off (no Access-Control-* headers at all) unless CORS_ORIGINS names origins."""
    origins = cors_origins(app.config.get("CORS_ORIGINS"))
    if not origins:
        return
    CORS(
        app,
        resources={r"/v1/*": {"origins": origins}},
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        supports_credentials=False,
        max_age=600,
    )


def _trust_configured_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT proxies, the client's address is the one they put in X-Forwarded-For
    (per-address rate limits need it); with no proxy configured the header is ignored."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def set_safety_headers(response):
    """`nosniff` on every answer (a JSON error must never be run as a script or styled page).
    Answers to an authenticated caller, and the token answers of register and login, are
    personal: no cache may keep them, unless the view chose its own caching (badge images)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    personal = "Authorization" in request.headers or request.path.startswith("/v1/auth/")
    if personal and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def _register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        return response
