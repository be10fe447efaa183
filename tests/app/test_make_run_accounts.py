"""Black box: `make run` with SMTP_URL pointing at this test's own SMTP server. The delivery
worker that `make run` starts beside the API sends the mail; the walk reads it from the
server: register → verify → invite staff → accept → scan; refresh rotation and reuse; reset."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.live import REPO, http_json, make_run
from tests.support.smtp import Mailbox, smtp_server, token_of


def wait_for_mail(mailbox: Mailbox, to: str, subject: str, server: subprocess.Popen):
    """Mail arrives when the worker's next pass runs (every 2 s in `make run`)."""
    deadline = time.monotonic() + 60
    while not mailbox.to(to, subject):
        assert server.poll() is None, "make run exited"
        assert time.monotonic() < deadline, f"no '{subject}' mail to {to}"
        time.sleep(0.2)  # waiting on another process, not on app time
    return mailbox.to(to, subject)[-1]


@pytest.mark.slow
def test_make_run_delivers_mail_through_the_accounts_flows(tmp_dir):
    with (
        smtp_server() as (smtp_url, mailbox),
        make_run(
            tmp_dir,
            PUBLIC_BASE_URL="https://app.example",
            SMTP_URL=smtp_url,
            TOKEN_REVOCATION_URL=str(tmp_dir / "revoked"),
            WELLSPRING_ENV=None,
        ) as (base, server),
    ):
        walk(base, mailbox, server)


def register(base: str, email: str, name: str) -> dict:
    status, body = http_json(
        "POST",
        f"{base}/auth/register",
        {"email": email, "password": "a long password", "display_name": name},
    )
    assert status == 201, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return body


def walk(base: str, mailbox: Mailbox, server: subprocess.Popen) -> None:
    olga = register(base, "olga@run.example", "Olga")
    sam = register(base, "sam@run.example", "Sam")
    ali = register(base, "ali@run.example", "Ali")

    # Verification mail → verify.
    mail = wait_for_mail(mailbox, "sam@run.example", "Confirm", server)
    assert http_json("POST", f"{base}/auth/verify-email", {"token": token_of(mail)})[0] == 204
    status, me = http_json("GET", f"{base}/me", token=sam["access_token"])
    assert me["email_verified"] is True

    # An event; Sam invited as staff → mail → accept (in the app, his email being verified).
    now = datetime.now(UTC)
    status, event = http_json(
        "POST",
        f"{base}/events",
        {
            "name": "RunConf",
            "starts_at": (now - timedelta(minutes=10)).isoformat(),
            "ends_at": (now + timedelta(hours=6)).isoformat(),
            "timezone": "UTC",
        },
        token=olga["access_token"],
    )
    assert status == 201, event
    status, invitation = http_json(
        "POST",
        f"{base}/events/{event['id']}/staff",
        {"email": "sam@run.example", "role": "staff"},
        token=olga["access_token"],
    )
    assert status == 201 and invitation["status"] == "pending"
    mail = wait_for_mail(mailbox, "sam@run.example", "RunConf", server)
    assert token_of(mail)
    status, mine = http_json("GET", f"{base}/me/invitations", token=sam["access_token"])
    [item] = mine["items"]
    status, joined = http_json(
        "POST", f"{base}/invitations/{item['id']}/accept", token=sam["access_token"]
    )
    assert (status, joined) == (200, {"event_id": event["id"], "role": "staff"})

    # Sam scans Ali's badge at the door.
    status, registration = http_json(
        "POST", f"{base}/events/{event['id']}/registrations", token=ali["access_token"]
    )
    status, scan = http_json(
        "POST",
        f"{base}/events/{event['id']}/check-ins",
        {"badge": registration["badge_code"]},
        token=sam["access_token"],
    )
    assert status == 201, scan

    # Refresh rotates; the used refresh token again revokes the sign-in.
    status, pair = http_json(
        "POST", f"{base}/auth/refresh", {"refresh_token": ali["refresh_token"]}
    )
    assert status == 200 and pair["refresh_token"] != ali["refresh_token"]
    assert http_json("GET", f"{base}/me", token=pair["access_token"])[0] == 200
    status, reused = http_json(
        "POST", f"{base}/auth/refresh", {"refresh_token": ali["refresh_token"]}
    )
    assert (status, reused["reason"]) == (401, "refresh_token_reused")
    assert http_json("GET", f"{base}/me", token=pair["access_token"])[0] == 401

    # Password reset by mail.
    assert http_json("POST", f"{base}/auth/password-reset", {"email": "ali@run.example"}) == (
        202,
        {},
    )
    mail = wait_for_mail(mailbox, "ali@run.example", "Reset", server)
    body = {"token": token_of(mail), "new_password": "another long password"}
    assert http_json("POST", f"{base}/auth/password-reset/confirm", body)[0] == 204
    status, login = http_json(
        "POST",
        f"{base}/auth/login",
        {"email": "ali@run.example", "password": "another long password"},
    )
    assert status == 200, login


def test_the_worker_command_runs_on_a_laptop_without_settings(tmp_dir):
    """`flask --app api deliver` as the README prints it: no WELLSPRING_ENV, no SECRET_KEY,
    no SMTP_URL. A command typed at the command line is taken for a laptop."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("WELLSPRING_ENV", "SECRET_KEY", "SMTP_URL", "TEST_DATABASE_URL")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_dir / 'worker.db'}"
    env["MAIL_DIR"] = str(tmp_dir / "mail")
    flask = str(Path(sys.executable).parent / "flask")
    for command in (["migrate"], ["deliver"]):
        done = subprocess.run(
            [flask, "--app", "api", *command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
