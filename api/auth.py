"""Bearer-token authentication for views."""

from __future__ import annotations

from flask import g, request

from api.db import SAFE_METHODS, database, db_session
from services.accounts import accounts
from services.core.errors import InvalidToken
from services.core.models import AccessToken, User


def load_user_from_token() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    if request.method in SAFE_METHODS or not database().writer_locks_database:
        user, access = accounts.user_for_token(db_session(), token.strip())
    else:
        # Look the token up in a short read transaction of its own: on SQLite the request's
        # session would take the database's single write lock at its first statement and hold
        # it through the lookup and the body's validation; now it takes it only for the work.
        # (On PostgreSQL that second transaction would only cost a connection and 3 round trips.)
        reader = database().read_session_factory()
        try:
            user, access = accounts.user_for_token(reader, token.strip())
            reader.expunge_all()
        finally:
            reader.close()
        session = db_session()
        session.add(access)
        session.add(user)
    g.current_user = user
    g.current_access_token = access
    return user


def current_user() -> User:
    return g.current_user


def current_access_token() -> AccessToken:
    return g.current_access_token
