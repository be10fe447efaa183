"""The Idempotency-Key header, for every authenticated POST (one mechanism, no per-view code)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Response, request

from api.auth import current_user
from api.db import db_session, now
from services.core import idempotency
from services.core.errors import InvalidInput

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEPT_HEADERS = ("Content-Type", "ETag", "Location")

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _KEY_SHAPE.pattern},
    "description": "Makes a retry safe: the same key and body within 24 h return the "
    "first answer; another body → 422; while the first still runs → 409",
}


def run_idempotently(view: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return view()
    if not _KEY_SHAPE.match(key):
        raise InvalidInput(errors={HEADER: ["1 to 255 visible ASCII characters."]})
    session = db_session()
    claim = idempotency.claim_key(
        session,
        current_user(),
        scope=f"{request.method} {request.path}",
        key=key,
        request_fingerprint=idempotency.fingerprint(
            request.method, request.path, request.get_data()
        ),
        now=now(),
    )
    if claim.stored is not None:
        stored = claim.stored
        return Response(
            stored.body, status=stored.status, headers={**stored.headers, REPLAYED_HEADER: "true"}
        )
    try:
        response = view()
    except BaseException:
        idempotency.release_key(session, claim.record_id)
        raise
    if 200 <= response.status_code < 300:
        idempotency.store_response(
            session,
            claim.record_id,
            idempotency.StoredResponse(
                response.status_code,
                response.get_data(as_text=True),
                {
                    name: response.headers[name]
                    for name in _KEPT_HEADERS
                    if name in response.headers
                },
            ),
        )
    else:
        idempotency.release_key(session, claim.record_id)
    return response
