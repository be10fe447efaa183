"""/docs, the interactive reference, in a real headless Chromium with the network cut off:
Swagger UI comes from the installed swagger-ui-bundle package, served by the app itself."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

from tests.support.live import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_docs_render_every_operation_offline(app):
    with live_server(app) as base, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            own_host = urlsplit(base).netloc
            asked_elsewhere: list[str] = []

            def only_this_server(route):
                url = route.request.url
                if urlsplit(url).netloc == own_host or url.startswith("data:"):
                    route.continue_()
                else:
                    asked_elsewhere.append(url)
                    route.abort()

            page.route("**/*", only_this_server)
            page.goto(f"{base}/docs", wait_until="networkidle")
            page.wait_for_selector(".opblock", timeout=20_000)
            summaries = page.locator(".opblock-summary-path").all_inner_texts()
            title = page.locator(".info .title").inner_text()
        finally:
            browser.close()
    assert asked_elsewhere == []
    assert "Wellspring API" in title
    paths = {text.replace("\u200b", "").strip() for text in summaries}
    assert "/v1/contacts/scan" in paths
    assert "/v1/events/{event_id}/check-ins" in paths
    assert len(summaries) >= 50


def test_docs_assets_are_served_by_the_app(anon):
    page = anon.get("/docs").get_data(as_text=True)
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in page
    assert "cdn" not in page.lower() and "https://" not in page
    asset = anon.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
