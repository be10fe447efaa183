"""Push delivery under real concurrency on PostgreSQL: two workers, and a worker killed with a
batch in flight."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from services.core.clock import SettableClock
from services.core.db import make_session_factory
from services.core.models import Notification, PushDelivery
from services.push.delivery import LEASE, PushWorker
from services.push.providers import PushConfig
from tests.conftest import T0
from tests.support.live import run_at_once
from tests.support.push_seed import seed_pushes


def _delivery_statuses(engine, user_ids) -> Counter:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PushDelivery.status, func.count())
            .join(Notification, Notification.id == PushDelivery.notification_id)
            .where(Notification.user_id.in_(user_ids))
            .group_by(PushDelivery.status)
        ).all()
    return Counter(dict(rows))


def test_two_workers_push_each_notification_exactly_once(
    postgres, engine, second_engine, cleanup, providers
):
    seeded = seed_pushes(engine, T0, count=600, provider="fcm", salt="two")
    cleanup.extend(seeded.user_ids)
    seeded_tokens = set(seeded.tokens)
    clock = SettableClock(T0)
    workers = [PushWorker(PushConfig.from_mapping(providers["env"]), batch=100) for _ in range(2)]
    factories = [make_session_factory(e) for e in (engine, second_engine)]
    try:
        reports = run_at_once(2, lambda i: workers[i].run_pass(factories[i], clock))
    finally:
        for worker in workers:
            worker.close()
    # Other committing tests may have left notifications behind: count only this test's.
    assert sum(decided.sent for decided, _ in reports) >= 600
    tokens = Counter(r["token"] for r in providers["fcm"].received if r["token"] in seeded_tokens)
    assert set(tokens) == set(seeded.tokens) and set(tokens.values()) == {1}
    assert _delivery_statuses(engine, seeded.user_ids) == {"sent": 600}


class BlackHole:
    """Accepts connections and never answers: a provider that hangs."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.held: list[socket.socket] = []
        self.bytes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn):
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.bytes += len(data)

    def close(self):
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_a_worker_killed_with_a_batch_in_flight_loses_nothing(
    postgres, engine, database_url, cleanup, providers
):
    seeded = seed_pushes(engine, T0, count=600, provider="fcm", salt="kill")
    cleanup.extend(seeded.user_ids)
    hole = BlackHole()
    doomed_env = {**providers["env"], "FCM_ENDPOINT": hole.url, "PUSH_TIMEOUT": "3600"}
    from tests.support.push_process import push_into_a_black_hole

    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(
        target=push_into_a_black_hole, args=(database_url, doomed_env, T0.isoformat(), 200)
    )
    child.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                leased = conn.scalar(
                    select(func.count())
                    .select_from(PushDelivery)
                    .join(Notification, Notification.id == PushDelivery.notification_id)
                    .where(Notification.user_id.in_(seeded.user_ids), PushDelivery.attempts == 1)
                )
            if leased == 200 and hole.bytes > 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the child never claimed its batch")
        time.sleep(0.5)  # its requests are out, unanswered
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        hole.close()

    # Everything was decided (600 deliveries); 200 are leased to the dead worker.
    assert _delivery_statuses(engine, seeded.user_ids) == {"queued": 600}
    clock = SettableClock(T0)
    rescuer = PushWorker(PushConfig.from_mapping(providers["env"]), batch=200)
    factory = make_session_factory(engine)
    try:
        rescuer.run_pass(factory, clock)
        assert _delivery_statuses(engine, seeded.user_ids) == {"sent": 400, "queued": 200}
        clock.advance(LEASE + timedelta(seconds=1))
        rescuer.run_pass(factory, clock)  # the dead worker's batch, once its lease ran out
    finally:
        rescuer.close()
    mine = set(seeded.tokens)
    tokens = Counter(r["token"] for r in providers["fcm"].received if r["token"] in mine)
    assert set(tokens) == set(seeded.tokens) and set(tokens.values()) == {1}
    assert _delivery_statuses(engine, seeded.user_ids) == {"sent": 600}
