"""Organizer stats, the check-in CSV and the arrivals chart, against hand-computed values."""

from __future__ import annotations

import csv
import io
import struct
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from PIL import Image
from sqlalchemy import select

from services.core.clock import SettableClock
from services.core.models import Contact
from tests.conftest import T0
from tests.support import (
    assert_problem,
    event_with_staff,
    new_event,
    new_session,
    new_user,
    register,
)
from tests.support.live import committing_app, live_server


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def connect(clock, scanner, other, event_id: str, met_at: datetime) -> None:
    """A contact exchange through the API: at `met_at`, `scanner` scans `other`'s badge."""
    clock.set(met_at)
    register(scanner, event_id)  # answers the existing registration when there is one
    badge = register(other, event_id)["badge_code"]
    response = scanner.post(
        "/v1/contacts/scan", json={"badge": badge, "event_id": event_id, "note": "SECRET-NOTE"}
    )
    assert response.status_code == 201, response.get_json()


def message(clock, db, sender, recipient, sent_at: datetime) -> None:
    """A message through the API, sent at `sent_at`."""
    contact_id = db.scalar(
        select(Contact.id).where(
            Contact.owner_id == uuid.UUID(sender.id), Contact.other_id == uuid.UUID(recipient.id)
        )
    )
    clock.set(sent_at)
    response = sender.post(
        f"/v1/contacts/{contact_id}/messages", json={"body": "SECRET-BODY", "kind": "thank_you"}
    )
    assert response.status_code == 201, response.get_json()


