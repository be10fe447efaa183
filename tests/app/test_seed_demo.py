"""`flask --app api seed-demo`: a populated event that is under way, and working accounts."""

import re

from tests.support import ApiCaller


def test_seed_demo_prints_credentials_that_show_live_stats(app, client):
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--seed", "1", "--timezone", "Europe/Berlin"]
    )
    assert result.exit_code == 0, result.output
    output = result.output
    event_id = re.search(r"id ([0-9a-f-]{36})", output).group(1)
    organizer = re.search(r"organizer\s+(\S+@\S+)", output).group(1)
    attendee = re.search(r"attendees\s+([^,\s]+@[^,\s]+)", output).group(1)
    password = re.search(r"password\s+(\S+)", output).group(1)
    assert f"/events/{event_id}/stats" in output and "check-ins.csv" in output

    login = client.post("/v1/auth/login", json={"email": organizer, "password": password})
    assert login.status_code == 200, login.get_json()
    olga = ApiCaller(client, login.get_json()["access_token"])
    stats = olga.get(f"/v1/events/{event_id}/stats").get_json()
    assert 1900 <= stats["registered"] <= 2000
    assert stats["walk_ins"] > 0
    assert 1000 <= stats["checked_in"] <= 1700
    assert 0 < stats["inside_now"] < stats["checked_in"]
    assert sum(bucket["count"] for bucket in stats["arrivals"]) == stats["checked_in"]
    assert len(stats["sessions"]) == 5
    assert sum(s["checked_in"] for s in stats["sessions"]) == 2600
    networking = stats["networking"]
    assert networking["suppressed"] is False
    assert networking["exchanges"] == 1500
    assert 0 < networking["followed_up_within_7d_rate"] < 1
    assert olga.get(f"/v1/events/{event_id}/stats/arrivals.png").status_code == 200

    as_attendee = client.post("/v1/auth/login", json={"email": attendee, "password": password})
    assert as_attendee.status_code == 200
    forbidden = ApiCaller(client, as_attendee.get_json()["access_token"]).get(
        f"/v1/events/{event_id}/stats"
    )
    assert forbidden.status_code == 403
