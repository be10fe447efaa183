"""Who may call what: every authenticated endpoint, for an anonymous caller, a stranger and an
attendee who is not staff. A test below fails when an endpoint is added without a row here."""

import re
import uuid
from dataclasses import dataclass

import pytest

from tests.meetings.meeting_support import accept, asked, set_up_meetings
from tests.meetings.meeting_support import attendee as attendee_of
from tests.support import assert_problem, event_with_staff, new_session, new_user, register
from tests.support.messaging_support import messaging_ids

PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
    ("POST", "/v1/auth/register"),
    ("POST", "/v1/auth/login"),
    ("GET", "/v1/calendar/{feed_token}.ics"),  # the token in the path is the credential
}


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    stranger: int  # what someone with no relation to the resource gets
    attendee: int | None = None  # a registered attendee who is not staff (None: same as stranger)
    body: dict | None = None


STAFF_SCAN = {"badge": "x" * 32}
MATRIX = [
    Rule("POST", "/v1/auth/logout", 204),
    Rule("GET", "/v1/me", 200),
    Rule("PATCH", "/v1/me", 200, body={"headline": "Hi"}),
    Rule("GET", "/v1/me/export", 200),
    Rule("DELETE", "/v1/me", 204),
    Rule(
        "POST",
        "/v1/events",
        201,
        body={
            "name": "E",
            "starts_at": "2026-06-01T08:00:00Z",
            "ends_at": "2026-06-01T10:00:00Z",
            "timezone": "UTC",
        },
    ),
    Rule("GET", "/v1/events/{event_id}", 200),
    Rule("PATCH", "/v1/events/{event_id}", 403, body={"name": "Mine now"}),
    Rule("GET", "/v1/events/{event_id}/staff", 403),
    Rule("POST", "/v1/events/{event_id}/staff", 403, body={"email": "a@b.test", "role": "staff"}),
    Rule("GET", "/v1/events/{event_id}/sessions", 200),
    Rule(
        "POST",
        "/v1/events/{event_id}/sessions",
        403,
        body={"title": "T", "starts_at": "2026-06-01T09:00:00Z", "ends_at": "2026-06-01T09:30:00Z"},
    ),
    Rule("POST", "/v1/events/{event_id}/registrations", 201, attendee=200),
    Rule("GET", "/v1/events/{event_id}/registrations", 403),
    Rule("GET", "/v1/registrations/{registration_id}", 404, attendee=404),
    Rule("DELETE", "/v1/registrations/{registration_id}", 404, attendee=404),
    Rule("GET", "/v1/registrations/{registration_id}/badge.png", 404, attendee=404),
    Rule("GET", "/v1/registrations/{registration_id}/badge.svg", 404, attendee=404),
    Rule("POST", "/v1/registrations/{registration_id}/badge/rotate", 404, attendee=404),
    Rule("POST", "/v1/events/{event_id}/check-ins", 403, body=STAFF_SCAN),
    Rule("GET", "/v1/events/{event_id}/check-ins", 403),
    Rule("DELETE", "/v1/check-ins/{check_in_id}", 404, attendee=404),
    Rule(
        "POST",
        "/v1/contacts/scan",
        403,
        attendee=200,
        body={"badge": "{badge}", "event_id": "{event_id}"},
    ),
    Rule("GET", "/v1/contacts", 200),
    Rule("GET", "/v1/contacts.vcf", 200),
    Rule("GET", "/v1/contacts/{contact_id}", 404),
    Rule("PATCH", "/v1/contacts/{contact_id}", 404, body={"note": "mine"}),
    Rule("DELETE", "/v1/contacts/{contact_id}", 404),
    Rule("GET", "/v1/contacts/{contact_id}/vcard", 404),
    Rule("POST", "/v1/contacts/{contact_id}/block", 404),
    Rule("POST", "/v1/sync/scans", 200, body={"scans": []}),
    # Messages, follow-ups, throttling: someone else's contact, message or follow-up is a 404.
    Rule("POST", "/v1/contacts/{contact_id}/messages", 404, body={"body": "Hi"}),
    Rule("GET", "/v1/contacts/{contact_id}/messages", 404),
    Rule("GET", "/v1/contacts/{contact_id}/allowance", 404),
    Rule("POST", "/v1/contacts/{contact_id}/mute", 404),
    Rule("POST", "/v1/contacts/{contact_id}/unmute", 404),
    Rule("POST", "/v1/contacts/{contact_id}/not-interested", 404),
    Rule("GET", "/v1/inbox", 200),
    Rule("POST", "/v1/inbox/read", 200, body={}),
    Rule("POST", "/v1/messages/{message_id}/read", 404),
    Rule(
        "POST",
        "/v1/contacts/{contact_id}/follow-ups",
        404,
        body={"send_at": "2026-06-10T10:00:00Z", "body": "Hi"},
    ),
    Rule("POST", "/v1/contacts/{contact_id}/follow-up-plans", 404, body={"cadence": "gentle"}),
    Rule("GET", "/v1/follow-ups", 200),
    Rule("GET", "/v1/follow-ups/{follow_up_id}", 404),
    Rule("PATCH", "/v1/follow-ups/{follow_up_id}", 404, body={"body": "Mine now"}),
    Rule("DELETE", "/v1/follow-ups/{follow_up_id}", 404),
    Rule("GET", "/v1/follow-up-plans/{plan_id}", 404),
    Rule("DELETE", "/v1/follow-up-plans/{plan_id}", 404),
    Rule("GET", "/v1/events/{event_id}/stats", 403),
    Rule("GET", "/v1/events/{event_id}/check-ins.csv", 403),
    Rule("GET", "/v1/events/{event_id}/stats/arrivals.png", 403),
    # Push: my devices and settings only; someone else's device is a 404.
    Rule(
        "POST",
        "/v1/me/devices",
        201,
        body={"provider": "fcm", "token": "fcm-matrix-token-1", "platform": "android"},
    ),
    Rule("GET", "/v1/me/devices", 200),
    Rule("DELETE", "/v1/me/devices/{device_id}", 404),
    Rule("GET", "/v1/me/notification-settings", 200),
    Rule("PATCH", "/v1/me/notification-settings", 200, body={"previews": True}),
    Rule("GET", "/v1/me/notifications", 200),
    # Meetings: the attendee is registered but not discoverable; requests and meetings belong
    # to two other people.
    Rule("PATCH", "/v1/registrations/{registration_id}", 404, body={"discoverable": True}),
    Rule("GET", "/v1/events/{event_id}/recommendations", 403, attendee=409),
    Rule("GET", "/v1/events/{event_id}/meeting-spots", 403, attendee=200),
    Rule("POST", "/v1/events/{event_id}/meeting-spots", 403, body={"name": "Mine"}),
    Rule(
        "POST",
        "/v1/events/{event_id}/meeting-requests",
        403,
        attendee=404,
        body={
            "to_user_id": "{nobody_id}",
            "slots": ["2026-06-01T12:00:00Z"],
            "message": "Hi",
            "kind": "offer",
        },
    ),
    Rule("GET", "/v1/me/meeting-requests", 200),
    Rule(
        "POST",
        "/v1/meeting-requests/{request_id}/accept",
        404,
        body={"slot": "2026-06-01T12:00:00Z"},
    ),
    Rule("POST", "/v1/meeting-requests/{request_id}/decline", 404),
    Rule("POST", "/v1/meeting-requests/{request_id}/cancel", 404),
    Rule("GET", "/v1/me/meetings", 200),
    Rule("DELETE", "/v1/meetings/{meeting_id}", 404),
    Rule("POST", "/v1/me/calendar-token", 200),
    # Offline sync: a pull shows only the caller's own world; a push needs its last_pulled_at.
    Rule("GET", "/v1/sync/pull", 200),
    Rule("POST", "/v1/sync/push", 422, body={}),
    Rule("GET", "/v1/events/{event_id}/scanner-kit", 403),
]


