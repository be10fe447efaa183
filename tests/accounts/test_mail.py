"""Mail through a real SMTP server (aiosmtpd in the test process): the outbox, delivery,
retries, the .eml fallback on a laptop, and the mails of verification and password reset."""

import logging
import socket
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.worker import delivery_steps, run_pass
from services.core.models import MailOutbox, User
from services.mail.outbox import FAILED, LEASE, PENDING, SENT, deliver_due_mail
from services.mail.transport import (
    FileTransport,
    InvalidSmtpUrl,
    SmtpSettings,
    SmtpTransport,
)
from tests.support import assert_problem, new_user, unique_email
from tests.support.smtp import smtp_server, text_of, token_of

MAIL_FROM = "Wellspring <no-reply@wellspring.test>"


@pytest.fixture(autouse=True)
def only_this_tests_mail(db):
    """Mail that other (committing) tests left pending is not this test's: set it aside
    inside this test's rolled-back transaction."""
    db.execute(update(MailOutbox).where(MailOutbox.status == PENDING).values(status="other"))
    db.commit()


@pytest.fixture
def smtp():
    with smtp_server() as (url, mailbox):
        yield url, mailbox


def deliver(client, clock, url: str):
    db = client.application.extensions["wellspring.db"]
    transport = SmtpTransport(SmtpSettings.from_url(url))
    return deliver_due_mail(db.session_factory, clock, transport, MAIL_FROM)


def outbox(db, to: str) -> list[MailOutbox]:
    return db.scalars(
        select(MailOutbox)
        .where(MailOutbox.to_address == to)
        .execution_options(populate_existing=True)
    ).all()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.local:2525", ("smtp", "mail.local", 2525, None, None)),
        ("smtp://mail.local", ("smtp", "mail.local", 25, None, None)),
        (
            "smtp+starttls://u%40x:p%3Aw@smtp.example:587",
            ("smtp+starttls", "smtp.example", 587, "u@x", "p:w"),
        ),
        ("smtps://user:pw@smtp.example", ("smtps", "smtp.example", 465, "user", "pw")),
    ],
)
def test_smtp_url_forms(url, expected):
    s = SmtpSettings.from_url(url)
    assert (s.scheme, s.host, s.port, s.username, s.password) == expected
    assert "pw" not in s.describe() and "p:w" not in s.describe()


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h:port"])
def test_bad_smtp_urls(url):
    with pytest.raises(InvalidSmtpUrl):
        SmtpSettings.from_url(url)


