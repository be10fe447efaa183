"""The calendar feed: a revocable token of its own, iCalendar with zoned times, parsed back."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import icalendar

from tests.meetings.meeting_support import (
    SLOT_1230,
    accept,
    asked,
    attendee,
    meeting_event,
)
from tests.support import assert_problem, event_with_staff


def feed_path(person) -> str:
    response = person.post("/v1/me/calendar-token")
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["url"]
    assert url.startswith("https://wellspring.test/v1/calendar/") and url.endswith(".ics")
    return urlsplit(url).path


def read_feed(anon, path: str) -> icalendar.Calendar:
    response = anon.client.get(path)  # no Authorization header: calendar apps send none
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.get_data())


def events_of(calendar: icalendar.Calendar) -> list:
    return sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))


def test_the_feed_lists_booked_meetings_with_zoned_times(anon):
    setup = meeting_event(anon.client, spots=(2,))
    alice = attendee(anon.client, setup.event_id, name="Alice")
    bob = attendee(anon.client, setup.event_id, name="Bob")
    carol = attendee(anon.client, setup.event_id, name="Carol")
    kept = accept(bob, asked(alice, setup.event_id, bob)["id"]).get_json()
    dropped = accept(carol, asked(alice, setup.event_id, carol, [SLOT_1230])["id"], SLOT_1230)
    assert alice.delete(f"/v1/meetings/{dropped.get_json()['id']}").status_code == 204
    asked(carol, setup.event_id, alice, [SLOT_1230])  # pending: not in the calendar

    [entry] = events_of(read_feed(anon, feed_path(alice)))
    start = entry.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Berlin"
    assert start.isoformat() == "2026-06-01T14:00:00+02:00"
    assert start == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert entry.decoded("dtend") == datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    assert str(entry["summary"]) == "Meeting with Bob"
    assert "Table 1" in str(entry["location"])
    assert str(entry["uid"]) == f"{kept['id']}@wellspring"
    assert entry["dtstart"].params["TZID"] == "Europe/Berlin"


def test_rotating_the_token_stops_the_old_url(anon):
    setup = meeting_event(anon.client)
    alice = attendee(anon.client, setup.event_id)
    old = feed_path(alice)
    assert events_of(read_feed(anon, old)) == []
    new = feed_path(alice)
    assert new != old
    assert_problem(anon.client.get(old), 404)
    read_feed(anon, new)
    assert_problem(anon.client.get("/v1/calendar/not-a-token.ics"), 404)


def test_times_stay_right_across_the_fall_back_night(anon, clock):
    setup = event_with_staff(
        anon.client, starts_at="2026-10-24T20:00:00Z", ends_at="2026-10-25T12:00:00Z"
    )
    response = setup.organizer.patch(
        f"/v1/events/{setup.event_id}",
        json={"meeting_hours": [{"starts_at": "2026-10-25T01:00", "ends_at": "2026-10-25T04:00"}]},
    )
    assert response.status_code == 200, response.get_json()
    setup.organizer.post(f"/v1/events/{setup.event_id}/meeting-spots", json={"name": "Bar"})
    alice = attendee(anon.client, setup.event_id)
    people = [attendee(anon.client, setup.event_id) for _ in range(3)]
    # 01:30 CEST, 02:30 CEST (the first one), 02:30 CET (the second one).
    slots = ["2026-10-24T23:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]
    for other, slot in zip(people, slots, strict=True):
        assert (
            accept(other, asked(alice, setup.event_id, other, [slot])["id"], slot).status_code
            == 200
        )

    entries = events_of(read_feed(anon, feed_path(alice)))
    starts = [entry.decoded("dtstart") for entry in entries]
    assert [s.astimezone(UTC).isoformat() for s in starts] == [
        "2026-10-24T23:30:00+00:00",
        "2026-10-25T00:30:00+00:00",
        "2026-10-25T01:30:00+00:00",
    ]
    assert entries[0]["dtstart"].params["TZID"] == "Europe/Berlin"
    ends = [entry.decoded("dtend") - entry.decoded("dtstart") for entry in entries]
    assert {end.total_seconds() for end in ends} == {1800}
