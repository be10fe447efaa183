"""Accounts: registration, login, passwords, the email address and the profile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import email_tokens, sessions
from services.accounts import hints as hint_rules
from services.accounts.login_limits import LoginLimiter
from services.accounts.sessions import Issued, TokenAuthority
from services.accounts.tokens import AccessClaims
from services.core.errors import EmailTaken, InvalidCredentials, InvalidToken, WrongPassword
from services.core.models import User

MIN_PASSWORD_LENGTH = 10


def password_weakness(password: str) -> str | None:
    """Why a new password is refused beyond its length, or None: one that is only whitespace,
    or one character repeated, is the first thing a guesser tries (issue 12)."""
    if not password.strip():
        return "Must not be only whitespace."
    if len(set(password)) == 1:
        return "Must not be one character repeated."
    return None


_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("wellspring-timing-equaliser")


def use_fast_password_hashing() -> None:
    """Cheap argon2id parameters for test suites and demo seeding; never for real accounts."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = _hasher.hash("wellspring-timing-equaliser")


PROFILE_FIELDS = ("display_name", "headline", "company", "title", "primary_focus", "timezone")
SHARE_FIELDS = ("email", "company", "title", "headline")


@dataclass
class ProfileUpdate:
    user: User
    hints: list[hint_rules.Hint] = field(default_factory=list)


def hash_password(password: str) -> str:
    """The argon2id hash stored for an account (seeding reuses one hash for many accounts)."""
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Checks against a dummy hash when there is none, so both answers cost the same time."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def normalize_email(email: str) -> str:
    return email.strip().lower()


