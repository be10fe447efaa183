"""The scanner kit: what a door phone needs to tell a valid badge from a revoked one offline.

Per live registration the SHA-256 of its badge code (never the code), who it is and whether
they are checked in; the digests of codes that no longer admit anyone (rotated away, a
cancelled registration's, an erased person's). With `since`, only registrations whose kit entry
changed after it (the change log's `kit` rows of the event, same watermarks as the pull). The
phone still uploads its scans through /v1/sync/scans, where the server decides.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.models import DOOR, Attendance, BadgeCode, Registration, User
from services.events import events
from services.offline import tracking

LIVE = "registered"
ERASED_CODE = "erased"


def digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def scanner_kit(
    read_sessions: sessionmaker[Session],
    write_sessions: sessionmaker[Session],
    staff: User,
    event_id: uuid.UUID,
    *,
    since: int | None,
) -> dict:
    """{timestamp, badges, revoked} for the event's staff (403 for anyone else)."""
    with read_sessions() as session:
        events.require_staff(session, event_id, staff)
    with tracking.read_snapshot(read_sessions, write_sessions) as snapshot:
        connection = snapshot.connection
        ids: Iterable[uuid.UUID] | None = None
        if since:
            watermark = tracking.watermark_for(connection, since)
            ids = tracking.changed_rows(connection, [event_id], ["kit"], watermark).get(
                "kit", set()
            )
        badges, revoked = _entries(connection, event_id, ids)
        return {"timestamp": snapshot.at_ms, "badges": badges, "revoked": revoked}


def _entries(connection, event_id: uuid.UUID, ids) -> tuple[list[dict], list[str]]:
    query = (
        select(
            Registration.id,
            Registration.status,
            Registration.badge_code,
            User.display_name,
            User.deleted_at,
            Attendance.id.label("attendance_id"),
        )
        .join(User, User.id == Registration.user_id)
        .outerjoin(
            Attendance,
            and_(Attendance.registration_id == Registration.id, Attendance.place == DOOR),
        )
        .where(Registration.event_id == event_id)
    )
    codes = (
        select(BadgeCode.code_hash)
        .join(Registration, Registration.id == BadgeCode.registration_id)
        .where(Registration.event_id == event_id, BadgeCode.revoked_at.is_not(None))
    )
    batches = [None] if ids is None else list(tracking.chunks(sorted(ids)))
    badges: list[dict] = []
    revoked: set[str] = set()
    for batch in batches:
        if batch is not None and not batch:
            continue
        scoped = query if batch is None else query.where(Registration.id.in_(batch))
        for row in connection.execute(scoped):
            live = row.status == LIVE and row.deleted_at is None
            if live:
                badges.append(
                    {
                        "badge_digest": digest(row.badge_code),
                        "registration_id": str(row.id),
                        "display_name": row.display_name,
                        "status": row.status,
                        "checked_in": row.attendance_id is not None,
                    }
                )
            elif row.badge_code != ERASED_CODE:
                revoked.add(digest(row.badge_code))
        scoped_codes = codes if batch is None else codes.where(Registration.id.in_(batch))
        revoked.update(connection.execute(scoped_codes).scalars())
    live_digests = {b["badge_digest"] for b in badges}
    return badges, sorted(revoked - live_digests)
