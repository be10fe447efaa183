import uuid
from datetime import timedelta

import pytest
import vobject
from sqlalchemy import func, select

from services.core.models import Connection, Contact
from tests.support import assert_problem, event_with_staff, new_event, new_user, register


@pytest.fixture
def meetup(anon):
    """An event with two registered attendees, Ada and Bo."""
    setup = event_with_staff(anon.client)
    ada = new_user(anon.client, display_name="Ada Lovelace")
    bo = new_user(anon.client, display_name="Bo Diddley")
    ada.patch(
        "/v1/me",
        json={
            "company": "Analytical Engines",
            "title": "Engineer",
            "headline": "Computing pioneer",
        },
    )
    bo.patch(
        "/v1/me",
        json={
            "company": "Secret Co",
            "title": "Guitarist",
            "share": {"company": False, "email": True},
        },
    )
    ada_reg = register(ada, setup.event_id)
    bo_reg = register(bo, setup.event_id)
    return setup, ada, bo, ada_reg, bo_reg


def scan(caller, event_id, badge, **extra):
    return caller.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id, **extra})


def test_scanning_a_badge_connects_both_sides(meetup, db):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    response = scan(ada, setup.event_id, bo_reg["badge_code"], note="Met at the coffee stand")
    assert response.status_code == 201
    contact = response.get_json()
    assert contact["display_name"] == "Bo Diddley"
    assert contact["met_in_person"] is True
    assert contact["event_id"] == setup.event_id
    assert contact["met_at"] == "2026-06-01T09:00:00Z"
    assert contact["note"] == "Met at the coffee stand"
    assert contact["company"] is None  # Bo does not share his company
    assert contact["email"] == bo.email  # but shares his email
    assert contact["title"] == "Guitarist"
    assert response.headers["ETag"]

    bo_side = bo.get("/v1/contacts").get_json()["items"]
    assert [c["display_name"] for c in bo_side] == ["Ada Lovelace"]
    assert bo_side[0]["company"] == "Analytical Engines"
    assert bo_side[0]["email"] is None  # email is not shared by default
    assert bo_side[0]["note"] is None  # Ada's note is hers alone
    assert (
        db.scalar(
            select(func.count())
            .select_from(Connection)
            .where(Connection.created_by_id == uuid.UUID(contact["user_id"]))
        )
        == 0
    )  # Ada made it, not Bo


def test_rescanning_by_either_side_returns_the_existing_contact(meetup, db):
    setup, ada, bo, ada_reg, bo_reg = meetup
    first = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()
    again = scan(ada, setup.event_id, bo_reg["badge_code"])
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    reverse = scan(bo, setup.event_id, ada_reg["badge_code"])
    assert reverse.status_code == 200
    assert reverse.get_json()["display_name"] == "Ada Lovelace"
    assert (
        db.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.id.in_([uuid.UUID(first["id"]), uuid.UUID(reverse.get_json()["id"])]))
        )
        == 2
    )


