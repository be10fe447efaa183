"""Test helpers: an HTTP caller that carries a token, and factories that go through the API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count(1)

EVENT_STARTS = "2026-06-01T08:00:00Z"
EVENT_ENDS = "2026-06-01T18:00:00Z"


@dataclass
class ApiCaller:
    client: Any
    token: str | None = None
    user: dict[str, Any] = field(default_factory=dict)
    password: str = ""

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
    return ApiCaller(client, data["access_token"], data["user"], password)


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


def add_staff(organizer: ApiCaller, event_id: str, person: ApiCaller, role: str = "staff") -> None:
    response = organizer.post(
        f"/v1/events/{event_id}/staff", json={"email": person.email, "role": role}
    )
    assert response.status_code in (200, 201), response.get_json()


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
