"""Offers and seeks on the profile, the `discoverable` opt-in, and the match index.

A profile carries up to MAX_TAGS `offers` and `seeks`, each tag trimmed, lowercased, inner
whitespace collapsed, 2-40 characters, duplicates dropped (first one kept). For every
registration that is live and discoverable, `match_tags` holds a copy of its person's tags and
normalised primary focus; recommendations read that index, never the attendee list. The copy
changes in the same transaction as what it copies: a profile change (stage_matching_profile),
the opt-in (set_discoverable).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from services.core.errors import PermissionDenied
from services.core.models import MatchTag, Registration, User
from services.events import events
from services.meetings.errors import InvalidTags, RegistrationNotLive

MAX_TAGS = 10
MIN_TAG_LENGTH = 2
MAX_TAG_LENGTH = 40
MAX_FOCUS_LENGTH = 120
OFFER, SEEK, FOCUS = "offer", "seek", "focus"
# Ties are ordered by (shuffle_key * a + b) mod SHUFFLE_PRIME, a and b drawn per viewer and day.
SHUFFLE_PRIME = 2_147_483_647  # 2^31 - 1: keys fit a 32-bit column, products a 64-bit one

_SPACES = re.compile(r"\s+")


def normalize_tag(raw: str) -> str:
    return _SPACES.sub(" ", raw.strip()).lower()


def normalize_tags(field_name: str, raw_tags: Iterable[str]) -> list[str]:
    """The stored form of a list of tags, or InvalidTags naming what is wrong."""
    tags: list[str] = []
    problems: list[str] = []
    for raw in raw_tags:
        tag = normalize_tag(raw)
        if not MIN_TAG_LENGTH <= len(tag) <= MAX_TAG_LENGTH:
            problems.append(f"{raw!r}: a tag has {MIN_TAG_LENGTH}-{MAX_TAG_LENGTH} characters.")
        elif tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        problems.append(f"At most {MAX_TAGS} tags.")
    if problems:
        raise InvalidTags(errors={field_name: problems})
    return tags


def normalize_focus(focus: str | None) -> str | None:
    if focus is None:
        return None
    text = normalize_tag(focus)[:MAX_FOCUS_LENGTH]
    return text if len(text) >= MIN_TAG_LENGTH else None


def shuffle_key(registration_id: uuid.UUID) -> int:
    """A fixed pseudo-random number per registration (its id is random already)."""
    return int(registration_id.hex[:15], 16) % SHUFFLE_PRIME


def _match_rows(
    registration: Registration, offers: list[str], seeks: list[str], focus: str | None
) -> list[dict[str, Any]]:
    base = {
        "registration_id": registration.id,
        "event_id": registration.event_id,
        "user_id": registration.user_id,
        "shuffle_key": shuffle_key(registration.id),
    }
    rows = [{**base, "kind": OFFER, "tag": tag} for tag in offers]
    rows += [{**base, "kind": SEEK, "tag": tag} for tag in seeks]
    if focus:
        rows.append({**base, "kind": FOCUS, "tag": focus})
    return rows


def refresh_match_rows(
    session: Session,
    registration: Registration,
    *,
    offers: list[str],
    seeks: list[str],
    primary_focus: str | None,
) -> None:
    """Make the registration's rows in the match index what its person's profile says."""
    # By person and event: rows a cancelled registration of theirs left behind go too.
    session.execute(
        delete(MatchTag).where(
            MatchTag.event_id == registration.event_id, MatchTag.user_id == registration.user_id
        )
    )
    if registration.discoverable and registration.status == events.REGISTERED:
        rows = _match_rows(registration, offers, seeks, normalize_focus(primary_focus))
        if rows:
            session.execute(insert(MatchTag), rows)


def stage_matching_profile(session: Session, user: User, changes: Mapping[str, Any]) -> None:
    """Apply `offers`/`seeks` of a profile change and re-copy the match index of the person's
    discoverable registrations (the primary focus too: it is matched). Does not commit: the
    profile update that follows commits both, or neither."""
    touched = False
    for name in ("offers", "seeks"):
        if name in changes and changes[name] is not None:
            setattr(user, name, normalize_tags(name, changes[name]))
            touched = True
    if not touched and "primary_focus" not in changes:
        return
    focus = changes.get("primary_focus", user.primary_focus)
    registrations = session.scalars(
        select(Registration).where(
            Registration.user_id == user.id,
            Registration.status == events.REGISTERED,
            Registration.discoverable.is_(True),
        )
    )
    for registration in registrations:
        refresh_match_rows(
            session,
            registration,
            offers=list(user.offers or ()),
            seeks=list(user.seeks or ()),
            primary_focus=focus,
        )
    session.flush()


def set_discoverable(
    session: Session, actor: User, registration_id: uuid.UUID, *, discoverable: bool, now: datetime
) -> Registration:
    """Opt a registration in or out of recommendations and requests from strangers (its
    attendee only; an organizer gets 403, anyone else 404); commits."""
    registration = events.registration_for_owner_or_organizer(
        session, actor, registration_id, lock=True
    )
    if registration.user_id != actor.id:
        raise PermissionDenied("Only the attendee may change this")
    if registration.status != events.REGISTERED:
        raise RegistrationNotLive()
    if registration.discoverable != discoverable:
        registration.discoverable = discoverable
        refresh_match_rows(
            session,
            registration,
            offers=list(actor.offers or ()),
            seeks=list(actor.seeks or ()),
            primary_focus=actor.primary_focus,
        )
    session.commit()
    return registration
