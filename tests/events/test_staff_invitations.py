"""Staff by invitation: the same answer for any email, a mailed token or an in-app accept for
a verified email, only an accepted invitation grants access, removal takes effect at once."""

from tests.support import (
    ApiCaller,
    assert_problem,
    event_with_staff,
    mailed_token,
    new_event,
    new_user,
    register,
    unique_email,
)


def verify(person: ApiCaller) -> None:
    token = mailed_token(person.client, person.email, "verify_email")
    assert person.post("/v1/auth/verify-email", json={"token": token}).status_code == 204


def invite(organizer: ApiCaller, event_id: str, email: str, role: str = "staff"):
    return organizer.post(f"/v1/events/{event_id}/staff", json={"email": email, "role": role})


def test_an_invitation_answers_the_same_whether_or_not_the_account_exists(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer)
    existing = new_user(anon.client, display_name="Known Person")
    answers = [invite(organizer, event["id"], e) for e in (existing.email, unique_email())]
    assert [a.status_code for a in answers] == [201, 201]
    bodies = [a.get_json() for a in answers]
    assert [set(b) for b in bodies] == [{"id", "email", "role", "status", "created_at"}] * 2
    assert all(b["status"] == "pending" and b["role"] == "staff" for b in bodies)
    assert existing.id not in str(bodies[0]) and "Known Person" not in str(bodies[0])
    # Pending is not access.
    assert_problem(existing.get(f"/v1/events/{event['id']}/registrations"), 403)
    listing = organizer.get(f"/v1/events/{event['id']}/staff").get_json()
    assert {i["email"] for i in listing["invitations"]} == {b["email"] for b in bodies}


def test_accepting_with_the_mailed_token_grants_the_role(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer)
    person = new_user(anon.client)
    invite(organizer, event["id"], person.email, "organizer")
    token = mailed_token(anon.client, person.email, "staff_invitation", event["id"])
    joined = person.post("/v1/invitations/accept", json={"token": token})
    assert joined.status_code == 200
    assert joined.get_json() == {"event_id": event["id"], "role": "organizer"}
    assert person.get(f"/v1/events/{event['id']}/registrations").status_code == 200
    again = person.post("/v1/invitations/accept", json={"token": token})
    assert_problem(again, 400, "invalid_invitation_token")
    assert_problem(
        person.post("/v1/invitations/accept", json={"token": "n" * 43}),
        400,
        "invalid_invitation_token",
    )


def test_my_invitations_need_a_verified_email_then_accept_or_decline(anon):
    organizer = new_user(anon.client)
    first, second = new_event(organizer, name="First"), new_event(organizer, name="Second")
    person = new_user(anon.client)
    for event in (first, second):
        invite(organizer, event["id"], person.email)
    assert person.get("/v1/me/invitations").get_json() == {"items": []}
    verify(person)
    items = person.get("/v1/me/invitations").get_json()["items"]
    assert {(i["event_name"], i["role"], i["status"]) for i in items} == {
        ("First", "staff", "pending"),
        ("Second", "staff", "pending"),
    }
    by_event = {i["event_id"]: i["id"] for i in items}
    stranger = new_user(anon.client)
    verify(stranger)
    assert_problem(stranger.post(f"/v1/invitations/{by_event[first['id']]}/accept"), 404)
    accepted = person.post(f"/v1/invitations/{by_event[first['id']]}/accept")
    assert accepted.get_json() == {"event_id": first["id"], "role": "staff"}
    assert person.post(f"/v1/invitations/{by_event[second['id']]}/decline").status_code == 204
    assert_problem(person.post(f"/v1/invitations/{by_event[second['id']]}/accept"), 409)
    assert person.get("/v1/me/invitations").get_json() == {"items": []}
    assert person.get(f"/v1/events/{first['id']}/registrations").status_code == 200
    assert_problem(person.get(f"/v1/events/{second['id']}/registrations"), 403)


def test_a_revoked_invitation_cannot_be_accepted(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer)
    person = new_user(anon.client)
    invitation = invite(organizer, event["id"], person.email).get_json()
    token = mailed_token(anon.client, person.email, "staff_invitation", event["id"])
    path = f"/v1/events/{event['id']}/invitations/{invitation['id']}"
    assert organizer.delete(path).status_code == 204
    assert_problem(organizer.delete(path), 404)
    assert_problem(
        person.post("/v1/invitations/accept", json={"token": token}),
        400,
        "invalid_invitation_token",
    )
    assert organizer.get(f"/v1/events/{event['id']}/staff").get_json()["invitations"] == []


def test_removing_a_member_takes_effect_at_their_next_request(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    badge = register(attendee, setup.event_id)["badge_code"]
    member = f"/v1/events/{setup.event_id}/staff/{setup.staff.id}"
    assert_problem(setup.staff.delete(member), 403)
    assert setup.organizer.delete(member).status_code == 204
    assert_problem(setup.scan(badge), 403, "not_event_staff")
    assert_problem(setup.organizer.delete(member), 404)
    staff = setup.organizer.get(f"/v1/events/{setup.event_id}/staff").get_json()["items"]
    assert [s["user_id"] for s in staff] == [setup.organizer.id]


def test_staff_see_members_but_not_invitations(anon):
    setup = event_with_staff(anon.client)
    invite(setup.organizer, setup.event_id, unique_email())
    assert setup.staff.get(f"/v1/events/{setup.event_id}/staff").get_json()["invitations"] == []


def test_export_lists_invitations_to_me_and_erase_removes_them(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer, name="Exported")
    person = new_user(anon.client)
    invite(organizer, event["id"], person.email)
    exported = person.get("/v1/me/export").get_json()
    assert [(i["event_name"], i["status"]) for i in exported["invitations"]] == [
        ("Exported", "pending")
    ]
    assert person.delete("/v1/me").status_code == 204
    assert organizer.get(f"/v1/events/{event['id']}/staff").get_json()["invitations"] == []


def test_a_verified_invitee_is_notified_and_an_unverified_one_is_not(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer, name="Pushed")
    verified, unverified = new_user(anon.client), new_user(anon.client)
    verify(verified)
    for person in (verified, unverified):
        assert invite(organizer, event["id"], person.email).status_code == 201

    feed = verified.get("/v1/me/notifications").get_json()["items"]
    assert [(n["type"], n["data"].get("event_id")) for n in feed] == [
        ("staff_invitation", event["id"])
    ]
    assert feed[0]["data"]["deep_link"] == f"wellspring://events/{event['id']}"
    assert unverified.get("/v1/me/notifications").get_json()["items"] == []
