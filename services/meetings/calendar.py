"""The personal calendar feed: my booked meetings as iCalendar, behind a token of its own.

Calendar apps subscribe to a URL and send no Authorization header, so the feed has its own
secret: `POST /v1/me/calendar-token` makes a new one (the old URL stops working at once) and
only its SHA-256 is stored. Events carry their times in the event's zone (DTSTART;TZID=…, with
the VTIMEZONE the zone needs), so a meeting shows at the right local time on both sides of a
DST change whatever zone the phone is in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.core.models import CalendarFeed, Event, User
from services.meetings.booking import HELD, active_meetings_of
from services.meetings.errors import UnknownFeed

PRODID = "-//Wellspring//Meetings//EN"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/v1/calendar/{token}.ics"


def rotate_feed_token(session: Session, user: User, now: datetime) -> str:
    """A new feed token for `user`; the previous one stops working. Commits."""
    token = secrets.token_urlsafe(32)
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    session.add(CalendarFeed(user_id=user.id, token_hash=_digest(token), created_at=now))
    session.commit()
    return token


def calendar_for_token(session: Session, token: str, now: datetime) -> bytes:
    """The feed the token opens (404 for an unknown or rotated token)."""
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _digest(token)))
    owner = session.get(User, feed.user_id) if feed is not None else None
    if owner is None or owner.deleted_at is not None:
        raise UnknownFeed()
    return build_calendar(session, owner, now)


def _on_the_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """The instant on the event's clock; in UTC when that local time happens twice (the hour
    clocks go back), since a TZID time that exists twice means the first of the two."""
    local = instant.astimezone(zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def build_calendar(session: Session, owner: User, now: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Wellspring meetings")
    seen: dict = {}
    for view in active_meetings_of(session, owner.id):
        meeting = view.meeting
        event = seen.get(meeting.event_id) or session.get(Event, meeting.event_id)
        seen[event.id] = event
        zone = ZoneInfo(event.timezone)
        entry = icalendar.Event()
        entry.add("uid", f"{meeting.id}@wellspring")
        entry.add("dtstamp", now)
        entry.add("dtstart", _on_the_clock(meeting.starts_at, zone))
        entry.add("dtend", _on_the_clock(meeting.ends_at, zone))
        entry.add("summary", f"Meeting with {view.other.display_name}")
        where = meeting.spot.name if meeting.spot else ""
        entry.add("location", f"{where} · {event.venue}" if event.venue else where)
        entry.add("description", f"1:1 meeting at {event.name}")
        entry.add("status", "CONFIRMED")
        if meeting.status == HELD:
            entry.add("categories", ["HELD"])
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()
