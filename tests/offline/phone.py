"""What a phone does over HTTP: pull, sync into its mirror, push; and a contact by badge scan."""

from __future__ import annotations

import json

from tests.offline.mirror import Mirror, server_view


def pull(caller, last_pulled_at=None):
    query = "" if last_pulled_at is None else f"&last_pulled_at={last_pulled_at}"
    response = caller.get(f"/v1/sync/pull?schema_version=1{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def sync(caller, mirror: Mirror) -> dict:
    answer = pull(caller, mirror.last_pulled_at)
    mirror.apply(answer)
    return answer


def push(caller, changes, last_pulled_at, **kwargs):
    return caller.post(f"/v1/sync/push?last_pulled_at={last_pulled_at}", json=changes, **kwargs)


def assert_converged(caller, mirror: Mirror) -> None:
    assert mirror.comparable() == server_view(pull(caller)).comparable()


def scan_contact(caller, event_id, badge):
    response = caller.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()
