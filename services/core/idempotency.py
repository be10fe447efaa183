"""Idempotency-Key records: the first answer to a creating POST, replayed for 24 hours.

The key is claimed (`in_flight`) in its own short transaction before the request does its
work, so a concurrent request with the same key sees it and gets 409 instead of doing the work
twice. The answer is then stored in the same transaction as the work (`store_response` runs
inside it; the API commits both at once), so a request killed at any point leaves either both
or neither: a retry sees the committed answer, or finds nothing done and does the work. A
refused request releases its key so the client can retry. A claim whose request died is taken
over after IN_FLIGHT_LEASE; a request whose claim was taken over meanwhile stores nothing and
undoes its work (`ClaimLost`), so two copies never both commit.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.errors import Conflict, InvalidInput
from services.core.models import IdempotencyRecord, User

KEEP_FOR = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(seconds=60)
IN_FLIGHT = "in_flight"
COMPLETED = "completed"


class IdempotencyKeyReused(InvalidInput):
    reason = "idempotency_key_reused"
    title = "This Idempotency-Key was already used with a different request body"


class IdempotencyKeyInFlight(Conflict):
    reason = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed"


class ClaimLost(IdempotencyKeyInFlight):
    """This request outlived its lease and another copy took the key over."""


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    headers: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    record_id: uuid.UUID | None = None
    stored: StoredResponse | None = None
    claimed_at: datetime | None = None  # which claim is ours, if another takes the key over


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim_key(
    session: Session, user: User, *, scope: str, key: str, request_fingerprint: str, now: datetime
) -> Claim:
    """Claim `key` for this request, or return the stored answer of the first one. Commits:
    `session` is the claim's own, not the one the work runs in."""
    session.commit()
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user.id, IdempotencyRecord.expires_at < now
        )
    )
    for _attempt in range(2):
        record = IdempotencyRecord(
            user_id=user.id,
            scope=scope,
            key=key,
            fingerprint=request_fingerprint,
            state=IN_FLIGHT,
            created_at=now,
            expires_at=now + KEEP_FOR,
        )
        try:
            with session.begin_nested():
                session.add(record)
            session.commit()
            return Claim(record_id=record.id, claimed_at=now)
        except IntegrityError:
            session.rollback()
        existing = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user.id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
        )
        if existing is None:  # released or purged meanwhile: claim again
            continue
        if existing.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        if existing.state == COMPLETED:
            return Claim(
                stored=StoredResponse(
                    existing.response_status,
                    existing.response_body,
                    existing.response_headers or {},
                )
            )
        if now - existing.created_at < IN_FLIGHT_LEASE:
            raise IdempotencyKeyInFlight()
        # The first request died mid-way: take its claim over, if nobody else just did.
        taken = session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == existing.id,
                IdempotencyRecord.state == IN_FLIGHT,
                IdempotencyRecord.created_at == existing.created_at,
            )
            .values(created_at=now)
        )
        session.commit()
        if taken.rowcount == 1:
            return Claim(record_id=existing.id, claimed_at=now)
        raise IdempotencyKeyInFlight()
    raise IdempotencyKeyInFlight()


def store_response(session: Session, claim: Claim, response: StoredResponse) -> None:
    """Record the answer inside the transaction of the work it describes (the caller commits
    both). Raises ClaimLost when another request took the key over: roll the work back."""
    stored = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == claim.record_id,
            IdempotencyRecord.state == IN_FLIGHT,
            IdempotencyRecord.created_at == claim.claimed_at,
        )
        .values(
            state=COMPLETED,
            response_status=response.status,
            response_body=response.body,
            response_headers=response.headers,
        )
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:
        raise ClaimLost()


def release_key(session: Session, claim: Claim) -> None:
    """The request was refused: forget the key so the client may retry with it (unless the
    claim is no longer ours). Commits: `session` is the claim's own."""
    session.rollback()
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == claim.record_id,
            IdempotencyRecord.state == IN_FLIGHT,
            IdempotencyRecord.created_at == claim.claimed_at,
        )
    )
    session.commit()


def forget_answers_mentioning(session: Session, needles: list[str]) -> int:
    """Drop stored answers (anyone's) whose body contains one of `needles` (an erased person's
    id, registration ids, email), inside the caller's transaction. A retry with such a key
    runs again instead of replaying the person's data."""
    needles = [needle for needle in needles if needle]
    if not needles:
        return 0
    result = session.execute(
        delete(IdempotencyRecord)
        .where(
            IdempotencyRecord.state == COMPLETED,
            or_(
                *(
                    IdempotencyRecord.response_body.contains(needle, autoescape=True)
                    for needle in needles
                )
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def purge_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    session.commit()
    return result.rowcount