def stats_of(caller, event_id: str, **query) -> dict:
    response = caller.get(f"/v1/events/{event_id}/stats", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def arrivals(body: dict) -> list[tuple[str, int]]:
    return [(bucket["start"], bucket["count"]) for bucket in body["arrivals"]]


# The acceptance case: Europe/Berlin falls back on 2026-10-25 at 01:00Z (03:00 CEST becomes
# 02:00 CET), so the local hour 02:00-03:00 happens twice, as 00:00Z-01:00Z and 01:00Z-02:00Z.


@pytest.fixture
def fall_back_night(anon, clock, db):
    client = anon.client
    clock.set(at("2026-10-24T20:00:00Z"))
    setup = event_with_staff(
        client,
        name="Night of the long hour",
        starts_at="2026-10-25T00:30:00Z",
        ends_at="2026-10-25T08:00:00Z",
        timezone="Europe/Berlin",
    )
    names = {
        "A": 'Smith, Jo "JJ"',
        "B": "Bea",
        "C": "Cem",
        "D": "Dana",
        "E": "Eli",
        "F": "Fay",
        "G": '=HYPERLINK("http://x.example")',
        "H": "Hal",
        "I": "Ida",
        "J": "Jon",
    }
    people = {key: new_user(client, display_name=name) for key, name in names.items()}
    badges = {}
    for key in "ABCDEHIJ":
        badges[key] = register(people[key], setup.event_id)
    assert people["H"].delete(f"/v1/registrations/{badges['H']['id']}").status_code == 204
    clock.set(at("2026-10-25T01:30:00Z"))  # F and G walk in after the 00:30Z start
    badges["F"] = register(people["F"], setup.event_id)
    clock.set(at("2026-10-25T01:31:00Z"))
    badges["G"] = register(people["G"], setup.event_id)

    clock.set(at("2026-10-25T04:00:00Z"))
    organizer = setup.organizer
    workshop = new_session(
        organizer,
        setup.event_id,
        title="Workshop",
        starts_at="2026-10-25T01:00:00Z",
        ends_at="2026-10-25T02:00:00Z",
        capacity=2,
    )
    talk = new_session(
        organizer,
        setup.event_id,
        title="Talk, no capacity",
        starts_at="2026-10-25T03:00:00Z",
        ends_at="2026-10-25T04:00:00Z",
        capacity=None,
    )
    new_session(
        organizer,
        setup.event_id,
        title="Empty room",
        starts_at="2026-10-25T05:00:00Z",
        ends_at="2026-10-25T06:00:00Z",
        capacity=10,
    )

    def scan(key: str, when: str, expected: int = 201, **body) -> dict:
        response = setup.scan(badges[key]["badge_code"], scanned_at=when, **body)
        assert response.status_code == expected, response.get_json()
        return response.get_json()

    scan("A", "2026-10-25T00:10:00Z", device_id="door-1")
    scan("B", "2026-10-25T00:50:00Z", device_id="@SUM(1+1)")
    scan("C", "2026-10-25T01:20:00Z")
    # C's phone was offline: its earlier scan syncs late and moves C's arrival back across
    # the fold, into the first 02:00 local hour.
    late = scan("C", "2026-10-25T00:55:00Z", expected=200, device_id="door-offline")
    assert late["first_checked_in_at"] == "2026-10-25T00:55:00Z"
    mistaken = scan("J", "2026-10-25T01:00:00Z")
    assert organizer.delete(f"/v1/check-ins/{mistaken['check_in_id']}").status_code == 204
    scan("F", "2026-10-25T01:35:00Z")
    scan("E", "2026-10-25T01:40:00Z")
    scan("E", "2026-10-25T01:50:00Z", direction="exit")
    scan("E", "2026-10-25T02:10:00Z")  # back in
    scan("D", "2026-10-25T02:05:00Z")
    scan("D", "2026-10-25T02:30:00Z", direction="exit")
    scan("G", "2026-10-25T03:00:00Z")
    for key, when in (("A", "01:05"), ("B", "01:06"), ("C", "01:07")):
        scan(key, f"2026-10-25T{when}:00Z", session_id=workshop["id"])
    scan("A", "2026-10-25T01:30:00Z", session_id=workshop["id"], direction="exit")
    scan("E", "2026-10-25T03:10:00Z", session_id=talk["id"])

    # Three people networked here (and A met D elsewhere): fewer than five, so suppressed.
    met = at("2026-10-25T01:15:00Z")
    connect(clock, people["A"], people["B"], setup.event_id, met)
    connect(clock, people["A"], people["C"], setup.event_id, met)
    connect(clock, people["B"], people["C"], setup.event_id, met)
    message(clock, db, people["A"], people["B"], met + timedelta(hours=1))
    elsewhere = new_event(organizer, name="Elsewhere")
    connect(clock, people["A"], people["D"], elsewhere["id"], met)
    clock.set(at("2026-10-25T04:00:00Z"))
    return setup


def test_stats_of_a_fall_back_night_equal_hand_computed_values(fall_back_night):
    body = stats_of(fall_back_night.organizer, fall_back_night.event_id, bucket=60)
    assert body["registered"] == 9  # A-G, I, J; H cancelled
    assert body["walk_ins"] == 2  # F and G
    assert body["checked_in"] == 7  # A-G; J's only scan was undone
    assert body["show_up_rate"] == 0.7778
    assert body["inside_now"] == 6  # D left; E left and came back
    assert body["timezone"] == "Europe/Berlin"
    assert body["bucket_minutes"] == 60
    assert arrivals(body) == [
        ("2026-10-25T00:00:00Z", 3),  # 02:00 CEST: A 02:10, B 02:50, C 02:55 (late scan)
        ("2026-10-25T01:00:00Z", 2),  # 02:00 CET, the repeated hour: F 02:35, E 02:40
        ("2026-10-25T02:00:00Z", 1),  # 03:00 CET: D
        ("2026-10-25T03:00:00Z", 1),  # 04:00 CET: G
    ]
    assert body["arrivals"][-1]["end"] == "2026-10-25T04:00:00Z"
    assert [
        (s["title"], s["checked_in"], s["capacity"], s["fill_rate"]) for s in body["sessions"]
    ] == [
        ("Workshop", 3, 2, 1.5),  # over capacity; A's exit does not undo A's attendance
        ("Talk, no capacity", 1, None, None),
        ("Empty room", 0, 10, 0.0),
    ]
    assert body["networking"] == {
        "exchanges": None,
        "networkers": None,
        "networker_rate": None,
        "median_exchanges_per_networker": None,
        "followed_up_within_7d_rate": None,
        "suppressed": True,
        "min_group_size": 5,
        "meetings": None,
    }


def test_default_buckets_are_15_minutes_with_empty_ones_filled(fall_back_night):
    body = stats_of(fall_back_night.staff, fall_back_night.event_id)
    assert body["bucket_minutes"] == 15
    counts = dict(arrivals(body))
    expected = {"00:00": 1, "00:45": 2, "01:30": 2, "02:00": 1, "03:00": 1}
    starts = [f"{h:02d}:{m:02d}" for h in range(4) for m in (0, 15, 30, 45)][:13]
    assert counts == {f"2026-10-25T{s}:00Z": expected.get(s, 0) for s in starts}
    assert list(counts) == sorted(counts)


def test_a_local_four_hour_bucket_spans_the_fold_as_one_bucket(fall_back_night):
    body = stats_of(fall_back_night.organizer, fall_back_night.event_id, bucket=240)
    # Local 00:00-04:00 began at 22:00Z (CEST) and ended at 03:00Z (CET): five real hours.
    assert body["arrivals"] == [
        {"start": "2026-10-24T22:00:00Z", "end": "2026-10-25T03:00:00Z", "count": 6},
        {"start": "2026-10-25T03:00:00Z", "end": "2026-10-25T07:00:00Z", "count": 1},
    ]


def test_csv_lists_every_stored_scan_in_the_event_zone(fall_back_night):
    response = fall_back_night.staff.get(f"/v1/events/{fall_back_night.event_id}/check-ins.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "\r\n" in text
    assert "SECRET" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, rows = rows[0], rows[1:]
    assert header == [
        "check_in_id",
        "registration_id",
        "attendee_display_name",
        "direction",
        "place",
        "session_id",
        "session_title",
        "scanned_at",
        "received_at",
        "device_id",
    ]
    # 10 door scans (J's undone one left out, C's late scan folded into C's row) + 5 session.
    assert len(rows) == 15
    by_name = [(r[2], r[3], r[4], r[6], r[7], r[9]) for r in rows]
    assert by_name[0] == (
        'Smith, Jo "JJ"',
        "entry",
        "door",
        "",
        "2026-10-25T02:10:00+02:00",
        "door-1",
    )
    assert ("Cem", "entry", "door", "", "2026-10-25T02:55:00+02:00", "door-offline") in by_name
    assert ("Fay", "entry", "door", "", "2026-10-25T02:35:00+01:00", "") in by_name
    assert ("Dana", "exit", "door", "", "2026-10-25T03:30:00+01:00", "") in by_name
    assert (
        'Smith, Jo "JJ"',
        "exit",
        "session",
        "Workshop",
        "2026-10-25T02:30:00+01:00",
        "",
    ) in by_name
    # A spreadsheet must not run attendee-typed text as a formula.
    assert '\'=HYPERLINK("http://x.example")' in [r[2] for r in rows]
    assert "Jon" not in [r[2] for r in rows]
    assert {r[8] for r in rows} == {"2026-10-25T05:00:00+01:00"}  # all received at 04:00Z
    scanned = [datetime.fromisoformat(r[7]) for r in rows]
    assert scanned == sorted(scanned)  # in scan time order (local strings would not sort)
    assert all(uuid.UUID(r[0]) and uuid.UUID(r[1]) for r in rows)
    assert '"Smith, Jo ""JJ"""' in text  # RFC 4180: quoted, inner quotes doubled


def test_arrivals_chart_is_a_png_of_sensible_size(fall_back_night):
    response = fall_back_night.organizer.get(
        f"/v1/events/{fall_back_night.event_id}/stats/arrivals.png", query_string={"bucket": 30}
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    data = response.get_data()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 550)
    assert 10_000 < len(data) < 500_000
    image = Image.open(io.BytesIO(data))
    image.verify()
    assert_problem(
        fall_back_night.organizer.get(
            f"/v1/events/{fall_back_night.event_id}/stats/arrivals.png",
            query_string={"bucket": 1},
        ),
        422,
    )


def test_chart_of_an_event_without_arrivals(anon):
    setup = event_with_staff(anon.client)
    response = setup.staff.get(f"/v1/events/{setup.event_id}/stats/arrivals.png")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.get_data())).size == (1000, 550)


