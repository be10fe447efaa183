"""Real servers and committing apps for concurrency tests (no rolled-back test transaction)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from werkzeug.serving import make_server

from api import create_app
from tests.support import TEST_ACCESS_TOKEN_TTL, TEST_MAIL_DIR, TEST_REVOCATIONS


def committing_app(engine, clock, **config):
    """An app whose requests really commit (for threads, processes and live servers)."""
    return create_app(
        {
            "TESTING": True,
            "ENGINE": engine,
            "CLOCK": clock,
            "PASSWORD_HASH_PROFILE": "fast",
            "SECRET_KEY": "test-secret",
            "TOKEN_REVOCATION_URL": TEST_REVOCATIONS,
            # Tests move the clock by days; token expiry has its own tests (tests/accounts).
            "ACCESS_TOKEN_TTL_SECONDS": TEST_ACCESS_TOKEN_TTL,
            "MAIL_DIR": TEST_MAIL_DIR,
            "PUBLIC_BASE_URL": "https://wellspring.test",
            **config,
        }
    )


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve `app` with a threaded WSGI server on a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def http_json(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def run_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together by a barrier; re-raise failures."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, port: int, output: IO[str], **env: str) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py, as `make serve` starts it (production).
    SECRET_KEY is passed only when given. Its JSON log lines go to `output` (a file: a pipe
    nobody reads while the test runs would fill up and block the workers' logging)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "WELLSPRING_ENV": "production",
        # Production needs a mail server to start; nothing here sends mail (no worker runs).
        "SMTP_URL": "smtp://127.0.0.1:2525",
        "TOKEN_REVOCATION_URL": TEST_REVOCATIONS,
        **env,
    }
    if "SECRET_KEY" not in env:
        environment.pop("SECRET_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "api:create_app()"],
        cwd=REPO,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


@dataclass
class Gunicorn:
    process: subprocess.Popen
    base_url: str
    output: IO[str]

    def logged(self) -> str:
        self.output.flush()
        self.output.seek(0)
        return self.output.read()

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def wait_until_serving(self, workers: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.logged()
            try:
                status, _ = http_json("GET", self.base_url + "/v1/health")
                if status == 200 and len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)

    def stop(self) -> str:
        """SIGTERM, wait, and return what it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.logged()


@contextmanager
def gunicorn_server(database_url: str, workers: int = 1, **env: str) -> Iterator[Gunicorn]:
    """A running gunicorn (its workers up and answering); stopped on exit."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as output:
        process = start_gunicorn(database_url, port, output, WEB_CONCURRENCY=str(workers), **env)
        server = Gunicorn(process, f"http://127.0.0.1:{port}", output)
        try:
            server.wait_until_serving(workers)
            yield server
        finally:
            server.stop()


@contextmanager
def make_run(tmp_dir: Path, **env: str | None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`make run`, the README's first command, on a fresh SQLite file in `tmp_dir` and a free
    port (plus `env`); yields the API's base URL (`…/v1`) once it answers, and the process
    group is stopped on exit. An env value of None removes that variable."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_dir / 'run.db'}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        **env,
    }
    environment.pop("TEST_DATABASE_URL", None)
    environment = {k: v for k, v in environment.items() if v is not None}
    server = subprocess.Popen(
        ["make", "run"],
        cwd=REPO,
        env=environment,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = http_json("GET", f"{base}/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, "make run exited"
            assert time.monotonic() < deadline, "make run did not serve in time"
            time.sleep(0.5)  # waiting for a child process to start, not for app time
        yield base, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
