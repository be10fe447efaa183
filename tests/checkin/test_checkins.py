import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.core.models import CheckIn
from tests.support import (
    assert_problem,
    event_with_staff,
    new_event,
    new_session,
    new_user,
    register,
)


@pytest.fixture
def setup(anon):
    return event_with_staff(anon.client)


@pytest.fixture
def attendee(anon):
    return new_user(anon.client, display_name="Alice Attendee")


def _count_rows(db, registration_id=None) -> int:
    query = select(func.count()).select_from(CheckIn).where(CheckIn.undone_at.is_(None))
    if registration_id:
        query = query.where(CheckIn.registration_id == uuid.UUID(registration_id))
    return db.scalar(query)


def test_first_scan_checks_in_then_duplicates_answer_already(setup, attendee, db):
    registration = register(attendee, setup.event_id)
    first = setup.scan(registration["badge_code"], device_id="door-1")
    assert first.status_code == 201
    body = first.get_json()
    assert body["status"] == "checked_in"
    assert body["registration_id"] == registration["id"]
    assert body["attendee"] == {"display_name": "Alice Attendee"}
    assert body["checked_in_at"] == "2026-06-01T09:00:00Z"
    assert body["device_id"] == "door-1"
    again = setup.scan(registration["badge_code"])
    assert again.status_code == 200
    assert again.get_json()["status"] == "already_checked_in"
    assert again.get_json()["first_checked_in_at"] == "2026-06-01T09:00:00Z"
    assert _count_rows(db, registration["id"]) == 1


def test_the_full_qr_url_scans_too(setup, attendee):
    registration = register(attendee, setup.event_id)
    url = f"https://somewhere.example/any/prefix/b/{registration['badge_code']}"
    assert setup.scan(url).status_code == 201


def test_rejections_carry_their_reasons(anon, setup, attendee, clock):
    assert_problem(setup.scan("A" * 32), 404, "unknown_badge")
    assert_problem(setup.scan("https://x.example/nothing-here"), 404, "unknown_badge")

    other_event = new_event(setup.organizer)
    other = register(new_user(anon.client), other_event["id"])
    assert_problem(setup.scan(other["badge_code"]), 409, "wrong_event")

    registration = register(attendee, setup.event_id)
    assert_problem(
        setup.scan(registration["badge_code"], scanned_at="2026-06-01T05:59:59Z"),
        409,
        "outside_check_in_window",
    )
    assert (
        setup.scan(registration["badge_code"], scanned_at="2026-06-01T06:00:00Z").status_code == 201
    )
    future = setup.scan(registration["badge_code"], scanned_at="2026-06-01T09:05:01Z")
    assert "scanned_at" in assert_problem(future, 422)["errors"]

    attendee.delete(f"/v1/registrations/{registration['id']}")
    assert_problem(setup.scan(registration["badge_code"]), 409, "registration_cancelled")


def test_after_the_event_ends_scans_are_outside_the_window(setup, attendee, clock):
    registration = register(attendee, setup.event_id)
    clock.set(clock.now().replace(hour=18, minute=1))
    assert_problem(setup.scan(registration["badge_code"]), 409, "outside_check_in_window")


def test_only_staff_scan(anon, setup, attendee):
    registration = register(attendee, setup.event_id)
    assert_problem(
        attendee.post(
            f"/v1/events/{setup.event_id}/check-ins", json={"badge": registration["badge_code"]}
        ),
        403,
        "not_event_staff",
    )
    assert setup.scan(registration["badge_code"], scanner=setup.organizer).status_code == 201


def test_late_offline_scan_moves_first_check_in_back_without_a_second_row(setup, attendee, db):
    registration = register(attendee, setup.event_id)
    setup.scan(registration["badge_code"], scanned_at="2026-06-01T08:05:00Z")
    late = setup.scan(
        registration["badge_code"], scanned_at="2026-06-01T08:02:00Z", device_id="door-offline"
    )
    assert late.status_code == 200
    assert late.get_json()["status"] == "already_checked_in"
    assert late.get_json()["first_checked_in_at"] == "2026-06-01T08:02:00Z"
    assert _count_rows(db, registration["id"]) == 1
    rows = setup.staff.get(f"/v1/events/{setup.event_id}/check-ins").get_json()["items"]
    assert [r["scanned_at"] for r in rows] == ["2026-06-01T08:02:00Z"]
    listing = setup.staff.get(f"/v1/events/{setup.event_id}/registrations").get_json()
    assert listing["items"][0]["first_checked_in_at"] == "2026-06-01T08:02:00Z"
    later = setup.scan(registration["badge_code"], scanned_at="2026-06-01T08:30:00Z")
    assert later.get_json()["first_checked_in_at"] == "2026-06-01T08:02:00Z"


def test_exit_then_reentry(setup, attendee, clock, db):
    registration = register(attendee, setup.event_id)
    code = registration["badge_code"]
    assert_problem(setup.scan(code, direction="exit"), 409, "not_checked_in")
    assert setup.scan(code).status_code == 201
    clock.advance(timedelta(minutes=30))
    out = setup.scan(code, direction="exit")
    assert out.status_code == 201 and out.get_json()["status"] == "checked_out"
    again = setup.scan(code, direction="exit")
    assert again.status_code == 200 and again.get_json()["status"] == "already_checked_out"
    clock.advance(timedelta(minutes=30))
    back = setup.scan(code)
    assert back.status_code == 201 and back.get_json()["status"] == "checked_in"
    assert back.get_json()["first_checked_in_at"] == "2026-06-01T09:00:00Z"
    assert _count_rows(db, registration["id"]) == 3
    assert_problem(setup.scan(code, direction="sideways"), 422)


