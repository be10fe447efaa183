"""Accounts: registration, login, tokens and the profile."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import hints as hint_rules
from services.core.errors import EmailTaken, InvalidCredentials, InvalidToken
from services.core.models import AccessToken, User
from services.push import devices as push_devices

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
class Authenticated:
    user: User
    access_token: str


@dataclass
class ProfileUpdate:
    user: User
    hints: list[hint_rules.Hint] = field(default_factory=list)


def hash_password(password: str) -> str:
    """The argon2id hash stored for an account (seeding reuses one hash for many accounts)."""
    return _hasher.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(session: Session, user: User, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(AccessToken(user_id=user.id, token_hash=hash_token(token), created_at=now))
    return token


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    now: datetime,
    timezone: str | None = None,
) -> Authenticated:
    email = normalize_email(email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTaken()
    user = User(
        email=email,
        password_hash=_hasher.hash(password),
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
    token = _issue_token(session, user, now)
    session.commit()
    return Authenticated(user, token)


def verify_credentials(session: Session, *, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise InvalidCredentials() from exc
    if user is None:
        raise InvalidCredentials()
    return user


def log_in(session: Session, *, email: str, password: str, now: datetime) -> Authenticated:
    user = verify_credentials(session, email=email, password=password)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = _issue_token(session, user, now)
    session.commit()
    return Authenticated(user, token)


# Built once: composing a select costs about as much as running it, on every request.
_ACCESS_BY_TOKEN_HASH = select(AccessToken).where(AccessToken.token_hash == bindparam("token_hash"))


def user_for_token(session: Session, token: str) -> tuple[User, AccessToken]:
    """The token's user. Looked up by SHA-256 digest through a unique index: the database
    compares digests, never the token, so timing reveals nothing about a guessed token."""
    access = session.scalar(_ACCESS_BY_TOKEN_HASH, {"token_hash": hash_token(token)})
    if access is None or access.revoked_at is not None:
        raise InvalidToken()
    return access.user, access


def revoke_token(session: Session, access: AccessToken, now: datetime) -> None:
    """Sign a session out: its token stops working and the push devices it registered go."""
    access.revoked_at = now
    push_devices.forget_session_devices(session, access.id)
    session.commit()


def update_profile(
    session: Session, user: User, changes: dict[str, Any], now: datetime, *, commit: bool = True
) -> ProfileUpdate:
    """Change my profile; `commit=False` leaves the commit to a caller applying several
    changes at once (the offline push)."""
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
        session.commit()
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
