"""Engine and session factories.

SQLite gets WAL, a busy timeout and foreign keys, and its transactions are begun by us: pysqlite's
own transaction handling breaks SAVEPOINT and would start write transactions lazily, which turns
concurrent writers into `database is locked` errors instead of a short wait. Writers take the lock
up front (`BEGIN IMMEDIATE`); read-only work asks for a deferred transaction.

Writers on one SQLite file also queue at a gate (`SQLiteWriteGate`) before `BEGIN IMMEDIATE`:
SQLite makes a blocked writer poll with growing sleeps (up to 100 ms each), which under a busy
door turned into seconds of tail latency in the check-in benchmark; the gate hands the write
lock to the next writer as soon as the last one is done.

Lock order. Every transaction that locks rows of several kinds (SELECT … FOR UPDATE, or the
row locks an UPDATE takes) takes them in this one order, so no two transactions wait on each
other in a cycle (PostgreSQL would kill one with a deadlock, a 500 before retries):

  1. follow-ups: the one a delivery worker claimed, or all of a person's (erasure);
  2. the connection of a pair (`connections`);
  3. contacts: both sides of the pair, or all of one person's sides (erasure);
  4. users, in id order (the caps of cold messages; erasure's own row);
  5. follow-up plans, then their follow-ups, these with SKIP LOCKED (never waited on);
  6. registrations, in id order (check-in, exchange counters, erasure), then what hangs off
     one: attendances, check-ins, badge codes;
  7. the request's Idempotency-Key record (its answer is written last, with the work).

Where a path needs only some of these, it still takes them in this order (a send: 2, 3, 4, 5;
a delivery: 1, 2, 3, 4, 5; an exchange: 2, 3, 6; a scan: 6; erasure: 1, 3, 4, 5, 6). Rows of
one kind are taken in id order when a path takes several of them itself. One known exception:
an offline sync batch holding both kinds of scan locks its check-ins' registrations (6) before
its exchanges take connections (2); a cycle with a concurrent exchange is undone by PostgreSQL
and the batch, idempotent, reruns (services/checkin/sync.py).

Transient conflicts. Even in order, PostgreSQL may undo a transaction (a deadlock with a
path outside this list, a serialization failure): every write runs through
`retrying_transient_conflicts`, the API once around each write request's view (api/extensions)
and services that commit on their own around their transaction; nested inside the request's,
a service's call runs once and leaves the retry to the request.
"""

from __future__ import annotations

import fcntl
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Reads map the file instead of copying each page through read(): the organizer stats and
# the CSV export scan indexes of 100,000s of entries (about 20-40 % faster at 50,000
# attendees). Address space, not memory: the kernel's page cache backs it either way.
SQLITE_MMAP_BYTES = 1 << 30
READ_ONLY = {"wellspring_read_only": True}
_GATE_HELD = "wellspring_sqlite_gate_held"


class SQLiteWriteGate:
    """One writer at a time on a SQLite file, in turn: a thread lock queues the threads of this
    process, and two flocks the processes. Past the timeout the writer goes ahead anyway and
    SQLite's own busy timeout decides, as it would without the gate.

    A process waits for the gate (`<database>-writer.lock`, polled) holding the turnstile
    (`<database>-writer-next.lock`), and the others wait for the turnstile in the kernel. So
    when the writer leaves, the process in the turnstile is the only one trying the gate, even
    if the writer's own process has more writers queued; and the next process is woken as soon
    as the turnstile is free. With the gate alone, a busy process took it again and again
    while the other one slept between polls (p99 of 60 ms at concurrency 8 in the check-in
    benchmark). A process holds the turnstile at most until its own wait for the gate times
    out, so waiting for it needs no timeout of its own."""

    _by_path: dict[str, SQLiteWriteGate] = {}
    _registry_lock = threading.Lock()
    GATE_POLL_S = 0.0001  # only the process in the turnstile polls the gate

    def __init__(self, lock_path: str):
        self._lock_path = lock_path
        self._turnstile_path = lock_path.removesuffix(".lock") + "-next.lock"
        self._threads = threading.Lock()
        self._gate: IO[str] | None = None
        self._turnstile: IO[str] | None = None

    @classmethod
    def for_database(cls, database_path: str) -> SQLiteWriteGate:
        path = str(Path(database_path).resolve())
        with cls._registry_lock:
            if path not in cls._by_path:
                cls._by_path[path] = cls(f"{path}-writer.lock")
            return cls._by_path[path]

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._gate is None:
            # Kept open: an open file holds its flock.
            self._gate = open(self._lock_path, "a+")  # noqa: SIM115
            self._turnstile = open(self._turnstile_path, "a+")  # noqa: SIM115
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            if _flock_before(self._gate, deadline, self.GATE_POLL_S):
                return True
            self._threads.release()
            return False
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def release(self) -> None:
        if self._gate is not None:
            fcntl.flock(self._gate, fcntl.LOCK_UN)
        self._threads.release()


def _flock_before(file: IO[str], deadline: float, poll_s: float) -> bool:
    """Take an exclusive flock on `file`, polling until `deadline`."""
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_s)


def make_engine(database_url: str, **kwargs) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    database = engine.url.database
    gate = SQLiteWriteGate.for_database(database) if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()
        # Not every SQLite build has the math functions; strength ranking needs power().
        dbapi_connection.create_function("power", 2, math.pow, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get("wellspring_read_only"):
            connection.exec_driver_sql("BEGIN")
            return
        info = connection.connection.info
        if gate is not None and not info.get(_GATE_HELD):
            info[_GATE_HELD] = gate.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    if gate is not None:
        # The write ends when the connection goes back to the pool: an ORM session hands it
        # back right after its commit or rollback.
        def _release(_dbapi_connection, record, *_args) -> None:
            if record is not None and record.info.pop(_GATE_HELD, False):
                gate.release()

        event.listen(engine, "checkin", _release)
        event.listen(engine, "invalidate", _release)


# deadlock_detected, serialization_failure: the transaction was undone and may simply run again.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
TRANSIENT_CONFLICT_RETRIES = 3
_RETRYING = "wellspring_retrying_transient_conflicts"


def retrying_transient_conflicts(
    session: Session, transaction: Callable[[], T], *, rerun_on_integrity_error: bool = False
) -> T:
    """Run `transaction` (which commits), again from the start when PostgreSQL undid it for a
    deadlock or a serialization failure; at most TRANSIENT_CONFLICT_RETRIES times in all.

    `rerun_on_integrity_error` reruns it after a unique-key collision too: for an idempotent
    transaction whose rerun sees the row the other one stored (an offline batch and its twin,
    sent again while the first copy was still running).

    Called inside another call's `transaction` (a service inside a request's retry), it runs
    `transaction` once and lets the outer call rerun everything; unless it reruns on
    integrity errors, which only it knows how to."""
    if session.info.get(_RETRYING) and not rerun_on_integrity_error:
        return transaction()
    outermost = not session.info.get(_RETRYING)
    session.info[_RETRYING] = True
    try:
        for attempt in range(TRANSIENT_CONFLICT_RETRIES):
            try:
                return transaction()
            except (OperationalError, IntegrityError) as error:
                session.rollback()
                if isinstance(error, IntegrityError):
                    rerun = rerun_on_integrity_error
                else:
                    rerun = is_transient_conflict(error)
                if not rerun or attempt == TRANSIENT_CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")
    finally:
        if outermost:
            session.info.pop(_RETRYING, None)


def is_transient_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction was undone and may run again."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in _TRANSIENT_SQLSTATES


def is_postgresql(bind) -> bool:
    return bind.dialect.name == "postgresql"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
