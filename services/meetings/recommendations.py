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
    bindparam,
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


# The statements are built once, with bound parameters (expanding IN lists for the tags and
# the candidates): composing and caching a fresh statement per call cost as much as running it.
def _tag_range(kind: str, wanted: str):
    return select(
        MatchTag.user_id,
        literal(WEIGHTS[kind], Integer).label("weight"),
        MatchTag.shuffle_key,
    ).where(
        MatchTag.event_id == bindparam("event_id"),
        MatchTag.kind == kind,
        MatchTag.tag.in_(bindparam(wanted, expanding=True)),
    )


# My tags against theirs: one index range per tag of mine (index-only), summed per person.
_MATCHES = union_all(
    _tag_range(OFFER, "seeks"), _tag_range(SEEK, "offers"), _tag_range(FOCUS, "focus")
).subquery("matches")
_SCORE = func.sum(_MATCHES.c.weight).label("score")
_TIE = (
    cast(func.max(_MATCHES.c.shuffle_key), BigInteger) * bindparam("a", type_=BigInteger)
    + bindparam("b", type_=BigInteger)
) % SHUFFLE_PRIME
_RANKED = (
    select(_MATCHES.c.user_id, _SCORE)
    .group_by(_MATCHES.c.user_id)
    .order_by(_SCORE.desc(), _TIE, _MATCHES.c.user_id)
    .limit(bindparam("batch"))
    .offset(bindparam("skip"))
)

# Which of a few dozen candidates may be recommended to `me` (see the module doc).
_me = bindparam("me")
_ALLOWED = (
    select(Registration.user_id)
    .join(User, User.id == Registration.user_id)
    .where(
        Registration.event_id == bindparam("event_id"),
        Registration.user_id.in_(bindparam("candidates", expanding=True)),
        Registration.user_id != _me,
        Registration.status == events.REGISTERED,
        Registration.discoverable.is_(True),
        Registration.pending_requests_in < bindparam("cap"),
        User.deleted_at.is_(None),
        ~exists().where(Contact.owner_id == _me, Contact.other_id == Registration.user_id),
        ~exists().where(Contact.owner_id == Registration.user_id, Contact.other_id == _me),
        ~exists().where(
            MeetingRequest.from_user_id == _me,
            MeetingRequest.to_user_id == Registration.user_id,
            MeetingRequest.event_id == bindparam("event_id"),
            MeetingRequest.status.in_(IN_PLAY_OR_DECLINED),
        ),
        ~exists().where(
            MeetingRequest.from_user_id == Registration.user_id,
            MeetingRequest.to_user_id == _me,
            MeetingRequest.event_id == bindparam("event_id"),
            MeetingRequest.status.in_(IN_PLAY_OR_DECLINED),
        ),
    )
)

# The matched tags of the chosen few, for `why`.
_WHY = (
    select(MatchTag.user_id, MatchTag.kind, MatchTag.tag)
    .where(
        MatchTag.event_id == bindparam("event_id"),
        MatchTag.user_id.in_(bindparam("chosen", expanding=True)),
        or_(
            and_(MatchTag.kind == OFFER, MatchTag.tag.in_(bindparam("seeks", expanding=True))),
            and_(MatchTag.kind == SEEK, MatchTag.tag.in_(bindparam("offers", expanding=True))),
            and_(MatchTag.kind == FOCUS, MatchTag.tag.in_(bindparam("focus", expanding=True))),
        ),
    )
    .order_by(MatchTag.tag)
)


def _why(session: Session, params: dict, user_ids: list[uuid.UUID]) -> dict:
    found: dict[uuid.UUID, dict[str, list[str]]] = {}
    for user_id, kind, tag in session.execute(_WHY, {**params, "chosen": user_ids}):
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
    if not (offers or seeks or focus):
        return []
    day = now.astimezone(ZoneInfo(event.timezone)).date().isoformat()
    a, b = _permutation(viewer.id, event_id, day)
    tags = {
        "event_id": event_id,
        "offers": offers,
        "seeks": seeks,
        "focus": [focus] if focus else [],
    }
    batch = 4 * limit + 20
    chosen: list[tuple[uuid.UUID, int]] = []
    for index in range(MAX_BATCHES):
        rows = session.execute(
            _RANKED, {**tags, "a": a, "b": b, "batch": batch, "skip": index * batch}
        ).all()
        if not rows:
            break
        allowed = set(
            session.scalars(
                _ALLOWED,
                {
                    "event_id": event_id,
                    "me": viewer.id,
                    "candidates": [r.user_id for r in rows],
                    "cap": pending_cap,
                },
            )
        )
        chosen += [(r.user_id, int(r.score)) for r in rows if r.user_id in allowed]
        if len(chosen) >= limit or len(rows) < batch:
            break
    chosen = chosen[:limit]
    if not chosen:
        return []
    ids = [user_id for user_id, _ in chosen]
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    why = _why(session, tags, ids)
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
