"""`flask --app api seed-demo`: a populated event that is under way, and working accounts."""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import ApiCaller
from tests.support.live import Gunicorn, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parents[2]


def test_seed_demo_prints_credentials_that_show_live_stats(app, client):
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--seed", "1", "--timezone", "Europe/Berlin"]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    event_id = re.search(r"id ([0-9a-f-]{36})", output).group(1)
    organizer = re.search(r"organizer\s+(\S+@\S+)", output).group(1)
    attendee = re.search(r"attendees\s+([^,\s]+@[^,\s]+)", output).group(1)
    password = re.search(r"password\s+(\S+)", output).group(1)
    assert f"/events/{event_id}/stats" in output and "check-ins.csv" in output

    login = client.post("/v1/auth/login", json={"email": organizer, "password": password})
    assert login.status_code == 200, login.get_json()
    olga = ApiCaller(client, login.get_json()["access_token"])
    stats = olga.get(f"/v1/events/{event_id}/stats").get_json()
    assert 1900 <= stats["registered"] <= 2000
    assert stats["walk_ins"] > 0
    assert 1000 <= stats["checked_in"] <= 1700
    assert 0 < stats["inside_now"] < stats["checked_in"]
    assert sum(bucket["count"] for bucket in stats["arrivals"]) == stats["checked_in"]
    assert len(stats["sessions"]) == 5
    assert sum(s["checked_in"] for s in stats["sessions"]) == 2600
    networking = stats["networking"]
    assert networking["suppressed"] is False
    assert networking["exchanges"] == 1500
    assert 0 < networking["followed_up_within_7d_rate"] < 1
    assert olga.get(f"/v1/events/{event_id}/stats/arrivals.png").status_code == 200

    as_attendee = client.post("/v1/auth/login", json={"email": attendee, "password": password})
    assert as_attendee.status_code == 200
    forbidden = ApiCaller(client, as_attendee.get_json()["access_token"]).get(
        f"/v1/events/{event_id}/stats"
    )
    assert forbidden.status_code == 403


@pytest.mark.slow
def test_the_printed_instructions_work_as_printed(tmp_dir):
    """`make seed-demo` into a database, `make run`'s server on that database, then the shell
    lines it printed, pasted as they are: stats JSON, a CSV and a PNG come back."""
    database_url = f"sqlite:///{tmp_dir / 'demo.db'}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WELLSPRING_ENV": "development",
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "api", "seed-demo", "--seed", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    printed = seeded.stdout
    assert f"DATABASE_URL={database_url} make run" in printed
    shell = printed.split("Then, in a shell:\n", 1)[1]

    with tempfile.TemporaryFile("w+") as output:
        process = start_gunicorn(database_url, port, output, SECRET_KEY="s" * 48)
        server = Gunicorn(process, f"http://127.0.0.1:{port}", output)
        try:
            server.wait_until_serving()
            ran = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", shell],
                cwd=tmp_dir,
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            server.stop()
    assert ran.returncode == 0, ran.stderr + ran.stdout
    stats_json, codes = ran.stdout.rsplit("}", 1)
    assert json.loads(stats_json + "}")["registered"] > 1000
    assert codes.split() == ["200", "200"]
    assert (tmp_dir / "check-ins.csv").read_text().count("\n") > 1000
    assert (tmp_dir / "arrivals.png").read_bytes().startswith(b"\x89PNG")


def test_a_login_against_another_database_says_so_instead_of_a_key_error(tmp_dir):
    from api.cli import _TOKEN_FROM_LOGIN

    ran = subprocess.run(
        [
            "bash",
            "-c",
            f'echo \'{{"detail": "Email or password is wrong"}}\' | {_TOKEN_FROM_LOGIN}',
        ],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 1
    assert "KeyError" not in ran.stderr
    assert "login failed: Email or password is wrong" in ran.stderr
    assert "database that seed-demo filled" in ran.stderr
