"""The check-in CSV export: quoting, spreadsheet safety, local times across DST, row order.

The fall-back-night walkthrough of the whole file is in tests/stats/test_stats.py; these pin down
the details the fast path (services/checkin/check_in_export.py) renders by hand.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.checkin.check_in_export import CSV_HEADER, _LocalTimes
from tests.support import event_with_staff, new_session, new_user, register

CRLF = "\r\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def export(caller, event_id: str) -> tuple[str, list[list[str]]]:
    response = caller.get(f"/v1/events/{event_id}/check-ins.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_HEADER)
    return text, rows[1:]


def scanned(setup, attendee, when: str, **body) -> dict:
    badge = register(attendee, setup.event_id)["badge_code"]
    response = setup.scan(badge, scanned_at=when, **body)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


@pytest.fixture
def night(anon, clock):
    """An event in Berlin over the night clocks go back (2026-10-25, 03:00 CEST → 02:00 CET)."""
    clock.set(at("2026-10-25T04:00:00Z"))
    return event_with_staff(
        anon.client,
        starts_at="2026-10-24T22:00:00Z",
        ends_at="2026-10-25T08:00:00Z",
        timezone="Europe/Berlin",
    )


def test_typed_text_is_quoted_by_rfc_4180_and_made_spreadsheet_safe(anon, night):
    name = '=Doe, Jo "JJ"\nsecond line'
    title = '@Talk, "live"\nroom 2'
    device = '-door "1",\nleft'
    session = new_session(
        night.organizer,
        night.event_id,
        title=title,
        starts_at="2026-10-25T00:00:00Z",
        ends_at="2026-10-25T02:00:00Z",
    )
    badge = register(new_user(anon.client, display_name=name), night.event_id)["badge_code"]
    for body in (
        {"scanned_at": "2026-10-25T00:10:00Z", "device_id": device},
        {"scanned_at": "2026-10-25T00:20:00Z", "session_id": session["id"]},
    ):
        assert night.scan(badge, **body).status_code == 201
    text, rows = export(night.organizer, night.event_id)
    # Exactly as the csv module writes them: quoted, inner quotes doubled, the apostrophe
    # inside the quotes; CRLF ends the rows, a bare LF stays inside a quoted field.
    assert '"\'=Doe, Jo ""JJ""\nsecond line"' in text
    assert '"\'@Talk, ""live""\nroom 2"' in text
    assert '"\'-door ""1"",\nleft"' in text
    assert text.endswith(CRLF) and text.count(CRLF) == 3
    door, talk = rows
    assert door[2] == talk[2] == "'" + name
    assert door[9] == "'" + device
    assert (door[4], door[5], door[6]) == ("door", "", "")
    assert (talk[4], talk[5], talk[6]) == ("session", session["id"], "'" + title)
    assert talk[9] == ""


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("+1 234", "'+1 234"),
        ("\tTab", "'\tTab"),
        ("\rReturn", '"\'\rReturn"'),
        ("Plain", "Plain"),
        ("a=b, c", '"a=b, c"'),
        ('Say "hi"', '"Say ""hi"""'),
    ],
)
def test_each_formula_start_gets_an_apostrophe_and_only_those(anon, night, typed, written):
    # A device id is kept as sent (display names are trimmed, so they can't start with a tab).
    scanned(night, new_user(anon.client), "2026-10-25T00:10:00Z", device_id=typed)
    text, rows = export(night.organizer, night.event_id)
    assert text.endswith("," + written + CRLF)
    expected = written[1:-1].replace('""', '"') if written.startswith('"') else written
    assert rows[0][9] == expected


def test_local_times_carry_the_offset_of_their_side_of_the_fold(anon, night):
    """02:30 happens twice that night: first at +02:00, an hour later at +01:00."""
    first = scanned(night, new_user(anon.client), "2026-10-25T00:30:15Z")
    second = scanned(night, new_user(anon.client), "2026-10-25T01:30:15.999999Z")
    _text, rows = export(night.organizer, night.event_id)
    assert [(row[0], row[7]) for row in rows] == [
        (first["check_in_id"], "2026-10-25T02:30:15+02:00"),
        (second["check_in_id"], "2026-10-25T02:30:15+01:00"),  # truncated, never rounded up
    ]
    assert {row[8] for row in rows} == {"2026-10-25T05:00:00+01:00"}  # received at 04:00Z


def test_rows_are_in_scan_time_then_id_order_and_undone_scans_are_left_out(anon, night, clock):
    same_instant = "2026-10-25T01:00:00Z"
    ids = [scanned(night, new_user(anon.client), same_instant)["check_in_id"] for _ in range(4)]
    # Stored later but scanned earlier (a device that was offline): it comes first.
    clock.set(at("2026-10-25T04:05:00Z"))
    earlier = scanned(night, new_user(anon.client), "2026-10-25T00:59:59Z")["check_in_id"]
    undone = scanned(night, new_user(anon.client), "2026-10-25T00:45:00Z")["check_in_id"]
    response = night.organizer.delete(f"/v1/check-ins/{undone}")
    assert response.status_code == 204
    _text, rows = export(night.organizer, night.event_id)
    assert [row[0] for row in rows] == [earlier, *sorted(ids)]
    assert undone not in {row[0] for row in rows}
    assert all(str(uuid.UUID(row[0])) == row[0] for row in rows)  # canonical, lower case
    assert all(str(uuid.UUID(row[1])) == row[1] for row in rows)


@pytest.mark.parametrize(
    "zone_name",
    ["Europe/Berlin", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"],
)
def test_local_times_match_zoneinfo_to_the_second(zone_name):
    zone = ZoneInfo(zone_name)
    local_times = _LocalTimes(zone)
    instant = datetime(2026, 3, 28, 0, 0, 7, 999_999, tzinfo=UTC)
    while instant < datetime(2026, 11, 2, tzinfo=UTC):  # both of 2026's changes everywhere
        for step in (timedelta(seconds=0), timedelta(minutes=1, seconds=52)):
            moment = instant + step
            stored = moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLite's stored text
            epoch = str(int(moment.timestamp()))  # PostgreSQL's key
            expected = moment.replace(microsecond=0).astimezone(zone).isoformat()
            assert local_times[stored[:19]] == local_times[epoch] == expected, stored
        instant += timedelta(minutes=17)


def test_local_times_before_whole_minute_offsets_are_exact():
    """Before standard time a zone's offset had seconds (Amsterdam: +00:19:32)."""
    local_times = _LocalTimes(ZoneInfo("Europe/Amsterdam"))
    assert local_times["1900-01-01 12:00:05"] == "1900-01-01T12:19:37+00:19:32"
    assert local_times["-2208945595"] == "1900-01-01T12:19:37+00:19:32"
