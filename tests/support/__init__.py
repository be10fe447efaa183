"""Test helpers: an HTTP caller that carries a token, and factories that go through the API."""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from services.core.models import Base

_counter = itertools.count(1)

# Every app of one test process shares one revocation file (as gunicorn's processes do), and
# mail written as files stays out of the checkout.
TEST_REVOCATIONS = os.path.join(tempfile.gettempdir(), f"wellspring-revoked-{os.getpid()}")
TEST_ACCESS_TOKEN_TTL = 5 * 365 * 24 * 3600
TEST_MAIL_DIR = os.path.join(tempfile.gettempdir(), f"wellspring-mail-{os.getpid()}")

EVENT_STARTS = "2026-06-01T08:00:00Z"
EVENT_ENDS = "2026-06-01T18:00:00Z"


@dataclass
class ApiCaller:
    client: Any
    token: str | None = None
    user: dict[str, Any] = field(default_factory=dict)
    password: str = ""
    refresh_token: str | None = None

    @property
    def id(self) -> str:
        return self.user["id"]

    @property
    def email(self) -> str:
        return self.user["email"]

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs):
        return self.client.post(
            path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    def patch(self, path: str, json: Any = None, **kwargs):
        return self.client.patch(
            path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )

    def delete(self, path: str, **kwargs):
        return self.client.delete(
            path, headers=self._headers(kwargs.pop("headers", None)), **kwargs
        )


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.test"


def new_user(client, *, display_name: str | None = None, **extra) -> ApiCaller:
    email = unique_email()
    password = "correct horse battery"
    body = {
        "email": email,
        "password": password,
        "display_name": display_name or f"Person {next(_counter)}",
        **extra,
    }
    response = client.post("/v1/auth/register", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return ApiCaller(client, data["access_token"], data["user"], password, data["refresh_token"])


def new_event(organizer: ApiCaller, **overrides) -> dict[str, Any]:
    body = {
        "name": "PyCon Test",
        "starts_at": EVENT_STARTS,
        "ends_at": EVENT_ENDS,
        "timezone": "Europe/Berlin",
        **overrides,
    }
    response = organizer.post("/v1/events", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def mailed_tokens(client, to: str, kind: str, containing: str = "") -> list[str]:
    """Every token of this kind mailed to `to`, newest first (mails of one clock instant in
    any order)."""
    from sqlalchemy import select

    from services.core.models import MailOutbox

    with client.application.extensions["wellspring.db"].session_factory() as session:
        return list(
            session.scalars(
                select(MailOutbox.secret)
                .where(
                    MailOutbox.to_address == to.lower(),
                    MailOutbox.kind == kind,
                    MailOutbox.body.contains(containing),
                )
                .order_by(MailOutbox.created_at.desc())
            )
        )


def mailed_token(client, to: str, kind: str, containing: str = "") -> str:
    """The token of the last mail of this kind to `to`, read from the outbox (tests that are
    about mail read it from a real SMTP server instead: tests/support/smtp.py)."""
    from sqlalchemy import select

    from services.core.models import MailOutbox

    with client.application.extensions["wellspring.db"].session_factory() as session:
        secret = session.scalars(
            select(MailOutbox.secret)
            .where(
                MailOutbox.to_address == to.lower(),
                MailOutbox.kind == kind,
                MailOutbox.body.contains(containing),
            )
            .order_by(MailOutbox.created_at.desc(), MailOutbox.id.desc())
        ).first()
    assert secret, f"no {kind} mail to {to}"
    return secret


def add_staff(organizer: ApiCaller, event_id: str, person: ApiCaller, role: str = "staff") -> None:
    """Invite `person` and accept with the mailed token, as the API requires."""
    response = organizer.post(
        f"/v1/events/{event_id}/staff", json={"email": person.email, "role": role}
    )
    assert response.status_code == 201, response.get_json()
    for token in mailed_tokens(organizer.client, person.email, "staff_invitation", event_id):
        response = person.post("/v1/invitations/accept", json={"token": token})
        if response.status_code == 200:
            return
    raise AssertionError(f"no open invitation for {person.email}: {response.get_json()}")


def register(attendee: ApiCaller, event_id: str) -> dict[str, Any]:
    response = attendee.post(f"/v1/events/{event_id}/registrations")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def new_session(organizer: ApiCaller, event_id: str, **overrides) -> dict[str, Any]:
    body = {
        "title": "Keynote",
        "starts_at": "2026-06-01T09:00:00Z",
        "ends_at": "2026-06-01T10:00:00Z",
        "room": "A",
        **overrides,
    }
    response = organizer.post(f"/v1/events/{event_id}/sessions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@dataclass
class EventSetup:
    organizer: ApiCaller
    staff: ApiCaller
    event: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.event["id"]

    def scan(self, badge: str, scanner: ApiCaller | None = None, **body):
        return (scanner or self.staff).post(
            f"/v1/events/{self.event_id}/check-ins", json={"badge": badge, **body}
        )


def event_with_staff(client, **overrides) -> EventSetup:
    organizer = new_user(client, display_name="Olga Organizer")
    staff = new_user(client, display_name="Sam Staff")
    event = new_event(organizer, **overrides)
    add_staff(organizer, event["id"], staff)
    return EventSetup(organizer, staff, event)


def assert_problem(response, status: int, reason: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert body["status"] == status
    if reason is not None:
        assert body.get("reason") == reason, body
    return body


def personal_leftovers(db, markers: dict[str, str]) -> list[tuple[str, str]]:
    """(table, marker name) for every row of every table whose text still holds one of the
    erased person's markers (an email, a note, a message body…)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).mappings():
            text = " ".join(str(value) for value in row.values())
            found += [(table.name, name) for name, marker in markers.items() if marker in text]
    return found
