"""Issue 12, points 8 and 9: badge codes only for their owner; a block freezes what the
blocked person sees of the blocker."""

import vobject

from tests.support import assert_problem, event_with_staff, new_user, register


def test_badge_codes_are_shown_to_their_owner_only(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    mine = register(attendee, setup.event_id)
    assert mine["badge_code"] and mine["badge_url"].endswith(mine["badge_code"])
    assert (
        attendee.get(f"/v1/registrations/{mine['id']}").get_json()["badge_code"]
        == (mine["badge_code"])
    )
    code = mine["badge_code"]
    seen = [
        setup.organizer.get(f"/v1/registrations/{mine['id']}"),
        setup.organizer.post(f"/v1/registrations/{mine['id']}/badge/rotate"),
        setup.organizer.get(f"/v1/events/{setup.event_id}/registrations"),
        setup.staff.get(f"/v1/events/{setup.event_id}/registrations"),
    ]
    for response in seen:
        assert response.status_code == 200, response.get_json()
        text = response.get_data(as_text=True)
        assert code not in text
        assert "badge_code" not in text and "badge_url" not in text
    # After the organizer's rotation, the attendee reads the new code; nobody else does.
    rotated = attendee.get(f"/v1/registrations/{mine['id']}").get_json()["badge_code"]
    assert rotated != code
    assert rotated not in setup.organizer.get(f"/v1/registrations/{mine['id']}").get_data(
        as_text=True
    )
    # The organizer still sees the name and status.
    item = setup.organizer.get(f"/v1/registrations/{mine['id']}").get_json()
    assert item["status"] == "registered" and item["user_id"] == attendee.id


def test_an_organizer_cannot_harvest_contacts_through_sync(anon):
    setup = event_with_staff(anon.client)
    people = [new_user(anon.client) for _ in range(3)]
    registrations = [register(person, setup.event_id) for person in people]
    register(setup.organizer, setup.event_id)
    listed = setup.organizer.get(f"/v1/events/{setup.event_id}/registrations").get_json()
    codes = [r.get("badge_code") for r in listed["items"]]
    fetched = [
        setup.organizer.get(f"/v1/registrations/{r['id']}").get_json().get("badge_code")
        for r in registrations
    ]
    scans = [
        {"client_scan_id": f"h-{i}", "kind": "contact", "event_id": setup.event_id, "badge": c}
        for i, c in enumerate(c for c in codes + fetched if c)
    ]
    if scans:
        results = setup.organizer.post("/v1/sync/scans", json={"scans": scans}).get_json()
        assert [r for r in results["results"] if r["status"] == "connected"] == []
    assert setup.organizer.get("/v1/contacts").get_json()["items"] == []


def _scan(caller, event_id, badge):
    return caller.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})


def test_after_a_block_the_blocked_person_sees_only_the_old_display_name(anon):
    setup = event_with_staff(anon.client)
    ada = new_user(anon.client, display_name="Ada Before")
    bo = new_user(anon.client, display_name="Bo")
    ada.patch(
        "/v1/me",
        json={
            "company": "Old Co",
            "title": "Old title",
            "headline": "Old headline",
            "share": {"email": True},
        },
    )
    ada_reg = register(ada, setup.event_id)
    register(bo, setup.event_id)
    bo_side = _scan(bo, setup.event_id, ada_reg["badge_code"]).get_json()
    assert bo_side["email"] == ada.email
    ada_side = ada.get("/v1/contacts").get_json()["items"][0]
    assert ada.post(f"/v1/contacts/{ada_side['id']}/block").status_code == 204
    ada.patch(
        "/v1/me",
        json={
            "display_name": "Ada After",
            "company": "New Co",
            "title": "New title",
            "headline": "New headline",
        },
    )
    for view in (
        bo.get(f"/v1/contacts/{bo_side['id']}").get_json(),
        bo.get("/v1/contacts").get_json()["items"][0],
    ):
        assert view["display_name"] == "Ada Before"
        assert view["email"] is None
        assert view["company"] is None and view["title"] is None and view["headline"] is None
    for raw in (
        bo.get(f"/v1/contacts/{bo_side['id']}/vcard").get_data(as_text=True),
        bo.get("/v1/contacts.vcf").get_data(as_text=True),
    ):
        card = vobject.readOne(raw)
        assert card.fn.value == "Ada Before"
        for absent in ("New Co", "New title", "Old Co", ada.email, "Ada After"):
            assert absent not in raw
    export = bo.get("/v1/me/export").get_json()["contacts"][0]["person"]
    assert export["display_name"] == "Ada Before" and export["email"] is None
    # Searching Bo's contacts by Ada's new details finds nothing.
    for needle in ("After", "New Co", "New title"):
        assert bo.get("/v1/contacts", query_string={"q": needle}).get_json()["items"] == []
    assert len(bo.get("/v1/contacts", query_string={"q": "Before"}).get_json()["items"]) == 1
    assert_problem(_scan(bo, setup.event_id, ada_reg["badge_code"]), 403, "blocked")
