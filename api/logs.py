"""JSON logs: one object per line, with the request id on every line written inside a request.

Used by gunicorn (`logconfig_dict` in gunicorn.conf.py, so its own error and access logs are JSON
too) and by `create_app` when nothing configured logging before it (the `flask` CLI, a bare WSGI
server). The request id is the one the API echoes in `X-Request-ID` and writes into every error
body, so a client's bug report leads straight to the server's lines.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

# Fields every line starts with, in this order; a record's `extra=` fields follow.
_LEADING_FIELDS = ("timestamp", "level", "logger", "message")


def _iso(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


# Anything shaped like an email address, wherever it turns up in a line: the limiter's keys,
# a database error quoting a duplicate email, a third-party library's message.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
REDACTED_EMAIL = "<email>"


def redact_emails(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub(REDACTED_EMAIL, value)
    if isinstance(value, dict):
        return {key: redact_emails(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_emails(item) for item in value]
    return value


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(_LibraryJsonFormatter):
    """`{"timestamp", "level", "logger", "message", "request_id"?, ...extra, "exc_info"?}`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "reserved_attrs", [*RESERVED_ATTRS, "taskName", *_LEADING_FIELDS, "request_id"]
        )
        super().__init__(**kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = _iso(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message  # set by format() before add_fields
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            log_data["request_id"] = request_id
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """No email address leaves in a log line (logs are kept longer and read more widely
        than the database; an address there outlives the account's erasure)."""
        return redact_emails(super().process_log_record(log_data))


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access log: gunicorn passes its log atoms as the record's args (a mapping).

    The query string is not logged, only its parameter names: its values are search terms
    (`/v1/contacts?q=<a name>`), cursors and filters, which say what a person looked for."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        atoms = record.args if isinstance(record.args, Mapping) else None
        if atoms is None:
            super().add_fields(log_data, record, message_dict)
            return

        def atom(key: str) -> Any:
            value = atoms[key]
            # gunicorn escapes quotes for its Apache-style format; JSON does its own escaping.
            return value.replace('\\"', '"') if isinstance(value, str) else value

        path = atom("U")
        query = atom("q")
        status = atom("s")
        log_data["timestamp"] = _iso(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = f"{atom('m')} {path} {status}"
        request_id = atom("{x-request-id}o")
        if request_id and request_id != "-":
            log_data["request_id"] = request_id
        log_data.update(
            {
                "method": atom("m"),
                "path": path,
                "query_params": _parameter_names(query),
                "status": int(status) if str(status).isdigit() else status,
                "duration_ms": round(atom("D") / 1000, 3) if isinstance(atom("D"), int) else None,
                "bytes": atom("B"),
                "remote_addr": atom("h"),
                "user_agent": atom("a"),
                "pid": record.process,
            }
        )


def _parameter_names(query: Any) -> list[str] | None:
    if not query or not isinstance(query, str):
        return None
    names = [part.split("=", 1)[0] for part in query.split("&") if part]
    return sorted(set(names)) or None


def logging_config(
    level: str = "INFO", *, access_log: bool = True, server: bool = True
) -> dict[str, Any]:
    """A `logging.config.dictConfig` document: everything to stdout as JSON lines.

    In a server, Alembic's chatter (each `/v1/ready` probe reads the migration state) is muted;
    the `flask migrate` command keeps its "Running upgrade" lines.
    """
    alembic_level = "WARNING" if server else level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "api.logs.JsonFormatter"},
            "access": {"()": "api.logs.AccessJsonFormatter"},
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "handlers": ["access"],
                "propagate": False,
            },
            "alembic": {"level": alembic_level},
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }


def configure_default_logging(level: str = "INFO") -> None:
    """JSON logs on stdout, unless the host (gunicorn, pytest) configured logging already."""
    if not logging.getLogger().handlers:
        logging.config.dictConfig(logging_config(level, server=False))
