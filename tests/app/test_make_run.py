"""`make run` — the command the README starts with — migrates and serves the API."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.live import http_json

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_run_migrates_and_serves(tmp_dir):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_dir / 'run.db'}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_BASE_URL": "https://badges.example",
    }
    env.pop("TEST_DATABASE_URL", None)
    server = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v1/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "make run exited"
                assert time.monotonic() < deadline, "make run did not serve in time"
                time.sleep(0.5)  # waiting for a child process to start, not for app time
        status, body = http_json(
            "POST",
            f"{base}/v1/auth/register",
            {"email": "run@example.test", "password": "a long password", "display_name": "R"},
        )
        assert status == 201
        status, event = http_json(
            "POST",
            f"{base}/v1/events",
            {
                "name": "E",
                "starts_at": "2030-01-01T08:00:00Z",
                "ends_at": "2030-01-01T18:00:00Z",
                "timezone": "UTC",
            },
            token=body["access_token"],
        )
        assert status == 201
        status, registration = http_json(
            "POST", f"{base}/v1/events/{event['id']}/registrations", token=body["access_token"]
        )
        assert status == 201
        assert registration["badge_url"].startswith("https://badges.example/b/")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
