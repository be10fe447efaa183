"""Offline sync at real sizes: first pull, incremental pull, push, scanner kit (issue 15, point 6).

One account with 5,000 contacts, 50,000 messages and 2,000 follow-ups, in a database that holds
1,000,000 messages of other people, and an event with 50,000 registrations (the account is its
organizer). Seeded with the change-log triggers on, as production writes would be. Targets:
first pull ≤ 3 s and streamed (memory flat), incremental pull with 10 changes ≤ 50 ms,
100-record push ≤ 200 ms, scanner kit for 50,000 registrations ≤ 2 s, 100-change kit delta
≤ 50 ms. Measured in-process through the service functions the endpoints call (no HTTP).

    .venv/bin/python bench/sync_pull_bench.py                 # scale 0.1, SQLite and PostgreSQL
    .venv/bin/python bench/sync_pull_bench.py --scale 1       # the sizes above
    .venv/bin/python bench/sync_pull_bench.py --databases sqlite --scale 1
    .venv/bin/python bench/sync_pull_bench.py --scale 1 --database-url sqlite:////tmp/sync.db

`--database-url` seeds that database only when it is empty and otherwise measures the earlier
run's data again (seeding a full-size database with the triggers on takes many minutes).
PostgreSQL: a throwaway database on BENCH_POSTGRES_URL (default the local server's `postgres`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text, update

from bench.common import describe_machine, migrated_database, throwaway_database
from services.core.db import READ_ONLY, make_session_factory
from services.core.models import (
    Connection,
    Contact,
    Event,
    EventStaff,
    FollowUp,
    Message,
    Registration,
    SyncChange,
    User,
)
from services.messaging.throttle import ThrottlePolicy
from services.offline import compaction, pull, push, scanner_kit, tracking, world

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BATCH = 5_000
TARGETS_MS = {
    "first pull": 3000,
    "incremental pull (10 changes)": 50,
    "push (100 records)": 200,
    "scanner kit (full)": 2000,
    "scanner kit delta (100 changes)": 50,
}


def chunked(rows, size=BATCH):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk(engine, table, rows) -> None:
    for part in chunked(rows):
        with engine.begin() as connection:
            connection.execute(insert(table), part)


def seed(engine, scale: float, rng: random.Random) -> dict:
    contacts = int(5_000 * scale)
    my_messages = int(50_000 * scale)
    follow_ups = int(2_000 * scale)
    other_messages = int(1_000_000 * scale)
    registrations = int(50_000 * scale)
    people = max(registrations, contacts + 2)

    def user(i: int) -> dict:
        return {
            "id": uuid.uuid4(),
            "email": f"p{i}-{uuid.uuid4().hex[:6]}@bench.test",
            "password_hash": "!",
            "display_name": f"Person {i}",
            "headline": "Bench",
            "timezone": "UTC",
            "created_at": NOW,
            "profile_updated_at": NOW,
        }

    me = user(-1)
    users = [user(i) for i in range(people)]
    bulk(engine, User.__table__, [me, *users])
    event_id = uuid.uuid4()
    bulk(
        engine,
        Event.__table__,
        [
            {
                "id": event_id,
                "name": "Big conference",
                "starts_at": NOW - timedelta(hours=2),
                "ends_at": NOW + timedelta(hours=8),
                "timezone": "UTC",
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    bulk(
        engine,
        EventStaff.__table__,
        [{"event_id": event_id, "user_id": me["id"], "role": "organizer", "created_at": NOW}],
    )
    registration_rows = [
        {
            "id": uuid.uuid4(),
            "event_id": event_id,
            "user_id": u["id"],
            "status": "registered",
            "badge_code": uuid.uuid4().hex,
            "badge_issued_at": NOW,
            "created_at": NOW,
        }
        for u in users[:registrations]
    ]
    bulk(engine, Registration.__table__, registration_rows)

    # My contacts: one connection and my side each.
    connection_rows, contact_rows = [], []
    for other in users[:contacts]:
        a, b = sorted((me["id"], other["id"]))
        connection_id = uuid.uuid4()
        connection_rows.append(
            {
                "id": connection_id,
                "user_a_id": a,
                "user_b_id": b,
                "event_id": event_id,
                "met_at": NOW - timedelta(days=rng.randint(0, 200)),
                "created_at": NOW,
            }
        )
        contact_rows.append(
            {
                "id": uuid.uuid4(),
                "connection_id": connection_id,
                "owner_id": me["id"],
                "other_id": other["id"],
                "event_id": event_id,
                "met_at": NOW - timedelta(days=rng.randint(0, 200)),
                "note": "met at the bench",
                "created_at": NOW,
                "updated_at": NOW,
                "sent_count": rng.randint(0, 6),
                "received_count": rng.randint(0, 6),
            }
        )
    # Other people's conversations: pairs among everyone else.
    others = users[contacts:] or users
    other_pairs = []
    for _ in range(max(1, other_messages // 100)):
        x, y = rng.sample(others, 2)
        a, b = sorted((x["id"], y["id"]))
        other_pairs.append((uuid.uuid4(), a, b))
    other_pairs = list({(a, b): (c, a, b) for c, a, b in other_pairs}.values())
    connection_rows += [
        {
            "id": c,
            "user_a_id": a,
            "user_b_id": b,
            "event_id": None,
            "met_at": NOW,
            "created_at": NOW,
        }
        for c, a, b in other_pairs
    ]
    bulk(engine, Connection.__table__, connection_rows)
    bulk(engine, Contact.__table__, contact_rows)

    started = time.perf_counter()
    message_rows = []
    for i in range(my_messages):
        contact = contact_rows[i % contacts]
        incoming = i % 2 == 0
        message_rows.append(
            {
                "id": uuid.uuid4(),
                "connection_id": contact["connection_id"],
                "sender_id": contact["other_id"] if incoming else me["id"],
                "recipient_id": me["id"] if incoming else contact["other_id"],
                "kind": "other",
                "body": f"message {i}",
                "cold": False,
                "sent_at": NOW - timedelta(minutes=i),
            }
        )
    for i in range(other_messages):
        c, a, b = other_pairs[i % len(other_pairs)]
        message_rows.append(
            {
                "id": uuid.uuid4(),
                "connection_id": c,
                "sender_id": a if i % 2 else b,
                "recipient_id": b if i % 2 else a,
                "kind": "other",
                "body": f"someone else's message {i}",
                "cold": False,
                "sent_at": NOW - timedelta(minutes=i % 100_000),
            }
        )
    bulk(engine, Message.__table__, message_rows)
    del message_rows
    bulk(
        engine,
        FollowUp.__table__,
        [
            {
                "id": uuid.uuid4(),
                "owner_id": me["id"],
                "contact_id": contact_rows[i % contacts]["id"],
                "recipient_id": contact_rows[i % contacts]["other_id"],
                "kind": "check_in",
                "body": f"follow-up {i}",
                "send_at": NOW + timedelta(days=1 + i % 30),
                "deliver_at": NOW + timedelta(days=1 + i % 30),
                "status": "scheduled",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(follow_ups)
        ],
    )
    seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    with engine.connect() as connection:
        log_rows = connection.scalar(select(SyncChange.seq).order_by(SyncChange.seq.desc()))
    return {
        "me": me["id"],
        "event_id": event_id,
        "contacts": contact_rows,
        "registrations": registration_rows,
        "sizes": {
            "contacts": contacts,
            "my messages": my_messages,
            "follow-ups": follow_ups,
            "other people's messages": other_messages,
            "registrations": registrations,
            "change-log rows": log_rows,
        },
        "messages_seconds": seconds,
    }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def seeded_before(engine) -> dict | None:
    """The account, event, contacts and registrations of an earlier run's seed, if any."""
    with engine.connect() as connection:
        staff = connection.execute(select(EventStaff.event_id, EventStaff.user_id)).first()
        if staff is None:
            return None
        event_id, me = staff
        contacts = [
            {"id": row.id}
            for row in connection.execute(select(Contact.id).where(Contact.owner_id == me))
        ]
        registrations = [
            {"id": row.id}
            for row in connection.execute(
                select(Registration.id).where(Registration.event_id == event_id)
            )
        ]

        def count(model) -> int:
            return connection.scalar(select(func.count()).select_from(model))

        return {
            "me": me,
            "event_id": event_id,
            "contacts": contacts,
            "registrations": registrations,
            "sizes": {
                "contacts": len(contacts),
                "messages (all)": count(Message),
                "follow-ups": count(FollowUp),
                "registrations": len(registrations),
                "change-log rows": count(SyncChange),
            },
        }


