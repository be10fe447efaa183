"""Push throughput: 10,000 queued notifications through one worker to local APNs and FCM.

    .venv/bin/python bench/push_bench.py                      # SQLite (temporary file)
    .venv/bin/python bench/push_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

For each provider: 10,000 people, each with one device and one due notification, are seeded;
then one worker (`services.push.delivery.PushWorker`, what `make worker` runs) decides them
all (the respect rules, payloads, one delivery each) and sends them, concurrently, to a fake
provider served by another process on 127.0.0.1 (tests/support/push_servers.py: APNs over
HTTP/2 checking every JWT, FCM v1 with its OAuth token endpoint). Printed per provider: wall
time and rate for deciding + sending, and the worker process's CPU per notification (user +
system, from os.times, the fake provider's CPU not included).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

from common import describe_machine, throwaway_database

from services.core.clock import SettableClock
from services.core.db import make_session_factory
from services.push.delivery import PushWorker
from services.push.providers import PushConfig
from tests.conftest import T0
from tests.support.messaging_seed import delete_users
from tests.support.push_seed import seed_pushes

COUNT = 10_000


def serve(provider: str, directory: str, pipe) -> None:
    """In a child process: serve a fake provider until told to stop; report what it got."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.push_servers import FakeAPNs, FakeFCM

    if provider == "apns":
        server = FakeAPNs(strict=False).start()
        env = server.env(server.write_key(Path(directory) / "AuthKey.p8"))
    else:
        server = FakeFCM(strict=False).start()
        env = server.env(server.write_credentials(Path(directory) / "service-account.json"))
    pipe.send(env)
    pipe.recv()  # stop
    pipe.send(
        {
            "received": len(server.received),
            "refused": len(server.refused),
            "cpu_s": sum(os.times()[:2]),
        }
    )
    server.stop()


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def run(engine, provider: str, count: int, batch: int) -> None:
    seeded = seed_pushes(engine, T0, count=count, provider=provider, salt=f"bench-{provider}")
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as directory:
        ours, theirs = spawn.Pipe()
        child = spawn.Process(target=serve, args=(provider, directory, theirs))
        child.start()
        env = ours.recv()
        worker = PushWorker(PushConfig.from_mapping(env), batch=batch)
        factory = make_session_factory(engine)
        clock = SettableClock(T0)
        try:
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            decided = worker.dispatch(factory, clock)
            cpu1, wall1 = cpu_seconds(), time.perf_counter()
            sent = worker.send(factory, clock)
            cpu2, wall2 = cpu_seconds(), time.perf_counter()
        finally:
            worker.close()
            ours.send("stop")
            server = ours.recv()
            child.join()
    total = wall2 - wall0
    print(
        f"  {provider:5} {sent.sent:,} sent of {count:,} ({server['received']:,} accepted by the "
        f"server, {server['refused']} refused) in {total:.2f} s = {count / total:,.0f}/s\n"
        f"        decide {wall1 - wall0:.2f} s ({count / (wall1 - wall0):,.0f}/s), "
        f"send {wall2 - wall1:.2f} s ({count / (wall2 - wall1):,.0f}/s); "
        f"worker CPU {(cpu2 - cpu0) / count * 1e6:.0f} µs per notification "
        f"(decide {(cpu1 - cpu0) / count * 1e6:.0f}, send {(cpu2 - cpu1) / count * 1e6:.0f}); "
        f"fake server CPU {server['cpu_s'] / count * 1e6:.0f} µs per notification"
    )
    assert decided.sent == count and sent.sent == count, (decided, sent)
    delete_users(engine, seeded.user_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--providers", default="apns,fcm")
    args = parser.parse_args()
    with throwaway_database(args.postgres) as engine:
        print(describe_machine(engine))
        print(f"{args.count:,} notifications per provider, one worker, batch {args.batch}:")
        for provider in args.providers.split(","):
            run(engine, provider, args.count, args.batch)


if __name__ == "__main__":
    main()
