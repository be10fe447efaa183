"""Races on PostgreSQL, in real threads against committing apps: two refreshes with one
token, a login racing the account's deletion, staff removal against scans."""

import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from services.core.clock import SettableClock
from services.core.models import User
from tests.conftest import T0
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, run_at_once


@pytest.fixture
def live_app(engine, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    return committing_app(engine, SettableClock(T0))


@pytest.mark.parametrize("round_", range(5))
def test_two_refreshes_with_one_token_one_wins_the_other_is_a_reuse(live_app, round_):
    person = new_user(live_app.test_client())

    def refresh(_index):
        response = live_app.test_client().post(
            "/v1/auth/refresh", json={"refresh_token": person.refresh_token}
        )
        return response.status_code, response.get_json()

    answers = run_at_once(2, refresh)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 401], answers
    [loser] = [body for status, body in answers if status == 401]
    assert loser["reason"] == "refresh_token_reused"
    [winner] = [body for status, body in answers if status == 200]
    # The whole sign-in is revoked: the winner's new tokens stop working too.
    client = live_app.test_client()
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {winner['access_token']}"})
    assert me.status_code == 401
    again = client.post("/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert again.status_code == 401


@pytest.mark.parametrize("round_", range(8))
def test_a_login_racing_the_deletion_never_gets_a_working_token(live_app, engine, round_):
    """Before: the login hashed, then issued a token without looking at `deleted_at`, and the
    token kept working on the erased account (GET /v1/me 200, POST /v1/events 201)."""
    person = new_user(live_app.test_client())
    # An outdated hash makes every login rehash: it must never land on the erased account.
    with live_app.extensions["wellspring.db"].session_factory() as session:
        user = session.get(User, uuid.UUID(person.id))
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=16, parallelism=1).hash(
            person.password
        )
        session.commit()

    def act(index):
        client = live_app.test_client()
        if index == 0:
            return "erase", client.delete(
                "/v1/me", headers={"Authorization": f"Bearer {person.token}"}
            ).status_code
        response = client.post(
            "/v1/auth/login", json={"email": person.email, "password": person.password}
        )
        return "login", response.status_code, (response.get_json() or {}).get("access_token")

    results = run_at_once(4, act)
    assert ("erase", 204) in results
    client = live_app.test_client()
    for result in results:
        if result[0] == "login" and result[1] == 200:
            token = result[2]
            me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 401, me.get_json()
            created = client.post(
                "/v1/events",
                json={
                    "name": "Ghost",
                    "starts_at": "2026-06-01T08:00:00Z",
                    "ends_at": "2026-06-01T10:00:00Z",
                    "timezone": "UTC",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 401
    with engine.connect() as conn:
        erased = conn.execute(
            select(User.password_hash, User.deleted_at)
            .where(User.email.like("deleted-%"))
            .where(User.id == __import__("uuid").UUID(person.id))
        ).one()
    assert erased.password_hash == "!" and erased.deleted_at is not None


def test_a_removed_staff_member_is_refused_at_the_next_scan(live_app):
    client = live_app.test_client()
    setup = event_with_staff(client)
    badges = [register(new_user(client), setup.event_id)["badge_code"] for _ in range(3)]
    assert setup.scan(badges[0]).status_code == 201
    removed = setup.organizer.delete(f"/v1/events/{setup.event_id}/staff/{setup.staff.id}")
    assert removed.status_code == 204
    assert setup.scan(badges[1]).status_code == 403
    # From another app (another process's view of the same database) too.
    other = committing_app(live_app.extensions["wellspring.db"].engine, SettableClock(T0))
    response = other.test_client().post(
        f"/v1/events/{setup.event_id}/check-ins",
        json={"badge": badges[2]},
        headers={"Authorization": f"Bearer {setup.staff.token}"},
    )
    assert response.status_code == 403


def test_a_sign_out_reaches_another_app_on_the_same_revocation_file(live_app):
    client = live_app.test_client()
    person = new_user(client)
    other = committing_app(live_app.extensions["wellspring.db"].engine, SettableClock(T0))
    headers = {"Authorization": f"Bearer {person.token}"}
    assert other.test_client().get("/v1/me", headers=headers).status_code == 200
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert other.test_client().get("/v1/me", headers=headers).status_code == 401
