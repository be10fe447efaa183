"""Idempotency-Key records: the first answer to a creating POST, replayed for 24 hours.

The record is claimed (`in_flight`) in its own short transaction before the request does its
work, so a concurrent request with the same key sees it and gets 409 instead of doing the work
twice. Success answers are stored; a refused request releases its key so the client can retry.
A claim whose request died without finishing is taken over after IN_FLIGHT_LEASE.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
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


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    headers: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    record_id: uuid.UUID | None = None
    stored: StoredResponse | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim_key(
    session: Session, user: User, *, scope: str, key: str, request_fingerprint: str, now: datetime
) -> Claim:
    """Claim `key` for this request, or return the stored answer of the first one."""
    session.commit()  # end whatever the request read so far; the claim stands on its own
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
            return Claim(record_id=record.id)
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
                IdempotencyRecord.created_at == existing.created_at,
            )
            .values(created_at=now)
        )
        session.commit()
        if taken.rowcount == 1:
            return Claim(record_id=existing.id)
        raise IdempotencyKeyInFlight()
    raise IdempotencyKeyInFlight()


def store_response(session: Session, record_id: uuid.UUID, response: StoredResponse) -> None:
    session.rollback()
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            state=COMPLETED,
            response_status=response.status,
            response_body=response.body,
            response_headers=response.headers,
        )
    )
    session.commit()


def release_key(session: Session, record_id: uuid.UUID) -> None:
    """The request was refused: forget the key so the client may retry with it."""
    session.rollback()
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    session.commit()


def purge_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    session.commit()
    return result.rowcount
