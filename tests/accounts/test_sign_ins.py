"""Access tokens that expire, refresh tokens that rotate, sign-ins a person can see and end."""

import uuid
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from api.auth import AUTHORITY
from services.accounts.revocations import FileRevocations
from services.core.models import AuthSession, RefreshToken
from services.core.secret_tokens import digest
from tests.support import ApiCaller, assert_problem, new_user

ONE_HOUR = 3600


@pytest.fixture
def real_ttl(app):
    """The production access-token lifetime (the suite's apps use a very long one)."""
    access = app.extensions[AUTHORITY].access
    saved, access.ttl_seconds = access.ttl_seconds, ONE_HOUR
    yield
    access.ttl_seconds = saved


def refresh(anon: ApiCaller, token: str, **headers):
    return anon.post("/v1/auth/refresh", json={"refresh_token": token}, headers=headers)


def test_login_and_register_answer_both_tokens_and_their_lifetime(anon, real_ttl):
    person = new_user(anon.client)
    login = anon.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    assert login.status_code == 200
    for body in (login.get_json(),):
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == ONE_HOUR
        assert len(body["refresh_token"]) >= 43  # 256 bits, URL-safe
        assert body["user"]["email_verified"] is False
    assert person.refresh_token and person.refresh_token != login.get_json()["refresh_token"]


def test_an_access_token_expires_after_its_lifetime(anon, clock, real_ttl):
    person = new_user(anon.client)
    clock.advance(timedelta(seconds=ONE_HOUR - 1))
    assert person.get("/v1/me").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_problem(person.get("/v1/me"), 401, "token_expired")
    answer = refresh(anon, person.refresh_token)
    assert answer.status_code == 200, answer.get_json()
    person.token = answer.get_json()["access_token"]
    assert person.get("/v1/me").status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        jwt.encode(
            {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "iat": 0, "exp": 9e9},
            "another key, long enough for HS256 keys",
            algorithm="HS256",
        ),
        jwt.encode(
            {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "iat": 0, "exp": 9e9},
            None,
            algorithm="none",
        ),
    ],
    ids=["garbage", "forged", "unsigned"],
)
def test_a_forged_or_garbled_access_token_is_invalid(anon, token):
    assert_problem(
        anon.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "invalid_token"
    )


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(anon, db):
    person = new_user(anon.client)
    first = refresh(anon, person.refresh_token)
    assert first.status_code == 200
    pair = first.get_json()
    assert set(pair) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert pair["refresh_token"] != person.refresh_token
    # The used token again: someone else holds this sign-in. All of it goes.
    assert_problem(refresh(anon, person.refresh_token), 401, "refresh_token_reused")
    assert_problem(refresh(anon, pair["refresh_token"]), 401, "invalid_token")
    for token in (person.token, pair["access_token"]):
        assert_problem(
            anon.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "invalid_token"
        )
    stored = db.scalars(select(RefreshToken.token_hash)).all()
    assert digest(person.refresh_token) in stored and person.refresh_token not in stored


def test_unknown_and_idle_refresh_tokens_are_invalid_and_use_slides_the_expiry(anon, clock):
    assert_problem(refresh(anon, "no-such-token"), 401, "invalid_token")
    person = new_user(anon.client)
    clock.advance(timedelta(days=50))
    token = refresh(anon, person.refresh_token).get_json()["refresh_token"]
    clock.advance(timedelta(days=50))  # 100 days after login, 50 after the last use
    token = refresh(anon, token).get_json()["refresh_token"]
    clock.advance(timedelta(days=60, seconds=1))
    assert_problem(refresh(anon, token), 401, "invalid_token")


