"""Login, refresh and an authenticated read, timed in-process (Flask test client), so the
cost of the accounts lifecycle is visible: median and p90 in milliseconds.

    .venv/bin/python bench/accounts_bench.py [--database sqlite|postgresql] [--logins 30]

Real argon2id parameters (the login's cost is mostly the password check, by design); a
throwaway SQLite file or a throwaway database on BENCH_POSTGRES_URL's server.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import throwaway_database

from api import create_app
from services.core.migrations import upgrade_to_head


def timed(work, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    return (
        f"{name:<28} median {statistics.median(times):7.2f} ms   p90 {p90:7.2f} ms   n={len(times)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--logins", type=int, default=30)
    parser.add_argument("--refreshes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(args.database, Path(tmp)) as db:
        engine = db.engine()
        upgrade_to_head(engine)
        app = create_app(
            {
                "ENGINE": engine,
                "WELLSPRING_ENV": "development",
                "LOG_LEVEL": "WARNING",
                "TOKEN_REVOCATION_URL": str(Path(tmp) / "revoked"),
                "MAIL_DIR": str(Path(tmp) / "mail"),
                "REFRESHES_PER_IP": "100000 per minute",
            }
        )
        client = app.test_client()
        body = {"email": "bench@example.test", "password": "a long bench password"}
        registered = client.post("/v1/auth/register", json={**body, "display_name": "Bench"})
        assert registered.status_code == 201, registered.get_json()
        state = {"refresh": registered.get_json()["refresh_token"]}
        token = registered.get_json()["access_token"]

        def login():
            assert client.post("/v1/auth/login", json=body).status_code == 200

        def refresh():
            answer = client.post("/v1/auth/refresh", json={"refresh_token": state["refresh"]})
            assert answer.status_code == 200, answer.get_json()
            state["refresh"] = answer.get_json()["refresh_token"]

        def me():
            assert (
                client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
                == 200
            )

        timed(me, 20)  # warm-up
        print(
            f"{platform.node()} {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}, {args.database}, in-process test client"
        )
        print(line("POST /v1/auth/login", timed(login, args.logins)))
        print(line("POST /v1/auth/refresh", timed(refresh, args.refreshes)))
        print(line("GET /v1/me (token check)", timed(me, args.refreshes)))
        engine.dispose()


if __name__ == "__main__":
    main()