def register_user(
    session: Session,
    authority: TokenAuthority,
    *,
    email: str,
    password: str,
    display_name: str,
    now: datetime,
    base_url: str,
    timezone: str | None = None,
    user_agent: str | None = None,
) -> Issued:
    """Create the account, its first sign-in and the verification mail; commits."""
    email = normalize_email(email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTaken()
    password_hash = _hasher.hash(password)
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=display_name.strip(),
        timezone=timezone or "UTC",
        created_at=now,
        profile_updated_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same email won the race
        session.rollback()
        raise EmailTaken() from exc
    issued = sessions.start(session, authority, user, now, user_agent)
    email_tokens.send_verification(session, user, now, base_url)
    session.commit()
    return issued


_PASSWORD_BY_EMAIL = select(User.id, User.password_hash).where(
    User.email == bindparam("email"), User.deleted_at.is_(None)
)


def log_in(
    session: Session,
    authority: TokenAuthority,
    *,
    email: str,
    password: str,
    now: datetime,
    user_agent: str | None = None,
    limiter: LoginLimiter | None = None,
    address: str = "unknown",
) -> Issued:
    """Check the password and start a sign-in; commits.

    The attempt is counted (and possibly refused) before the password is checked. The check
    runs outside any transaction (argon2 takes tens of milliseconds; on SQLite a write
    transaction would hold the whole database meanwhile). The sign-in is then created with
    the user's row locked and read again: an account erased, or whose password changed, since
    the check gets no token (`DELETE /v1/me` locks the same row first), and a rehash is only
    written onto the hash that was checked."""
    attempt = limiter.before_attempt(email, address) if limiter else None
    row = session.execute(_PASSWORD_BY_EMAIL, {"email": normalize_email(email)}).first()
    session.rollback()
    if not password_matches(row.password_hash if row else None, password):
        if limiter and attempt:
            limiter.failed(attempt)
        raise InvalidCredentials()
    rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(row.password_hash) else None
    user = session.get(User, row.id, with_for_update=True, populate_existing=True)
    if user is None or user.deleted_at is not None or user.password_hash != row.password_hash:
        session.rollback()
        if limiter and attempt:
            limiter.failed(attempt)
        raise InvalidCredentials()
    if rehashed is not None:
        user.password_hash = rehashed
    issued = sessions.start(session, authority, user, now, user_agent)
    session.commit()
    if limiter and attempt:
        limiter.succeeded(attempt)
    return issued


_LIVE_USER = select(User).where(User.id == bindparam("user_id"), User.deleted_at.is_(None))


def user_for_claims(session: Session, claims: AccessClaims) -> User:
    """The live user an access token names; an erased (or vanished) account is a 401."""
    user = session.scalar(_LIVE_USER, {"user_id": claims.user_id})
    if user is None:
        raise InvalidToken()
    return user


def change_password(
    session: Session,
    authority: TokenAuthority,
    user: User,
    *,
    current_session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    now: datetime,
) -> None:
    """Set a new password; every other sign-in is revoked, this one stays. Commits."""
    if not password_matches(user.password_hash, current_password):
        raise WrongPassword()
    new_hash = _hasher.hash(new_password)
    locked = session.get(User, user.id, with_for_update=True, populate_existing=True)
    if locked is None or locked.deleted_at is not None:
        raise InvalidToken()
    locked.password_hash = new_hash
    sessions.revoke_all(
        session, authority, user.id, now, "password_changed", keep=current_session_id
    )
    session.commit()


def change_email(
    session: Session,
    user: User,
    *,
    email: str,
    current_password: str | None,
    now: datetime,
    base_url: str,
) -> None:
    """A new address, unverified until its owner proves it (a mail goes to it); the caller
    commits. The current password must confirm it: a stolen access token alone cannot
    move the account's recovery address."""
    email = normalize_email(email)
    if email == user.email:
        return
    if current_password is None or not password_matches(user.password_hash, current_password):
        raise WrongPassword("Changing the email needs the current password")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTaken()
    user.email = email
    user.email_verified_at = None
    email_tokens.send_verification(session, user, now, base_url)


def resend_verification(session: Session, user: User, now: datetime, base_url: str) -> None:
    if user.email_verified_at is None:
        email_tokens.send_verification(session, user, now, base_url)
    session.commit()


def update_profile(
    session: Session,
    user: User,
    changes: dict[str, Any],
    now: datetime,
    *,
    base_url: str = "",
    commit: bool = True,
) -> ProfileUpdate:
    """Change my profile; `commit=False` leaves the commit to a caller applying several
    changes at once (the offline push). A new email needs the current password."""
    if "email" in changes:
        change_email(
            session,
            user,
            email=changes["email"],
            current_password=changes.get("current_password"),
            now=now,
            base_url=base_url,
        )
    for name in PROFILE_FIELDS:
        if name in changes:
            setattr(user, name, changes[name])
    quiet_hours = changes.get("quiet_hours") or {}
    user.quiet_hours_start = quiet_hours.get("start", user.quiet_hours_start)
    user.quiet_hours_end = quiet_hours.get("end", user.quiet_hours_end)
    for name, shared in (changes.get("share") or {}).items():
        setattr(user, f"share_{name}", shared)
    user.profile_updated_at = now
    if commit:
        try:
            session.commit()
        except IntegrityError as exc:  # the new email was taken meanwhile
            session.rollback()
            raise EmailTaken() from exc
    return ProfileUpdate(user, hint_rules.profile_hints(user))


def shared_profile(user: User, frozen_display_name: str | None = None) -> dict[str, Any]:
    """What another person sees of `user`: display_name always, the rest as they chose.

    With `frozen_display_name` (`user` blocked the viewer), only that name: nothing live."""
    if frozen_display_name is not None:
        return {
            "user_id": user.id,
            "display_name": frozen_display_name,
            "email": None,
            "company": None,
            "title": None,
            "headline": None,
        }
    return {
        "user_id": user.id,
        "display_name": user.display_name,
        "email": user.email if user.share_email else None,
        "company": user.company if user.share_company else None,
        "title": user.title if user.share_title else None,
        "headline": user.headline if user.share_headline else None,
    }
