"""Organizer stats at 50,000 attendees: times stats JSON, the check-in CSV and the arrivals chart.

    .venv/bin/python bench/stats_bench.py [--sqlite URL] [--postgres URL] [--only sqlite|postgres]

For each database it builds one event with bulk inserts (api/demo/seeder.py): 50,000
registrations, 45,000 door check-ins, 5,000 exits, 150,000 session scans, 100,000 contact
exchanges with messages after a third of them. Then it calls the three endpoints through the
real app (Flask test client, organizer token) once to warm up and REPEAT times more, and prints
the median with the machine and versions. Nothing is asserted: targets are in the issue
(JSON <= 150 ms, CSV <= 2 s, chart <= 500 ms on 2 cores).

Defaults: a SQLite file in a temporary directory, and a throwaway database created (and dropped
afterwards) on the PostgreSQL server postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import matplotlib
import sqlalchemy
from common import cpu_model, migrated_database, throwaway_database
from sqlalchemy import event, func, select, text

from api import create_app
from api.demo import seeder
from services.core.clock import SettableClock
from services.core.models import CheckIn, Connection, Event, Message, Registration, User

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPEAT = 5
BENCH_SIZE = seeder.DemoSize(
    registrations=50_000,
    door_check_ins=45_000,
    exits=5_000,
    session_scans=150_000,
    exchanges=100_000,
    sessions=12,
    follow_ups=5_000,
)
STARTS_AT = datetime(2026, 5, 12, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
ENDS_AT = STARTS_AT + timedelta(hours=9)
NOW = ENDS_AT + timedelta(days=8)  # a week of follow-up messages has happened
STATEMENTS_SHOWN = 8
STATEMENT_CHARS = 110
EVENT_NAME = "Bench Conf 2026"
PASSWORD = "bench password"
TARGETS_MS = {"stats JSON": 150, "check-ins CSV": 2000, "arrivals PNG": 500}


def timed(call: Callable[[], int], repeat: int) -> tuple[float, float, float, int]:
    call()  # warm-up: caches, matplotlib's first import and font lookup
    samples, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), max(samples), size


def seeded_before(session) -> tuple[str, uuid.UUID] | None:
    """The organizer's email and the event of an earlier run (for --reuse)."""
    row = session.execute(
        select(User.email, Event.id)
        .join(Event, Event.created_by_id == User.id)
        .where(Event.name == EVENT_NAME)
    ).first()
    return (row[0], row[1]) if row else None


def row_counts(session, event_id: uuid.UUID) -> dict[str, int]:
    """What the event holds, counted in the database."""

    def count(model, *conditions) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))

    scans = (CheckIn.event_id == event_id, CheckIn.undone_at.is_(None))
    at_event = Connection.event_id == event_id
    return {
        "registrations": count(Registration, Registration.event_id == event_id),
        "door check-ins": count(
            CheckIn, *scans, CheckIn.session_id.is_(None), CheckIn.direction == "entry"
        ),
        "exits": count(CheckIn, *scans, CheckIn.direction == "exit"),
        "session scans": count(CheckIn, *scans, CheckIn.session_id.is_not(None)),
        "exchanges": count(Connection, at_event),
        "messages": count(
            Message, Message.connection_id.in_(select(Connection.id).where(at_event))
        ),
    }


