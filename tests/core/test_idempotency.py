from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.core.clock import SettableClock
from services.core.idempotency import purge_expired
from services.core.models import Event, IdempotencyRecord
from tests.conftest import T0
from tests.support import EVENT_ENDS, EVENT_STARTS, assert_problem, new_user
from tests.support.live import committing_app, run_at_once

EVENT = {"name": "Idem", "starts_at": EVENT_STARTS, "ends_at": EVENT_ENDS, "timezone": "UTC"}


def _events_named(db, name: str) -> int:
    return db.scalar(select(func.count()).select_from(Event).where(Event.name == name))


def test_same_key_same_body_replays_the_first_answer(anon, db):
    user = new_user(anon.client)
    body = {**EVENT, "name": "Replay me"}
    first = user.post("/v1/events", json=body, headers={"Idempotency-Key": "k-1"})
    again = user.post("/v1/events", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _events_named(db, "Replay me") == 1


def test_same_key_other_body_is_422_and_other_paths_or_users_are_separate(anon, db):
    user = new_user(anon.client)
    user.post("/v1/events", json={**EVENT, "name": "A"}, headers={"Idempotency-Key": "k-2"})
    assert_problem(
        user.post("/v1/events", json={**EVENT, "name": "B"}, headers={"Idempotency-Key": "k-2"}),
        422,
        "idempotency_key_reused",
    )
    other = new_user(anon.client)
    assert (
        other.post(
            "/v1/events", json={**EVENT, "name": "A"}, headers={"Idempotency-Key": "k-2"}
        ).status_code
        == 201
    )
    assert _events_named(db, "A") == 2


def test_a_refused_request_releases_its_key(anon, db):
    user = new_user(anon.client)
    bad = {**EVENT, "name": "Later", "ends_at": EVENT_STARTS}
    assert_problem(user.post("/v1/events", json=bad, headers={"Idempotency-Key": "k-3"}), 422)
    assert (
        db.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.key == "k-3")
        )
        == 0
    )


def test_keys_expire_after_24_hours(anon, db, clock):
    user = new_user(anon.client)
    body = {**EVENT, "name": "Daily"}
    user.post("/v1/events", json=body, headers={"Idempotency-Key": "k-4"})
    clock.advance(timedelta(hours=24, seconds=1))
    assert (
        user.post("/v1/events", json=body, headers={"Idempotency-Key": "k-4"}).headers.get(
            "Idempotent-Replayed"
        )
        is None
    )
    assert _events_named(db, "Daily") == 2
    clock.advance(timedelta(hours=25))
    assert purge_expired(db, clock.now()) >= 1


def test_bad_keys_are_422(anon):
    user = new_user(anon.client)
    assert_problem(user.post("/v1/events", json=EVENT, headers={"Idempotency-Key": "x" * 256}), 422)


def test_ten_threads_same_key_create_one_resource(engine, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    user = new_user(app.test_client())
    name = f"Concurrent {user.id}"

    def create(_index):
        response = app.test_client().post(
            "/v1/events",
            json={**EVENT, "name": name},
            headers={"Authorization": f"Bearer {user.token}", "Idempotency-Key": "same"},
        )
        return response.status_code, (response.get_json() or {}).get("id")

    results = run_at_once(10, create)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}
    assert len({event_id for status, event_id in results if status == 201}) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Event).where(Event.name == name)) == 1
