"""The per-request database session and the app's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy import Engine
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
