"""Helpers for the meetings tests: an event set up for meetings, attendees who opted in."""

from __future__ import annotations

from typing import Any

from tests.support import ApiCaller, EventSetup, event_with_staff, new_user, register

# The test clock starts at 2026-06-01T09:00Z; the event runs 08:00-18:00Z (Europe/Berlin).
HOURS = [{"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T14:00:00Z"}]
SLOT_1200 = "2026-06-01T12:00:00Z"
SLOT_1230 = "2026-06-01T12:30:00Z"
SLOT_1300 = "2026-06-01T13:00:00Z"


def set_up_meetings(
    setup: EventSetup, *, hours=None, minutes: int = 30, spots: tuple[int, ...] = (1,)
) -> list[dict[str, Any]]:
    response = setup.organizer.patch(
        f"/v1/events/{setup.event_id}",
        json={"meeting_slot_minutes": minutes, "meeting_hours": hours or HOURS},
    )
    assert response.status_code == 200, response.get_json()
    made = []
    for index, capacity in enumerate(spots, start=1):
        response = setup.organizer.post(
            f"/v1/events/{setup.event_id}/meeting-spots",
            json={"name": f"Table {index}", "capacity": capacity},
        )
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json())
    return made


def meeting_event(client, **kwargs) -> EventSetup:
    setup = event_with_staff(client)
    set_up_meetings(setup, **kwargs)
    return setup


def attendee(
    client,
    event_id: str,
    *,
    name: str | None = None,
    offers: list[str] | None = None,
    seeks: list[str] | None = None,
    focus: str | None = None,
    discoverable: bool = True,
) -> ApiCaller:
    person = new_user(client, display_name=name)
    profile: dict[str, Any] = {"offers": offers or [], "seeks": seeks or []}
    if focus is not None:
        profile["primary_focus"] = focus
    response = person.patch("/v1/me", json=profile)
    assert response.status_code == 200, response.get_json()
    registration = register(person, event_id)
    person.registration = registration  # type: ignore[attr-defined]
    if discoverable:
        set_discoverable(person, True)
    return person


def set_discoverable(person: ApiCaller, value: bool):
    response = person.patch(
        f"/v1/registrations/{person.registration['id']}",  # type: ignore[attr-defined]
        json={"discoverable": value},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ask(sender: ApiCaller, event_id: str, to: ApiCaller, slots=(SLOT_1200,), **body):
    return sender.post(
        f"/v1/events/{event_id}/meeting-requests",
        json={
            "to_user_id": to.id,
            "slots": list(slots),
            "message": body.pop("message", "Happy to share what we learned scaling Postgres."),
            "kind": body.pop("kind", "offer"),
            **body,
        },
    )


def asked(sender: ApiCaller, event_id: str, to: ApiCaller, slots=(SLOT_1200,), **body) -> dict:
    response = ask(sender, event_id, to, slots, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def recommendations(person: ApiCaller, event_id: str, **query) -> list[dict[str, Any]]:
    response = person.get(f"/v1/events/{event_id}/recommendations", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def accept(person: ApiCaller, request_id: str, slot: str = SLOT_1200):
    return person.post(f"/v1/meeting-requests/{request_id}/accept", json={"slot": slot})
