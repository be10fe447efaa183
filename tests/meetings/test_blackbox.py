"""A black-box check written from API.md alone, over real HTTP against a live server: set up
an event with spots and hours, opt people in, read recommendations with `why`, request,
decline, re-request (refused), accept, race two accepts for one spot, read the calendar
feed, and scan a badge to mark a meeting held."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime

import icalendar

from services.core.clock import SettableClock
from tests.conftest import T0
from tests.support.live import committing_app, http_json, live_server, run_at_once


def test_meetings_end_to_end_over_http(engine):
    clock = SettableClock(T0)  # 2026-06-01T09:00Z
    app = committing_app(engine, clock)
    with live_server(app) as base:

        def call(method, path, body=None, token=None, expect=None):
            status, answer = http_json(method, f"{base}{path}", body, token)
            if expect is not None:
                assert status == expect, (method, path, status, answer)
            return status, answer

        def person(name, **profile):
            email = f"{name.lower()}-{datetime.now().timestamp()}@example.test"
            _, body = call(
                "POST",
                "/v1/auth/register",
                {"email": email, "password": "correct horse battery", "display_name": name},
                expect=201,
            )
            token = body["access_token"]
            if profile:
                call("PATCH", "/v1/me", profile, token, expect=200)
            return {"token": token, "id": body["user"]["id"], "name": name}

        organizer = person("Olga")
        _, event = call(
            "POST",
            "/v1/events",
            {
                "name": "Meetup",
                "starts_at": "2026-06-01T08:00:00Z",
                "ends_at": "2026-06-01T18:00:00Z",
                "timezone": "Europe/Berlin",
            },
            organizer["token"],
            expect=201,
        )
        event_id = event["id"]
        _, changed = call(
            "PATCH",
            f"/v1/events/{event_id}",
            {
                "meeting_slot_minutes": 30,
                "meeting_hours": [
                    {"starts_at": "2026-06-01T12:00:00Z", "ends_at": "2026-06-01T14:00:00Z"}
                ],
            },
            organizer["token"],
            expect=200,
        )
        assert changed["meeting_slot_minutes"] == 30
        call(
            "POST", f"/v1/events/{event_id}/meeting-spots", {"name": "T1"}, organizer["token"], 201
        )
        ana = person("Ana", offers=["Fundraising"], seeks=["Rust"])
        ben = person("Ben", offers=["rust"], seeks=["fundraising"])
        cy = person("Cy", offers=["rust"])
        dee = person("Dee", seeks=["fundraising"])
        badges = {}
        for someone in (ana, ben, cy, dee):
            _, registration = call(
                "POST", f"/v1/events/{event_id}/registrations", None, someone["token"], 201
            )
            badges[someone["name"]] = registration["badge_code"]
            status, body = call(
                "GET", f"/v1/events/{event_id}/recommendations", None, someone["token"]
            )
            assert (status, body["reason"]) == (409, "not_discoverable")
            _, registration = call(
                "PATCH",
                f"/v1/registrations/{registration['id']}",
                {"discoverable": True},
                someone["token"],
                200,
            )
            assert registration["discoverable"] is True

        _, recs = call("GET", f"/v1/events/{event_id}/recommendations", None, ana["token"], 200)
        assert recs["items"][0]["user_id"] == ben["id"]
        assert recs["items"][0]["why"] == [
            {"kind": "offers_what_you_seek", "tags": ["rust"]},
            {"kind": "seeks_what_you_offer", "tags": ["fundraising"]},
        ]
        assert {r["user_id"] for r in recs["items"]} == {ben["id"], cy["id"], dee["id"]}

        def request(sender, recipient, slots, expect):
            return call(
                "POST",
                f"/v1/events/{event_id}/meeting-requests",
                {
                    "to_user_id": recipient["id"],
                    "slots": slots,
                    "message": "Coffee?",
                    "kind": "offer",
                },
                sender["token"],
                expect,
            )[1]

        noon, half = "2026-06-01T12:00:00Z", "2026-06-01T12:30:00Z"
        declined = request(ana, cy, [noon], 201)
        assert declined["status"] == "pending" and "hints" in declined
        call("POST", f"/v1/meeting-requests/{declined['id']}/decline", None, cy["token"], 204)
        refused = request(ana, cy, [half], 403)
        assert refused["reason"] == "recipient_unavailable"
        _, outgoing = call(
            "GET", "/v1/me/meeting-requests?direction=outgoing", None, ana["token"], 200
        )
        assert [r["status"] for r in outgoing["items"]] == ["declined"]

        # Two accepts race for the one spot at noon: exactly one meeting.
        first = request(ana, ben, [noon], 201)
        second = request(dee, cy, [noon], 201)
        jobs = [(ben, first), (cy, second)]

        def accept(index):
            who, made = jobs[index]
            return call(
                "POST", f"/v1/meeting-requests/{made['id']}/accept", {"slot": noon}, who["token"]
            )

        answers = run_at_once(2, accept)
        assert sorted(status for status, _ in answers) == [200, 409]
        [(_, meeting)] = [answer for answer in answers if answer[0] == 200]
        [(_, loser)] = [answer for answer in answers if answer[0] == 409]
        assert loser["reason"] == "no_spot_free"
        assert meeting["status"] == "booked" and meeting["spot"]["name"] == "T1"
        assert meeting["starts_at"] == noon and meeting["ends_at"] == half

        # The calendar feed of one of the two, without any header.
        winner = ben if meeting["with"]["user_id"] == ana["id"] else cy
        _, token = call("POST", "/v1/me/calendar-token", None, winner["token"], 200)
        feed_path = token["url"].removeprefix("https://wellspring.test")
        with urllib.request.urlopen(f"{base}{feed_path}") as response:
            assert response.headers["Content-Type"].startswith("text/calendar")
            calendar = icalendar.Calendar.from_ical(response.read())
        [entry] = calendar.walk("VEVENT")
        assert entry.decoded("dtstart") == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        assert str(entry.decoded("dtstart").tzinfo) == "Europe/Berlin"

        # They meet: a badge scan during the slot marks the meeting held.
        other = meeting["with"]
        other_person = next(p for p in (ana, dee) if p["id"] == other["user_id"])
        clock.set(datetime(2026, 6, 1, 12, 10, tzinfo=UTC))
        call(
            "POST",
            "/v1/contacts/scan",
            {"badge": badges[other_person["name"]], "event_id": event_id},
            winner["token"],
            201,
        )
        _, mine = call("GET", f"/v1/me/meetings?event_id={event_id}", None, winner["token"], 200)
        assert [m["status"] for m in mine["items"]] == ["held"]
