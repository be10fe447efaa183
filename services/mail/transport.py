"""How a mail leaves: SMTP (`SMTP_URL`) or, on a laptop, an `.eml` file per mail.

    smtp://host:25                      plain SMTP (a local relay, a test server)
    smtp+starttls://user:pass@host:587  SMTP upgraded with STARTTLS, then AUTH
    smtps://user:pass@host:465          SMTP over TLS from the first byte, then AUTH

User and password are URL-encoded in the URL (`%40` for `@`). A transport raises
`TransientMailError` when trying again later may work (connection refused, a 4xx answer, a
timeout) and `PermanentMailError` when it will not (a 5xx answer for every recipient).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger("wellspring.mail")

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
SMTP_TIMEOUT_S = 20


class MailError(Exception):
    pass


class TransientMailError(MailError):
    """Worth another try later."""


class PermanentMailError(MailError):
    """The server refused this mail for good."""


class InvalidSmtpUrl(ValueError):
    pass


class Transport(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send one message; answers a short description of where it went."""


@dataclass(frozen=True)
class SmtpSettings:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise InvalidSmtpUrl(
                f"SMTP_URL must start with one of {', '.join(s + '://' for s in SCHEMES)}"
            )
        if not parts.hostname:
            raise InvalidSmtpUrl("SMTP_URL names no host")
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError as exc:
            raise InvalidSmtpUrl("SMTP_URL has an invalid port") from exc
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def describe(self) -> str:
        """The URL without its password, for logs."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


class SmtpTransport:
    """One connection per message: a worker sends a handful of mails a minute, and a fresh
    connection never trips over a server that dropped an idle one."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.ssl_context = ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.scheme == "smtps":
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=SMTP_TIMEOUT_S, context=self.ssl_context
            )
        client = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_S)
        if s.scheme == "smtp+starttls":
            client.starttls(context=self.ssl_context)
        return client

    def send(self, message: EmailMessage) -> str:
        try:
            with self._connect() as client:
                if self.settings.username:
                    client.login(self.settings.username, self.settings.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentMailError(f"recipient refused: {codes}") from exc
            raise TransientMailError(f"recipient refused for now: {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 535):
                raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise TransientMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
        return self.settings.describe()


class FileTransport:
    """Development without SMTP_URL: each mail becomes `<dir>/<time>-<id>.eml`, path logged."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(message))
        log.info("mail written to %s", path)
        return str(path)


def transport_from_config(smtp_url: str | None, mail_dir: Path) -> Transport:
    if smtp_url:
        return SmtpTransport(SmtpSettings.from_url(smtp_url))
    return FileTransport(mail_dir)
