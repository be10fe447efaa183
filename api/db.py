"""The per-request database session and the app's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, g, request
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import Clock
from services.core.db import READ_ONLY, make_session_factory

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Database:
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    # SQLite: a write transaction holds the whole database from its first statement.
    # PostgreSQL locks rows, so reads inside a write transaction cost others nothing.
    writer_locks_database: bool

    @classmethod
    def for_engine(cls, engine: Engine) -> Database:
        return cls(
            engine,
            make_session_factory(engine),
            make_session_factory(engine.execution_options(**READ_ONLY)),
            writer_locks_database=engine.dialect.name == "sqlite",
        )


def database() -> Database:
    return current_app.extensions["wellspring.db"]


def db_session() -> Session:
    """One session per request, closed (and rolled back if uncommitted) at teardown."""
    session = g.get("db_session")
    if session is None:
        db = database()
        factory = db.read_session_factory if request.method in SAFE_METHODS else db.session_factory
        session = g.db_session = factory()
    return session


@dataclass
class AtomicRequest:
    """The request's session, inside one outer transaction: the services' commits are
    savepoints, and nothing is durable until `commit()` (what an Idempotency-Key needs: the
    work and its stored answer in one transaction)."""

    session: Session
    _connection: Connection
    _outer: Any
    _owned: bool

    def commit(self) -> None:
        self.session.commit()  # the session's own savepoint first, then the transaction
        self._outer.commit()

    def close(self) -> None:
        """Roll back what was not committed and hand the connection back (again: no-op)."""
        self.session.close()
        if self._outer.is_active:
            self._outer.rollback()
        if self._owned and not self._connection.closed:
            self._connection.close()


def end_request_session() -> None:
    """Close the request's session so far (it only read: the caller's token); the objects it
    loaded stay usable, detached."""
    previous = g.pop("db_session", None)
    if previous is not None:
        previous.close()


def begin_atomic_request() -> AtomicRequest:
    """Swap the request's session for an atomic one (the objects the request loaded so far,
    the caller and its token, move over). The caller commits, or closes to roll back."""
    end_request_session()
    factory = database().session_factory
    bind = factory.kw["bind"]
    if isinstance(bind, Connection):  # tests: one connection, already in a transaction
        connection, owned = bind, False
        outer = connection.begin_nested()
    else:
        connection, owned = bind.connect(), True
        outer = connection.begin()
    session = factory(bind=connection, join_transaction_mode="create_savepoint")
    for name in ("current_user", "current_access_token"):
        if name in g:
            setattr(g, name, session.merge(g.get(name), load=False))
    g.db_session = session
    return AtomicRequest(session, connection, outer, owned)


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def clock() -> Clock:
    return current_app.extensions["wellspring.clock"]


def now() -> datetime:
    return clock().now()


def public_base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"]
