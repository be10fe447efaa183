"""The mail outbox and its delivery step.

A mail is a row written in the transaction of the change that causes it. The worker claims a
due row with a lease (`next_attempt_at` moved LEASE ahead, `attempts` + 1, committed at once),
sends it outside any transaction (a slow SMTP server holds no lock, which matters on SQLite
where a write transaction holds the whole database), then records the outcome. A worker that
dies mid-send leaves the row `pending` with its lease running out: the next pass sends it again
(at least once; a crash between the server's acceptance and our commit can send a mail twice,
never lose one). A failed try waits BACKOFF_S * 2^(attempts-1) seconds (capped at an hour);
after MAX_ATTEMPTS, or a permanent refusal, the row is `failed` with the last error kept.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import Clock
from services.core.formatting import to_iso
from services.core.models import MailOutbox
from services.mail.transport import PermanentMailError, TransientMailError, Transport

log = logging.getLogger("wellspring.mail")

PENDING, SENT, FAILED = "pending", "sent", "failed"
TOKEN_PLACEHOLDER = "{{token}}"
LEASE = timedelta(minutes=5)
BACKOFF_S = 30
MAX_BACKOFF_S = 3600
MAX_ATTEMPTS = 10


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    now: datetime,
    user_id: uuid.UUID | None = None,
    secret: str | None = None,
) -> MailOutbox:
    mail = MailOutbox(
        user_id=user_id,
        to_address=to,
        kind=kind,
        subject=subject,
        body=body,
        secret=secret,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(mail)
    return mail


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def build_message(mail: MailOutbox, mail_from: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=mail.id.hex, domain="wellspring")
    body = mail.body
    if mail.secret is not None:
        body = body.replace(TOKEN_PLACEHOLDER, mail.secret)
    message.set_content(body)  # text/plain; utf-8
    return message


@dataclass
class MailReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def processed(self) -> int:
        return self.sent + self.retrying + self.failed


def _claim(session: Session, now: datetime) -> MailOutbox | None:
    mail = session.scalar(
        select(MailOutbox)
        .where(MailOutbox.status == PENDING, MailOutbox.next_attempt_at <= now)
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if mail is None:
        session.rollback()
        return None
    mail.attempts += 1
    mail.next_attempt_at = now + LEASE
    session.commit()
    return mail


def _record(session: Session, mail: MailOutbox, values: dict[str, Any]) -> None:
    # Only if no other worker re-claimed the row after our lease ran out.
    session.execute(
        update(MailOutbox)
        .where(MailOutbox.id == mail.id, MailOutbox.attempts == mail.attempts)
        .values(**values)
    )
    session.commit()


def deliver_due_mail(
    session_factory: sessionmaker[Session],
    clock: Clock,
    transport: Transport,
    mail_from: str,
    *,
    batch: int = 100,
    stop: threading.Event | None = None,
) -> MailReport:
    """One pass: up to `batch` due mails, each claimed, sent and recorded on its own."""
    report = MailReport()
    while report.processed < batch and not (stop and stop.is_set()):
        with session_factory() as session:
            mail = _claim(session, clock.now())
            if mail is None:
                break
            try:
                where = transport.send(build_message(mail, mail_from, clock.now()))
            except PermanentMailError as error:
                log.warning("mail %s refused for good: %s", mail.id, error)
                _record(session, mail, {"status": FAILED, "last_error": str(error)[:500]})
                report.failed += 1
                continue
            except TransientMailError as error:
                now = clock.now()
                if mail.attempts >= MAX_ATTEMPTS:
                    log.warning("mail %s failed %d times; giving up", mail.id, mail.attempts)
                    values = {"status": FAILED, "last_error": str(error)[:500]}
                    report.failed += 1
                else:
                    log.info("mail %s: %s; retrying later", mail.id, error)
                    values = {
                        "next_attempt_at": now + backoff(mail.attempts),
                        "last_error": str(error)[:500],
                    }
                    report.retrying += 1
                _record(session, mail, values)
                continue
            _record(
                session,
                mail,
                {"status": SENT, "sent_at": clock.now(), "secret": None, "last_error": None},
            )
            log.info("mail %s (%s) sent via %s", mail.id, mail.kind, where)
            report.sent += 1
    return report


def _mine(user_id: uuid.UUID, email: str | None):
    conditions = [MailOutbox.user_id == user_id]
    if email:
        conditions.append(MailOutbox.to_address == email)
    return or_(*conditions)


def mail_for_user(session: Session, user_id: uuid.UUID, email: str | None) -> list[dict]:
    """Mail sent (or to be sent) to me, without the tokens it carries."""
    mails = session.scalars(
        select(MailOutbox).where(_mine(user_id, email)).order_by(MailOutbox.created_at)
    ).all()
    return [
        {
            "id": str(m.id),
            "kind": m.kind,
            "to": m.to_address,
            "subject": m.subject,
            "body": m.body.replace(TOKEN_PLACEHOLDER, "(token not kept)"),
            "status": m.status,
            "created_at": to_iso(m.created_at),
            "sent_at": to_iso(m.sent_at),
        }
        for m in mails
    ]


def erase_for_user(session: Session, user_id: uuid.UUID, email: str | None) -> None:
    session.execute(delete(MailOutbox).where(_mine(user_id, email)))