def test_the_other_persons_profile_is_live(meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    contact = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()
    bo.patch("/v1/me", json={"title": "Bandleader", "display_name": "Bo D."})
    fresh = ada.get(f"/v1/contacts/{contact['id']}").get_json()
    assert fresh["title"] == "Bandleader"
    assert fresh["display_name"] == "Bo D."


def test_scan_refusals(anon, meetup):
    setup, ada, bo, ada_reg, bo_reg = meetup
    assert_problem(scan(ada, setup.event_id, ada_reg["badge_code"]), 422, "own_badge")
    outsider = new_user(anon.client)
    assert_problem(scan(outsider, setup.event_id, bo_reg["badge_code"]), 403, "not_registered")
    assert_problem(scan(ada, setup.event_id, "Z" * 32), 404, "unknown_badge")
    other_event = new_event(setup.organizer)
    assert_problem(scan(ada, other_event["id"], bo_reg["badge_code"]), 403, "not_registered")
    register(ada, other_event["id"])
    assert_problem(scan(ada, other_event["id"], bo_reg["badge_code"]), 409, "wrong_event")
    bo.post(f"/v1/registrations/{bo_reg['id']}/badge/rotate")
    assert_problem(scan(ada, setup.event_id, bo_reg["badge_code"]), 409, "badge_revoked")
    carl = new_user(anon.client)
    carl_reg = register(carl, setup.event_id)
    carl.delete(f"/v1/registrations/{carl_reg['id']}")
    assert_problem(scan(ada, setup.event_id, carl_reg["badge_code"]), 409, "registration_cancelled")
    assert_problem(ada.post("/v1/contacts/scan", json={"badge": "x"}), 422)


def test_client_scan_id_makes_a_contact_scan_replayable(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    body = {"client_scan_id": "c-1", "scanned_at": "2026-06-01T08:50:00Z"}
    first = scan(ada, setup.event_id, bo_reg["badge_code"], **body)
    replay = scan(ada, setup.event_id, bo_reg["badge_code"], **body)
    assert first.status_code == replay.status_code == 201
    assert first.get_json()["id"] == replay.get_json()["id"]
    assert first.get_json()["met_at"] == "2026-06-01T08:50:00Z"


def test_notes_and_tags_with_if_match(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    created = scan(ada, setup.event_id, bo_reg["badge_code"])
    contact_id = created.get_json()["id"]
    etag = created.headers["ETag"]
    path = f"/v1/contacts/{contact_id}"
    first = ada.patch(
        path,
        json={"note": "Plays guitar", "tags": ["Music", "music", "pycon"]},
        headers={"If-Match": etag},
    )
    assert first.status_code == 200
    assert first.get_json()["tags"] == ["music", "pycon"]
    assert first.headers["ETag"] != etag
    # A second device still holding the old ETag is refused instead of overwriting.
    stale = ada.patch(path, json={"note": "Overwritten?"}, headers={"If-Match": etag})
    assert_problem(stale, 412, "precondition_failed")
    assert ada.get(path).get_json()["note"] == "Plays guitar"
    fresh = ada.patch(path, json={"note": None}, headers={"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.get_json()["note"] is None
    assert_problem(ada.patch(path, json={"tags": ["x" * 51]}), 422)
    assert_problem(ada.patch(path, json={"tags": [f"t{i}" for i in range(21)]}), 422)


def test_a_patch_that_changes_nothing_keeps_the_etag(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact_id = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()["id"]
    path = f"/v1/contacts/{contact_id}"
    edited = ada.patch(path, json={"note": "Plays guitar", "tags": ["music", "pycon"]})
    etag = edited.headers["ETag"]
    # Nothing, the same note, the same tags in another order and spelling: the same contact.
    for body in ({}, {"note": "Plays guitar"}, {"tags": ["PyCon", "music"]}):
        again = ada.patch(path, json=body, headers={"If-Match": etag})
        assert again.status_code == 200, again.get_json()
        assert again.headers["ETag"] == etag, body
    assert ada.patch(path, json={"tags": ["music"]}).headers["ETag"] != etag


def test_list_filters_and_search_respect_sharing(anon, meetup, clock):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    bo_contact = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()
    ada.patch(
        f"/v1/contacts/{bo_contact['id']}", json={"tags": ["music"], "note": "Knows a drummer"}
    )
    cy = new_user(anon.client, display_name="Cy Twombly")
    cy.patch("/v1/me", json={"company": "Gallery"})
    cy_reg = register(cy, setup.event_id)
    clock.advance(timedelta(minutes=1))
    scan(ada, setup.event_id, cy_reg["badge_code"])

    def names(**query):
        response = ada.get("/v1/contacts", query_string=query)
        assert response.status_code == 200, response.get_json()
        return [c["display_name"] for c in response.get_json()["items"]]

    assert names() == ["Cy Twombly", "Bo Diddley"]
    assert names(tag="MUSIC") == ["Bo Diddley"]
    assert names(q="drummer") == ["Bo Diddley"]
    assert names(q="gallery") == ["Cy Twombly"]
    assert names(q="secret") == []  # Bo's company is hidden, so it is not searchable
    assert names(q="guitar") == ["Bo Diddley"]  # his title is shared
    assert names(q="100%") == []
    assert names(event_id=setup.event_id) == ["Cy Twombly", "Bo Diddley"]
    other_event = new_event(setup.organizer)
    assert names(event_id=other_event["id"]) == []
    assert_problem(ada.get("/v1/contacts", query_string={"sort": "alphabet"}), 422)


def test_pagination_stays_correct_while_contacts_are_added(anon, meetup, clock):
    setup, ada, _bo, _ada_reg, _bo_reg = meetup
    people = [new_user(anon.client, display_name=f"P{i}") for i in range(5)]
    for person in people:
        clock.advance(timedelta(seconds=1))
        scan(ada, setup.event_id, register(person, setup.event_id)["badge_code"])
    page = ada.get("/v1/contacts", query_string={"limit": 2}).get_json()
    assert [c["display_name"] for c in page["items"]] == ["P4", "P3"]
    late = new_user(anon.client, display_name="Late")
    clock.advance(timedelta(seconds=1))
    scan(ada, setup.event_id, register(late, setup.event_id)["badge_code"])
    seen = [c["display_name"] for c in page["items"]]
    cursor = page["next_cursor"]
    while cursor:
        page = ada.get("/v1/contacts", query_string={"limit": 2, "cursor": cursor}).get_json()
        seen += [c["display_name"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["P4", "P3", "P2", "P1", "P0"]


def test_vcard_round_trips_with_only_shared_fields(meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan(ada, setup.event_id, bo_reg["badge_code"], note="Call about, the gig; soon")
    contact_id = contact.get_json()["id"]
    response = ada.get(f"/v1/contacts/{contact_id}/vcard")
    assert response.status_code == 200
    assert response.mimetype == "text/vcard"
    card = vobject.readOne(response.get_data(as_text=True))
    assert card.fn.value == "Bo Diddley"
    assert card.n.value.family == "Diddley" and card.n.value.given == "Bo"
    assert card.title.value == "Guitarist"
    assert card.note.value == "Call about, the gig; soon"
    assert card.email.value.endswith("@example.test")
    assert "org" not in card.contents  # Bo's company is not shared
    assert "Secret Co" not in response.get_data(as_text=True)


def test_all_contacts_vcf(anon, meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    scan(ada, setup.event_id, bo_reg["badge_code"])
    cy = new_user(anon.client, display_name="Cy Twombly")
    scan(ada, setup.event_id, register(cy, setup.event_id)["badge_code"])
    response = ada.get("/v1/contacts.vcf")
    assert response.status_code == 200
    cards = list(vobject.readComponents(response.get_data(as_text=True)))
    assert sorted(card.fn.value for card in cards) == ["Bo Diddley", "Cy Twombly"]
    assert next(c for c in cards if c.fn.value == "Bo Diddley").contents.get("org") is None


def test_remove_is_my_side_only_and_a_rescan_restores_it(meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    contact = scan(ada, setup.event_id, bo_reg["badge_code"], note="private").get_json()
    assert ada.delete(f"/v1/contacts/{contact['id']}").status_code == 204
    assert ada.get("/v1/contacts").get_json()["items"] == []
    assert_problem(ada.get(f"/v1/contacts/{contact['id']}"), 404)
    assert len(bo.get("/v1/contacts").get_json()["items"]) == 1
    back = scan(ada, setup.event_id, bo_reg["badge_code"])
    assert back.status_code == 201
    assert back.get_json()["id"] == contact["id"]
    assert back.get_json()["note"] is None  # the note went with the removal


def test_block_stops_reconnecting_without_naming_the_blocker(meetup):
    setup, ada, bo, ada_reg, bo_reg = meetup
    contact = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()
    assert ada.post(f"/v1/contacts/{contact['id']}/block").status_code == 204
    assert ada.get("/v1/contacts").get_json()["items"] == []
    body = assert_problem(scan(bo, setup.event_id, ada_reg["badge_code"]), 403, "blocked")
    assert "Ada" not in str(body)
    assert_problem(scan(ada, setup.event_id, bo_reg["badge_code"]), 403, "blocked")


def test_strangers_cannot_see_my_contacts(anon, meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan(ada, setup.event_id, bo_reg["badge_code"]).get_json()
    stranger = new_user(anon.client)
    for path in (f"/v1/contacts/{contact['id']}", f"/v1/contacts/{contact['id']}/vcard"):
        assert_problem(stranger.get(path), 404)
    assert_problem(stranger.patch(f"/v1/contacts/{contact['id']}", json={"note": "x"}), 404)
    assert_problem(stranger.delete(f"/v1/contacts/{contact['id']}"), 404)
    assert_problem(stranger.post(f"/v1/contacts/{contact['id']}/block"), 404)
