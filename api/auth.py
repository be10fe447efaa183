"""Bearer-token authentication for views."""

from __future__ import annotations

from flask import g, request

from api.db import db_session
from services import accounts
from services.errors import InvalidToken
from services.models import AccessToken, User


def load_user_from_token() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    user, access = accounts.user_for_token(db_session(), token.strip())
    g.current_user = user
    g.current_access_token = access
    return user


def current_user() -> User:
    return g.current_user


def current_access_token() -> AccessToken:
    return g.current_access_token
