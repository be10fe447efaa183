"""Recommendations at 50,000 registrations: the time of GET /v1/events/{id}/recommendations.

    .venv/bin/python bench/recommendations_bench.py [--postgres URL] [--only sqlite|postgres]
                                                    [--registrations N] [--viewers N]

For each database it builds one event with bulk inserts: N registrations (default 50,000), all
discoverable, each person with 3-8 offers and 3-8 seeks drawn from 400 tags with a skewed
(Zipf-like, s=0.7) popularity, so the most popular tag is held by about a quarter of the
attendees, and one of 30 primary focuses; 200 people sit at the pending-request cap. Then it
asks for the recommendations of `--viewers` different attendees through the real app (Flask
test client, bearer token), once to warm up and once measured each, and prints the median and
p95 with the machine, the database and how many match rows the median viewer's tags hit.
Nothing is asserted; the target (issue 17) is <= 100 ms at 50,000 registrations.

Defaults: a SQLite file in a temporary directory, and a throwaway database created (and dropped
afterwards) on postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import describe_machine, summary, throwaway_database
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api import create_app
from api.auth import AUTHORITY
from services.accounts import sessions
from services.core.clock import SettableClock
from services.core.models import (
    Event,
    EventStaff,
    MatchTag,
    Registration,
    User,
)
from services.meetings.requests import RECIPIENT_PENDING_CAP
from services.meetings.tags import FOCUS, OFFER, SEEK, shuffle_key

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STARTS_AT = datetime(2026, 5, 12, 7, 0, tzinfo=UTC)
NOW = STARTS_AT + timedelta(hours=2)
TAGS = [f"topic-{i:03}" for i in range(400)]
FOCUSES = [f"focus {i:02}" for i in range(30)]
ZIPF_S = 0.7
FAMOUS = 200
CHUNK = 5_000
TARGET_MS = 100


def seed(engine, registrations: int, viewers: int, rng: random.Random):
    weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(TAGS))]
    event_id = uuid.uuid4()
    organizer = uuid.uuid4()
    users, regs, tags, tokens = [], [], [], {}
    for index in range(registrations):
        user_id, registration_id = uuid.uuid4(), uuid.uuid4()
        offers = sorted(set(rng.choices(TAGS, weights, k=rng.randint(3, 8))))
        seeks = sorted(set(rng.choices(TAGS, weights, k=rng.randint(3, 8))) - set(offers))
        focus = rng.choice(FOCUSES)
        users.append(
            {
                "id": user_id,
                "email": f"bench-{index}@example.test",
                "password_hash": "!",
                "display_name": f"Attendee {index}",
                "headline": f"Works on {offers[0]}",
                "primary_focus": focus,
                "offers": offers,
                "seeks": seeks,
                "created_at": STARTS_AT,
                "profile_updated_at": STARTS_AT,
            }
        )
        regs.append(
            {
                "id": registration_id,
                "event_id": event_id,
                "user_id": user_id,
                "status": "registered",
                "badge_code": uuid.uuid4().hex,
                "badge_issued_at": STARTS_AT,
                "created_at": STARTS_AT,
                "discoverable": True,
                "pending_requests_in": RECIPIENT_PENDING_CAP if index < FAMOUS else 0,
            }
        )
        base = {
            "registration_id": registration_id,
            "event_id": event_id,
            "user_id": user_id,
            "shuffle_key": shuffle_key(registration_id),
        }
        tags += [{**base, "kind": OFFER, "tag": t} for t in offers]
        tags += [{**base, "kind": SEEK, "tag": t} for t in seeks]
        tags.append({**base, "kind": FOCUS, "tag": focus})
        if FAMOUS <= index < FAMOUS + viewers:
            tokens[user_id] = None  # signed in through the app once it exists (measure)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "id": organizer,
                    "email": "organizer@example.test",
                    "password_hash": "!",
                    "display_name": "Organizer",
                    "created_at": STARTS_AT,
                    "profile_updated_at": STARTS_AT,
                }
            ],
        )
        conn.execute(
            insert(Event),
            [
                {
                    "id": event_id,
                    "name": "Bench Meetings 2026",
                    "starts_at": STARTS_AT,
                    "ends_at": STARTS_AT + timedelta(hours=9),
                    "timezone": "Europe/Berlin",
                    "created_by_id": organizer,
                    "created_at": STARTS_AT,
                    "updated_at": STARTS_AT,
                }
            ],
        )
        conn.execute(
            insert(EventStaff),
            [
                {
                    "event_id": event_id,
                    "user_id": organizer,
                    "role": "organizer",
                    "created_at": STARTS_AT,
                }
            ],
        )
        for rows, model in ((users, User), (regs, Registration), (tags, MatchTag)):
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(model), rows[start : start + CHUNK])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return event_id, tokens, len(tags)


def matched_rows(engine, event_id, user_id) -> int:
    """How many match-index rows the viewer's tags hit (the work the ranking does)."""
    with engine.connect() as conn:
        offers, seeks, focus = conn.execute(
            select(User.offers, User.seeks, User.primary_focus).where(User.id == user_id)
        ).one()
        count = 0
        for kind, wanted in ((OFFER, seeks), (SEEK, offers), (FOCUS, [focus])):
            count += conn.scalar(
                select(func.count()).where(
                    MatchTag.event_id == event_id, MatchTag.kind == kind, MatchTag.tag.in_(wanted)
                )
            )
        return count


def measure(engine, label: str, registrations: int, viewers: int) -> None:
    rng = random.Random(17)
    started = time.perf_counter()
    event_id, tokens, tag_rows = seed(engine, registrations, viewers, rng)
    seeded_s = time.perf_counter() - started
    app = create_app(
        {
            "TESTING": True,
            "ENGINE": engine,
            "CLOCK": SettableClock(NOW),
            "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": "https://bench.test",
        }
    )
    with Session(engine) as session:
        tokens = {
            user_id: sessions.start(
                session, app.extensions[AUTHORITY], session.get(User, user_id), NOW
            ).access_token
            for user_id in tokens
        }
        session.commit()
    client = app.test_client()
    path = f"/v1/events/{event_id}/recommendations"
    samples, hits, sizes = [], [], []
    for user_id, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get(path, headers=headers)  # warm-up
        assert response.status_code == 200, response.get_json()
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        sizes.append(len(response.get_json()["items"]))
        hits.append(matched_rows(engine, event_id, user_id))
    print(f"\n== {label}")
    print(describe_machine(engine))
    print(
        f"{registrations:,} discoverable registrations, {tag_rows:,} match rows, "
        f"{FAMOUS} people at the pending cap; seeded in {seeded_s:.1f} s"
    )
    print(
        f"match rows hit per viewer: median {statistics.median(hits):,.0f}, max {max(hits):,}; "
        f"recommendations answered: {min(sizes)}-{max(sizes)}"
    )
    print(
        f"GET recommendations (HTTP through the app): {summary(samples)}, "
        f"min {min(samples):.2f} ms; target {TARGET_MS} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--registrations", type=int, default=50_000)
    parser.add_argument("--viewers", type=int, default=40)
    args = parser.parse_args()
    if args.only != "postgres":
        with throwaway_database(None) as engine:
            measure(engine, "SQLite", args.registrations, args.viewers)
    if args.only != "sqlite":
        with throwaway_database(args.postgres) as engine:
            measure(engine, "PostgreSQL", args.registrations, args.viewers)


if __name__ == "__main__":
    main()
