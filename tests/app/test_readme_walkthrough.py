"""The README's curl walkthrough, pasted into bash as a newcomer would, against the server
`make run` starts (gunicorn with gunicorn.conf.py): every step answers the status the README
says, and pasting it a second time works too (new emails on every run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.live import Gunicorn, free_port, start_gunicorn

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    "201", "201", "201",  # three sign-ups
    "201",  # the event
    "201", "201",  # two registrations
    "200",  # the badge PNG
    "201", "200",  # door scan, then the same badge again
    "201",  # contact scan
    "200",  # the note with If-Match
    "201", "429",  # a message, then one too soon
    "201",  # the follow-up
    "200",  # allowance
    "200",  # stats
]  # fmt: skip


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walkthrough with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_printed_twice(tmp_dir):
    script = walkthrough()
    assert "date -d" not in script
    port = free_port()
    database_url = f"sqlite:///{tmp_dir / 'readme.db'}"
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "api", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "WELLSPRING_ENV": "development"},
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    with tempfile.TemporaryFile("w+") as output:
        process = start_gunicorn(database_url, port, output, SECRET_KEY="s" * 48)
        server = Gunicorn(process, f"http://127.0.0.1:{port}", output)
        try:
            server.wait_until_serving()
            runs = [
                subprocess.run(
                    ["bash", "-c", script.replace("127.0.0.1:5000", f"127.0.0.1:{port}")],
                    cwd=tmp_dir,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                for _ in range(2)
            ]
        finally:
            server.stop()
    for ran in runs:
        statuses = re.findall(r"HTTP (\d{3})", ran.stderr + ran.stdout)
        # stderr and stdout interleave differently; the multiset and the order within each
        # stream are what matter
        assert sorted(statuses) == sorted(EXPECTED), (ran.stdout, ran.stderr)
        assert re.findall(r"HTTP (\d{3})", ran.stderr) == [
            s for i, s in enumerate(EXPECTED) if i not in (6, 10)
        ], ran.stderr
        assert '"reason": "min_gap"' in ran.stdout or '"reason":"min_gap"' in ran.stdout
        assert '"walk_ins"' in ran.stdout
    assert (tmp_dir / "badge.png").read_bytes().startswith(b"\x89PNG")
