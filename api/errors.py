"""Every error leaves as RFC 9457 problem+json: domain errors, HTTP errors, validation, crashes."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError

from api.extensions import PROBLEM_JSON, request_id
from services.core import errors as domain

log = logging.getLogger("wellspring.errors")

# Categories of domain errors → HTTP status. Services know nothing of these numbers.
STATUS_BY_CATEGORY: list[tuple[type[domain.DomainError], int]] = [
    (domain.NotAuthenticated, 401),
    (domain.PermissionDenied, 403),
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.PreconditionFailed, 412),
    (domain.PayloadTooLarge, 413),
    (domain.InvalidInput, 422),
    (domain.RateLimited, 429),
    (domain.Unavailable, 503),
    (domain.BadRequest, 400),
]


def status_for(error: domain.DomainError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 400


def problem(
    status: int,
    *,
    reason: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:wellspring:problem:{reason}",
        "title": title,
        "status": status,
        "detail": detail,
        "reason": reason,
        "request_id": request_id(),
    }
    body.update(extra or {})
    response = Response(json.dumps(body, default=str), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def domain_problem(error: domain.DomainError) -> Response:
    status = status_for(error)
    extra = dict(error.context)
    if isinstance(error, domain.InvalidInput) and error.errors:
        extra["errors"] = _flatten_validation({"json": error.errors})
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, error.retry_after))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(
        status,
        reason=error.reason,
        title=error.title,
        detail=error.detail,
        extra=extra,
        headers=headers,
    )


def _flatten_validation(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location ({"json": {...}, "query": {...}}) and by nested field
    ({"scans": {"3": {"badge": [...]}}}); clients get field → list of messages, a nested one
    prefixed with its path inside the field ("3.badge: Missing data for required field.")."""
    if not isinstance(messages, dict):
        return {"_request": _message_list(messages, "")}
    flat: dict[str, list[str]] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, value in fields.items():
                flat.setdefault(str(name), []).extend(_message_list(value, ""))
        else:
            flat[location] = _message_list(fields, "")
    return flat


def _message_list(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict):
        return [
            message
            for name, inner in value.items()
            for message in _message_list(inner, f"{prefix}{name}.")
        ]
    items = value if isinstance(value, list | tuple) else [value]
    label = f"{prefix[:-1]}: " if prefix else ""
    return [
        label + (item if isinstance(item, str) else json.dumps(item, default=str)) for item in items
    ]


_REASON_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
}


def http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return _internal_error(error)
    data = getattr(error, "data", None) or {}
    extra: dict[str, Any] = {}
    detail = error.description or error.name
    headers: dict[str, str] = {}
    if "messages" in data:
        extra["errors"] = _flatten_validation(data["messages"])
        if status == 422:
            detail = "The request did not pass validation; see errors."
        elif status == 400:
            detail = "The request body is not valid JSON."
    if isinstance(error, RateLimitExceeded):
        detail = "Too many attempts; try again later."
    if error.response is not None:
        headers.update(
            {k: v for k, v in error.response.headers.items() if k in ("Retry-After", "Allow")}
        )
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(
        status,
        reason=_REASON_BY_STATUS.get(status, "http_error"),
        title=error.name,
        detail=detail,
        extra=extra,
        headers=headers,
    )


def _internal_error(error: BaseException) -> Response:
    original = getattr(error, "original_exception", None) or error
    log.error("unhandled error (request_id=%s)", request_id(), exc_info=original)
    return problem(
        500,
        reason="internal_error",
        title="Internal Server Error",
        detail="Something went wrong on our side. Quote the request_id if you report it.",
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(domain.DomainError, domain_problem)
    app.register_error_handler(HTTPException, http_problem)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(Exception, _internal_error)
