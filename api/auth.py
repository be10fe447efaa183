"""Bearer-token authentication for views.

The access token is checked without the database (signature, expiry, the revocation set every
process sees: services.accounts.sessions.TokenAuthority); then the user is read by primary key,
and an erased account is refused there too. `last_used_at` of the sign-in is written after the
answer, at most once a minute per sign-in and process.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime

from flask import Flask, current_app, g, request

from api.db import SAFE_METHODS, database, db_session, now
from services.accounts import accounts, sessions
from services.accounts.sessions import TokenAuthority
from services.accounts.tokens import AccessClaims
from services.core.errors import InvalidToken
from services.core.models import User

AUTHORITY = "wellspring.token_authority"
log = logging.getLogger("wellspring.auth")


def authority() -> TokenAuthority:
    return current_app.extensions[AUTHORITY]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken()
    return token


def load_user_from_token() -> User:
    claims = authority().check(bearer_token(), now())
    if request.method in SAFE_METHODS or not database().writer_locks_database:
        user = accounts.user_for_claims(db_session(), claims)
    else:
        # Read the user in a short read transaction of its own: on SQLite the request's
        # session would take the database's single write lock at its first statement and hold
        # it through the lookup and the body's validation; now it takes it only for the work.
        reader = database().read_session_factory()
        try:
            user = accounts.user_for_claims(reader, claims)
            reader.expunge_all()
        finally:
            reader.close()
        db_session().add(user)
    g.current_user = user
    g.current_claims = claims
    return user


def current_user() -> User:
    return g.current_user


def current_session_id() -> uuid.UUID:
    """The sign-in the request's access token names."""
    return g.current_claims.session_id


class LastUsedRecorder:
    """Moves a sign-in's `last_used_at` at most once a minute per process: after the answer,
    in a transaction of its own, so no request waits on it and a GET stays read-only."""

    def __init__(self) -> None:
        self._written: dict[uuid.UUID, datetime] = {}
        self._lock = threading.Lock()

    def due(self, session_id: uuid.UUID, moment: datetime) -> bool:
        with self._lock:
            last = self._written.get(session_id)
            if last is not None and abs(moment - last) < sessions.LAST_USED_PRECISION:
                return False
            if len(self._written) > 100_000:
                self._written.clear()
            self._written[session_id] = moment
            return True

    def record(self, _exc: BaseException | None = None) -> None:
        claims: AccessClaims | None = g.pop("current_claims", None)
        moment = now()
        if claims is None or not self.due(claims.session_id, moment):
            return
        try:
            with database().session_factory() as session:
                sessions.touch(session, claims.session_id, moment)
        except Exception:  # a busy database: the next minute will do
            log.warning("could not record the sign-in's last use", exc_info=True)


def init_auth(app: Flask, token_authority: TokenAuthority) -> None:
    """Call before the request's session closer is registered: teardowns run in reverse, so
    the last-use write comes after the request's session has let go of the database."""
    app.extensions[AUTHORITY] = token_authority
    app.teardown_appcontext(LastUsedRecorder().record)
