"""Who to meet: a handful of explained recommendations per attendee (principles 2, 8).

Score (higher first): 3 for each tag they offer that I seek, 2 for each tag they seek that I
offer, 1 for a shared primary focus. Only other discoverable attendees with at least one match
are candidates, and never: myself, anyone I have a contact with in either direction (which
covers blocks, mutes and "not interested", all kept on contacts), anyone with a meeting request
between us at this event that was declined (either way) or is pending or accepted (already in
play), and anyone whose pending incoming requests reached the cap (RECIPIENT_PENDING_CAP):
the person everyone already asked drops out, so the list is not the same few famous people
for everyone.

Ties are broken by a permutation drawn from (viewer, day on the event's clock): the order is
stable for a viewer within a day and differs between viewers.

Cost: one grouped read of the match index (`match_tags`, one index range per tag of mine,
UNION ALL so each stays an index-only range) that keeps only the best few candidates by score,
then one check of those few against the exclusions (primary keys and small indexed probes).
If exclusions eat a batch, the next batch is read. No attendee list is loaded into Python.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from services.core.models import (
    Contact,
    MatchTag,
    MeetingRequest,
    Registration,
    User,
)
from services.events import events
from services.meetings.errors import NotDiscoverable, NotRegistered
from services.meetings.requests import IN_PLAY_OR_DECLINED, RECIPIENT_PENDING_CAP
from services.meetings.tags import FOCUS, OFFER, SEEK, SHUFFLE_PRIME, normalize_focus

DEFAULT_LIMIT, MAX_LIMIT = 5, 10
WEIGHTS = {OFFER: 3, SEEK: 2, FOCUS: 1}
WHY_KINDS = (
    (OFFER, "offers_what_you_seek"),
    (SEEK, "seeks_what_you_offer"),
    (FOCUS, "shared_focus"),
)
MAX_BATCHES = 5


@dataclass(frozen=True)
class Reason:
    kind: str
    tags: list[str]


@dataclass(frozen=True)
class Recommendation:
    user_id: uuid.UUID
    display_name: str
    headline: str | None
    score: int
    why: list[Reason]


def _permutation(viewer_id: uuid.UUID, event_id: uuid.UUID, day: str) -> tuple[int, int]:
    digest = hashlib.sha256(f"{viewer_id}:{event_id}:{day}".encode()).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (SHUFFLE_PRIME - 1)
    b = int.from_bytes(digest[8:16], "big") % SHUFFLE_PRIME
    return a, b


def _matches(event_id: uuid.UUID, offers: list[str], seeks: list[str], focus: str | None):
    """My tags against theirs: (user_id, weight, kind, tag, shuffle_key) rows, index ranges."""
    wanted = [(OFFER, seeks), (SEEK, offers), (FOCUS, [focus] if focus else [])]
    parts = [
        select(
            MatchTag.user_id,
            literal(WEIGHTS[kind], Integer).label("weight"),
            MatchTag.shuffle_key,
        ).where(MatchTag.event_id == event_id, MatchTag.kind == kind, MatchTag.tag.in_(tags))
        for kind, tags in wanted
        if tags
    ]
    return union_all(*parts).subquery("matches") if parts else None


def _exclusions(session: Session, me: uuid.UUID, event_id: uuid.UUID, candidates, cap: int):
    """Which of `candidates` (a few dozen ids) may be recommended to `me`."""
    theirs = Registration
    query = (
        select(theirs.user_id)
        .join(User, User.id == theirs.user_id)
        .where(
            theirs.event_id == event_id,
            theirs.user_id.in_(candidates),
            theirs.user_id != me,
            theirs.status == events.REGISTERED,
            theirs.discoverable.is_(True),
            theirs.pending_requests_in < cap,
            User.deleted_at.is_(None),
            ~exists().where(Contact.owner_id == me, Contact.other_id == theirs.user_id),
            ~exists().where(Contact.owner_id == theirs.user_id, Contact.other_id == me),
            ~exists().where(
                MeetingRequest.from_user_id == me,
                MeetingRequest.to_user_id == theirs.user_id,
                MeetingRequest.event_id == event_id,
                MeetingRequest.status.in_(IN_PLAY_OR_DECLINED),
            ),
            ~exists().where(
                MeetingRequest.from_user_id == theirs.user_id,
                MeetingRequest.to_user_id == me,
                MeetingRequest.event_id == event_id,
                MeetingRequest.status.in_(IN_PLAY_OR_DECLINED),
            ),
        )
    )
    return set(session.scalars(query))


def _why(
    session: Session,
    event_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    offers: list[str],
    seeks: list[str],
    focus: str | None,
) -> dict[uuid.UUID, list[Reason]]:
    conditions = []
    for kind, tags in ((OFFER, seeks), (SEEK, offers), (FOCUS, [focus] if focus else [])):
        if tags:
            conditions.append(and_(MatchTag.kind == kind, MatchTag.tag.in_(tags)))
    rows = session.execute(
        select(MatchTag.user_id, MatchTag.kind, MatchTag.tag)
        .where(MatchTag.event_id == event_id, MatchTag.user_id.in_(user_ids), or_(*conditions))
        .order_by(MatchTag.tag)
    ).all()
    found: dict[uuid.UUID, dict[str, list[str]]] = {}
    for user_id, kind, tag in rows:
        found.setdefault(user_id, {}).setdefault(kind, []).append(tag)
    return {
        user_id: [Reason(label, kinds[kind]) for kind, label in WHY_KINDS if kinds.get(kind)]
        for user_id, kinds in found.items()
    }


def recommend(
    session: Session,
    viewer: User,
    event_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    now: datetime,
    pending_cap: int = RECIPIENT_PENDING_CAP,
) -> list[Recommendation]:
    """The viewer's best matches at the event (see the module doc). 403 when the viewer is not
    registered, 409 `not_discoverable` when they have not opted in."""
    event = events.get_event(session, event_id)
    registration = events.live_registration(session, event_id, viewer.id)
    if registration is None:
        raise NotRegistered()
    if not registration.discoverable:
        raise NotDiscoverable()
    limit = max(1, min(limit, MAX_LIMIT))
    offers, seeks = list(viewer.offers or ()), list(viewer.seeks or ())
    focus = normalize_focus(viewer.primary_focus)
    matches = _matches(event_id, offers, seeks, focus)
    if matches is None:
        return []
    day = now.astimezone(ZoneInfo(event.timezone)).date().isoformat()
    a, b = _permutation(viewer.id, event_id, day)
    score = func.sum(matches.c.weight).label("score")
    tie = (cast(func.max(matches.c.shuffle_key), BigInteger) * a + b) % SHUFFLE_PRIME
    ranked = (
        select(matches.c.user_id, score)
        .group_by(matches.c.user_id)
        .order_by(score.desc(), tie, matches.c.user_id)
    )
    batch = 4 * limit + 20
    chosen: list[tuple[uuid.UUID, int]] = []
    for index in range(MAX_BATCHES):
        rows = session.execute(ranked.limit(batch).offset(index * batch)).all()
        if not rows:
            break
        allowed = _exclusions(session, viewer.id, event_id, [r.user_id for r in rows], pending_cap)
        chosen += [(r.user_id, int(r.score)) for r in rows if r.user_id in allowed]
        if len(chosen) >= limit or len(rows) < batch:
            break
    chosen = chosen[:limit]
    if not chosen:
        return []
    ids = [user_id for user_id, _ in chosen]
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    why = _why(session, event_id, ids, offers, seeks, focus)
    return [
        Recommendation(
            user_id=user_id,
            display_name=people[user_id].display_name,
            headline=people[user_id].headline if people[user_id].share_headline else None,
            score=points,
            why=why.get(user_id, []),
        )
        for user_id, points in chosen
    ]
