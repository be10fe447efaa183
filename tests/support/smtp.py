"""A real SMTP server in the test process (aiosmtpd), and reading back what it received."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

TOKEN_LINE = re.compile(r"^token: (\S+)\r?$", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    """Every message the server accepted, parsed; `refuse` makes it answer 451 for now."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0  # the next N messages get a temporary refusal
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            if self.refuse:
                self.refuse -= 1
                return "451 4.3.0 try again later"
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
        return "250 OK"

    def to(self, address: str, subject: str = "") -> list[EmailMessage]:
        """Mail received for `address`, with `subject` in its subject line."""
        with self._lock:
            return [m for m in self.messages if m["To"] == address and subject in m["Subject"]]

    def last_token(self, address: str, subject: str = "") -> str:
        """The `token: …` line of the last mail to `address` (with `subject` in its subject)."""
        mails = self.to(address, subject)
        assert mails, f"no mail to {address}"
        return token_of(mails[-1])


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def token_of(message: EmailMessage) -> str:
    match = TOKEN_LINE.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        return AuthResult(success=ok)


@contextmanager
def smtp_server(
    *, username: str | None = None, password: str | None = None
) -> Iterator[tuple[str, Mailbox]]:
    """Yields (SMTP_URL, mailbox). With a username, AUTH is required (over plain SMTP, which
    a local test server may allow)."""
    mailbox = Mailbox()
    port = _free_port()
    kwargs = {}
    if username is not None:
        kwargs = {
            "authenticator": _Authenticator(username, password or ""),
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        userinfo = f"{username}:{password}@" if username is not None else ""
        yield f"smtp://{userinfo}127.0.0.1:{port}", mailbox
    finally:
        controller.stop()
