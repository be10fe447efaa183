"""Realistic synthetic events, written with bulk inserts: `flask --app api seed-demo` and the
stats benchmark (bench/stats_bench.py) both build theirs here.

An event gets an organizer and a staff member (real accounts, through the services), sessions,
registrations (some cancelled, some walk-ins), a door arrival curve peaking just before the
start with a late tail, exits, session scans, contact exchanges between checked-in people,
messages after some of them and scheduled follow-ups. Everything happens before `now`, inside
the check-in window, and keeps the derived rows (attendances, contact counters) consistent with
the scans and messages, as the services would have left them.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from services.accounts import accounts
from services.checkin.checkins import ENTRY, EXIT, WINDOW_OPENS_BEFORE_START
from services.core.models import (
    DOOR,
    Attendance,
    BadgeCode,
    CheckIn,
    Connection,
    Contact,
    EventSession,
    FollowUp,
    Message,
    Registration,
    User,
)
from services.core.timezones import is_valid_timezone
from services.events import badges, events
from services.events.events import CANCELLED, REGISTERED, STAFF

INSERT_BATCH = 5000
CANCELLED_SHARE = 0.02
WALK_IN_SHARE = 0.04
OFFLINE_DEVICE_SHARE = 0.05
FIRST_NAMES = [
    "Ada",
    "Ali",
    "Ana",
    "Ben",
    "Bo",
    "Cai",
    "Cem",
    "Chloe",
    "Dana",
    "Dev",
    "Eli",
    "Emma",
    "Eva",
    "Finn",
    "Ida",
    "Ines",
    "Jon",
    "Kai",
    "Kim",
    "Lea",
    "Leo",
    "Lin",
    "Luca",
    "Maya",
    "Mia",
    "Nia",
    "Noah",
    "Omar",
    "Ola",
    "Pia",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Tom",
    "Una",
    "Vic",
    "Wen",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Berg",
    "Costa",
    "Dahl",
    "Ek",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kaya",
    "Lund",
    "Meyer",
    "Nowak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Vogel",
    "Wagner",
    "Xu",
    "Yilmaz",
    "Zhang",
]
SESSION_TITLES = (
    "Opening keynote",
    "Hands-on workshop: offline-first apps",
    "Scaling PostgreSQL",
    "Lightning talks",
    "Panel: hiring in 2026",
    "Design systems in practice",
    "Security office hours",
    "Data pipelines that don't page you",
    "Mentoring circle",
    "Community showcase",
    "Closing keynote",
    "Birds of a feather",
)
MESSAGE_BODIES = (
    "Great to meet you today! Here is the link I mentioned.",
    "Thanks for the chat at the coffee corner.",
    "Happy to review your talk slides if that helps.",
    "Nice meeting you. Shall we continue the conversation next week?",
)


@dataclass(frozen=True)
class DemoSize:
    registrations: int
    door_check_ins: int
    exits: int
    session_scans: int
    exchanges: int
    sessions: int = 5
    followed_up_share: float = 0.35
    reply_share: float = 0.4
    follow_ups: int = 0


DEMO_SIZE = DemoSize(
    registrations=2000,
    door_check_ins=1700,
    exits=150,
    session_scans=2600,
    exchanges=1500,
    sessions=5,
    follow_ups=300,
)


@dataclass
class SeededEvent:
    event_id: uuid.UUID
    name: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    organizer_email: str
    staff_email: str
    password: str
    attendee_emails: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def machine_timezone() -> str:
    """The IANA name of this machine's zone (TZ, /etc/timezone, /etc/localtime), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text().strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    return next((name for name in candidates if name and is_valid_timezone(name)), "UTC")


def todays_demo_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A day event that is under way: 09:00-18:00 local from noon on, else started 3 h ago."""
    local_now = now.astimezone(zone)
    if local_now.hour >= 12:
        start = local_now.replace(hour=9, minute=0, second=0, microsecond=0)
    else:
        start = local_now - timedelta(hours=3)
        start = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    return start, start + timedelta(hours=9)


def _bulk_insert(session: Session, model, rows: list[dict[str, Any]]) -> None:
    for offset in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(model), rows[offset : offset + INSERT_BATCH])


def _bulk_update(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key (each row names its `id`)."""
    for offset in range(0, len(rows), INSERT_BATCH):
        session.execute(update(model), rows[offset : offset + INSERT_BATCH])


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