# Networking with enough people to show -------------------------------------------------------


def test_networking_figures_with_six_networkers(anon, db, clock):
    setup = event_with_staff(anon.client)
    people = [new_user(anon.client, display_name=f"P{i}") for i in range(1, 8)]
    for person in people:
        setup.scan(register(person, setup.event_id)["badge_code"])
    stranger = new_user(anon.client, display_name="X")  # registered, never checked in
    register(stranger, setup.event_id)
    p1, p2, p3, p4, p5, p6, p7 = people
    met = at("2026-06-01T09:00:00.250000Z")
    seven_days = timedelta(days=7)
    connect(clock, p1, p2, setup.event_id, met)
    connect(clock, p1, p3, setup.event_id, met)
    connect(clock, p1, p4, setup.event_id, met)
    connect(clock, p2, p3, setup.event_id, met)
    connect(clock, p5, p6, setup.event_id, met)
    connect(clock, p1, stranger, setup.event_id, met)
    elsewhere = new_event(setup.organizer, name="Elsewhere")
    connect(clock, p6, p7, elsewhere["id"], met)
    message(clock, db, p1, p2, met + timedelta(days=1))
    message(clock, db, p3, p1, met + seven_days)  # exactly 7 days later still counts
    message(clock, db, p2, p3, met + seven_days + timedelta(microseconds=1))  # too late
    message(clock, db, p6, p5, met + timedelta(hours=2))  # either direction
    message(clock, db, p5, p6, met + timedelta(days=9))  # a later message changes nothing

    body = stats_of(setup.organizer, setup.event_id)
    assert body["checked_in"] == 7
    assert body["networking"] == {
        "exchanges": 6,  # unique pairs met here, P1-X included
        "networkers": 6,  # P1-P6 (X is not checked in, P7 met P6 elsewhere)
        "networker_rate": 0.8571,  # 6 / 7
        "median_exchanges_per_networker": 1.5,  # P1 4, P2 2, P3 2, P4 1, P5 1, P6 1
        "followed_up_within_7d_rate": 0.5,  # P1-P2, P1-P3, P5-P6 of 6
        "suppressed": False,
        "min_group_size": 5,
        "meetings": {"requested": 0, "accepted": 0, "held": 0},
    }
    assert "SECRET" not in str(body)


