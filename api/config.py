"""Configuration: defaults, then the environment, then the caller's overrides (tests)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-not-secret"


def config_from_environment() -> dict[str, Any]:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    return {
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'instance' / 'wellspring.db'}"
        ),
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://{host}:{port}"),
        "HOST": host,
        "PORT": port,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", ""),
    }


API_SETTINGS: dict[str, Any] = {
    "API_TITLE": "Wellspring API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "v1/openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    "JSON_SORT_KEYS": False,
    # Failed logins: per account and per address; registration is generous per address
    # because a venue's Wi-Fi puts hundreds of people behind one IP.
    "LOGIN_FAILURES_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_FAILURES_PER_IP": "50 per 15 minutes",
    "REGISTRATIONS_PER_IP": "600 per minute",
    "RATELIMIT_HEADERS_ENABLED": True,
}
