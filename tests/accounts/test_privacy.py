"""Export everything about me; erase me, leaving no personal field anywhere."""

import uuid
from datetime import timedelta

from services.core.models import Contact, FollowUp, Message
from tests.support import (
    add_staff,
    assert_problem,
    event_with_staff,
    new_user,
    personal_leftovers,
    register,
)

MARKERS = {
    "email": None,  # filled per test: the user's unique email
    "display_name": "Zelda Zebrafish",
    "headline": "Hydrodynamics of zebrafish",
    "company": "Quokka Labs",
    "title": "Chief Zebrafish Officer",
    "note": "Zelda's private note about Bo",
    "message": "Zelda writes: loved your talk on pipelines",
    "follow_up": "Zelda's follow-up draft text",
}


def _world(anon, db, clock):
    setup = event_with_staff(anon.client)
    zelda = new_user(anon.client, display_name=MARKERS["display_name"])
    zelda.patch(
        "/v1/me",
        json={
            "headline": MARKERS["headline"],
            "company": MARKERS["company"],
            "title": MARKERS["title"],
            "share": {"email": True},
        },
    )
    bo = new_user(anon.client, display_name="Bo")
    zelda_reg = register(zelda, setup.event_id)
    bo_reg = register(bo, setup.event_id)
    setup.scan(zelda_reg["badge_code"], client_scan_id="door-scan-1")
    # Zelda is staff too and scans with a client_scan_id: her receipts must go as well.
    add_staff(setup.organizer, setup.event_id, zelda)
    setup.scan(bo_reg["badge_code"], scanner=zelda, client_scan_id="zelda-scan-1")
    contact = zelda.post(
        "/v1/contacts/scan",
        json={"badge": bo_reg["badge_code"], "event_id": setup.event_id},
        headers={"Idempotency-Key": "zelda-key"},
    ).get_json()
    zelda.patch(
        f"/v1/contacts/{contact['id']}", json={"note": MARKERS["note"], "tags": ["zebra-tag"]}
    )
    bo_side = bo.get("/v1/contacts").get_json()["items"][0]
    mine = db.get(Contact, uuid.UUID(contact["id"]))
    db.add(
        Message(
            connection_id=mine.connection_id,
            sender_id=uuid.UUID(zelda.id),
            recipient_id=uuid.UUID(bo.id),
            kind="thank_you",
            body=MARKERS["message"],
            cold=True,
            sent_at=clock.now(),
        )
    )
    db.add(
        Message(
            connection_id=mine.connection_id,
            sender_id=uuid.UUID(bo.id),
            recipient_id=uuid.UUID(zelda.id),
            kind="other",
            body="Bo replies",
            cold=False,
            sent_at=clock.now() + timedelta(minutes=1),
        )
    )
    db.add(
        FollowUp(
            owner_id=uuid.UUID(zelda.id),
            contact_id=mine.id,
            recipient_id=uuid.UUID(bo.id),
            kind="offer",
            body=MARKERS["follow_up"],
            send_at=clock.now() + timedelta(days=7),
            deliver_at=clock.now() + timedelta(days=7),
            status="scheduled",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
    )
    db.flush()
    return setup, zelda, bo, contact, bo_side


def test_export_has_everything_about_me(anon, db, clock):
    _setup, zelda, _bo, contact, _bo_side = _world(anon, db, clock)
    response = zelda.get("/v1/me/export")
    assert response.status_code == 200
    data = response.get_json()
    assert data["profile"]["email"] == zelda.email
    assert data["profile"]["company"] == MARKERS["company"]
    assert len(data["registrations"]) == 1
    assert [c["direction"] for c in data["check_ins"]] == ["entry"]
    assert data["contacts"][0]["id"] == contact["id"]
    assert data["contacts"][0]["note"] == MARKERS["note"]
    assert data["contacts"][0]["tags"] == ["zebra-tag"]
    assert [m["direction"] for m in data["messages"]] == ["sent", "received"]
    assert data["follow_ups"][0]["body"] == MARKERS["follow_up"]


def test_erasing_leaves_no_personal_field_in_any_table(anon, db, clock):
    setup, zelda, bo, _contact, bo_side = _world(anon, db, clock)
    markers = {**MARKERS, "email": zelda.email, "token": zelda.token}
    assert zelda.delete("/v1/me").status_code == 204

    assert_problem(zelda.get("/v1/me"), 401)
    assert_problem(
        anon.post("/v1/auth/login", json={"email": zelda.email, "password": zelda.password}), 401
    )
    seen_by_bo = bo.get(f"/v1/contacts/{bo_side['id']}").get_json()
    assert seen_by_bo["display_name"] == "deleted user"
    assert seen_by_bo["company"] is None and seen_by_bo["email"] is None
    # Event aggregates keep counting her registration and check-in, anonymously.
    attendees = setup.organizer.get(f"/v1/events/{setup.event_id}/registrations").get_json()
    assert len(attendees["items"]) == 2
    assert "deleted user" in {a["display_name"] for a in attendees["items"]}

    db.expire_all()
    assert personal_leftovers(db, markers) == []


def test_erased_account_frees_nothing_for_reuse_but_the_email(anon, db, clock):
    _setup, zelda, _bo, _contact, _bo_side = _world(anon, db, clock)
    zelda.delete("/v1/me")
    again = anon.post(
        "/v1/auth/register",
        json={"email": zelda.email, "password": "a fresh password", "display_name": "Zelda again"},
    )
    assert again.status_code == 201
    assert again.get_json()["user"]["id"] != zelda.id
