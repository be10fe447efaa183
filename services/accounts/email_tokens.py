"""Mailed single-use tokens: proving an email address, and resetting a forgotten password.

A token is 256 random bits; only its SHA-256 is stored (`account_tokens`), with its purpose,
the address it was mailed to, an expiry and `used_at`. Using one locks its row, so it works
once however many times it is sent at the same moment. The mail itself goes through the mail
outbox (services.mail) in the same transaction, the token kept apart from the stored body.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts.sessions import TokenAuthority, revoke_all
from services.core.errors import InvalidResetToken, InvalidVerificationToken
from services.core.models import AccountToken, User
from services.core.secret_tokens import digest, new_secret_token
from services.mail.outbox import TOKEN_PLACEHOLDER, enqueue

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)


def _issue(session: Session, user: User, purpose: str, ttl: timedelta, now: datetime) -> str:
    token = new_secret_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            email=user.email,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def _redeem(
    session: Session, token: str, purpose: str, now: datetime
) -> tuple[AccountToken, User] | None:
    """The unused, unexpired token row and its live user, both locked; None otherwise."""
    row = session.scalar(
        select(AccountToken)
        .where(AccountToken.token_hash == digest(token), AccountToken.purpose == purpose)
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id, with_for_update=True, populate_existing=True)
    if user is None or user.deleted_at is not None or user.email != row.email:
        return None
    return row, user


def send_verification(session: Session, user: User, now: datetime, base_url: str) -> None:
    """Mail `user` a link and token proving their current address (the caller commits)."""
    secret = _issue(session, user, VERIFY_EMAIL, VERIFY_TTL, now)
    link = f"{base_url.rstrip('/')}/verify-email#token={TOKEN_PLACEHOLDER}"
    enqueue(
        session,
        to=user.email,
        subject="Confirm your email address for Wellspring",
        body=(
            f"Hello {user.display_name},\n\n"
            "please confirm that this address is yours by opening this link on your phone:\n\n"
            f"{link}\n\n"
            "or by entering this code in the app:\n\n"
            f"token: {TOKEN_PLACEHOLDER}\n\n"
            f"It works for {int(VERIFY_TTL.total_seconds() // 3600)} hours. If you did not sign up "
            "for Wellspring, ignore this mail.\n"
        ),
        kind=VERIFY_EMAIL,
        now=now,
        user_id=user.id,
        secret=secret,
    )


def verify_email(session: Session, token: str, now: datetime) -> User:
    """Mark the address the token was mailed to as verified; commits."""
    redeemed = _redeem(session, token, VERIFY_EMAIL, now)
    if redeemed is None:
        session.rollback()
        raise InvalidVerificationToken()
    row, user = redeemed
    row.used_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
    session.commit()
    return user


def request_password_reset(session: Session, email: str, now: datetime, base_url: str) -> None:
    """Mail a reset token if a live account has this email; nothing otherwise. Commits either
    way, so both paths do the same work up to the insert."""
    user = session.scalar(
        select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None))
    )
    if user is not None:
        secret = _issue(session, user, RESET_PASSWORD, RESET_TTL, now)
        link = f"{base_url.rstrip('/')}/reset-password#token={TOKEN_PLACEHOLDER}"
        enqueue(
            session,
            to=user.email,
            subject="Reset your Wellspring password",
            body=(
                f"Hello {user.display_name},\n\n"
                "someone (we hope you) asked to reset the password of your Wellspring "
                "account. To choose a new one, open\n\n"
                f"{link}\n\n"
                "or enter this code in the app:\n\n"
                f"token: {TOKEN_PLACEHOLDER}\n\n"
                f"It works once, for {int(RESET_TTL.total_seconds() // 60)} minutes. If you did "
                "not ask for this, ignore this mail: your password stays as it is.\n"
            ),
            kind=RESET_PASSWORD,
            now=now,
            user_id=user.id,
            secret=secret,
        )
    session.commit()


def confirm_password_reset(
    session: Session,
    authority: TokenAuthority,
    token: str,
    password_hash: str,
    now: datetime,
) -> User:
    """Set the new password (already hashed), use the token up, revoke every sign-in;
    commits. The mail proved the address, so it counts as verified too."""
    redeemed = _redeem(session, token, RESET_PASSWORD, now)
    if redeemed is None:
        session.rollback()
        raise InvalidResetToken()
    row, user = redeemed
    user.password_hash = password_hash
    if user.email_verified_at is None:
        user.email_verified_at = now
    # Every reset token of this account is used up, not only this one.
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == RESET_PASSWORD,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    row.used_at = now
    revoke_all(session, authority, user.id, now, "password_reset")
    session.commit()
    return user