def test_session_scans_are_separate_from_the_door(setup, attendee):
    registration = register(attendee, setup.event_id)
    talk = new_session(setup.organizer, setup.event_id)
    assert setup.scan(registration["badge_code"]).status_code == 201
    in_talk = setup.scan(registration["badge_code"], session_id=talk["id"])
    assert in_talk.status_code == 201
    assert in_talk.get_json()["session_id"] == talk["id"]
    assert setup.scan(registration["badge_code"], session_id=talk["id"]).status_code == 200
    other_event = new_event(setup.organizer)
    foreign = new_session(setup.organizer, other_event["id"])
    assert (
        "session_id"
        in assert_problem(setup.scan(registration["badge_code"], session_id=foreign["id"]), 422)[
            "errors"
        ]
    )


def test_client_scan_id_replays_the_first_answer(setup, attendee, db):
    registration = register(attendee, setup.event_id)
    body = {
        "client_scan_id": "0b3f4d3c-5f0e-4a51-a3f8-0d1e1f6f6f6f",
        "scanned_at": "2026-06-01T08:30:00Z",
        "device_id": "door-2",
    }
    first = setup.scan(registration["badge_code"], **body)
    replay = setup.scan(registration["badge_code"], **body)
    assert first.status_code == replay.status_code == 201
    assert first.get_json() == replay.get_json()
    assert _count_rows(db, registration["id"]) == 1
    changed = setup.scan(registration["badge_code"], **{**body, "device_id": "door-3"})
    assert "client_scan_id" in assert_problem(changed, 422, "client_scan_id_reused")["errors"]
    # The id belongs to the scanner: the organizer may use the same id for its own scan.
    mine = setup.scan(registration["badge_code"], scanner=setup.organizer, **body)
    assert mine.status_code == 200


def test_undo_within_15_minutes_by_the_scanner(setup, attendee, clock, db):
    registration = register(attendee, setup.event_id)
    check_in = setup.scan(registration["badge_code"]).get_json()
    clock.advance(timedelta(minutes=14, seconds=59))
    assert setup.staff.delete(f"/v1/check-ins/{check_in['check_in_id']}").status_code == 204
    assert _count_rows(db, registration["id"]) == 0
    assert setup.scan(registration["badge_code"]).status_code == 201
    listing = setup.staff.get(f"/v1/events/{setup.event_id}/registrations").get_json()
    assert listing["items"][0]["first_checked_in_at"] == "2026-06-01T09:14:59Z"
    assert_problem(setup.staff.delete(f"/v1/check-ins/{check_in['check_in_id']}"), 404)


def test_undo_rules(anon, setup, attendee, clock):
    registration = register(attendee, setup.event_id)
    check_in = setup.scan(registration["badge_code"]).get_json()["check_in_id"]
    other_staff = new_user(anon.client)
    setup.organizer.post(
        f"/v1/events/{setup.event_id}/staff", json={"email": other_staff.email, "role": "staff"}
    )
    assert_problem(other_staff.delete(f"/v1/check-ins/{check_in}"), 403)
    assert_problem(attendee.delete(f"/v1/check-ins/{check_in}"), 404)
    clock.advance(timedelta(minutes=15, seconds=1))
    assert_problem(setup.staff.delete(f"/v1/check-ins/{check_in}"), 409, "undo_window_passed")
    assert setup.organizer.delete(f"/v1/check-ins/{check_in}").status_code == 204


def test_undoing_the_only_entry_also_voids_its_exit(setup, attendee, clock, db):
    registration = register(attendee, setup.event_id)
    entry = setup.scan(registration["badge_code"]).get_json()["check_in_id"]
    setup.scan(registration["badge_code"], direction="exit")
    assert setup.organizer.delete(f"/v1/check-ins/{entry}").status_code == 204
    assert _count_rows(db, registration["id"]) == 0
    assert setup.scan(registration["badge_code"]).status_code == 201


def test_scan_log_since_and_pagination(anon, setup, clock):
    codes = [register(new_user(anon.client), setup.event_id)["badge_code"] for _ in range(3)]
    for code in codes:
        setup.scan(code)
        clock.advance(timedelta(minutes=1))
    path = f"/v1/events/{setup.event_id}/check-ins"
    page = setup.staff.get(path, query_string={"limit": 2}).get_json()
    assert len(page["items"]) == 2
    rest = setup.staff.get(path, query_string={"limit": 2, "cursor": page["next_cursor"]})
    assert len(rest.get_json()["items"]) == 1 and rest.get_json()["next_cursor"] is None
    since = setup.staff.get(path, query_string={"since": "2026-06-01T09:00:30Z"}).get_json()
    assert [i["received_at"] for i in since["items"]] == [
        "2026-06-01T09:01:00Z",
        "2026-06-01T09:02:00Z",
    ]
    assert_problem(setup.staff.get(path, query_string={"since": "yesterday"}), 422)
    assert_problem(new_user(anon.client).get(path), 403)
