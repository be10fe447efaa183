"""A transaction PostgreSQL undoes for a deadlock runs again (services.core.db), instead of failing
the request: scans and offline batches lock rows in orders no one can fully control."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from services.core.db import make_session_factory, retrying_transient_conflicts
from tests.support.live import run_at_once


@pytest.fixture
def probe_table(engine, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite writers never deadlock")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int)"))
        connection.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"))
    yield
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE deadlock_probe"))


def test_a_deadlocked_transaction_runs_again_and_both_commit(engine, probe_table):
    factory = make_session_factory(engine)
    both_hold_one_row = threading.Barrier(2)
    attempts = [0, 0]

    def transaction(index: int, session) -> None:
        first, second = (1, 2) if index == 0 else (2, 1)
        attempts[index] += 1
        bump = text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id")
        session.execute(bump, {"id": first})
        if attempts[index] == 1:
            both_hold_one_row.wait(timeout=10)  # each now waits for the other's row
        session.execute(bump, {"id": second})
        session.commit()

    def work(index: int) -> None:
        with factory() as session:
            retrying_transient_conflicts(session, lambda: transaction(index, session))

    run_at_once(2, work)
    with engine.connect() as connection:
        counts = connection.execute(text("SELECT n FROM deadlock_probe ORDER BY id")).scalars()
        assert list(counts) == [2, 2]  # both transactions committed, each exactly once
    # PostgreSQL undid one of them, which ran again. (On a loaded machine both backends' deadlock
    # checks can fire together and undo both once: [2, 2], seen at a load average of 10.)
    assert max(attempts) >= 2


def test_other_operational_errors_are_not_retried(engine, probe_table):
    factory = make_session_factory(engine)
    attempts = []

    def transaction(session) -> None:
        attempts.append(1)
        session.execute(text("SET LOCAL statement_timeout = 10"))
        session.execute(text("SELECT pg_sleep(1)"))  # canceled: an error, not a conflict

    with factory() as session, pytest.raises(OperationalError):
        retrying_transient_conflicts(session, lambda: transaction(session))
    assert attempts == [1]


def test_a_retry_inside_another_leaves_the_rerun_to_the_outer_one(engine, probe_table):
    """The API reruns each write request; a service retrying inside it runs once, so a
    conflict reruns the request's whole work (from its first statement), not a part of it."""
    factory = make_session_factory(engine)
    both_hold_one_row = threading.Barrier(2)
    inner, outer = [0, 0], [0, 0]

    def transaction(index: int, session) -> None:
        first, second = (1, 2) if index == 0 else (2, 1)
        inner[index] += 1
        bump = text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id")
        session.execute(bump, {"id": first})
        if inner[index] == 1:
            both_hold_one_row.wait(timeout=10)
        session.execute(bump, {"id": second})
        session.commit()

    def request(index: int, session) -> None:
        outer[index] += 1
        retrying_transient_conflicts(session, lambda: transaction(index, session))

    def work(index: int) -> None:
        with factory() as session:
            retrying_transient_conflicts(session, lambda: request(index, session))
            assert not session.info, "the retry leaves no mark on the session"

    run_at_once(2, work)
    with engine.connect() as connection:
        counts = connection.execute(text("SELECT n FROM deadlock_probe ORDER BY id")).scalars()
        assert list(counts) == [2, 2]
    assert max(outer) >= 2  # the outer retry reran the deadlocked one(s) ...
    assert inner == outer  # ... and the inner call never reran anything by itself