def test_registration_mails_a_verification_token_that_verifies_the_email(anon, clock, db, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    report = deliver(anon.client, clock, url)
    assert report.sent >= 1
    [mail] = mailbox.to(person.email)
    assert mail["From"] == MAIL_FROM
    assert mail.get_content_type() == "text/plain"
    token = token_of(mail)
    assert f"https://wellspring.test/verify-email#token={token}" in text_of(mail)
    # Sent: the stored copy keeps no usable token.
    [stored] = outbox(db, person.email)
    assert stored.status == SENT and stored.secret is None and token not in stored.body

    assert person.get("/v1/me").get_json()["email_verified"] is False
    assert anon.post("/v1/auth/verify-email", json={"token": token}).status_code == 204
    assert person.get("/v1/me").get_json()["email_verified"] is True
    assert_problem(
        anon.post("/v1/auth/verify-email", json={"token": token}), 400, "invalid_verification_token"
    )
    assert_problem(
        anon.post("/v1/auth/verify-email", json={"token": "x" * 43}),
        400,
        "invalid_verification_token",
    )


def test_a_verification_token_expires_after_48_hours(anon, clock, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    deliver(anon.client, clock, url)
    clock.advance(timedelta(hours=48))
    token = mailbox.last_token(person.email)
    assert_problem(
        anon.post("/v1/auth/verify-email", json={"token": token}), 400, "invalid_verification_token"
    )
    assert person.post("/v1/me/verify-email/resend").status_code == 202
    deliver(anon.client, clock, url)
    fresh = mailbox.last_token(person.email)
    assert anon.post("/v1/auth/verify-email", json={"token": fresh}).status_code == 204


def test_resending_is_limited(anon):
    person = new_user(anon.client)
    for _ in range(3):
        assert person.post("/v1/me/verify-email/resend").status_code == 202
    response = person.post("/v1/me/verify-email/resend")
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_changing_the_email_needs_the_password_and_unverifies_it(anon, clock, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    deliver(anon.client, clock, url)
    anon.post("/v1/auth/verify-email", json={"token": mailbox.last_token(person.email)})
    new_email = unique_email("moved")
    assert_problem(person.patch("/v1/me", json={"email": new_email}), 403, "invalid_credentials")
    taken = new_user(anon.client).email
    assert_problem(
        person.patch("/v1/me", json={"email": taken, "current_password": person.password}),
        409,
        "email_taken",
    )
    changed = person.patch("/v1/me", json={"email": new_email, "current_password": person.password})
    assert changed.status_code == 200
    assert changed.get_json()["email"] == new_email
    assert changed.get_json()["email_verified"] is False
    deliver(anon.client, clock, url)
    token = mailbox.last_token(new_email)
    assert anon.post("/v1/auth/verify-email", json={"token": token}).status_code == 204
    assert person.get("/v1/me").get_json()["email_verified"] is True


def test_password_reset_mails_a_single_use_token_and_revokes_every_sign_in(anon, clock, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    unknown = anon.post("/v1/auth/password-reset", json={"email": "nobody@example.test"})
    known = anon.post("/v1/auth/password-reset", json={"email": person.email.upper()})
    assert (unknown.status_code, unknown.get_json()) == (known.status_code, known.get_json())
    assert known.status_code == 202 and known.get_json() == {}
    deliver(anon.client, clock, url)
    assert mailbox.to("nobody@example.test") == []
    [mail] = mailbox.to(person.email, "Reset")
    token = token_of(mail)
    assert len(token) >= 22
    assert f"https://wellspring.test/reset-password#token={token}" in text_of(mail)

    body = {"token": token, "new_password": "a fresh new password"}
    assert anon.post("/v1/auth/password-reset/confirm", json=body).status_code == 204
    assert_problem(person.get("/v1/me"), 401, "invalid_token")
    assert_problem(anon.post("/v1/auth/refresh", json={"refresh_token": person.refresh_token}), 401)
    assert_problem(
        anon.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_reset_token"
    )
    login = {"email": person.email, "password": "a fresh new password"}
    assert anon.post("/v1/auth/login", json=login).status_code == 200


def test_a_reset_token_lasts_30_minutes(anon, clock, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    anon.post("/v1/auth/password-reset", json={"email": person.email})
    deliver(anon.client, clock, url)
    clock.advance(timedelta(minutes=30))
    token = mailbox.last_token(person.email, "Reset")
    body = {"token": token, "new_password": "a fresh new password"}
    assert_problem(
        anon.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_reset_token"
    )


def test_password_reset_is_limited_per_email_and_per_address(anon):
    email = unique_email()
    for _ in range(3):
        assert anon.post("/v1/auth/password-reset", json={"email": email}).status_code == 202
    assert_problem(anon.post("/v1/auth/password-reset", json={"email": email}), 429)
    for index in range(16):
        anon.post("/v1/auth/password-reset", json={"email": f"other-{index}@example.test"})
    assert_problem(anon.post("/v1/auth/password-reset", json={"email": "x@example.test"}), 429)


def test_smtp_auth_from_the_url(anon, clock):
    with smtp_server(username="mailer", password="s3cret") as (url, mailbox):
        person = new_user(anon.client)
        assert deliver(anon.client, clock, url).sent >= 1
        assert mailbox.to(person.email)
        wrong = url.replace("s3cret", "wrong")
        anon.post("/v1/me/verify-email/resend", headers={"Authorization": f"Bearer {person.token}"})
        report = deliver(anon.client, clock, wrong)
        assert report.retrying == 1 and report.sent == 0


def test_a_refusing_server_is_retried_with_back_off_and_nothing_is_lost(anon, clock, db, smtp):
    url, mailbox = smtp
    mailbox.refuse = 1
    person = new_user(anon.client)
    report = deliver(anon.client, clock, url)
    assert (report.sent, report.retrying) == (0, 1)
    [mail] = outbox(db, person.email)
    assert mail.status == PENDING and mail.attempts == 1 and "451" in mail.last_error
    assert deliver(anon.client, clock, url).processed == 0  # not due yet
    clock.advance(timedelta(seconds=30))
    assert deliver(anon.client, clock, url).sent == 1
    assert len(mailbox.to(person.email)) == 1


def test_an_unreachable_server_is_retried_later(anon, clock, db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    person = new_user(anon.client)
    report = deliver(anon.client, clock, f"smtp://127.0.0.1:{port}")
    assert report.retrying == 1
    [mail] = outbox(db, person.email)
    assert mail.status == PENDING and mail.next_attempt_at > clock.now()


def test_a_worker_that_dies_mid_send_leaves_the_mail_for_the_next_pass(anon, clock, db, smtp):
    url, mailbox = smtp

    class Dies:
        def send(self, message):
            raise SystemExit("killed mid-send")

    person = new_user(anon.client)
    factory = anon.client.application.extensions["wellspring.db"].session_factory
    with pytest.raises(SystemExit):
        deliver_due_mail(factory, clock, Dies(), MAIL_FROM)
    [mail] = outbox(db, person.email)
    assert mail.status == PENDING and mail.attempts == 1
    assert deliver(anon.client, clock, url).processed == 0  # its lease still runs
    clock.advance(LEASE)
    assert deliver(anon.client, clock, url).sent == 1
    assert mailbox.to(person.email)


def test_a_permanent_refusal_fails_the_mail_and_keeps_the_error(anon, clock, db):
    class Refuses:
        def send(self, message):
            from services.mail.transport import PermanentMailError

            raise PermanentMailError("550 no such user")

    person = new_user(anon.client)
    factory = anon.client.application.extensions["wellspring.db"].session_factory
    assert deliver_due_mail(factory, clock, Refuses(), MAIL_FROM).failed == 1
    [mail] = outbox(db, person.email)
    assert mail.status == FAILED and "550" in mail.last_error


def test_a_rolled_back_change_sends_nothing(anon, db):
    person = new_user(anon.client)
    again = anon.post(
        "/v1/auth/register",
        json={"email": person.email, "password": "another long one", "display_name": "Twin"},
    )
    assert_problem(again, 409)
    assert len(outbox(db, person.email)) == 1


def test_without_smtp_url_mail_becomes_eml_files_with_their_path_logged(
    anon, clock, tmp_path, caplog
):
    person = new_user(anon.client)
    factory = anon.client.application.extensions["wellspring.db"].session_factory
    with caplog.at_level(logging.INFO, logger="wellspring.mail"):
        deliver_due_mail(factory, clock, FileTransport(tmp_path), MAIL_FROM)
    files = list(tmp_path.glob("*.eml"))
    assert files
    assert any(str(path) in caplog.text for path in files)
    assert person.email not in caplog.text  # no addresses in logs
    assert any(person.email in Path(path).read_text() for path in files)


def test_the_worker_loop_runs_follow_ups_and_mail_as_steps(app, client, clock, smtp):
    url, mailbox = smtp
    person = new_user(client)
    app.extensions["wellspring.mail_transport"] = SmtpTransport(SmtpSettings.from_url(url))
    try:
        steps = delivery_steps(app)
        assert [step.name for step in steps] == [
            "expired-idempotency-answers",
            "sync-log-compaction",
            "follow-ups",
            "push",
            "mail",
        ]

        assert run_pass(steps, threading.Event()) is False
    finally:
        del app.extensions["wellspring.mail_transport"]
    assert mailbox.to(person.email)


def test_export_lists_mail_sent_to_me_without_tokens_and_erase_removes_it(anon, clock, db, smtp):
    url, mailbox = smtp
    person = new_user(anon.client)
    deliver(anon.client, clock, url)
    token = mailbox.last_token(person.email)
    exported = person.get("/v1/me/export").get_json()
    [mail] = exported["mail"]
    assert mail["kind"] == "verify_email" and mail["status"] == "sent"
    assert token not in str(exported)
    assert len(exported["sessions"]) == 1
    assert "refresh_token" not in str(exported["sessions"])
    user_id = uuid.UUID(person.id)
    assert person.delete("/v1/me").status_code == 204
    assert outbox(db, person.email) == []
    assert db.scalar(select(User.email_verified_at).where(User.id == user_id)) is None
