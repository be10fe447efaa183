"""What the benchmark and the fault test share: throwaway databases, seeding, gunicorn servers.

Seeding goes through the real app for the people and the event (organizer, staff, the staff
assignment), and in bulk for the attendees: 20,000 users, registrations and hashed badge codes
(services.events.badges' own code and hash helpers), as registering them one by one would take
minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api import create_app  # noqa: E402
from services.core.db import make_engine  # noqa: E402
from services.core.migrations import upgrade_to_head  # noqa: E402
from services.core.models import BadgeCode, Registration, User  # noqa: E402
from services.events import badges  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
DEFAULT_POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password 123"
# `make serve`'s defaults: 2 processes of 4 threads (GUNICORN_THREADS may override the threads).
SERVE_THREADS = os.environ.get("GUNICORN_THREADS", "4")
# No password hashes to a bare "!": the seeded attendees exist only to be scanned.
UNUSABLE_PASSWORD_HASH = "!"


# --- databases --------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    kind: str  # "sqlite" | "postgresql"
    url: str
    drop: Any = None

    def engine(self) -> Engine:
        return make_engine(self.url)


@contextlib.contextmanager
def throwaway_database(kind: str, workdir: Path) -> Iterator[BenchDatabase]:
    """A migrated, empty database: a SQLite file in `workdir`, or a new PostgreSQL database
    on the server BENCH_POSTGRES_URL names (dropped afterwards)."""
    if kind == "sqlite":
        database = BenchDatabase("sqlite", f"sqlite:///{workdir / 'bench.db'}")
    else:
        server = make_url(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_SERVER))
        name = f"wellspring_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database = BenchDatabase(
            "postgresql", server.set(database=name).render_as_string(hide_password=False)
        )

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        database.drop = drop
    engine = database.engine()
    upgrade_to_head(engine)
    engine.dispose()
    try:
        yield database
    finally:
        if database.drop:
            database.drop()


# --- HTTP -------------------------------------------------------------------------------------


def http_json(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 60
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, raw.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class Person:
    email: str
    token: str
    id: str


@dataclass
class SeededEvent:
    event_id: str
    badges: list[str] = field(default_factory=list)


class Seeder:
    """Organizer and staff through the app's own endpoints; attendees in bulk."""

    def __init__(self, database: BenchDatabase):
        self.database = database
        self.engine = database.engine()
        self.app = create_app(
            {
                "DATABASE_URL": database.url,
                "ENGINE": self.engine,
                "WELLSPRING_ENV": "development",
                "PASSWORD_HASH_PROFILE": "fast",
                "LOG_LEVEL": "WARNING",
            }
        )
        self.client = self.app.test_client()
        self.organizer = self.person("organizer")
        self.staff = self.person("staff")

    def close(self) -> None:
        self.engine.dispose()

    def _call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.open(path, method=method, json=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.get_json()}")
        return response.get_json()

    def person(self, role: str) -> Person:
        email = f"{role}-{uuid.uuid4().hex[:10]}@bench.example"
        body = {"email": email, "password": PASSWORD, "display_name": role.title()}
        answer = self._call("POST", "/v1/auth/register", body)
        return Person(email, answer["access_token"], answer["user"]["id"])

    def event(self, attendees: int, name: str = "Bench Conf") -> SeededEvent:
        """An event open for check-in now, the staff member on it, and `attendees` registered."""
        now = datetime.now(UTC)
        event = self._call(
            "POST",
            "/v1/events",
            {
                "name": name,
                "starts_at": (now - timedelta(minutes=30)).isoformat(),
                "ends_at": (now + timedelta(hours=10)).isoformat(),
                "timezone": "Europe/Berlin",
            },
            self.organizer.token,
        )
        self._call(
            "POST",
            f"/v1/events/{event['id']}/staff",
            {"email": self.staff.email, "role": "staff"},
            self.organizer.token,
        )
        seeded = SeededEvent(event["id"])
        seeded.badges = self.register_in_bulk(uuid.UUID(event["id"]), attendees, now)
        return seeded

    def register(self, person: Person, event_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/events/{event_id}/registrations", token=person.token)

    def register_in_bulk(self, event_id: uuid.UUID, count: int, now: datetime) -> list[str]:
        codes = [badges.new_badge_code() for _ in range(count)]
        batch = uuid.uuid4().hex[:8]
        users, registrations, badge_codes = [], [], []
        for index, code in enumerate(codes):
            user_id, registration_id = uuid.uuid4(), uuid.uuid4()
            users.append(
                {
                    "id": user_id,
                    "email": f"attendee-{batch}-{index}@bench.example",
                    "password_hash": UNUSABLE_PASSWORD_HASH,
                    "display_name": f"Attendee {index}",
                    "timezone": "UTC",
                    "created_at": now,
                    "profile_updated_at": now,
                }
            )
            registrations.append(
                {
                    "id": registration_id,
                    "event_id": event_id,
                    "user_id": user_id,
                    "status": "registered",
                    "badge_code": code,
                    "badge_issued_at": now,
                    "created_at": now,
                }
            )
            badge_codes.append(
                {
                    "id": uuid.uuid4(),
                    "registration_id": registration_id,
                    "code_hash": badges.code_hash(code),
                    "issued_at": now,
                }
            )
        with self.engine.begin() as conn:
            for table, rows in (
                (User, users),
                (Registration, registrations),
                (BadgeCode, badge_codes),
            ):
                for start in range(0, len(rows), 2000):
                    conn.execute(insert(table), rows[start : start + 2000])
        return codes


# --- gunicorn ---------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@contextlib.contextmanager
def gunicorn(
    app_spec: str,
    database: BenchDatabase,
    log_path: Path,
    *,
    workers: int = 2,
    health_path: str = "/v1/health",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """gunicorn with the project's gunicorn.conf.py, as `make serve` runs it (production)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": SERVE_THREADS,
        "WELLSPRING_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "bench")]),
        **(extra_env or {}),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            str(REPO / "gunicorn.conf.py"),
            app_spec,
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log_path}")
            with contextlib.suppress(OSError):
                status, _ = http_json("GET", server.base_url + health_path, timeout=2)
                if status == 200 and len(server.worker_pids()) >= workers:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not come up; see {log_path}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