def measure(engine, label: str, scale: float, repeat: int) -> dict:
    rng = random.Random(15)
    started = time.perf_counter()
    data = seeded_before(engine)
    if data is None:
        data = seed(engine, scale, rng)
        seed_seconds = time.perf_counter() - started
    else:
        label += " (an earlier run's data)"
        seed_seconds = 0.0
    write = make_session_factory(engine)
    read = make_session_factory(engine.execution_options(**READ_ONLY))
    me, event_id = data["me"], data["event_id"]
    figures: dict[str, list[float]] = {name: [] for name in TARGETS_MS}

    def first_pull() -> tuple[float, int, dict]:
        begun = time.perf_counter()
        size = 0
        tail = ""
        for piece in pull.pull_changes(read, write, me, last_pulled_at=None):
            size += len(piece)
            tail = (tail + piece)[-40:]
        timestamp = int(tail.rsplit(":", 1)[1].rstrip("}"))
        return time.perf_counter() - begun, size, {"timestamp": timestamp}

    def pull_json(last_pulled_at):
        return json.loads(
            "".join(pull.pull_changes(read, write, me, last_pulled_at=last_pulled_at))
        )

    for _ in range(repeat):
        seconds, size, answer = first_pull()
        figures["first pull"].append(seconds)
    # Memory: the peak Python allocation while the whole answer streams through.
    tracemalloc.start()
    _seconds, size, answer = first_pull()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    last = answer["timestamp"]

    contact_ids = [c["id"] for c in data["contacts"]]
    for round_ in range(repeat):
        with engine.begin() as connection:
            for contact_id in rng.sample(contact_ids, 10):
                connection.execute(
                    update(Contact).where(Contact.id == contact_id).values(note=f"edit {round_}")
                )
        begun = time.perf_counter()
        answer = pull_json(last)
        figures["incremental pull (10 changes)"].append(time.perf_counter() - begun)
        changed = len(answer["changes"]["contacts"]["updated"])
        assert changed >= 10, changed
        last = answer["timestamp"]

    current = {row["id"]: row for row in _contact_rows(read, write, me, contact_ids[:100])}
    for round_ in range(repeat):
        rows = [dict(row, note=f"pushed {round_}") for row in current.values()]
        session = write()
        try:
            user = session.get(User, me)
            begun = time.perf_counter()
            push.push_changes(
                session,
                user,
                {"contacts": {"created": [], "updated": rows, "deleted": []}},
                last_pulled_at=last,
                now=NOW,
                policy=ThrottlePolicy(),
            )
            figures["push (100 records)"].append(time.perf_counter() - begun)
        finally:
            session.close()
        last = pull_json(last)["timestamp"]
        current = {r["id"]: dict(r, note=f"pushed {round_}") for r in rows}

    staff = _user(read, me)
    kit = None
    for _ in range(repeat):
        begun = time.perf_counter()
        kit = scanner_kit.scanner_kit(read, write, staff, event_id, since=None)
        figures["scanner kit (full)"].append(time.perf_counter() - begun)
    kit_size = len(kit["badges"])
    since = kit["timestamp"]
    registration_ids = [r["id"] for r in data["registrations"]]
    for round_ in range(repeat):
        with engine.begin() as connection:
            for registration_id in rng.sample(registration_ids, 100):
                connection.execute(
                    update(Registration)
                    .where(Registration.id == registration_id)
                    .values(badge_code=f"rotated-{round_}-{uuid.uuid4().hex}")
                )
        begun = time.perf_counter()
        delta = scanner_kit.scanner_kit(read, write, staff, event_id, since=since)
        figures["scanner kit delta (100 changes)"].append(time.perf_counter() - begun)
        assert len(delta["badges"]) == 100, len(delta["badges"])
        since = delta["timestamp"]

    plan = incremental_plan(engine, read, write, me, last)  # before compaction drops `last`
    # Housekeeping a month on: the pass that moves the floor, then the one that compacts below it
    # (the worker runs one an hour). Timed over the whole log, which it scans.
    month_later = datetime.now(UTC) + compaction.DEFAULT_RETENTION + timedelta(days=1)
    passes = []
    for _ in range(2):
        begun = time.perf_counter()
        report = compaction.compact_change_log(read, write, month_later)
        passes.append((time.perf_counter() - begun, report))

    return {
        "label": label,
        "compaction": passes,
        "machine": describe_machine(engine),
        "sizes": data["sizes"],
        "seed_seconds": round(seed_seconds, 1),
        "first_pull_bytes": size,
        "first_pull_peak_python_bytes": peak,
        "kit_badges": kit_size,
        "figures": figures,
        "plan": plan,
    }


