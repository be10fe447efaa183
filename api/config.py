"""Configuration: defaults, then the environment, then the caller's overrides (tests)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.limits import DEFAULT_MAX_CONTENT_LENGTH, DEFAULT_SYNC_MAX_CONTENT_LENGTH
from services.mail.transport import InvalidSmtpUrl, SmtpSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-not-secret"
MIN_SECRET_KEY_LENGTH = 32
DEVELOPMENT = "development"
PRODUCTION = "production"


PUSH_SETTINGS = (
    "APNS_KEY_FILE",
    "APNS_KEY_ID",
    "APNS_TEAM_ID",
    "APNS_TOPIC",
    "APNS_ENDPOINT",
    "FCM_CREDENTIALS_FILE",
    "FCM_PROJECT_ID",
    "FCM_ENDPOINT",
    "VAPID_PRIVATE_KEY_FILE",
    "VAPID_SUBJECT",
    "WEBPUSH_ENDPOINT_ALLOWLIST",
    "PUSH_TIMEOUT",
)


class InsecureConfiguration(RuntimeError):
    """Raised at startup: the app refuses to serve with settings only fit for a laptop."""


def default_environment() -> str:
    """`WELLSPRING_ENV` when set. Otherwise a command typed at the `flask` command line (the
    worker, migrate, seed-demo) is taken for a laptop, and anything else (gunicorn started by
    hand, a container) for production. `make serve` and `make worker` say production."""
    if "WELLSPRING_ENV" in os.environ:
        return os.environ["WELLSPRING_ENV"]
    return DEVELOPMENT if os.environ.get("FLASK_RUN_FROM_CLI") == "true" else PRODUCTION


def config_from_environment() -> dict[str, Any]:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    return {
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'instance' / 'wellspring.db'}"
        ),
        # `make run` says development; gunicorn started by hand, a container, is production
        # until told otherwise, so a forgotten SECRET_KEY or SMTP_URL stops the start.
        "WELLSPRING_ENV": default_environment(),
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://{host}:{port}"),
        "HOST": host,
        "PORT": port,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", ""),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # Badge links (/b/<code>) and the files that let them open the app.
        "IOS_APP_IDS": os.environ.get("IOS_APP_IDS", ""),
        "ANDROID_APP_PACKAGE": os.environ.get("ANDROID_APP_PACKAGE", ""),
        "ANDROID_CERT_SHA256": os.environ.get("ANDROID_CERT_SHA256", ""),
        "APP_STORE_URL": os.environ.get("APP_STORE_URL", ""),
        "PLAY_STORE_URL": os.environ.get("PLAY_STORE_URL", ""),
        # Push providers (docs/push-notifications.md); a provider missing any is not used.
        **{name: os.environ.get(name) for name in PUSH_SETTINGS},
        # Request bodies (api/limits.py, docs/limits.md): 413 above these, unread.
        "MAX_CONTENT_LENGTH": int(
            os.environ.get("MAX_CONTENT_LENGTH", str(DEFAULT_MAX_CONTENT_LENGTH))
        ),
        "SYNC_MAX_CONTENT_LENGTH": int(
            os.environ.get("SYNC_MAX_CONTENT_LENGTH", str(DEFAULT_SYNC_MAX_CONTENT_LENGTH))
        ),
        # An event's span, from start to end (create and update): 422 above it.
        "MAX_EVENT_DAYS": int(os.environ.get("MAX_EVENT_DAYS", "31")),
        # How long a pull's watermark is kept (a phone silent longer gets a longer answer).
        "SYNC_LOG_RETENTION_DAYS": float(os.environ.get("SYNC_LOG_RETENTION_DAYS", "30")),
        "ACCESS_TOKEN_TTL_SECONDS": int(os.environ.get("ACCESS_TOKEN_TTL_SECONDS", "3600")),
        "REFRESH_TOKEN_TTL_DAYS": float(os.environ.get("REFRESH_TOKEN_TTL_DAYS", "60")),
        # Where revoked sign-ins are shared: a file every process on this machine reads
        # (default), or redis://… for processes on several machines.
        "TOKEN_REVOCATION_URL": os.environ.get(
            "TOKEN_REVOCATION_URL", str(PROJECT_ROOT / "instance" / "revoked-sessions")
        ),
        "SMTP_URL": os.environ.get("SMTP_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "MAIL_DIR": os.environ.get("MAIL_DIR", str(PROJECT_ROOT / "instance" / "mail")),
    }


def check_secret_key(config: dict[str, Any], *, debug: bool, testing: bool) -> None:
    """Refuse the development SECRET_KEY (or a short one) outside development, debug and tests."""
    if debug or testing or config.get("WELLSPRING_ENV") == DEVELOPMENT:
        return
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_KEY_LENGTH:
        raise InsecureConfiguration(
            "Refusing to start: SECRET_KEY is unset, the development default, or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters. Set SECRET_KEY to a random value, e.g. "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`, or set "
            "WELLSPRING_ENV=development on a laptop (`make run` does)."
        )


def check_mail_settings(config: dict[str, Any], *, debug: bool, testing: bool) -> None:
    """In production, mail must reach people: refuse to start without SMTP_URL (development
    writes `.eml` files instead). A malformed SMTP_URL is refused everywhere."""
    url = config.get("SMTP_URL") or ""
    if url:
        try:
            SmtpSettings.from_url(url)
        except InvalidSmtpUrl as exc:
            raise InsecureConfiguration(f"Refusing to start: {exc}") from exc
        return
    if debug or testing or config.get("WELLSPRING_ENV") == DEVELOPMENT:
        return
    raise InsecureConfiguration(
        "Refusing to start: SMTP_URL is unset, so no mail (email verification, password "
        "reset, staff invitations) could leave. Set SMTP_URL to smtp://host:25, "
        "smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465, or set "
        "WELLSPRING_ENV=development on a laptop (mail is then written to instance/mail/)."
    )


def mail_from(config: dict[str, Any]) -> str:
    """MAIL_FROM, or no-reply at the host of PUBLIC_BASE_URL."""
    if config.get("MAIL_FROM"):
        return config["MAIL_FROM"]
    host = urlsplit(config.get("PUBLIC_BASE_URL") or "").hostname or "localhost"
    return f"Wellspring <no-reply@{host}>"


def cors_origins(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """CORS_ORIGINS as a list: a comma-separated string from the environment, or a list."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]


