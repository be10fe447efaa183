"""Pull, push and the scanner kit through the API (WatermelonDB's protocol, API.md v1.1).

Requests really commit here (a committing app, not the rolled-back test transaction): on
PostgreSQL the change log orders changes by transaction id, and inside one test transaction
every change would carry the same id, so each pull would send everything again.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.offline.mirror import Mirror
from tests.offline.phone import assert_converged, pull, push, scan_contact, sync
from tests.support import assert_problem, new_session


def test_first_pull_has_every_table_and_row_in_created(meetup):
    setup, ada, bo, ada_reg, bo_reg = meetup
    session = new_session(setup.organizer, setup.event_id)
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    answer = pull(ada)
    changes = answer["changes"]
    assert all(changes[t]["updated"] == [] and changes[t]["deleted"] == [] for t in changes)
    assert [r["id"] for r in changes["profile"]["created"]] == [ada.id]
    assert changes["profile"]["created"][0]["display_name"] == "Ada"
    (event,) = changes["events"]["created"]
    assert event["id"] == setup.event_id and event["my_role"] == "attendee"
    assert isinstance(event["starts_at"], int)
    assert [s["id"] for s in changes["sessions"]["created"]] == [session["id"]]
    (registration,) = changes["registrations"]["created"]
    assert registration["badge_code"] == ada_reg["badge_code"]
    (row,) = changes["contacts"]["created"]
    assert row["id"] == contact["id"] and row["user_id"] == bo.id
    assert row["headline"] == "Builds boats" and json.loads(row["tags"]) == []
    assert row["blocked"] is False and row["muted"] is False
    staff_answer = pull(setup.staff)
    assert staff_answer["changes"]["events"]["created"][0]["my_role"] == "staff"


def test_later_pulls_carry_changes_and_removals(meetup):
    setup, ada, bo, ada_reg, bo_reg = meetup
    mirror = Mirror()
    sync(ada, mirror)
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    answer = sync(ada, mirror)
    assert [r["id"] for r in answer["changes"]["contacts"]["updated"]] == [contact["id"]]
    assert answer["changes"]["contacts"]["created"] == []
    assert answer["changes"]["profile"]["updated"] == []
    # A message both ways, a profile change of the other person.
    bo_side = pull(bo)["changes"]["contacts"]["created"][0]
    hello = {"body": "Hi Ada", "kind": "thank_you"}
    sent = bo.post(f"/v1/contacts/{bo_side['id']}/messages", json=hello)
    assert sent.status_code == 201, sent.get_json()
    assert bo.patch("/v1/me", json={"headline": "Sails"}).status_code == 200
    answer = sync(ada, mirror)
    (message,) = answer["changes"]["messages"]["updated"]
    assert message["direction"] == "incoming" and message["contact_id"] == contact["id"]
    assert answer["changes"]["contacts"]["updated"][0]["headline"] == "Sails"
    assert_converged(ada, mirror)
    # Removing the contact takes the conversation with it.
    assert ada.delete(f"/v1/contacts/{contact['id']}").status_code == 204
    answer = sync(ada, mirror)
    assert answer["changes"]["contacts"]["deleted"] == [contact["id"]]
    assert answer["changes"]["messages"]["deleted"] == [message["id"]]
    assert_converged(ada, mirror)
    # Cancelling the registration: the event and its sessions leave the world.
    assert ada.delete(f"/v1/registrations/{ada_reg['id']}").status_code in (200, 204)
    answer = sync(ada, mirror)
    assert answer["changes"]["events"]["deleted"] == [setup.event_id]
    assert answer["changes"]["registrations"]["updated"][0]["status"] == "cancelled"
    assert_converged(ada, mirror)
    # Nothing changed: every table still appears, empty.
    answer = sync(ada, mirror)
    assert all(
        answer["changes"][t] == {"created": [], "updated": [], "deleted": []}
        for t in answer["changes"]
    )


def test_an_erased_counterparts_messages_leave(meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    bo_side = pull(bo)["changes"]["contacts"]["created"][0]
    bo.post(f"/v1/contacts/{bo_side['id']}/messages", json={"body": "Hi", "kind": "thank_you"})
    mirror = Mirror()
    sync(ada, mirror)
    assert len(mirror.tables["messages"]) == 1
    assert bo.delete("/v1/me", json={"password": bo.password}).status_code in (200, 204)
    answer = sync(ada, mirror)
    assert len(answer["changes"]["messages"]["deleted"]) == 1
    assert mirror.tables["messages"] == {}
    assert_converged(ada, mirror)


def test_push_applies_notes_tags_and_profile_all_or_nothing(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    mirror = Mirror()
    sync(ada, mirror)
    row = dict(mirror.tables["contacts"][contact["id"]])
    row.update(
        note="Sailing friend",
        tags=json.dumps(["Boats", "sea"]),
        _status="updated",
        _changed="note,tags",
    )
    profile = dict(mirror.tables["profile"][ada.id], headline="Engine designer")
    changes = {
        "contacts": {"created": [], "updated": [row], "deleted": []},
        "profile": {"created": [], "updated": [profile], "deleted": []},
    }
    response = push(ada, changes, mirror.last_pulled_at)
    assert response.status_code == 204, response.get_data(as_text=True)
    got = ada.get(f"/v1/contacts/{contact['id']}").get_json()
    assert got["note"] == "Sailing friend" and got["tags"] == ["boats", "sea"]
    assert ada.get("/v1/me").get_json()["headline"] == "Engine designer"
    # Replaying the same push changes nothing and is not a conflict.
    again = push(ada, changes, mirror.last_pulled_at)
    assert again.status_code == 204, again.get_data(as_text=True)
    sync(ada, mirror)
    assert_converged(ada, mirror)


def test_push_refusals_apply_nothing(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    mirror = Mirror()
    sync(ada, mirror)
    at = mirror.last_pulled_at
    row = dict(mirror.tables["contacts"][contact["id"]], note="Mine")
    good = {"contacts": {"created": [], "updated": [row], "deleted": []}}
    # Another column changed → 422 naming it; nothing applied.
    bad_row = dict(row, display_name="Someone else")
    body = assert_problem(
        push(ada, {"contacts": {"updated": [bad_row]}}, at), 422, "sync_not_allowed"
    )
    assert body["table"] == "contacts" and body["column"] == "display_name"
    # Creating contacts or messages, unknown tables, deleting contacts.
    created = {"messages": {"created": [{"id": "x", "body": "hi"}], "updated": [], "deleted": []}}
    assert assert_problem(push(ada, created, at), 422, "sync_not_allowed")["table"] == "messages"
    assert_problem(push(ada, {"widgets": {"updated": []}}, at), 422, "sync_not_allowed")
    assert_problem(
        push(ada, {"contacts": {"deleted": [contact["id"]]}}, at), 422, "sync_not_allowed"
    )
    # Changed on the server after the pull → 409, nothing applied.
    web_edit = ada.patch(f"/v1/contacts/{contact['id']}", json={"note": "From the web"})
    assert web_edit.status_code == 200
    body = assert_problem(push(ada, good, at), 409, "sync_conflict")
    assert body["conflicts"] == [{"table": "contacts", "id": contact["id"]}]
    assert ada.get(f"/v1/contacts/{contact['id']}").get_json()["note"] == "From the web"
    # The app pulls and pushes again.
    sync(ada, mirror)
    assert push(ada, good, mirror.last_pulled_at).status_code == 204
    assert ada.get(f"/v1/contacts/{contact['id']}").get_json()["note"] == "Mine"


def test_push_marks_received_messages_read_only(meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    bo_side = pull(bo)["changes"]["contacts"]["created"][0]
    bo.post(f"/v1/contacts/{bo_side['id']}/messages", json={"body": "Hi", "kind": "thank_you"})
    ada.post(f"/v1/contacts/{contact['id']}/messages", json={"body": "Hello", "kind": "thank_you"})
    mirror = Mirror()
    sync(ada, mirror)
    incoming = next(m for m in mirror.tables["messages"].values() if m["direction"] == "incoming")
    outgoing = next(m for m in mirror.tables["messages"].values() if m["direction"] == "outgoing")
    read = dict(incoming, read_at=incoming["sent_at"] + 60_000)  # later than now: clamped
    response = push(ada, {"messages": {"updated": [read]}}, mirror.last_pulled_at)
    assert response.status_code == 204, response.get_data(as_text=True)
    wrong = dict(outgoing, read_at=outgoing["sent_at"] + 1000)
    body = assert_problem(push(ada, {"messages": {"updated": [wrong]}}, mirror.last_pulled_at), 422)
    assert body["reason"] in ("sync_not_allowed", "sync_conflict")
    sync(ada, mirror)
    assert mirror.tables["messages"][incoming["id"]]["read_at"] == incoming["sent_at"]
    assert_converged(ada, mirror)


def test_push_with_an_idempotency_key_replays(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    mirror = Mirror()
    sync(ada, mirror)
    row = dict(mirror.tables["contacts"][contact["id"]], note="Once")
    headers = {"Idempotency-Key": "push-1"}
    first = push(ada, {"contacts": {"updated": [row]}}, mirror.last_pulled_at, headers=headers)
    second = push(ada, {"contacts": {"updated": [row]}}, mirror.last_pulled_at, headers=headers)
    assert first.status_code == second.status_code == 204
    assert second.headers.get("Idempotent-Replayed") == "true"


def test_scanner_kit_full_and_delta(meetup):
    setup, ada, bo, ada_reg, bo_reg = meetup
    url = f"/v1/events/{setup.event_id}/scanner-kit"
    assert_problem(ada.get(url), 403)
    kit = setup.staff.get(url).get_json()
    digests = {b["badge_digest"]: b for b in kit["badges"]}
    ada_digest = hashlib.sha256(ada_reg["badge_code"].encode()).hexdigest()
    assert digests[ada_digest]["registration_id"] == ada_reg["id"]
    assert digests[ada_digest]["checked_in"] is False
    assert ada_reg["badge_code"] not in json.dumps(kit)
    assert kit["revoked"] == []
    # Ada is checked in, Bo cancels: the delta holds just those two.
    assert setup.scan(ada_reg["badge_code"]).status_code == 201
    assert bo.delete(f"/v1/registrations/{bo_reg['id']}").status_code in (200, 204)
    delta = setup.staff.get(f"{url}?since={kit['timestamp']}").get_json()
    assert [b["registration_id"] for b in delta["badges"]] == [ada_reg["id"]]
    assert delta["badges"][0]["checked_in"] is True
    assert delta["revoked"] == [hashlib.sha256(bo_reg["badge_code"].encode()).hexdigest()]
    quiet = setup.staff.get(f"{url}?since={delta['timestamp']}").get_json()
    assert quiet["badges"] == [] and quiet["revoked"] == []


def test_bad_pull_arguments(meetup):
    _setup, ada, *_ = meetup
    assert_problem(ada.get("/v1/sync/pull?schema_version=2"), 422)
    assert_problem(ada.get("/v1/sync/pull?last_pulled_at=abc"), 422)
    assert_problem(ada.post("/v1/sync/push", json={}), 422)


def test_push_follow_ups_policy_refusal_cancel_and_delete(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    url = f"/v1/contacts/{contact['id']}/follow-ups"
    first = ada.post(url, json={"send_at": "2026-06-02T10:00:00Z", "body": "One"}).get_json()
    second = ada.post(url, json={"send_at": "2026-06-05T10:00:00Z", "body": "Two"}).get_json()
    mirror = Mirror()
    sync(ada, mirror)
    rows = mirror.tables["follow_ups"]
    note = dict(mirror.tables["contacts"][contact["id"]], note="Should not stick")
    too_close = dict(rows[second["id"]], send_at=rows[first["id"]]["send_at"] + 86_400_000)
    refused = push(
        ada,
        {"contacts": {"updated": [note]}, "follow_ups": {"updated": [too_close]}},
        mirror.last_pulled_at,
    )
    assert assert_problem(refused, 422, "min_gap")["earliest_allowed_at"]
    assert ada.get(f"/v1/contacts/{contact['id']}").get_json()["note"] is None  # all or nothing
    # A new body and a cancellation by status; deleting the other one cancels it too.
    edited = dict(rows[second["id"]], body="Two, reworded")
    response = push(ada, {"follow_ups": {"updated": [edited]}}, mirror.last_pulled_at)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert ada.get(f"/v1/follow-ups/{second['id']}").get_json()["body"] == "Two, reworded"
    sync(ada, mirror)
    cancel = dict(mirror.tables["follow_ups"][second["id"]], status="cancelled")
    changes = {"follow_ups": {"updated": [cancel], "deleted": [first["id"]]}}
    response = push(ada, changes, mirror.last_pulled_at)
    assert response.status_code == 204, response.get_data(as_text=True)
    for item in (first, second):
        assert ada.get(f"/v1/follow-ups/{item['id']}").get_json()["status"] == "cancelled"
    sync(ada, mirror)
    bad = dict(mirror.tables["follow_ups"][second["id"]], status="scheduled")
    body = assert_problem(push(ada, {"follow_ups": {"updated": [bad]}}, mirror.last_pulled_at), 422)
    assert body["reason"] == "sync_not_allowed" and body["column"] == "status"
    sync(ada, mirror)
    assert_converged(ada, mirror)


def test_scanner_kit_revokes_a_rotated_code(meetup):
    setup, ada, _bo, ada_reg, _bo_reg = meetup
    url = f"/v1/events/{setup.event_id}/scanner-kit"
    kit = setup.staff.get(url).get_json()
    rotated = ada.post(f"/v1/registrations/{ada_reg['id']}/badge/rotate")
    if rotated.status_code == 404:
        pytest.skip("no rotate endpoint")
    assert rotated.status_code in (200, 201), rotated.get_json()
    new_code = rotated.get_json()["badge_code"]
    delta = setup.staff.get(f"{url}?since={kit['timestamp']}").get_json()
    digest = hashlib.sha256
    assert [b["badge_digest"] for b in delta["badges"]] == [digest(new_code.encode()).hexdigest()]
    assert delta["revoked"] == [digest(ada_reg["badge_code"].encode()).hexdigest()]


def test_push_refuses_a_column_the_table_does_not_have(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    mirror = Mirror()
    sync(ada, mirror)
    row = dict(mirror.tables["contacts"][contact["id"]], note="x", favourite=True)
    body = assert_problem(
        push(ada, {"contacts": {"updated": [row]}}, mirror.last_pulled_at), 422, "sync_not_allowed"
    )
    assert (body["table"], body["column"]) == ("contacts", "favourite")


def test_a_blocked_side_sees_only_the_name_as_it_was(meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    bo_side = pull(bo)["changes"]["contacts"]["created"][0]
    mirror = Mirror()
    sync(ada, mirror)
    assert mirror.tables["contacts"][contact["id"]]["headline"] == "Builds boats"
    assert bo.post(f"/v1/contacts/{bo_side['id']}/block").status_code == 204
    assert bo.patch("/v1/me", json={"display_name": "Bo Renamed"}).status_code == 200
    sync(ada, mirror)
    row = mirror.tables["contacts"][contact["id"]]
    assert (row["display_name"], row["headline"], row["blocked"]) == ("Bo", None, True)
    assert_converged(ada, mirror)
