"""The Idempotency-Key header, for every authenticated POST (one mechanism, no per-view code)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Response, request

from api.auth import current_user
from api.db import begin_atomic_request, database, end_request_session, now
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
    """Run a POST under its Idempotency-Key: claim the key (its own transaction), then do the
    work and store its answer in one transaction, so a request killed half-way leaves nothing
    done and a retry does it once (services/core/idempotency.py)."""
    key = request.headers.get(HEADER)
    if key is None:
        return view()
    if not _KEY_SHAPE.match(key):
        raise InvalidInput(errors={HEADER: ["1 to 255 visible ASCII characters."]})
    end_request_session()  # before the claim: the claim and the work stand on their own
    claims = database().session_factory()
    try:
        claim = idempotency.claim_key(
            claims,
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
                stored.body,
                status=stored.status,
                headers={**stored.headers, REPLAYED_HEADER: "true"},
            )
        atomic = begin_atomic_request()
        try:
            response = view()
            succeeded = 200 <= response.status_code < 300
            if succeeded:
                idempotency.store_response(atomic.session, claim, _stored(response))
                atomic.commit()
        except BaseException:
            atomic.close()  # first: on SQLite its connection holds the write lock
            idempotency.release_key(claims, claim)
            raise
        atomic.close()
        if not succeeded:
            idempotency.release_key(claims, claim)
        return response
    finally:
        claims.close()


def _stored(response: Response) -> idempotency.StoredResponse:
    return idempotency.StoredResponse(
        response.status_code,
        response.get_data(as_text=True),
        {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers},
    )
