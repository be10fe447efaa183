"""Test fixtures.

The schema is built once per run with the Alembic migrations, on SQLite by default or on a
fresh PostgreSQL database (created on the server TEST_DATABASE_URL names, dropped afterwards).
Each test runs inside one outer transaction that is rolled back; the app's commits become
savepoints (`join_transaction_mode="create_savepoint"`). Concurrency tests use their own
committing engine instead.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.db import Database
from api.extensions import limiter
from services.core.clock import SettableClock
from services.core.db import make_engine
from services.core.migrations import upgrade_to_head
from tests.support import TEST_ACCESS_TOKEN_TTL, TEST_MAIL_DIR, TEST_REVOCATIONS, ApiCaller
from tests.support.messaging_seed import delete_users

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _create_postgres_database(server_url: str) -> tuple[str, str]:
    url = make_url(server_url)
    name = f"wellspring_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(server_url: str, name: str) -> None:
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        url, name = _create_postgres_database(server_url)
        yield url
        _drop_postgres_database(server_url, name)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'wellspring-test.db'}"


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_clock() -> SettableClock:
    return SettableClock(T0)


@pytest.fixture(scope="session")
def app(engine, session_clock):
    return create_app(
        {
            "TESTING": True,
            "ENGINE": engine,
            "CLOCK": session_clock,
            "PASSWORD_HASH_PROFILE": "fast",
            "PUBLIC_BASE_URL": "https://wellspring.test",
            "SECRET_KEY": "test-secret",
            "TOKEN_REVOCATION_URL": TEST_REVOCATIONS,
            # Tests move the clock by days; token expiry has its own tests (tests/accounts).
            "ACCESS_TOKEN_TTL_SECONDS": TEST_ACCESS_TOKEN_TTL,
            "MAIL_DIR": TEST_MAIL_DIR,
            # Every JSON answer is compared with the spec (api/contract.py); see `client`.
            "CHECK_ANSWERS": True,
        }
    )


@pytest.fixture
def clock(session_clock) -> SettableClock:
    session_clock.set(T0)
    return session_clock


@pytest.fixture
def connection(engine):
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory) -> Iterator[Session]:
    """A session for service-level tests, inside the test's rolled-back transaction."""
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app, engine, session_factory, clock):
    saved = app.extensions["wellspring.db"]
    app.extensions["wellspring.db"] = Database(
        engine,
        session_factory,
        session_factory,
        writer_locks_database=engine.dialect.name == "sqlite",
    )
    limiter.reset()
    mismatches = app.extensions.setdefault("wellspring.answer_mismatches", [])
    mismatches.clear()
    try:
        yield app.test_client()
    finally:
        app.extensions["wellspring.db"] = saved
    found, mismatches[:] = list(dict.fromkeys(mismatches)), []
    assert not found, (
        "answers disagree with the spec (api/contract.py): a field a dump may leave out needs "
        "metadata={'maybe_absent': True}, a field that may be null allow_none=True:\n"
        + "\n".join(found)
    )


@pytest.fixture
def anon(client) -> ApiCaller:
    return ApiCaller(client)


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


# Concurrency tests: real threads or processes, committed rows -------------------------------


@pytest.fixture
def postgres(is_postgres):
    """A test that proves a claim about PostgreSQL's concurrency."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")


@pytest.fixture
def cleanup(engine):
    """Users whose committed rows are removed with them after the test."""
    user_ids: list[uuid.UUID] = []
    yield user_ids
    delete_users(engine, user_ids)


@pytest.fixture
def second_engine(database_url):
    """Another connection pool on the same database: a second app server process."""
    other = make_engine(database_url)
    yield other
    other.dispose()