class _Builder:
    """Generates rows in memory (deterministic for a seed), then inserts them in bulk."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        *,
        size: DemoSize,
        event_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        tag: str,
        password_hash: str,
    ) -> None:
        self.session = session
        self.rng = rng
        self.size = size
        self.event_id = event_id
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.now = now
        self.tag = tag
        self.password_hash = password_hash
        self.latest = min(now, ends_at) - timedelta(seconds=30)
        self.users: list[dict[str, Any]] = []
        self.registrations: list[dict[str, Any]] = []
        self.arrivals: dict[uuid.UUID, datetime] = {}  # registration id → first door entry
        self.counts: dict[str, int] = {}

    # People and registrations -------------------------------------------------------------

    def people(self) -> None:
        size, rng = self.size, self.rng
        registered_from = self.starts_at - timedelta(days=45)
        for number in range(size.registrations):
            user_id = uuid.uuid4()
            created = registered_from + timedelta(seconds=rng.uniform(0, 44 * 86400))
            self.users.append(
                {
                    "id": user_id,
                    "email": f"attendee-{number + 1:05d}-{self.tag}@demo.wellspring.test",
                    "password_hash": self.password_hash,
                    "display_name": _person_name(rng),
                    "company": rng.choice(("Acme", "Globex", "Initech", "Umbrella", None)),
                    "title": rng.choice(("Engineer", "Designer", "Founder", "PM", None)),
                    "timezone": "UTC",
                    "created_at": created,
                    "profile_updated_at": created,
                }
            )
        walk_in_until = min(self.latest, self.starts_at + timedelta(hours=3))
        badge_rows = []
        for user in self.users:
            walk_in = walk_in_until > self.starts_at and rng.random() < WALK_IN_SHARE
            created = user["created_at"]
            if walk_in:
                span = (walk_in_until - self.starts_at).total_seconds()
                created = self.starts_at + timedelta(seconds=rng.uniform(0, span))
            cancelled = not walk_in and rng.random() < CANCELLED_SHARE
            code = badges.new_badge_code()
            registration_id = uuid.uuid4()
            self.registrations.append(
                {
                    "id": registration_id,
                    "event_id": self.event_id,
                    "user_id": user["id"],
                    "status": CANCELLED if cancelled else REGISTERED,
                    "badge_code": code,
                    "badge_issued_at": created,
                    "created_at": created,
                    "cancelled_at": created + timedelta(days=1) if cancelled else None,
                }
            )
            badge_rows.append(
                {
                    "registration_id": registration_id,
                    "code_hash": badges.code_hash(code),
                    "issued_at": created,
                }
            )
        _bulk_insert(self.session, User, self.users)
        _bulk_insert(self.session, Registration, self.registrations)
        _bulk_insert(self.session, BadgeCode, badge_rows)
        self.counts["registrations"] = len(self.registrations)

    # Door ---------------------------------------------------------------------------------

    def _arrival_time(self, registered_at: datetime) -> datetime | None:
        """Most people arrive around the start; some trickle in later; nobody after `now`."""
        rng = self.rng
        earliest = max(self.starts_at - WINDOW_OPENS_BEFORE_START, registered_at)
        for _attempt in range(20):
            if registered_at > self.starts_at:  # a walk-in is scanned right after registering
                moment = registered_at + timedelta(minutes=rng.uniform(1, 12))
            elif rng.random() < 0.78:
                moment = self.starts_at + timedelta(minutes=rng.gauss(-12, 22))
            else:
                moment = self.starts_at + timedelta(minutes=rng.expovariate(1 / 70))
            if earliest <= moment <= self.latest:
                return moment
        return None

    def _received_at(self, scanned_at: datetime, device: str) -> datetime:
        if device.endswith("offline"):  # the phone synced its queue later
            delay = timedelta(minutes=self.rng.uniform(5, 40))
        else:
            delay = timedelta(seconds=self.rng.uniform(0.2, 3))
        return min(scanned_at + delay, self.now)

    def door(self, staff_id: uuid.UUID) -> None:
        rng, size = self.rng, self.size
        live = [r for r in self.registrations if r["status"] == REGISTERED]
        chosen = rng.sample(live, min(size.door_check_ins, len(live)))
        check_ins, attendances = [], []
        for registration in chosen:
            arrived = self._arrival_time(registration["created_at"])
            if arrived is None:
                continue
            device = rng.choice(("door-1", "door-2", "door-3"))
            if rng.random() < OFFLINE_DEVICE_SHARE:
                device = "door-4-offline"
            check_in_id = uuid.uuid4()
            received = self._received_at(arrived, device)
            check_ins.append(
                self._check_in(check_in_id, registration, None, ENTRY, arrived, received, device)
            )
            attendances.append(
                {
                    "event_id": self.event_id,
                    "registration_id": registration["id"],
                    "session_id": None,
                    "place": DOOR,
                    "first_checked_in_at": arrived,
                    "first_check_in_id": check_in_id,
                    "inside": True,
                    "last_scanned_at": arrived,
                }
            )
            self.arrivals[registration["id"]] = arrived
        leaving = rng.sample(attendances, min(size.exits, len(attendances)))
        exits = 0
        for attendance in leaving:
            left = attendance["first_checked_in_at"] + timedelta(minutes=rng.uniform(20, 300))
            if left > self.latest:
                continue
            registration = {"id": attendance["registration_id"]}
            check_ins.append(
                self._check_in(uuid.uuid4(), registration, None, EXIT, left, left, "door-1")
            )
            attendance["inside"] = False
            attendance["last_scanned_at"] = left
            exits += 1
        for row in check_ins:
            row["scanned_by_id"] = staff_id
        _bulk_insert(self.session, CheckIn, check_ins)
        _bulk_insert(self.session, Attendance, attendances)
        _bulk_update(
            self.session,
            Registration,
            [{"id": row["registration_id"], "checked_in_at_door": True} for row in attendances],
        )
        self.counts["door_check_ins"] = len(attendances)
        self.counts["exits"] = exits

    def _check_in(
        self,
        check_in_id: uuid.UUID,
        registration: dict[str, Any],
        session_id: uuid.UUID | None,
        direction: str,
        scanned_at: datetime,
        received_at: datetime,
        device: str,
    ) -> dict[str, Any]:
        return {
            "id": check_in_id,
            "event_id": self.event_id,
            "registration_id": registration["id"],
            "session_id": session_id,
            "place": str(session_id) if session_id else DOOR,
            "direction": direction,
            "scanned_at": scanned_at,
            "received_at": received_at,
            "updated_at": received_at,
            "device_id": device,
            "scanned_by_id": None,
            "client_scan_id": None,
        }

    # Sessions -----------------------------------------------------------------------------

    def sessions(self, organizer: User) -> list[EventSession]:
        created = []
        tracks = 3
        for number in range(self.size.sessions):
            slot, track = divmod(number, tracks)
            starts = self.starts_at + timedelta(minutes=30 + 75 * slot)
            ends = min(starts + timedelta(hours=1), self.ends_at)
            share = (None, 0.02, 0.15, 0.75)[number % 4]  # of the registrations
            capacity = round(self.size.registrations * share) if share else None
            created.append(
                events.create_session(
                    self.session,
                    organizer,
                    self.event_id,
                    title=SESSION_TITLES[number % len(SESSION_TITLES)],
                    starts_at=starts,
                    ends_at=ends,
                    room=f"Room {'ABC'[track]}",
                    capacity=capacity,
                    now=self.now,
                )
            )
        return created

    def session_scans(self, event_sessions: list[EventSession], staff_id: uuid.UUID) -> None:
        rng = self.rng
        started = [s for s in event_sessions if s.starts_at < self.latest]
        if not started:
            self.counts["session_scans"] = 0
            return
        # Rooms with a capacity fill to around it (a popular workshop overflows); open rooms
        # draw a share of the crowd.
        weights = [
            s.capacity * rng.uniform(0.6, 1.25)
            if s.capacity
            else self.size.registrations * rng.uniform(0.15, 0.45)
            for s in started
        ]
        total_weight = sum(weights)
        check_ins, attendances = [], []
        for event_session, weight in zip(started, weights, strict=True):
            doors_by = event_session.starts_at + timedelta(minutes=15)
            present = [rid for rid, arrived in self.arrivals.items() if arrived < doors_by]
            wanted = round(self.size.session_scans * weight / total_weight)
            for registration_id in rng.sample(present, min(wanted, len(present))):
                scanned = event_session.starts_at + timedelta(minutes=rng.uniform(-10, 15))
                scanned = max(scanned, self.arrivals[registration_id] + timedelta(minutes=1))
                if scanned > self.latest:
                    continue
                device = f"room-{event_session.room[-1].lower()}"
                check_in_id = uuid.uuid4()
                row = self._check_in(
                    check_in_id,
                    {"id": registration_id},
                    event_session.id,
                    ENTRY,
                    scanned,
                    self._received_at(scanned, device),
                    device,
                )
                row["scanned_by_id"] = staff_id
                check_ins.append(row)
                attendances.append(
                    {
                        "event_id": self.event_id,
                        "registration_id": registration_id,
                        "session_id": event_session.id,
                        "place": str(event_session.id),
                        "first_checked_in_at": scanned,
                        "first_check_in_id": check_in_id,
                        "inside": True,
                        "last_scanned_at": scanned,
                    }
                )
        _bulk_insert(self.session, CheckIn, check_ins)
        _bulk_insert(self.session, Attendance, attendances)
        self.counts["session_scans"] = len(check_ins)

    # Networking ---------------------------------------------------------------------------

    def networking(self) -> None:
        rng, size = self.rng, self.size
        user_of = {r["id"]: r["user_id"] for r in self.registrations}
        present = [(user_of[rid], arrived) for rid, arrived in self.arrivals.items()]
        if len(present) < 2:
            self.counts["exchanges"] = 0
            return
        # Some people network a lot (speakers, sponsors): a skewed choice of the first side.
        sociability = [rng.paretovariate(1.6) for _ in present]
        wanted = min(size.exchanges, len(present) * (len(present) - 1) // 2)
        pairs: set[tuple[uuid.UUID, uuid.UUID]] = set()
        met: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}
        batch = max(wanted, 1000)
        while len(pairs) < wanted:
            firsts = rng.choices(range(len(present)), weights=sociability, k=batch)
            for first in firsts:
                second = rng.randrange(len(present))
                if first == second:
                    continue
                (user_a, arrived_a), (user_b, arrived_b) = present[first], present[second]
                pair = (user_a, user_b) if user_a < user_b else (user_b, user_a)
                if pair in pairs:
                    continue
                both_in = max(arrived_a, arrived_b)
                meeting = both_in + timedelta(minutes=rng.expovariate(1 / 90))
                if meeting > self.latest:
                    meeting = both_in + (self.latest - both_in) * rng.random()
                pairs.add(pair)
                met[pair] = meeting
                if len(pairs) == wanted:
                    break
        self._write_connections(met)

    def _write_connections(self, met: dict[tuple[uuid.UUID, uuid.UUID], datetime]) -> None:
        rng, size = self.rng, self.size
        connections, contacts, messages = [], [], []
        exchanges: dict[uuid.UUID, int] = {}
        follow_up_candidates: list[dict[str, Any]] = []
        for (user_a, user_b), met_at in met.items():
            connection_id = uuid.uuid4()
            scanner = user_a if rng.random() < 0.5 else user_b
            connections.append(
                {
                    "id": connection_id,
                    "user_a_id": user_a,
                    "user_b_id": user_b,
                    "event_id": self.event_id,
                    "met_at": met_at,
                    "created_by_id": scanner,
                    "created_at": met_at,
                    "first_message_at": None,
                }
            )
            sides = {
                owner: {
                    "id": uuid.uuid4(),
                    "connection_id": connection_id,
                    "owner_id": owner,
                    "other_id": other,
                    "event_id": self.event_id,
                    "met_in_person": True,
                    "met_at": met_at,
                    "note": None,
                    "created_at": met_at,
                    "updated_at": met_at,
                    "unanswered_streak": 0,
                    "last_sent_at": None,
                    "last_received_at": None,
                    "other_ever_wrote": False,
                    "sent_count": 0,
                    "received_count": 0,
                    "replies_received": 0,
                    "last_interaction_at": None,
                }
                for owner, other in ((user_a, user_b), (user_b, user_a))
            }
            if rng.random() < size.followed_up_share:
                conversation = self._conversation(connection_id, scanner, met_at, sides)
                connections[-1]["first_message_at"] = min(row["sent_at"] for row in conversation)
                messages.extend(conversation)
            for person in (user_a, user_b):
                exchanges[person] = exchanges.get(person, 0) + 1
            contacts.extend(sides.values())
            follow_up_candidates.append(sides[scanner])
        _bulk_insert(self.session, Connection, connections)
        _bulk_insert(self.session, Contact, contacts)
        _bulk_insert(self.session, Message, messages)
        _bulk_update(
            self.session,
            Registration,
            [
                {"id": row["id"], "exchange_count": exchanges[row["user_id"]]}
                for row in self.registrations
                if row["user_id"] in exchanges
            ],
        )
        self.counts["exchanges"] = len(connections)
        self.counts["messages"] = len(messages)
        self._follow_ups(follow_up_candidates)

    def _conversation(
        self,
        connection_id: uuid.UUID,
        sender: uuid.UUID,
        met_at: datetime,
        sides: dict[uuid.UUID, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """A thank-you within days of meeting (never after now), sometimes answered."""
        rng = self.rng
        recipient = next(owner for owner in sides if owner != sender)
        room = max((self.now - met_at).total_seconds(), 1.0)
        sent = met_at + timedelta(seconds=min(rng.expovariate(1 / 86400), room * rng.random()))
        rows = [self._message(connection_id, sender, recipient, sent, sides, cold=True)]
        if rng.random() < self.size.reply_share:
            reply = sent + timedelta(seconds=(self.now - sent).total_seconds() * rng.random())
            rows.append(self._message(connection_id, recipient, sender, reply, sides, cold=False))
        return rows

    @staticmethod
    def _message(
        connection_id: uuid.UUID,
        sender: uuid.UUID,
        recipient: uuid.UUID,
        sent_at: datetime,
        sides: dict[uuid.UUID, dict[str, Any]],
        *,
        cold: bool,
    ) -> dict[str, Any]:
        outgoing, incoming = sides[sender], sides[recipient]
        outgoing["sent_count"] += 1
        outgoing["last_sent_at"] = sent_at
        outgoing["last_interaction_at"] = sent_at
        outgoing["unanswered_streak"] += 1
        incoming["received_count"] += 1
        incoming["last_received_at"] = sent_at
        incoming["last_interaction_at"] = sent_at
        incoming["other_ever_wrote"] = True
        if incoming["unanswered_streak"]:  # this message answers the recipient's
            incoming["replies_received"] += 1
            incoming["unanswered_streak"] = 0
        body = MESSAGE_BODIES[connection_id.int % len(MESSAGE_BODIES)]
        return {
            "connection_id": connection_id,
            "sender_id": sender,
            "recipient_id": recipient,
            "kind": "thank_you" if cold else "other",
            "body": body,
            "cold": cold,
            "sent_at": sent_at,
            "read_at": None,
        }

    def _follow_ups(self, contacts: list[dict[str, Any]]) -> None:
        """Scheduled offers a week or two out, at 10:00 UTC (outside default quiet hours)."""
        rng = self.rng
        rows = []
        for contact in rng.sample(contacts, min(self.size.follow_ups, len(contacts))):
            if contact["unanswered_streak"]:
                continue  # awaiting a reply: the policy would not let another one be planned
            day = (self.now + timedelta(days=rng.randint(7, 14))).replace(
                hour=10, minute=0, second=0, microsecond=0
            )
            rows.append(
                {
                    "owner_id": contact["owner_id"],
                    "contact_id": contact["id"],
                    "recipient_id": contact["other_id"],
                    "plan_id": None,
                    "kind": "offer",
                    "body": "Following up: happy to share the notes from my talk.",
                    "send_at": day,
                    "deliver_at": day,
                    "status": "scheduled",
                    "status_reason": None,
                    "message_id": None,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        _bulk_insert(self.session, FollowUp, rows)
        self.counts["follow_ups"] = len(rows)


def seed_event(
    session: Session,
    *,
    size: DemoSize,
    name: str,
    timezone: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    seed: int | None = None,
    password: str | None = None,
) -> SeededEvent:
    """Create a populated event with its organizer and staff accounts; commits."""
    rng = random.Random(seed)
    tag = hashlib.sha256(f"{seed}-{secrets.token_hex(8)}".encode()).hexdigest()[:6]
    password = password or secrets.token_urlsafe(12)
    organizer_email = f"organizer-{tag}@demo.wellspring.test"
    staff_email = f"staff-{tag}@demo.wellspring.test"
    organizer = accounts.register_user(
        session,
        email=organizer_email,
        password=password,
        display_name="Olga Organizer",
        now=now,
        timezone=timezone,
    ).user
    staff = accounts.register_user(
        session, email=staff_email, password=password, display_name="Sam Staff", now=now
    ).user
    event = events.create_event(
        session,
        organizer,
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=timezone,
        venue="Wellspring Hall",
        now=now,
    )
    events.assign_staff(session, organizer, event.id, email=staff_email, role=STAFF, now=now)

    builder = _Builder(
        session,
        rng,
        size=size,
        event_id=event.id,
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
        tag=tag,
        password_hash=accounts.hash_password(password),
    )
    event_sessions = builder.sessions(organizer)
    builder.people()
    builder.door(staff.id)
    builder.session_scans(event_sessions, staff.id)
    builder.networking()
    session.commit()
    return SeededEvent(
        event_id=event.id,
        name=name,
        timezone=timezone,
        starts_at=starts_at,
        ends_at=ends_at,
        organizer_email=organizer_email,
        staff_email=staff_email,
        password=password,
        attendee_emails=[user["email"] for user in builder.users[:3]],
        counts=builder.counts,
    )
