from datetime import timedelta

from tests.support import (
    EVENT_ENDS,
    EVENT_STARTS,
    add_staff,
    assert_problem,
    event_with_staff,
    new_event,
    new_session,
    new_user,
    register,
)


def test_create_event_makes_the_caller_organizer(anon):
    organizer = new_user(anon.client)
    event = new_event(organizer, venue="Hall 1", capacity=300)
    assert event["my_role"] == "organizer"
    assert event["starts_at"] == EVENT_STARTS
    assert event["timezone"] == "Europe/Berlin"
    stranger = new_user(anon.client)
    seen = stranger.get(f"/v1/events/{event['id']}").get_json()
    assert seen["name"] == "PyCon Test"
    assert seen["my_role"] is None


def test_event_validation(anon):
    organizer = new_user(anon.client)
    body = {
        "name": "X",
        "starts_at": EVENT_ENDS,
        "ends_at": EVENT_STARTS,
        "timezone": "Europe/Berlin",
    }
    assert "ends_at" in assert_problem(organizer.post("/v1/events", json=body), 422)["errors"]
    bad_zone = {**body, "starts_at": EVENT_STARTS, "ends_at": EVENT_ENDS, "timezone": "CEST"}
    assert "timezone" in assert_problem(organizer.post("/v1/events", json=bad_zone), 422)["errors"]
    naive = {**bad_zone, "timezone": "UTC", "starts_at": "2026-06-01T08:00:00"}
    assert "starts_at" in assert_problem(organizer.post("/v1/events", json=naive), 422)["errors"]


