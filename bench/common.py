"""Shared by the benchmark scripts: a throwaway database, a query counter, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from services.core.db import make_engine
from services.core.migrations import upgrade_to_head


@contextmanager
def migrated_database(database_url: str) -> Iterator[Engine]:
    """An engine on an existing database, migrated to head (an earlier run's, for --reuse)."""
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(server_url: str | None, *, keep: bool = False) -> Iterator[Engine]:
    """A migrated database: a temporary SQLite file, or a fresh database on a PostgreSQL server
    (created and dropped here, like the test suite does; `keep` leaves it for a later run)."""
    if not server_url:
        with (
            tempfile.TemporaryDirectory() as directory,
            migrated_database(f"sqlite:///{Path(directory) / 'bench.db'}") as engine,
        ):
            yield engine
        return
    url = make_url(server_url)
    name = f"wellspring_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        with migrated_database(database_url) as engine:
            yield engine
    finally:
        if keep:
            print(f"kept the PostgreSQL database {database_url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class QueryCounter:
    """Counts statements sent to the database (SQLAlchemy's before_cursor_execute)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _record(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def database_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
        return conn.exec_driver_sql("select version()").scalar().split(" on ")[0]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(engine: Engine) -> str:
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores (shared), {platform.system()} "
        f"{platform.release()}\n"
        f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"{database_version(engine)}; load average {os.getloadavg()[0]:.2f} at start"
    )


def summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms, "
        f"mean {statistics.fmean(ordered):.2f} ms (n={len(ordered)})"
    )
