"""Issue 12, point 2: erasing a person reaches the answers stored for *other* people's
Idempotency-Keys, and expired answers are purged on a schedule."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.core.models import IdempotencyRecord
from tests.accounts.test_privacy import MARKERS, _world
from tests.support import new_user, personal_leftovers, register


def _keyed(caller, path, body, key):
    response = caller.post(path, json=body, headers={"Idempotency-Key": key})
    assert response.status_code in (200, 201), response.get_json()
    return response


def test_erasing_scrubs_other_peoples_stored_answers(anon, db, clock):
    setup, zelda, _bo, _contact, _bo_side = _world(anon, db, clock)
    zelda_reg = register(zelda, setup.event_id)
    # Answers that embed Zelda, stored under other people's keys:
    staffing = _keyed(  # the organizer invites her to the staff: her email
        setup.organizer,
        f"/v1/events/{setup.event_id}/staff",
        {"email": zelda.email, "role": "staff"},
        "org-adds-zelda",
    )
    assert zelda.email in staffing.get_data(as_text=True)
    cy = new_user(anon.client, display_name="Cy")
    register(cy, setup.event_id)
    exchange = _keyed(  # Cy scans her badge: her shared profile
        cy,
        "/v1/contacts/scan",
        {"badge": zelda_reg["badge_code"], "event_id": setup.event_id},
        "cy-scans-zelda",
    )
    assert MARKERS["company"] in exchange.get_data(as_text=True)
    door = _keyed(  # the door scans her again: her name
        setup.staff,
        f"/v1/events/{setup.event_id}/check-ins",
        {"badge": zelda_reg["badge_code"]},
        "door-scans-zelda",
    )
    assert MARKERS["display_name"] in door.get_data(as_text=True)
    synced = _keyed(
        setup.staff,
        "/v1/sync/scans",
        {
            "scans": [
                {
                    "client_scan_id": "sync-zelda",
                    "kind": "check_in",
                    "event_id": setup.event_id,
                    "badge": zelda_reg["badge_code"],
                }
            ]
        },
        "door-syncs-zelda",
    )
    assert MARKERS["display_name"] in synced.get_data(as_text=True)
    unrelated = _keyed(cy, "/v1/events", _event(), "cy-makes-an-event")
    # Zelda blocks Di: Di's side keeps Zelda's name as it was, until Zelda is erased.
    di = new_user(anon.client, display_name="Di")
    di_reg = register(di, setup.event_id)
    blocked = zelda.post(
        "/v1/contacts/scan", json={"badge": di_reg["badge_code"], "event_id": setup.event_id}
    ).get_json()
    assert zelda.post(f"/v1/contacts/{blocked['id']}/block").status_code == 204
    assert di.get("/v1/contacts").get_json()["items"][0]["display_name"] == MARKERS["display_name"]

    markers = {**MARKERS, "email": zelda.email, "token": zelda.token}
    assert zelda.delete("/v1/me").status_code == 204

    # A replay gives nothing of hers back.
    for caller, path, body, key in (
        (
            cy,
            "/v1/contacts/scan",
            {"badge": zelda_reg["badge_code"], "event_id": setup.event_id},
            "cy-scans-zelda",
        ),
        (
            setup.staff,
            f"/v1/events/{setup.event_id}/check-ins",
            {"badge": zelda_reg["badge_code"]},
            "door-scans-zelda",
        ),
    ):
        replay = caller.post(path, json=body, headers={"Idempotency-Key": key})
        text = replay.get_data(as_text=True)
        assert all(marker not in text for marker in markers.values()), (path, text)
    # Answers about other people stay replayable.
    again = cy.post("/v1/events", json=_event(), headers={"Idempotency-Key": "cy-makes-an-event"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == unrelated.get_json()["id"]

    assert di.get("/v1/contacts").get_json()["items"][0]["display_name"] == "deleted user"
    db.expire_all()
    assert personal_leftovers(db, markers) == []


def _event():
    return {
        "name": "Cy's meetup",
        "starts_at": "2026-06-01T08:00:00Z",
        "ends_at": "2026-06-01T18:00:00Z",
        "timezone": "UTC",
    }


def test_expired_answers_are_purged_by_the_worker_pass(app, anon, db, clock):
    ann = new_user(anon.client)
    _keyed(ann, "/v1/events", _event(), "ann-1")
    count = (
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.user_id == uuid.UUID(ann.id))
    )
    assert db.scalar(count) == 1
    clock.advance(timedelta(hours=25))
    result = app.test_cli_runner().invoke(args=["deliver-follow-ups"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert db.scalar(count) == 0
    assert "expired idempotency" in result.output
