"""Sign-ins (sessions): refresh-token rotation with reuse detection, listing and revoking.

A sign-in is an `auth_sessions` row. Each refresh uses up its refresh token (a
`refresh_tokens` row: `used_at` set under a row lock) and issues the next one; presenting a
used one again means two parties hold the same sign-in, so the whole sign-in is revoked (the
"token family" rule of the OAuth 2.0 Security BCP) and both must sign in again. Two refreshes
racing with one token: the second waits for the first's row lock, then reads `used_at` set.

Access tokens (services.accounts.tokens) name the sign-in; revoking it publishes its id to the
revocation set (services.accounts.revocations) before the row is marked, so it takes effect
on the next request in every process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts.revocations import RevocationSet
from services.accounts.tokens import AccessClaims, AccessTokens
from services.core.errors import InvalidToken, NotFound, RefreshTokenReused
from services.core.models import AuthSession, RefreshToken, User
from services.core.secret_tokens import digest, new_secret_token
from services.push import devices as push_devices

# `last_used_at` is written at most this often per sign-in and process, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)
USER_AGENT_MAX = 255


@dataclass
class TokenAuthority:
    """What signs and checks tokens for one app (built at startup from its config)."""

    access: AccessTokens
    revocations: RevocationSet
    refresh_ttl: timedelta

    def check(self, token: str, now: datetime) -> AccessClaims:
        """An access token's claims, or InvalidToken / TokenExpired. No database read."""
        claims = self.access.verify(token, now)
        if self.revocations.is_revoked(claims.session_id):
            raise InvalidToken()
        return claims

    def publish_revoked(self, session_ids: Iterable[uuid.UUID]) -> None:
        self.revocations.revoke(list(session_ids), self.access.ttl_seconds)


@dataclass
class Issued:
    """The tokens a client holds for one sign-in."""

    user: User
    session_id: uuid.UUID
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


def _clip(user_agent: str | None) -> str | None:
    return user_agent[:USER_AGENT_MAX] if user_agent else None


def _new_refresh_token(session: Session, sign_in: AuthSession, now: datetime) -> str:
    token = new_secret_token()
    session.add(RefreshToken(session_id=sign_in.id, token_hash=digest(token), created_at=now))
    return token


def start(
    session: Session,
    authority: TokenAuthority,
    user: User,
    now: datetime,
    user_agent: str | None = None,
) -> Issued:
    """A new sign-in for `user`, in the caller's transaction (the caller commits)."""
    sign_in = AuthSession(
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        user_agent=_clip(user_agent),
        refresh_expires_at=now + authority.refresh_ttl,
    )
    session.add(sign_in)
    session.flush()
    refresh_token = _new_refresh_token(session, sign_in, now)
    return Issued(
        user,
        sign_in.id,
        authority.access.issue(user.id, sign_in.id, now),
        refresh_token,
        authority.access.ttl_seconds,
    )


def refresh(
    session: Session,
    authority: TokenAuthority,
    refresh_token: str,
    now: datetime,
    user_agent: str | None = None,
) -> Issued:
    """Use up `refresh_token` and issue the next pair; commits."""
    row = session.execute(
        select(RefreshToken, AuthSession)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == digest(refresh_token))
        .with_for_update(of=RefreshToken)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        session.rollback()
        raise InvalidToken("Unknown or expired refresh token")
    used, sign_in = row
    if used.used_at is not None:
        if sign_in.revoked_at is None:
            revoke(session, authority, [sign_in], now, "refresh_token_reused")
        session.commit()
        raise RefreshTokenReused()
    user = session.get(User, sign_in.user_id)
    if (
        sign_in.revoked_at is not None
        or sign_in.refresh_expires_at <= now
        or user is None
        or user.deleted_at is not None
        or authority.revocations.is_revoked(sign_in.id)
    ):
        session.rollback()
        raise InvalidToken("Unknown or expired refresh token")
    used.used_at = now
    sign_in.last_used_at = now
    sign_in.refresh_expires_at = now + authority.refresh_ttl  # sliding
    if user_agent:
        sign_in.user_agent = _clip(user_agent)
    next_token = _new_refresh_token(session, sign_in, now)
    session.commit()
    return Issued(
        user,
        sign_in.id,
        authority.access.issue(user.id, sign_in.id, now),
        next_token,
        authority.access.ttl_seconds,
    )


