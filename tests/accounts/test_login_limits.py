"""Failed-login limits: counted before the password is checked, per (account, address) and,
more loosely, per account; the owner from a clean address still gets in."""

import pytest

from api.extensions import limiter
from services.core.clock import SettableClock
from tests.conftest import T0
from tests.support import assert_problem, new_user
from tests.support.live import committing_app, run_at_once


def login(anon, email, password, address):
    return anon.post(
        "/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_five_attempts_per_account_and_address_then_429(anon):
    person = new_user(anon.client)
    for _ in range(5):
        assert_problem(login(anon, person.email, "wrong password", "10.0.0.1"), 401)
    refused = login(anon, person.email, person.password, "10.0.0.1")
    assert_problem(refused, 429, "too_many_failed_logins")
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    # The owner, from an address with no failures, still gets in.
    assert login(anon, person.email, person.password, "10.0.0.2").status_code == 200


def test_a_successful_login_clears_the_count_for_its_address(anon):
    person = new_user(anon.client)
    for _ in range(4):
        login(anon, person.email, "wrong password", "10.0.1.1")
    assert login(anon, person.email, person.password, "10.0.1.1").status_code == 200
    for _ in range(4):
        assert_problem(login(anon, person.email, "wrong password", "10.0.1.1"), 401)


def test_many_addresses_slow_the_account_down_rather_than_lock_it(anon):
    person = new_user(anon.client)
    # The owner's phone signed in before, from its usual address.
    assert login(anon, person.email, person.password, "192.0.2.10").status_code == 200
    for index in range(10):  # ten failures, two per address: no address is at its limit
        address = f"198.51.100.{index // 2}"
        assert_problem(login(anon, person.email, "wrong password", address), 401)
    first = login(anon, person.email, "wrong password", "198.51.100.50")
    assert_problem(first, 401)  # the gate lets one attempt through per delay...
    slowed = login(anon, person.email, "wrong password", "198.51.100.51")
    assert_problem(slowed, 429, "too_many_failed_logins")  # ...and tells the next when
    assert 1 <= int(slowed.headers["Retry-After"]) <= 60
    # A new address with the right password waits its turn, never 15 minutes.
    waiting = login(anon, person.email, person.password, "203.0.113.7")
    assert_problem(waiting, 429)
    assert int(waiting.headers["Retry-After"]) <= 60
    # The owner's known address is not slowed by someone else's guessing.
    assert login(anon, person.email, person.password, "192.0.2.10").status_code == 200


def test_the_delay_grows_with_the_failures_up_to_a_minute():
    from services.accounts.login_limits import LoginLimitPolicy

    policy = LoginLimitPolicy()
    assert [policy.delay_s(n) for n in (0, 9, 10, 11, 12, 15, 16, 30)] == [
        0,
        0,
        1,
        2,
        4,
        32,
        60,
        60,
    ]


def test_parallel_guesses_check_at_most_five_passwords(engine):
    """40 guesses at once from one address: the count is taken before each check, atomically,
    so at most 5 are checked (401) and the rest are refused unchecked (429)."""
    app = committing_app(engine, SettableClock(T0))
    limiter.reset()
    person = new_user(app.test_client())

    def guess(index):
        return (
            app.test_client()
            .post(
                "/v1/auth/login",
                json={"email": person.email, "password": f"guess {index}"},
                environ_base={"REMOTE_ADDR": "10.9.9.9"},
            )
            .status_code
        )

    statuses = run_at_once(40, guess)
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(401) + statuses.count(429) == 40


@pytest.fixture(autouse=True)
def _fresh_limits():
    limiter.reset()
    yield
    limiter.reset()