@pytest.fixture
def world(anon, db, clock):
    setup = event_with_staff(anon.client)
    owner = new_user(anon.client)
    registration = register(owner, setup.event_id)
    new_session(setup.organizer, setup.event_id)
    check_in = setup.scan(registration["badge_code"]).get_json()
    attendee = new_user(anon.client)
    attendee_badge = register(attendee, setup.event_id)["badge_code"]
    contact = owner.post(
        "/v1/contacts/scan", json={"badge": attendee_badge, "event_id": setup.event_id}
    ).get_json()
    device = owner.post(
        "/v1/me/devices", json={"provider": "apns", "token": "ab" * 32, "platform": "ios"}
    ).get_json()
    set_up_meetings(setup)
    asker, asked_person = (attendee_of(anon.client, setup.event_id) for _ in range(2))
    pending = asked(asker, setup.event_id, asked_person)
    booked = accept(asker, asked(asked_person, setup.event_id, asker)["id"]).get_json()
    ids = {
        "device_id": device["id"],
        "event_id": setup.event_id,
        "request_id": pending["id"],
        "meeting_id": booked["id"],
        "nobody_id": str(uuid.uuid4()),
        "registration_id": registration["id"],
        "check_in_id": check_in["check_in_id"],
        **messaging_ids(db, new_user(anon.client), clock.now()),
        "contact_id": contact["id"],
        "badge": registration["badge_code"],
    }
    return {"ids": ids, "attendee": attendee, "stranger": new_user(anon.client), "anon": anon}


def _call(caller, rule: Rule, ids):
    path = rule.path.format(**ids)
    method = getattr(caller, rule.method.lower())
    if rule.method not in ("POST", "PATCH"):
        return method(path)
    body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in (rule.body or {}).items()}
    return method(path, json=body)


@pytest.mark.parametrize("rule", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_anonymous_gets_401(world, rule):
    assert_problem(_call(world["anon"], rule, world["ids"]), 401)


@pytest.mark.parametrize("rule", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_stranger(world, rule):
    response = _call(world["stranger"], rule, world["ids"])
    if rule.stranger >= 400:
        assert_problem(response, rule.stranger)
    else:
        assert response.status_code == rule.stranger, response.get_json()


@pytest.mark.parametrize("rule", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_attendee_who_is_not_staff(world, rule):
    expected = rule.attendee if rule.attendee is not None else rule.stranger
    response = _call(world["attendee"], rule, world["ids"])
    if expected >= 400:
        assert_problem(response, expected)
    else:
        assert response.status_code == expected, response.get_json()


def test_every_endpoint_has_a_row(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.rule == "/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    covered = {(r.method, r.path) for r in MATRIX} | PUBLIC
    assert routes - covered == set(), "add these endpoints to the authorization matrix"