def _user(read, user_id):
    with read() as session:
        user = session.get(User, user_id)
        session.expunge(user)
        return user


def _contact_rows(read, write, user_id, ids):
    with tracking.read_snapshot(read, write) as snapshot:
        viewer = world.Viewer(user_id, world.strength_day(snapshot.at))
        return list(world.contact_rows(snapshot.connection, viewer, set(ids)))


def incremental_plan(engine, read, write, user_id, last_pulled_at) -> str:
    """The query plan of the incremental pull's change-log read (the part that grows): the
    statement `tracking.changed_rows` sends, with its values written in."""
    with tracking.read_snapshot(read, write) as snapshot:
        since = tracking.watermark_for(snapshot.connection, last_pulled_at)
    query = tracking.changes_query([user_id], list(world.USER_LOG_TABLES), since)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql).all()
            return "\n".join(r[0] for r in rows)
        sql = sql.replace(str(user_id), user_id.hex)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        return "\n".join(str(r[-1]) for r in rows)


def report(run: dict) -> None:
    print(f"\n== {run['label']} ==")
    print(run["machine"])
    print("sizes:", ", ".join(f"{k} {v:,}" for k, v in run["sizes"].items()))
    if run["seed_seconds"]:
        print(f"seeding (triggers on): {run['seed_seconds']} s")
    peak_mb = run["first_pull_peak_python_bytes"] / 1e6
    print(
        f"first pull: {run['first_pull_bytes'] / 1e6:.1f} MB of JSON streamed; peak Python "
        f"memory while streaming {peak_mb:.1f} MB"
    )
    print(f"scanner kit: {run['kit_badges']:,} badges")
    print(f"{'figure':36} {'median ms':>10} {'max ms':>9} {'target ms':>10}  ")
    for name, samples in run["figures"].items():
        median, worst = ms(statistics.median(samples)), ms(max(samples))
        verdict = "ok" if median <= TARGETS_MS[name] else "OVER"
        print(f"{name:36} {median:>10} {worst:>9} {TARGETS_MS[name]:>10}  {verdict}")
    for number, (seconds, outcome) in enumerate(run["compaction"], 1):
        print(
            f"log compaction pass {number}: {seconds:.1f} s, {outcome.changes_removed:,} "
            f"change rows and {outcome.watermarks_removed:,} watermarks removed"
        )
    print("incremental pull, change-log query plan:")
    print("  " + run["plan"].replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--scale", type=float, default=0.1, help="1 = the issue's sizes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-url", help="seed this database if empty, else measure its data again"
    )
    args = parser.parse_args()
    if args.database_url:
        with migrated_database(args.database_url) as engine:
            label = f"{engine.dialect.name}, scale {args.scale:g}"
            report(measure(engine, label, args.scale, args.repeat))
        return
    server = os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    for name in args.databases.split(","):
        with throwaway_database(server if name == "postgresql" else None) as engine:
            report(measure(engine, f"{name}, scale {args.scale:g}", args.scale, args.repeat))


if __name__ == "__main__":
    main()
