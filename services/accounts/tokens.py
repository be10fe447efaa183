"""Access tokens: signed, short-lived, naming the sign-in (session) they belong to.

An access token is a JWT (HS256) with `sub` (user id), `sid` (session id), `iat`, `exp` and
`typ: "access"`, signed with a key derived from SECRET_KEY (never SECRET_KEY itself). Checking
one costs a signature check and a look into the revocation set (services.accounts.revocations):
no database read. Expiry is judged against the app's clock, not the machine's, so tests move time.

Refresh tokens are the opposite: 256 random bits, stored only as SHA-256 digests, looked up and
used up in the database (services.accounts.sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

from services.core.errors import InvalidToken, TokenExpired

ALGORITHM = "HS256"
TOKEN_TYPE = "access"
_KEY_LABEL = b"wellspring access tokens v1"
_REQUIRED = ["exp", "iat", "sub", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: int  # epoch seconds


class AccessTokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.ttl_seconds = int(ttl_seconds)

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str:
        issued = int(now.timestamp())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued,
            "exp": issued + self.ttl_seconds,
            "typ": TOKEN_TYPE,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """The token's claims; InvalidToken when forged, garbled or not an access token,
        TokenExpired when it was good but its time is up."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_iat": False, "require": _REQUIRED},
            )
            user_id = uuid.UUID(claims["sub"])
            session_id = uuid.UUID(claims["sid"])
            expires_at = int(claims["exp"])
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken() from exc
        if claims.get("typ") != TOKEN_TYPE:
            raise InvalidToken()
        if now.timestamp() >= expires_at:
            raise TokenExpired()
        return AccessClaims(user_id, session_id, expires_at)