@pytest.mark.parametrize(("networkers", "suppressed"), [(4, True), (5, False)])
def test_networking_is_suppressed_below_five_people(anon, clock, networkers, suppressed):
    setup = event_with_staff(anon.client)
    people = [new_user(anon.client) for _ in range(networkers)]
    for person in people:
        setup.scan(register(person, setup.event_id)["badge_code"])
    for first, second in pairwise(people):
        connect(clock, first, second, setup.event_id, at("2026-06-01T09:00:00Z"))
    networking = stats_of(setup.organizer, setup.event_id)["networking"]
    assert networking["suppressed"] is suppressed
    assert networking["networkers"] == (None if suppressed else networkers)
    assert networking["exchanges"] == (None if suppressed else networkers - 1)


# Buckets, rates, access ----------------------------------------------------------------------


def test_buckets_align_to_a_half_hour_zone(anon, clock):
    setup = event_with_staff(anon.client, timezone="Asia/Kolkata")  # UTC+05:30
    for when in ("2026-06-01T08:10:00Z", "2026-06-01T09:00:00Z"):
        badge = register(new_user(anon.client), setup.event_id)["badge_code"]
        assert setup.scan(badge, scanned_at=when).status_code == 201
    hourly = stats_of(setup.organizer, setup.event_id, bucket=60)
    # 13:40 and 14:30 IST fall in the local hours starting 13:00 and 14:00 IST.
    assert arrivals(hourly) == [("2026-06-01T07:30:00Z", 1), ("2026-06-01T08:30:00Z", 1)]
    quarter = stats_of(setup.organizer, setup.event_id, bucket=15)
    assert arrivals(quarter)[0] == ("2026-06-01T08:00:00Z", 1)  # 13:30 IST
    assert arrivals(quarter)[-1] == ("2026-06-01T09:00:00Z", 1)
    assert len(quarter["arrivals"]) == 5
    odd = stats_of(setup.organizer, setup.event_id, bucket=45)
    # From local midnight: ..., 12:45, 13:30, 14:15 IST.
    assert arrivals(odd) == [("2026-06-01T08:00:00Z", 1), ("2026-06-01T08:45:00Z", 1)]


@pytest.mark.parametrize("bucket", ["4", "241", "0", "-15", "abc", "15.5"])
def test_bucket_out_of_range_is_422(anon, bucket):
    setup = event_with_staff(anon.client)
    for path in ("stats", "stats/arrivals.png"):
        response = setup.organizer.get(
            f"/v1/events/{setup.event_id}/{path}", query_string={"bucket": bucket}
        )
        assert "bucket" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("bucket", [5, 240])
def test_bucket_limits_are_accepted(anon, bucket):
    setup = event_with_staff(anon.client)
    assert stats_of(setup.organizer, setup.event_id, bucket=bucket)["bucket_minutes"] == bucket


def test_an_empty_event_has_null_rates_and_no_arrivals(anon):
    setup = event_with_staff(anon.client)
    body = stats_of(setup.staff, setup.event_id)
    assert body["registered"] == body["checked_in"] == body["walk_ins"] == 0
    assert body["show_up_rate"] is None
    assert body["arrivals"] == [] and body["sessions"] == []
    assert body["networking"]["suppressed"] is True


