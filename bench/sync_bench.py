"""Time a 500-scan /v1/sync/scans batch (new scans, then the same batch replayed).

Runs the real app in-process (Flask test client) against a fresh SQLite file and, when
reachable, a throwaway PostgreSQL database. Prints the median of 5 runs per database.

    .venv/bin/python bench/sync_bench.py [--postgres URL] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import create_app
from services.clock import SettableClock
from services.db import make_engine
from services.migrations import upgrade_to_head

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _register(client, name):
    body = {
        "email": f"{name}-{uuid.uuid4().hex[:8]}@bench.test",
        "password": "bench password",
        "display_name": name,
    }
    data = client.post("/v1/auth/register", json=body).get_json()
    return {"Authorization": f"Bearer {data['access_token']}"}, data["user"]


def _bench(database_url: str, runs: int) -> tuple[float, float]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    app = create_app(
        {
            "ENGINE": engine,
            "CLOCK": SettableClock(NOW),
            "TESTING": True,
            "PASSWORD_HASH_PROFILE": "fast",
            "SECRET_KEY": "bench",
        }
    )
    app.config["REGISTRATIONS_PER_IP"] = "100000 per minute"
    client = app.test_client()
    fresh, replay = [], []
    for _run in range(runs):
        organizer, _ = _register(client, "organizer")
        event = client.post(
            "/v1/events",
            headers=organizer,
            json={
                "name": "Bench",
                "starts_at": "2026-06-01T08:00:00Z",
                "ends_at": "2026-06-01T18:00:00Z",
                "timezone": "UTC",
            },
        ).get_json()
        badges = []
        for i in range(500):
            attendee, _ = _register(client, f"a{i}")
            badges.append(
                client.post(f"/v1/events/{event['id']}/registrations", headers=attendee).get_json()[
                    "badge_code"
                ]
            )
        scans = [
            {
                "client_scan_id": str(uuid.uuid4()),
                "kind": "check_in",
                "event_id": event["id"],
                "badge": badge,
                "scanned_at": (NOW - timedelta(seconds=i)).isoformat(),
            }
            for i, badge in enumerate(badges)
        ]
        for bucket in (fresh, replay):
            started = time.perf_counter()
            response = client.post("/v1/sync/scans", headers=organizer, json={"scans": scans})
            bucket.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_json()
    engine.dispose()
    return statistics.median(fresh), statistics.median(replay)


def _postgres_database(server_url: str):
    url = make_url(server_url)
    name = f"wellspring_bench_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, url.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print("500-scan /v1/sync/scans batch, in-process test client, median of", args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        fresh, replay = _bench(f"sqlite:///{tmp}/bench.db", args.runs)
        print(f"  SQLite      new scans {fresh * 1000:7.0f} ms   replayed {replay * 1000:7.0f} ms")
    try:
        admin, name, url = _postgres_database(args.postgres)
    except Exception as exc:  # no server: report and stop
        print(f"  PostgreSQL  skipped ({exc.__class__.__name__})")
        return
    try:
        with admin.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        fresh, replay = _bench(url, args.runs)
        print(
            f"  PostgreSQL {version}  new scans {fresh * 1000:7.0f} ms   "
            f"replayed {replay * 1000:7.0f} ms"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