def test_patch_event_is_for_organizers(anon):
    setup = event_with_staff(anon.client)
    path = f"/v1/events/{setup.event_id}"
    assert_problem(setup.staff.patch(path, json={"name": "Mine"}), 403, "not_organizer")
    response = setup.organizer.patch(path, json={"name": "Renamed", "venue": "Hall 2"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Renamed"
    assert_problem(setup.organizer.patch(path, json={"ends_at": "2026-06-01T07:00:00Z"}), 422)


def test_staff_roles_by_email(anon):
    setup = event_with_staff(anon.client)
    listing = setup.staff.get(f"/v1/events/{setup.event_id}/staff").get_json()["items"]
    assert {(s["email"], s["role"]) for s in listing} == {
        (setup.organizer.email, "organizer"),
        (setup.staff.email, "staff"),
    }
    promote = setup.organizer.post(
        f"/v1/events/{setup.event_id}/staff", json={"email": setup.staff.email, "role": "organizer"}
    )
    assert promote.status_code == 200
    assert promote.get_json()["role"] == "organizer"
    unknown = setup.organizer.post(
        f"/v1/events/{setup.event_id}/staff", json={"email": "nobody@example.test", "role": "staff"}
    )
    assert_problem(unknown, 422, "unknown_user")
    assert_problem(
        setup.organizer.post(
            f"/v1/events/{setup.event_id}/staff", json={"email": setup.staff.email, "role": "boss"}
        ),
        422,
    )


def test_the_last_organizer_cannot_be_demoted(anon):
    setup = event_with_staff(anon.client)
    response = setup.organizer.post(
        f"/v1/events/{setup.event_id}/staff", json={"email": setup.organizer.email, "role": "staff"}
    )
    assert_problem(response, 409, "last_organizer")


def test_staff_cannot_add_staff(anon):
    setup = event_with_staff(anon.client)
    other = new_user(anon.client)
    response = setup.staff.post(
        f"/v1/events/{setup.event_id}/staff", json={"email": other.email, "role": "staff"}
    )
    assert_problem(response, 403, "not_organizer")


def test_sessions_must_lie_inside_the_event(anon):
    setup = event_with_staff(anon.client)
    session = new_session(setup.organizer, setup.event_id, capacity=50)
    assert session["capacity"] == 50
    path = f"/v1/events/{setup.event_id}/sessions"
    outside = setup.organizer.post(
        path,
        json={
            "title": "Late",
            "starts_at": "2026-06-01T17:30:00Z",
            "ends_at": "2026-06-01T19:00:00Z",
        },
    )
    assert "starts_at" in assert_problem(outside, 422)["errors"]
    backwards = setup.organizer.post(
        path,
        json={
            "title": "Back",
            "starts_at": "2026-06-01T11:00:00Z",
            "ends_at": "2026-06-01T10:00:00Z",
        },
    )
    assert "ends_at" in assert_problem(backwards, 422)["errors"]
    assert_problem(
        setup.staff.post(
            path,
            json={
                "title": "Staff talk",
                "starts_at": "2026-06-01T11:00:00Z",
                "ends_at": "2026-06-01T12:00:00Z",
            },
        ),
        403,
    )
    listed = setup.staff.get(path).get_json()["items"]
    assert [s["id"] for s in listed] == [session["id"]]


def test_registration_is_idempotent_and_cancellable(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    path = f"/v1/events/{setup.event_id}/registrations"
    first = attendee.post(path)
    assert first.status_code == 201
    registration = first.get_json()
    assert registration["status"] == "registered"
    assert len(registration["badge_code"]) >= 22
    assert registration["badge_url"] == f"https://wellspring.test/b/{registration['badge_code']}"
    again = attendee.post(path)
    assert again.status_code == 200
    assert again.get_json()["id"] == registration["id"]

    assert attendee.delete(f"/v1/registrations/{registration['id']}").status_code == 204
    assert (
        attendee.get(f"/v1/registrations/{registration['id']}").get_json()["status"] == "cancelled"
    )
    renewed = attendee.post(path)
    assert renewed.status_code == 201
    assert renewed.get_json()["id"] != registration["id"]
    assert renewed.get_json()["badge_code"] != registration["badge_code"]


def test_registration_respects_capacity_but_not_dates(anon, clock):
    organizer = new_user(anon.client)
    event = new_event(organizer, capacity=1)
    register(new_user(anon.client), event["id"])
    assert_problem(
        new_user(anon.client).post(f"/v1/events/{event['id']}/registrations"), 409, "event_full"
    )
    # Registration stays open whatever the dates: organizers add late registrations, and a
    # past event's list is still theirs to complete.
    open_event = new_event(organizer)
    clock.set(clock.now().replace(hour=19))
    response = new_user(anon.client).post(f"/v1/events/{open_event['id']}/registrations")
    assert response.status_code == 201


def test_attendee_list_for_staff_with_check_in_status(anon, clock):
    setup = event_with_staff(anon.client)
    people = [new_user(anon.client) for _ in range(3)]
    registrations = []
    for person in people:
        registrations.append(register(person, setup.event_id))
        clock.advance(timedelta(seconds=1))
    setup.scan(registrations[1]["badge_code"])
    path = f"/v1/events/{setup.event_id}/registrations"
    page = setup.staff.get(path, query_string={"limit": 2}).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = setup.staff.get(
        path, query_string={"limit": 2, "cursor": page["next_cursor"]}
    ).get_json()
    items = page["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [i["registration_id"] for i in items] == [r["id"] for r in registrations]
    assert [i["checked_in"] for i in items] == [False, True, False]
    assert items[1]["first_checked_in_at"] == "2026-06-01T09:00:03Z"
    assert_problem(people[0].get(path), 403, "not_event_staff")
    assert_problem(setup.staff.get(path, query_string={"cursor": "garbage!"}), 422)
    assert_problem(setup.staff.get(path, query_string={"limit": 500}), 422)


def test_organizer_may_cancel_a_registration_staff_may_not(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    assert_problem(setup.staff.delete(f"/v1/registrations/{registration['id']}"), 403)
    stranger = new_user(anon.client)
    assert_problem(stranger.delete(f"/v1/registrations/{registration['id']}"), 404)
    assert setup.organizer.delete(f"/v1/registrations/{registration['id']}").status_code == 204


def test_add_staff_by_organizer_promoted_from_staff(anon):
    setup = event_with_staff(anon.client)
    add_staff(setup.organizer, setup.event_id, setup.staff, role="organizer")
    other = new_user(anon.client)
    add_staff(setup.staff, setup.event_id, other)
