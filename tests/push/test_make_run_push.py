"""`make run` delivers pushes: a browser subscription on a local push service receives
decryptable, VAPID-signed pushes for a contact exchange and a message, none from a muted sender."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.live import http_json, make_run
from tests.support.push_servers import FakeWebPush, vapid_key_pair


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wait_for(service: FakeWebPush, kind: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(1 for r in service.received if r["payload"]["type"] == kind) >= count:
            return
        time.sleep(0.2)  # waiting for the server's worker thread, not for app time
    raise AssertionError(f"no {count} {kind} pushes: {service.received} {service.refused}")


@pytest.mark.slow
def test_make_run_pushes_to_a_web_push_subscription(tmp_dir):
    service = FakeWebPush().start()
    service.vapid_public_key = vapid_key_pair(tmp_dir / "vapid.pem")
    env = {
        "VAPID_PRIVATE_KEY_FILE": str(tmp_dir / "vapid.pem"),
        "VAPID_SUBJECT": "mailto:ops@wellspring.test",
        "WEBPUSH_ENDPOINT_ALLOWLIST": f"{service.url}/push/",
    }
    try:
        with make_run(tmp_dir, **env) as (base, _server):
            walk(base, service)
    finally:
        service.stop()


def walk(base: str, service: FakeWebPush) -> None:
    def person(name: str) -> str:
        status, body = http_json(
            "POST",
            f"{base}/auth/register",
            {
                "email": f"{name}@example.test",
                "password": "a long password",
                "display_name": name.title(),
            },
        )
        assert status == 201, body
        return body["access_token"]

    ada, bo, cy = person("ada"), person("bo"), person("cy")
    # Bo has no quiet hours, so the check passes at any time of day.
    status, _ = http_json(
        "PATCH", f"{base}/me", {"quiet_hours": {"start": "00:00", "end": "00:00"}}, token=bo
    )
    assert status == 200
    subscription = service.subscribe()
    status, device = http_json(
        "POST",
        f"{base}/me/devices",
        {"provider": "webpush", "subscription": subscription, "platform": "web"},
        token=bo,
    )
    assert status == 201, device
    now = datetime.now(UTC)
    status, event = http_json(
        "POST",
        f"{base}/events",
        {
            "name": "Push night",
            "starts_at": _iso(now - timedelta(hours=1)),
            "ends_at": _iso(now + timedelta(hours=6)),
            "timezone": "UTC",
        },
        token=ada,
    )
    assert status == 201, event
    badges = {}
    for token in (ada, bo, cy):
        status, registration = http_json(
            "POST", f"{base}/events/{event['id']}/registrations", token=token
        )
        assert status == 201, registration
        badges[token] = registration["badge_code"]
    status, ada_contact = http_json(
        "POST",
        f"{base}/contacts/scan",
        {"event_id": event["id"], "badge": badges[bo]},
        token=ada,
    )
    assert status == 201, ada_contact
    status, cy_contact = http_json(
        "POST",
        f"{base}/contacts/scan",
        {"event_id": event["id"], "badge": badges[bo]},
        token=cy,
    )
    assert status == 201, cy_contact
    wait_for(service, "contact_exchanged", 2)  # before the mute, which would drop Cy's
    status, contacts = http_json("GET", f"{base}/contacts", token=bo)
    cy_for_bo = next(c for c in contacts["items"] if c["display_name"] == "Cy")
    status, _ = http_json("POST", f"{base}/contacts/{cy_for_bo['id']}/mute", token=bo)
    assert status == 204
    status, _ = http_json(
        "POST", f"{base}/contacts/{ada_contact['id']}/messages", {"body": "Hi Bo!"}, token=ada
    )
    assert status == 201
    status, _ = http_json(
        "POST", f"{base}/contacts/{cy_contact['id']}/messages", {"body": "Bo?"}, token=cy
    )
    assert status == 403  # muted: refused, and nothing pushed

    wait_for(service, "message_received", 1)
    time.sleep(2)  # a few more worker passes: nothing else may arrive
    payloads = [r["payload"] for r in service.received]
    assert sorted(p["type"] for p in payloads) == [
        "contact_exchanged",
        "contact_exchanged",
        "message_received",
    ], (payloads, service.refused)
    (message,) = [p for p in payloads if p["type"] == "message_received"]
    assert message["title"] == "Ada"
    assert message["body"] == "Sent you a message"
    assert message["data"]["deep_link"].startswith("wellspring://contacts/")
    assert all(r["headers"]["authorization"].startswith("vapid t=") for r in service.received)
