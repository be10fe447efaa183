"""Badge links: /b/<code> for a phone camera, and the files that let it open the app."""

from __future__ import annotations

import pytest

from tests.support import new_event, new_user


@pytest.fixture
def registration(anon):
    organizer = new_user(anon.client, display_name="Olga")
    event = new_event(organizer, name="DemoConf <2026>")
    attendee = new_user(anon.client, display_name="Ali & <b>Co</b>")
    body = attendee.post(f"/v1/events/{event['id']}/registrations").get_json()
    return attendee, body


def test_a_live_badge_link_shows_only_the_event_and_the_holders_name(anon, registration):
    attendee, reg = registration
    response = anon.get(f"/b/{reg['badge_code']}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Ali &amp; &lt;b&gt;Co&lt;/b&gt;" in page  # escaped, never markup
    assert "DemoConf &lt;2026&gt;" in page
    assert f'href="wellspring://b/{reg["badge_code"]}"' in page
    assert "Open in the Wellspring app" in page
    assert attendee.email not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script" not in page.lower()


def test_the_badge_url_from_the_registration_is_the_page(anon, registration):
    _, reg = registration
    path = reg["badge_url"].removeprefix("https://wellspring.test")
    assert anon.get(path).status_code == 200


@pytest.mark.parametrize("code", ["A" * 32, "short", "no!such$code-at-all-here"])
def test_an_unknown_code_is_a_404_page_with_nothing_in_it(anon, code):
    response = anon.get(f"/b/{code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Badge not found" in response.get_data(as_text=True)


def test_revoked_and_cancelled_badges_are_404_pages(anon, registration):
    attendee, reg = registration
    rotated = attendee.post(f"/v1/registrations/{reg['id']}/badge/rotate").get_json()
    assert anon.get(f"/b/{reg['badge_code']}").status_code == 404
    assert anon.get(f"/b/{rotated['badge_code']}").status_code == 200
    assert attendee.delete(f"/v1/registrations/{reg['id']}").status_code == 204
    page = anon.get(f"/b/{rotated['badge_code']}")
    assert page.status_code == 404
    assert "Ali" not in page.get_data(as_text=True)


def test_store_links_come_from_config(app, anon, registration):
    _, reg = registration
    app.config.update(APP_STORE_URL="https://apps.example/ws", PLAY_STORE_URL="")
    try:
        page = anon.get(f"/b/{reg['badge_code']}").get_data(as_text=True)
    finally:
        app.config.update(APP_STORE_URL="", PLAY_STORE_URL="")
    assert 'href="https://apps.example/ws"' in page and "Google Play" not in page


def test_badge_pages_are_rate_limited_per_address(app, anon):
    app.config["BADGE_PAGE_PER_IP"] = "3 per minute"
    try:
        answers = [anon.get(f"/b/{'x' * 30}{i}").status_code for i in range(4)]
    finally:
        app.config["BADGE_PAGE_PER_IP"] = "120 per minute"
    assert answers == [404, 404, 404, 429]


def test_well_known_files_are_404_until_configured(anon):
    for path in ("/.well-known/apple-app-site-association", "/.well-known/assetlinks.json"):
        response = anon.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_apple_app_site_association_lists_the_apps_for_badge_paths(app, anon):
    app.config["IOS_APP_IDS"] = "ABCDE12345.com.example.wellspring, FGHIJ67890.com.example.beta"
    try:
        response = anon.get("/.well-known/apple-app-site-association")
    finally:
        app.config["IOS_APP_IDS"] = ""
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    details = response.get_json()["applinks"]["details"]
    assert details[0] == {
        "appIDs": ["ABCDE12345.com.example.wellspring", "FGHIJ67890.com.example.beta"],
        "components": [{"/": "/b/*"}],
    }
    assert {"appID": "ABCDE12345.com.example.wellspring", "paths": ["/b/*"]} in details


def test_assetlinks_names_the_package_and_its_certificates(app, anon):
    fingerprint = ":".join(["AB"] * 32)
    app.config.update(ANDROID_APP_PACKAGE="com.example.wellspring", ANDROID_CERT_SHA256="")
    try:
        assert anon.get("/.well-known/assetlinks.json").status_code == 404
        app.config["ANDROID_CERT_SHA256"] = f"{fingerprint},{fingerprint.replace('AB', 'CD')}"
        response = anon.get("/.well-known/assetlinks.json")
    finally:
        app.config.update(ANDROID_APP_PACKAGE="", ANDROID_CERT_SHA256="")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    [statement] = response.get_json()
    assert statement["relation"] == ["delegate_permission/common.handle_all_urls"]
    assert statement["target"] == {
        "namespace": "android_app",
        "package_name": "com.example.wellspring",
        "sha256_cert_fingerprints": [fingerprint, fingerprint.replace("AB", "CD")],
    }