API_SETTINGS: dict[str, Any] = {
    "API_TITLE": "Wellspring API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "v1/openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Swagger UI's files come from the swagger-ui-bundle package, served by the app: /docs
    # works offline and loads nothing from elsewhere.
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    "JSON_SORT_KEYS": False,
    # Failed logins: per account and per address; registration is generous per address
    # because a venue's Wi-Fi puts hundreds of people behind one IP.
    # Per account: every attempt counted before checking (services/accounts/login_limits.py).
    "LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS": 5,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "LOGIN_ACCOUNT_SLOWDOWN_AFTER": 10,
    "LOGIN_ACCOUNT_MAX_DELAY_SECONDS": 60,
    "LOGIN_FAILURES_PER_ADDRESS": 50,
    "REFRESHES_PER_IP": "600 per minute",
    "TOKEN_CHECKS_PER_IP": "30 per 15 minutes",
    "VERIFICATION_MAILS_PER_ACCOUNT": "3 per hour",
    "PASSWORD_RESETS_PER_IP": "20 per hour",
    "PASSWORD_RESETS_PER_EMAIL": "3 per hour",
    "REGISTRATIONS_PER_IP": "600 per minute",
    # A badge link page per address: people open a few; a script guessing codes opens many.
    "BADGE_PAGE_PER_IP": "120 per minute",
    "RATELIMIT_HEADERS_ENABLED": True,
}
