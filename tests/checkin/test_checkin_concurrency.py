"""Concurrent scans of one badge: exactly one check-in, whatever the interleaving."""

import uuid
from collections import Counter

import pytest
from sqlalchemy import event, func, select

from services.core.clock import SettableClock
from services.core.db import make_engine
from services.core.migrations import upgrade_to_head
from services.core.models import CheckIn, ScanReceipt
from tests.conftest import T0
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, http_json, live_server, run_at_once


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


def _door_scans(event_id, registrations):
    """Offline door scans of these registrations' badges, one each, in this order."""
    return [
        {
            "client_scan_id": str(uuid.uuid4()),
            "kind": "check_in",
            "event_id": event_id,
            "badge": registration["badge_code"],
            "scanned_at": "2026-06-01T08:30:00Z",
        }
        for registration in registrations
    ]


def _sync(app, scanner, scans):
    response = app.test_client().post(
        "/v1/sync/scans",
        json={"scans": scans},
        headers={"Authorization": f"Bearer {scanner.token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def test_overlapping_sync_batches_in_opposite_orders_on_postgresql(engine, is_postgres):
    """Each batch locks its registrations up front in id order, whatever order its scans
    come in; four devices syncing the same 40 badges, two of them backwards, never deadlock
    (a deadlock would be retried, so the test counts them) and store one check-in per badge."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    deadlocks = []

    def count_deadlocks(context) -> None:
        if getattr(context.original_exception, "sqlstate", None) == "40P01":
            deadlocks.append(context.original_exception)

    event.listen(engine, "handle_error", count_deadlocks)
    app = committing_app(engine, SettableClock(T0))
    client = app.test_client()
    setup = event_with_staff(client)
    registrations = [register(new_user(client), setup.event_id) for _ in range(40)]
    devices = [setup.staff, setup.organizer, setup.staff, setup.organizer]

    def sync(index):
        ordered = registrations if index % 2 == 0 else registrations[::-1]
        return _sync(app, devices[index], _door_scans(setup.event_id, ordered))

    try:
        results = run_at_once(len(devices), sync)
    finally:
        event.remove(engine, "handle_error", count_deadlocks)
    assert deadlocks == []
    statuses = Counter(
        (result["registration_id"], result["status"]) for batch in results for result in batch
    )
    for registration in registrations:
        assert statuses[(registration["id"], "checked_in")] == 1
        assert statuses[(registration["id"], "already_checked_in")] == len(devices) - 1
        assert _check_in_rows(engine, registration["id"]) == 1


def test_the_same_batch_from_six_threads_is_stored_once_on_postgresql(engine, is_postgres):
    """A phone retrying its sync while the first try is still running: the copies that read
    the receipts before the first one committed fail on the receipts' unique key when they
    store theirs, run again, and then answer `duplicate` with the first one's answers."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    client = app.test_client()
    setup = event_with_staff(client)
    registrations = [register(new_user(client), setup.event_id) for _ in range(30)]
    scans = _door_scans(setup.event_id, registrations)

    results = run_at_once(6, lambda _index: _sync(app, setup.staff, scans))
    for position, registration in enumerate(registrations):
        answers = [batch[position] for batch in results]
        first = [a for a in answers if a["status"] == "checked_in"]
        assert len(first) == 1, answers
        for answer in answers:
            if answer is not first[0]:
                assert (answer["status"], answer["original_status"]) == ("duplicate", "checked_in")
                assert answer["check_in_id"] == first[0]["check_in_id"]
        assert _check_in_rows(engine, registration["id"]) == 1
    with engine.connect() as conn:
        stored = conn.scalar(
            select(func.count())
            .select_from(ScanReceipt)
            .where(ScanReceipt.client_scan_id.in_([scan["client_scan_id"] for scan in scans]))
        )
    assert stored == len(scans)