def revoke(
    session: Session,
    authority: TokenAuthority,
    sign_ins: Iterable[AuthSession],
    now: datetime,
    reason: str,
) -> None:
    """Revoke these sign-ins: published first, then marked (the caller commits)."""
    sign_ins = [s for s in sign_ins if s.revoked_at is None]
    if not sign_ins:
        return
    authority.publish_revoked(s.id for s in sign_ins)
    for sign_in in sign_ins:
        sign_in.revoked_at = now
        sign_in.revoked_reason = reason
        # A signed-out device gets no more pushes: the devices it registered go with it.
        push_devices.forget_session_devices(session, sign_in.id)


def active_sign_ins(session: Session, user_id: uuid.UUID, *, lock: bool = False):
    query = select(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query.order_by(AuthSession.created_at, AuthSession.id)).all()


def lock_sign_ins(session: Session, user_id: uuid.UUID) -> list[AuthSession]:
    """Erasure: every sign-in of the user, locked in the order a refresh takes them (its
    refresh tokens, then the sign-in), so that deleting them cannot deadlock with a refresh."""
    session.execute(
        select(RefreshToken.id)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(AuthSession.user_id == user_id)
        .order_by(RefreshToken.id)
        .with_for_update(of=RefreshToken)
    ).all()
    return list(
        session.scalars(
            select(AuthSession)
            .where(AuthSession.user_id == user_id)
            .order_by(AuthSession.id)
            .with_for_update()
        )
    )


def revoke_all(
    session: Session,
    authority: TokenAuthority,
    user_id: uuid.UUID,
    now: datetime,
    reason: str,
    *,
    keep: uuid.UUID | None = None,
) -> None:
    """Revoke every sign-in of the user (but `keep`); the caller commits."""
    revoke(
        session,
        authority,
        [s for s in active_sign_ins(session, user_id, lock=True) if s.id != keep],
        now,
        reason,
    )


def revoke_mine(
    session: Session, authority: TokenAuthority, user: User, session_id: uuid.UUID, now: datetime
) -> None:
    """DELETE /v1/me/sessions/{id}: someone else's (or an unknown) sign-in is a 404. Commits."""
    sign_in = session.scalar(
        select(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.user_id == user.id)
        .with_for_update()
    )
    if sign_in is None or sign_in.revoked_at is not None:
        raise NotFound("No such sign-in")
    revoke(session, authority, [sign_in], now, "signed_out")
    session.commit()


def log_out(
    session: Session, authority: TokenAuthority, user: User, session_id: uuid.UUID, now: datetime
) -> None:
    sign_in = session.get(AuthSession, session_id, with_for_update=True)
    if sign_in is not None and sign_in.user_id == user.id:
        revoke(session, authority, [sign_in], now, "signed_out")
    session.commit()


def log_out_everywhere(
    session: Session, authority: TokenAuthority, user: User, now: datetime
) -> None:
    revoke_all(session, authority, user.id, now, "signed_out_everywhere")
    session.commit()


def list_mine(session: Session, user: User) -> list[AuthSession]:
    return list(active_sign_ins(session, user.id))


def touch(session: Session, session_id: uuid.UUID, now: datetime) -> None:
    """Move `last_used_at` forward if it is more than LAST_USED_PRECISION old; commits."""
    session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.last_used_at < now - LAST_USED_PRECISION,
        )
        .values(last_used_at=now)
    )
    session.commit()