def test_sessions_list_logout_and_logout_all(anon, clock):
    person = new_user(anon.client)
    clock.advance(timedelta(seconds=1))
    login = anon.post(
        "/v1/auth/login",
        json={"email": person.email, "password": person.password},
        headers={"User-Agent": "Wellspring/2.0 (iPad)"},
    ).get_json()
    tablet = ApiCaller(anon.client, login["access_token"], login["user"], person.password)
    listed = person.get("/v1/me/sessions").get_json()["items"]
    assert [s["current"] for s in listed] == [True, False]
    assert listed[1]["user_agent"] == "Wellspring/2.0 (iPad)"
    assert set(listed[0]) == {"id", "created_at", "last_used_at", "user_agent", "current"}

    # Ending the tablet's sign-in from the phone: the tablet is refused at its next call.
    assert person.delete(f"/v1/me/sessions/{listed[1]['id']}").status_code == 204
    assert_problem(tablet.get("/v1/me"), 401, "invalid_token")
    assert_problem(refresh(anon, login["refresh_token"]), 401, "invalid_token")
    assert_problem(person.delete(f"/v1/me/sessions/{listed[1]['id']}"), 404)
    stranger = new_user(anon.client)
    assert_problem(stranger.delete(f"/v1/me/sessions/{listed[0]['id']}"), 404)

    other = anon.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    laptop = ApiCaller(anon.client, other.get_json()["access_token"])
    assert person.post("/v1/auth/logout-all").status_code == 204
    assert_problem(person.get("/v1/me"), 401, "invalid_token")
    assert_problem(laptop.get("/v1/me"), 401, "invalid_token")
    assert stranger.get("/v1/me").status_code == 200


def test_logout_ends_only_this_sign_in(anon):
    person = new_user(anon.client)
    other = anon.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    second = ApiCaller(anon.client, other.get_json()["access_token"])
    assert person.post("/v1/auth/logout").status_code == 204
    assert_problem(person.get("/v1/me"), 401, "invalid_token")
    assert_problem(refresh(anon, person.refresh_token), 401, "invalid_token")
    assert second.get("/v1/me").status_code == 200


def test_last_used_moves_at_most_once_a_minute(anon, clock, db):
    person = new_user(anon.client)
    sign_in = person.get("/v1/me/sessions").get_json()["items"][0]
    created = sign_in["last_used_at"]
    clock.advance(timedelta(seconds=30))
    person.get("/v1/me")
    assert person.get("/v1/me/sessions").get_json()["items"][0]["last_used_at"] == created
    clock.advance(timedelta(minutes=2))
    # This process wrote it less than a real minute ago for another test? Not for this sign-in.
    person.get("/v1/me")
    row = db.get(AuthSession, uuid.UUID(sign_in["id"]), populate_existing=True)
    assert row.last_used_at == clock.now()


def test_password_change_keeps_this_sign_in_and_ends_the_others(anon):
    person = new_user(anon.client)
    other = anon.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    second = ApiCaller(anon.client, other.get_json()["access_token"])
    wrong = {"current_password": "not my password", "new_password": "a brand new password"}
    assert_problem(person.post("/v1/me/password", json=wrong), 403, "invalid_credentials")
    right = {"current_password": person.password, "new_password": "a brand new password"}
    assert person.post("/v1/me/password", json=right).status_code == 204
    assert person.get("/v1/me").status_code == 200
    assert_problem(second.get("/v1/me"), 401, "invalid_token")
    old = anon.post("/v1/auth/login", json={"email": person.email, "password": person.password})
    assert_problem(old, 401, "invalid_credentials")
    new = {"email": person.email, "password": "a brand new password"}
    assert anon.post("/v1/auth/login", json=new).status_code == 200


def test_a_revocation_reaches_every_process_sharing_the_file(tmp_path):
    """Two processes' views of one revocation file: what one writes, the other sees at its
    next check (no restart, no polling interval)."""
    here, there = FileRevocations(tmp_path / "r"), FileRevocations(tmp_path / "r")
    session_id = uuid.uuid4()
    assert not there.is_revoked(session_id)
    here.revoke([session_id], 3600)
    assert there.is_revoked(session_id)
    assert not there.is_revoked(uuid.uuid4())
