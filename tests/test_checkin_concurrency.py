"""Concurrent scans of one badge: exactly one check-in, whatever the interleaving."""

import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from services.clock import SettableClock
from services.db import make_engine
from services.migrations import upgrade_to_head
from services.models import CheckIn
from tests.conftest import T0
from tests.live import committing_app, http_json, live_server, run_at_once
from tests.support import event_with_staff, new_user, register


def _check_in_rows(engine, registration_id: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(CheckIn)
            .where(CheckIn.registration_id == uuid.UUID(registration_id))
        )


def test_50_threads_scanning_one_badge_on_postgresql(engine, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    setup = event_with_staff(app.test_client())
    registration = register(new_user(app.test_client()), setup.event_id)

    def scan(_index):
        response = app.test_client().post(
            f"/v1/events/{setup.event_id}/check-ins",
            json={"badge": registration["badge_code"]},
            headers={"Authorization": f"Bearer {setup.staff.token}"},
        )
        return response.status_code, response.get_json()["status"]

    results = run_at_once(50, scan)
    assert Counter(results) == {(201, "checked_in"): 1, (200, "already_checked_in"): 49}
    assert _check_in_rows(engine, registration["id"]) == 1


def test_same_client_scan_id_from_many_threads_is_recorded_once(engine, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    setup = event_with_staff(app.test_client())
    registration = register(new_user(app.test_client()), setup.event_id)
    body = {
        "badge": registration["badge_code"],
        "client_scan_id": str(uuid.uuid4()),
        "scanned_at": "2026-06-01T08:45:00Z",
    }

    def scan(_index):
        response = app.test_client().post(
            f"/v1/events/{setup.event_id}/check-ins",
            json=body,
            headers={"Authorization": f"Bearer {setup.staff.token}"},
        )
        return response.status_code, response.get_json()

    results = run_at_once(20, scan)
    assert {status for status, _ in results} == {201}
    assert len({str(body) for _, body in results}) == 1
    assert _check_in_rows(engine, registration["id"]) == 1


def test_16_threads_through_a_live_server_on_sqlite(tmp_dir):
    engine = make_engine(f"sqlite:///{tmp_dir / 'live.db'}")
    upgrade_to_head(engine)
    app = committing_app(engine, SettableClock(T0))
    setup = event_with_staff(app.test_client())
    registration = register(new_user(app.test_client()), setup.event_id)
    with live_server(app) as base_url:

        def scan(_index):
            status, body = http_json(
                "POST",
                f"{base_url}/v1/events/{setup.event_id}/check-ins",
                {"badge": registration["badge_code"]},
                token=setup.staff.token,
            )
            return status, body["status"]

        results = run_at_once(16, scan)
    assert Counter(results) == {(201, "checked_in"): 1, (200, "already_checked_in"): 15}
    assert _check_in_rows(engine, registration["id"]) == 1
    engine.dispose()