def measure(engine, label: str, repeat: int, reuse: bool) -> dict:
    app = create_app(
        {
            "ENGINE": engine,
            "CLOCK": SettableClock(NOW),
            "TESTING": True,
            "PASSWORD_HASH_PROFILE": "fast",
        }
    )
    database = app.extensions["wellspring.db"]
    started = time.perf_counter()
    with database.session_factory() as session:
        earlier = seeded_before(session) if reuse else None
        if earlier is None:
            seeded = seeder.seed_event(
                session,
                size=BENCH_SIZE,
                name=EVENT_NAME,
                timezone="Europe/Berlin",
                starts_at=STARTS_AT,
                ends_at=ENDS_AT,
                now=NOW,
                seed=2026,
                password=PASSWORD,
            )
            organizer_email, event_id = seeded.organizer_email, seeded.event_id
        else:
            organizer_email, event_id = earlier
        counts = row_counts(session, event_id)
    seed_seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done by then: statistics and the visibility map.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
            server = connection.execute(text("SHOW server_version")).scalar_one()
    else:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        server = sqlite3.sqlite_version

    client = app.test_client()
    login = client.post("/v1/auth/login", json={"email": organizer_email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    base = f"/v1/events/{event_id}"

    def stats_json() -> int:
        response = client.get(f"{base}/stats?bucket=15", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return len(response.get_data())

    def csv_export() -> int:
        response = client.get(f"{base}/check-ins.csv", headers=headers, buffered=False)
        assert response.status_code == 200
        size = 0
        for chunk in response.response:  # consume the stream as a client would
            size += len(chunk)
        response.close()
        return size

    def chart() -> int:
        response = client.get(f"{base}/stats/arrivals.png?bucket=15", headers=headers)
        assert response.status_code == 200
        return len(response.get_data())

    results = {
        "stats JSON": timed(stats_json, repeat),
        "check-ins CSV": timed(csv_export, repeat),
        "arrivals PNG": timed(chart, repeat),
    }
    with statement_timer(engine) as statements:
        stats_json()
    return {
        "label": label,
        "server": server,
        "seed_seconds": seed_seconds,
        "counts": counts,
        "results": results,
        "statements": statements,
    }


@contextmanager
def statement_timer(engine) -> Iterator[list[tuple[float, str]]]:
    """Milliseconds per SQL statement while the block runs (for the stats JSON breakdown)."""
    timings: list[tuple[float, str]] = []

    def before(connection, _cursor, _statement, _parameters, _context, _many):
        connection.info["bench_started"] = time.perf_counter()

    def after(connection, _cursor, statement, _parameters, _context, _many):
        elapsed = (time.perf_counter() - connection.info.pop("bench_started")) * 1000
        timings.append((elapsed, " ".join(statement.split())))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield timings
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def print_report(runs: list[dict], repeat: int) -> None:
    print()
    print(f"machine   {cpu_model()}, {os.cpu_count()} cores, {platform.platform()}")
    print(
        f"software  Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"matplotlib {matplotlib.__version__}, "
        + ", ".join(f"{run['label']} {run['server']}" for run in runs)
    )
    for run in runs:
        counts = ", ".join(f"{n:,} {name}" for name, n in run["counts"].items())
        print(f"data      {run['label']}: {counts} (ready in {run['seed_seconds']:.0f} s)")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"timing    median of {repeat} after one warm-up, through the app (Flask test client); "
        f"load average at the end {load} (the machine is shared)"
    )
    print()
    header = f"{'':16}" + "".join(f"{run['label']:>26}" for run in runs) + f"{'target':>10}"
    print(header)
    for name, target in TARGETS_MS.items():
        cells = []
        for run in runs:
            median, low, high, _size = run["results"][name]
            cells.append(f"{median:8.0f} ms ({low:.0f}-{high:.0f})")
        print(f"{name:16}" + "".join(f"{cell:>26}" for cell in cells) + f"{target:>7} ms")
    sizes = ", ".join(
        f"{run['label']} CSV {run['results']['check-ins CSV'][3] / 1e6:.1f} MB, "
        f"PNG {run['results']['arrivals PNG'][3] / 1e3:.0f} kB"
        for run in runs
    )
    print(f"\nsizes     {sizes}")
    print("\nstats JSON, one request, by SQL statement (ms):")
    for run in runs:
        statements = sorted(run["statements"], reverse=True)[:STATEMENTS_SHOWN]
        for elapsed, statement in statements:
            print(f"  {run['label']:<11}{elapsed:7.1f}  {statement[:STATEMENT_CHARS]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", help="SQLite URL (default: a file in a temporary directory)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="PostgreSQL server URL; a throwaway database is created on it and dropped",
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database for a later --reuse"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--sqlite and --postgres name databases an earlier run seeded: time them again",
    )
    args = parser.parse_args()

    runs = []
    if args.only in (None, "sqlite"):
        database = migrated_database(args.sqlite) if args.sqlite else throwaway_database(None)
        with database as engine:
            runs.append(measure(engine, "SQLite", args.repeat, args.reuse))
    if args.only in (None, "postgres"):
        if args.reuse:
            database = migrated_database(args.postgres)
        else:
            database = throwaway_database(args.postgres, keep=args.keep)
        with database as engine:
            runs.append(measure(engine, "PostgreSQL", args.repeat, args.reuse))
    print_report(runs, args.repeat)


if __name__ == "__main__":
    main()
