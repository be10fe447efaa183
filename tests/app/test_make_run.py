"""`make run` — the command the README starts with — migrates and serves the API."""

import pytest

from tests.support.live import http_json, make_run


@pytest.mark.slow
def test_make_run_migrates_and_serves(tmp_dir):
    with make_run(tmp_dir, PUBLIC_BASE_URL="https://badges.example") as (base, _server):
        status, body = http_json(
            "POST",
            f"{base}/auth/register",
            {"email": "run@example.test", "password": "a long password", "display_name": "R"},
        )
        assert status == 201
        status, event = http_json(
            "POST",
            f"{base}/events",
            {
                "name": "E",
                "starts_at": "2030-01-01T08:00:00Z",
                "ends_at": "2030-01-01T18:00:00Z",
                "timezone": "UTC",
            },
            token=body["access_token"],
        )
        assert status == 201
        status, registration = http_json(
            "POST", f"{base}/events/{event['id']}/registrations", token=body["access_token"]
        )
        assert status == 201
        assert registration["badge_url"].startswith("https://badges.example/b/")