def test_csv_of_an_event_without_scans_is_the_header_alone(anon):
    setup = event_with_staff(anon.client)
    response = setup.organizer.get(f"/v1/events/{setup.event_id}/check-ins.csv")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        "check_in_id,registration_id,attendee_display_name,direction,place,session_id,"
        "session_title,scanned_at,received_at,device_id\r\n"
    )


def test_stats_answer_exactly_the_documented_fields(anon):
    setup = event_with_staff(anon.client)
    body = stats_of(setup.organizer, setup.event_id)
    assert set(body) == {
        "event_id",
        "timezone",
        "bucket_minutes",
        "generated_at",
        "registered",
        "checked_in",
        "show_up_rate",
        "walk_ins",
        "inside_now",
        "arrivals",
        "sessions",
        "networking",
    }
    assert body["generated_at"] == "2026-06-01T09:00:00Z"


@pytest.mark.parametrize("path", ["stats", "check-ins.csv", "stats/arrivals.png"])
def test_access_is_for_organizers_and_staff(anon, path):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    register(attendee, setup.event_id)
    url = f"/v1/events/{setup.event_id}/{path}"
    assert setup.organizer.get(url).status_code == 200
    assert setup.staff.get(url).status_code == 200
    assert_problem(attendee.get(url), 403, "not_event_staff")
    assert_problem(new_user(anon.client).get(url), 403, "not_event_staff")
    assert_problem(anon.get(url), 401)
    assert_problem(setup.organizer.get(f"/v1/events/{uuid.uuid4()}/{path}"), 404)


def test_exchanges_made_before_check_in_still_count_for_checked_in_people(anon, clock):
    """Networkers are people checked in at the door, whenever they met."""
    setup = event_with_staff(anon.client)
    people = [new_user(anon.client) for _ in range(6)]
    registrations = [register(person, setup.event_id) for person in people]
    for first, second in pairwise(people):
        connect(clock, first, second, setup.event_id, datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    clock.set(T0)
    assert stats_of(setup.organizer, setup.event_id)["networking"]["suppressed"] is True
    for registration in registrations[:5]:
        setup.scan(registration["badge_code"])
    networking = stats_of(setup.organizer, setup.event_id)["networking"]
    assert networking["networkers"] == 5
    assert networking["exchanges"] == 5
    assert networking["median_exchanges_per_networker"] == 2.0  # 1, 2, 2, 2, 2


def test_csv_streams_through_a_real_server_after_the_view_has_returned(engine):
    """Flask closes the view's database session before a streamed body is read; the export
    must still read its rows (through a live server with a committing app)."""
    app = committing_app(engine, SettableClock(T0))
    setup = event_with_staff(app.test_client())
    for number in range(3):
        attendee = new_user(app.test_client(), display_name=f"Streamer {number}")
        setup.scan(register(attendee, setup.event_id)["badge_code"])
    with live_server(app) as base_url:
        request = urllib.request.Request(
            f"{base_url}/v1/events/{setup.event_id}/check-ins.csv",
            headers={"Authorization": f"Bearer {setup.organizer.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
            text = response.read().decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert sorted(row[2] for row in rows[1:]) == ["Streamer 0", "Streamer 1", "Streamer 2"]


def test_walk_ins_are_late_registrations_that_came_never_more_than_checked_in(anon, clock):
    """A walk-in registered at or after the start AND checked in at the door; someone who
    registered late and never came, or came only to a session, is not one."""
    setup = event_with_staff(
        anon.client, starts_at="2026-06-01T09:00:00Z", ends_at="2026-06-01T18:00:00Z"
    )
    clock.set(at("2026-06-01T08:00:00Z"))
    early = register(new_user(anon.client), setup.event_id)
    clock.set(at("2026-06-01T10:00:00Z"))
    came, _never_came, session_only, left_again = (
        register(new_user(anon.client), setup.event_id) for _ in range(4)
    )
    talk = new_session(
        setup.organizer,
        setup.event_id,
        starts_at="2026-06-01T10:00:00Z",
        ends_at="2026-06-01T11:00:00Z",
    )
    for badge in (early, came, left_again):
        assert setup.scan(badge["badge_code"]).status_code == 201
    assert setup.scan(left_again["badge_code"], direction="exit").status_code == 201
    assert setup.scan(session_only["badge_code"], session_id=talk["id"]).status_code == 201
    body = stats_of(setup.organizer, setup.event_id)
    assert body["registered"] == 5
    assert body["checked_in"] == 3
    assert body["walk_ins"] == 2  # `came` and `left_again`; not never_came nor session_only
    assert body["walk_ins"] <= body["checked_in"]
