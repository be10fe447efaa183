"""Meeting set-up: spots, slot length and meeting hours (DST-correct on the event's clock)."""

from __future__ import annotations

import pytest

from tests.meetings.meeting_support import (
    SLOT_1200,
    accept,
    asked,
    attendee,
    meeting_event,
    set_up_meetings,
)
from tests.support import assert_problem, event_with_staff, new_user, register

FALL_BACK = {"starts_at": "2026-10-24T20:00:00Z", "ends_at": "2026-10-25T12:00:00Z"}
SPRING_FORWARD = {"starts_at": "2026-03-28T20:00:00Z", "ends_at": "2026-03-29T12:00:00Z"}


def patch_event(setup, **body):
    return setup.organizer.patch(f"/v1/events/{setup.event_id}", json=body)


def test_defaults_and_instant_hours(anon):
    setup = event_with_staff(anon.client)
    assert setup.event["meeting_slot_minutes"] == 30
    assert setup.event["meeting_hours"] is None
    response = patch_event(
        setup,
        meeting_slot_minutes=20,
        meeting_hours=[{"starts_at": "2026-06-01T14:00:00+02:00", "ends_at": "2026-06-01T13:00Z"}],
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["meeting_slot_minutes"] == 20
    assert body["meeting_hours"] == [
        {"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T13:00:00Z"}
    ]
    assert setup.organizer.get(f"/v1/events/{setup.event_id}").get_json()["meeting_hours"]


def test_hours_are_read_on_the_clock_and_dates_the_same_patch_gives_the_event(anon):
    setup = event_with_staff(anon.client)  # Europe/Berlin, 2026-06-01
    local = {"starts_at": "2026-06-01T13:00:00", "ends_at": "2026-06-01T14:00:00"}
    moved = patch_event(setup, timezone="Europe/London", meeting_hours=[local])
    assert moved.status_code == 200, moved.get_json()
    # 13:00 in London (BST), not in Berlin (which would be 11:00Z).
    assert moved.get_json()["meeting_hours"] == [
        {"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T13:00:00Z"}
    ]
    next_day = {"starts_at": "2026-06-02T13:00:00", "ends_at": "2026-06-02T14:00:00"}
    response = patch_event(
        setup,
        starts_at="2026-06-02T07:00:00Z",
        ends_at="2026-06-02T17:00:00Z",
        meeting_hours=[next_day],
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meeting_hours"][0]["starts_at"] == "2026-06-02T12:00:00Z"


def test_moving_the_event_keeps_its_hours_only_while_they_fit(anon):
    setup = event_with_staff(anon.client)  # 2026-06-01 08:00-18:00Z
    hours = [{"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T13:00:00Z"}]
    assert patch_event(setup, meeting_hours=hours).status_code == 200
    # Ending later: the hours still fit and are kept.
    later = patch_event(setup, ends_at="2026-06-01T20:00:00Z")
    assert later.status_code == 200, later.get_json()
    assert later.get_json()["meeting_hours"] == hours
    # A day later without new hours: they would lie outside the event.
    moved = patch_event(setup, starts_at="2026-06-02T08:00:00Z", ends_at="2026-06-02T18:00:00Z")
    assert_problem(moved, 422)
    event = setup.organizer.get(f"/v1/events/{setup.event_id}").get_json()
    assert event["starts_at"] == "2026-06-01T08:00:00Z" and event["meeting_hours"] == hours
    # An event without meeting hours moves freely and still has none.
    other = event_with_staff(anon.client)
    response = patch_event(other, starts_at="2026-06-02T08:00:00Z", ends_at="2026-06-02T18:00:00Z")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meeting_hours"] is None


def test_local_hours_across_the_fall_back_night_hold_the_real_length(anon):
    """01:00-04:00 in Berlin on 2026-10-25 is four real hours (02:00-03:00 happens twice)."""
    setup = event_with_staff(anon.client, **FALL_BACK)
    response = patch_event(
        setup, meeting_hours=[{"starts_at": "2026-10-25T01:00:00", "ends_at": "2026-10-25T04:00"}]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meeting_hours"] == [
        {"starts_at": "2026-10-24T23:00:00Z", "ends_at": "2026-10-25T03:00:00Z"}
    ]
    setup_spot = setup.organizer.post(
        f"/v1/events/{setup.event_id}/meeting-spots", json={"name": "Bar"}
    )
    assert setup_spot.status_code == 201
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    # Both 02:30s are slots: 00:30Z (CEST) and 01:30Z (CET); 02:45Z is the last one.
    for slots in (["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"], ["2026-10-25T02:30:00Z"]):
        request = asked(alice, setup.event_id, bob, slots)
        assert request["slots"] == slots
        assert alice.post(f"/v1/meeting-requests/{request['id']}/cancel").status_code == 204
    response = alice.post(
        f"/v1/events/{setup.event_id}/meeting-requests",
        json={
            "to_user_id": bob.id,
            "slots": ["2026-10-25T03:00:00Z"],  # 04:00 CET: the block's end
            "message": "Coffee?",
            "kind": "offer",
        },
    )
    assert_problem(response, 422, "invalid_slot")


def test_an_ambiguous_local_time_means_the_first_one(anon):
    setup = event_with_staff(anon.client, **FALL_BACK)
    response = patch_event(
        setup, meeting_hours=[{"starts_at": "2026-10-25T02:30:00", "ends_at": "2026-10-25T05:00"}]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meeting_hours"][0]["starts_at"] == "2026-10-25T00:30:00Z"


def test_spring_forward_hours_are_shorter_and_the_gap_is_refused(anon):
    setup = event_with_staff(anon.client, **SPRING_FORWARD)
    response = patch_event(
        setup, meeting_hours=[{"starts_at": "2026-03-29T01:00:00", "ends_at": "2026-03-29T04:00"}]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meeting_hours"] == [
        {"starts_at": "2026-03-29T00:00:00Z", "ends_at": "2026-03-29T02:00:00Z"}
    ]
    response = patch_event(
        setup, meeting_hours=[{"starts_at": "2026-03-29T02:30:00", "ends_at": "2026-03-29T04:00"}]
    )
    body = assert_problem(response, 422, "invalid_meeting_setup")
    assert "DST" in str(body["errors"])


@pytest.mark.parametrize(
    "body",
    [
        {"meeting_slot_minutes": 5},
        {"meeting_slot_minutes": 61},
        {"meeting_hours": [{"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T12:10Z"}]},
        {"meeting_hours": [{"starts_at": "2026-06-01T07:00:00Z", "ends_at": "2026-06-01T09:00Z"}]},
        {
            "meeting_hours": [
                {"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T13:00Z"},
                {"starts_at": "2026-06-01T12:30:00Z", "ends_at": "2026-06-01T14:00Z"},
            ]
        },
        {"meeting_hours": [{"starts_at": "noon", "ends_at": "2026-06-01T13:00Z"}]},
        {"meeting_hours": [{"starts_at": "2026-06-01T12:00:00Z"}]},
        {"meeting_hours": [{"starts_at": "0001-01-01T00:00:00", "ends_at": "0001-01-01T01:00"}]},
        {
            "meeting_hours": [
                {"starts_at": "0001-01-01T00:00+05:00", "ends_at": "2026-06-01T13:00Z"}
            ]
        },
    ],
    ids=[
        "short-slot",
        "long-slot",
        "block-under-a-slot",
        "outside-event",
        "overlap",
        "junk",
        "half",
        "year-one-local",
        "year-one-offset",
    ],
)
def test_bad_set_up_is_422_and_changes_nothing(anon, body):
    setup = event_with_staff(anon.client)
    response = patch_event(setup, name="Renamed", **body)
    assert_problem(response, 422)
    event = setup.organizer.get(f"/v1/events/{setup.event_id}").get_json()
    assert event["name"] == setup.event["name"]
    assert event["meeting_hours"] is None and event["meeting_slot_minutes"] == 30


def test_only_organizers_set_up_meetings(anon):
    setup = event_with_staff(anon.client)
    response = setup.staff.patch(f"/v1/events/{setup.event_id}", json={"meeting_slot_minutes": 20})
    assert_problem(response, 403)
    response = setup.staff.post(f"/v1/events/{setup.event_id}/meeting-spots", json={"name": "A"})
    assert_problem(response, 403)


def test_spots_are_listed_for_staff_and_attendees_only(anon):
    setup = meeting_event(anon.client, spots=(1, 3))
    path = f"/v1/events/{setup.event_id}/meeting-spots"
    person = new_user(anon.client)
    assert_problem(person.get(path), 403)
    register(person, setup.event_id)
    for caller in (person, setup.staff, setup.organizer):
        items = caller.get(path).get_json()["items"]
        assert [(s["name"], s["capacity"]) for s in items] == [("Table 1", 1), ("Table 2", 3)]
    assert_problem(setup.organizer.post(path, json={"name": "Table 1"}), 409, "spot_name_taken")
    assert_problem(setup.organizer.post(path, json={"name": "X", "capacity": 0}), 422)


def test_a_change_that_strands_a_booked_meeting_is_refused(anon):
    setup = meeting_event(anon.client)
    alice = attendee(anon.client, setup.event_id)
    bob = attendee(anon.client, setup.event_id)
    request = asked(alice, setup.event_id, bob, [SLOT_1200])
    assert accept(bob, request["id"]).status_code == 200
    assert_problem(patch_event(setup, meeting_slot_minutes=20), 409, "meetings_booked")
    moved = [{"starts_at": "2026-06-01T12:10:00Z", "ends_at": "2026-06-01T14:00:00Z"}]
    assert_problem(patch_event(setup, meeting_hours=moved), 409, "meetings_booked")
    # Adding a block keeps the booked meeting on the grid: fine.
    set_up_meetings(
        setup,
        hours=[
            {"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T14:00:00Z"},
            {"starts_at": "2026-06-01T15:00:00Z", "ends_at": "2026-06-01T16:00:00Z"},
        ],
        spots=(),
    )
