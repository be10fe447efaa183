"""A gunicorn worker killed with SIGKILL mid-run loses and duplicates no scan.

Real gunicorn (2 workers, as `make serve`) on PostgreSQL; 8 clients scan 240 badges, each scan
with its own `client_scan_id`, retrying the same request on a dropped connection or a 5xx, as a
phone would. A third of the way through, one worker is killed: its transactions die with it and
the master starts a new one. Afterwards every badge is checked in exactly once.
"""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import urllib.error
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.core.clock import SystemClock
from services.core.models import Attendance, CheckIn, ScanReceipt
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, gunicorn_server, http_json

ATTENDEES = 240
CLIENTS = 8
MAX_ATTEMPTS = 40
CONNECTION_FAILURES = (urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError)


def _count(engine, query) -> int:
    with engine.connect() as conn:
        return conn.scalar(query)


@pytest.mark.postgres
@pytest.mark.slow
def test_every_scan_is_recorded_exactly_once_when_a_worker_is_killed(
    engine, database_url, is_postgres
):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): several processes on one database")
    app = committing_app(engine, SystemClock())
    client = app.test_client()
    now = datetime.now(UTC)
    setup = event_with_staff(
        client,
        starts_at=(now - timedelta(minutes=30)).isoformat(),
        ends_at=(now + timedelta(hours=8)).isoformat(),
    )
    badges = [register(new_user(client), setup.event_id)["badge_code"] for _ in range(ATTENDEES)]
    scans = [{"badge": badge, "client_scan_id": str(uuid.uuid4())} for badge in badges]

    answered = 0
    answered_lock = threading.Lock()
    third_done = threading.Event()
    retries: list[str] = []

    with gunicorn_server(
        database_url, workers=2, GUNICORN_THREADS="4", SECRET_KEY="k" * 40
    ) as server:
        url = f"{server.base_url}/v1/events/{setup.event_id}/check-ins"

        def scan_until_answered(body: dict) -> tuple[int, dict]:
            nonlocal answered
            for _attempt in range(MAX_ATTEMPTS):
                try:
                    status, answer = http_json("POST", url, body, setup.staff.token)
                except CONNECTION_FAILURES as error:
                    retries.append(type(error).__name__)
                    time.sleep(0.05)
                    continue
                if status >= 500:
                    retries.append(str(status))
                    time.sleep(0.05)
                    continue
                with answered_lock:
                    answered += 1
                    if answered >= ATTENDEES // 3:
                        third_done.set()
                return status, answer
            raise AssertionError(f"no answer after {MAX_ATTEMPTS} attempts: {body}")

        def kill_one_worker() -> int:
            assert third_done.wait(timeout=60)
            victim = server.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            return victim

        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            killer = pool.submit(kill_one_worker)
            results = list(pool.map(scan_until_answered, scans))
            victim = killer.result()
        assert victim not in server.worker_pids()  # replaced by the master

    assert retries, "the killed worker took no request with it: the test proved nothing"
    assert {(status, answer["status"]) for status, answer in results} == {(201, "checked_in")}
    check_in_ids = {answer["check_in_id"] for _, answer in results}
    assert len(check_in_ids) == ATTENDEES

    event_id = uuid.UUID(setup.event_id)
    rows = select(func.count()).select_from(CheckIn).where(CheckIn.event_id == event_id)
    assert _count(engine, rows) == ATTENDEES
    registrations = select(func.count(func.distinct(CheckIn.registration_id))).where(
        CheckIn.event_id == event_id
    )
    assert _count(engine, registrations) == ATTENDEES
    attendances = (
        select(func.count()).select_from(Attendance).where(Attendance.event_id == event_id)
    )
    assert _count(engine, attendances) == ATTENDEES
    receipts = (
        select(func.count())
        .select_from(ScanReceipt)
        .where(ScanReceipt.scanner_id == uuid.UUID(setup.staff.id))
    )
    assert _count(engine, receipts) == ATTENDEES
