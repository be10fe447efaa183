"""How long a delivery pass over 1,000 due follow-ups takes, and how many queries it makes.

    .venv/bin/python bench/delivery_bench.py                      # SQLite (temporary file)
    .venv/bin/python bench/delivery_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run seeds 1,000 pairs (50 senders x 20 recipients who once wrote to each other), each
with one follow-up due now, so the policy allows all of them; then one worker runs one pass
(the follow-up step of `flask --app api deliver`), and then, on fresh data, two workers
run at once. Every delivery is its own transaction (claim, re-check, message, commit).
"""

from __future__ import annotations

import argparse
import threading
import time

from common import QueryCounter, describe_machine, throwaway_database

from services.core.clock import SettableClock
from services.core.db import make_engine, make_session_factory
from services.messaging.delivery import deliver_due_follow_ups
from services.messaging.throttle import ThrottlePolicy
from tests.conftest import T0
from tests.support.messaging_seed import delete_users, seed_pairs

FOLLOW_UPS = 1000


def one_worker(engine) -> None:
    seeded = seed_pairs(engine, T0, senders=50, recipients_per_sender=FOLLOW_UPS // 50)
    factory = make_session_factory(engine)
    with QueryCounter(engine) as queries:
        started = time.perf_counter()
        report = deliver_due_follow_ups(factory, SettableClock(T0), ThrottlePolicy(), batch=5000)
        elapsed = time.perf_counter() - started
    print(
        f"  one worker:  {report.delivered} delivered in {elapsed:.2f} s "
        f"({elapsed / FOLLOW_UPS * 1000:.2f} ms each, {FOLLOW_UPS / elapsed:.0f}/s), "
        f"{queries.count} statements ({queries.count / FOLLOW_UPS:.1f} per follow-up; "
        "COMMIT not counted, SQLite's BEGIN IMMEDIATE and PostgreSQL's SET LOCAL are)"
    )
    delete_users(engine, seeded.user_ids)


def two_workers(engine) -> None:
    seeded = seed_pairs(engine, T0, senders=50, recipients_per_sender=FOLLOW_UPS // 50)
    engines = [engine, make_engine(engine.url.render_as_string(hide_password=False))]
    reports = [None, None]
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        barrier.wait()
        reports[index] = deliver_due_follow_ups(
            make_session_factory(engines[index]), SettableClock(T0), ThrottlePolicy(), batch=5000
        )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    split = " + ".join(str(r.delivered) for r in reports)
    print(
        f"  two workers: {split} delivered in {elapsed:.2f} s "
        f"({FOLLOW_UPS / elapsed:.0f}/s together)"
    )
    engines[1].dispose()
    delete_users(engine, seeded.user_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="SERVER_URL", help="PostgreSQL server URL")
    args = parser.parse_args()
    with throwaway_database(args.postgres) as engine:
        print(describe_machine(engine))
        print(f"delivery pass over {FOLLOW_UPS} due follow-ups ({engine.dialect.name}):")
        one_worker(engine)
        two_workers(engine)


if __name__ == "__main__":
    main()
