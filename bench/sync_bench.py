"""Time a 500-scan /v1/sync/scans batch (new scans, then the same batch replayed).

Runs the real app in-process (Flask test client) against a fresh SQLite file and a throwaway
PostgreSQL database (bench/common.py). Prints the median of 5 runs per database.

    .venv/bin/python bench/sync_bench.py [--postgres URL] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import database_version, describe_machine, throwaway_database

from api import create_app
from services.core.clock import SettableClock

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _register(client, name):
    body = {
        "email": f"{name}-{uuid.uuid4().hex[:8]}@bench.test",
        "password": "bench password",
        "display_name": name,
    }
    data = client.post("/v1/auth/register", json=body).get_json()
    return {"Authorization": f"Bearer {data['access_token']}"}, data["user"]


def _bench(engine, runs: int) -> tuple[float, float]:
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
    return statistics.median(fresh), statistics.median(replay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("500-scan /v1/sync/scans batch, in-process test client, median of", args.runs)
    for server_url in (None, args.postgres):  # a temporary SQLite file, then PostgreSQL
        with throwaway_database(server_url) as engine:
            if server_url is None:
                print(describe_machine(engine))
            fresh, replay = _bench(engine, args.runs)
            print(
                f"  {database_version(engine):<40} new scans {fresh * 1000:7.0f} ms   "
                f"replayed {replay * 1000:7.0f} ms"
            )


if __name__ == "__main__":
    main()
