"""Badge links: what a phone camera opens from a badge QR, and the files that let the OS hand
such a link to the installed app (iOS universal links, Android App Links).

Not part of the JSON API (no /v1, not in the OpenAPI document): a browser reads these.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json
from markupsafe import escape
from werkzeug.exceptions import NotFound

from api.db import db_session
from api.extensions import limiter, remote_address
from services.events import badges

blp = Blueprint("links", __name__)

APP_SCHEME = "wellspring"
BADGE_PATHS = "/b/*"

# The code is in the address: no referrer leaves it elsewhere, no search engine keeps the page,
# no proxy or browser cache keeps the holder's name; the page runs no script and loads nothing.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, sans-serif; margin: 0; background: #f4f6f8;
  color: #1d2733; display: flex; min-height: 100vh; align-items: center;
  justify-content: center; }}
main {{ background: #fff; border-radius: 16px; padding: 32px 28px; max-width: 420px;
  box-shadow: 0 2px 12px rgba(0, 0, 0, .08); text-align: center; }}
h1 {{ font-size: 1.5rem; margin: 0 0 .25rem; }}
p {{ margin: .5rem 0; color: #4a5766; }}
a.open {{ display: block; margin: 24px 0 12px; padding: 14px; border-radius: 10px;
  background: #0b6e4f; color: #fff; text-decoration: none; font-weight: 600; }}
.stores a {{ margin: 0 8px; color: #0b6e4f; }}
</style>
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""


def _stores() -> str:
    links = [
        (current_app.config.get("APP_STORE_URL"), "App Store"),
        (current_app.config.get("PLAY_STORE_URL"), "Google Play"),
    ]
    shown = [f'<a href="{escape(url)}" rel="noopener">{label}</a>' for url, label in links if url]
    if not shown:
        return ""
    return '<p class="stores">Get the app: ' + " ".join(shown) + "</p>"


def _page(title: str, body: str, status: int) -> Response:
    return Response(
        _PAGE.format(title=escape(title), body=body),
        status=status,
        mimetype="text/html",
        headers=_PAGE_HEADERS,
    )


@blp.route("/b/<string:badge_code>")
@limiter.limit(lambda: current_app.config["BADGE_PAGE_PER_IP"], key_func=remote_address)
def badge_page(badge_code: str) -> Response:
    """The badge's event and its holder's display name, and a link into the app."""
    holder = badges.badge_holder(db_session(), badge_code)
    if holder is None:
        return _page(
            "Badge not found",
            "<h1>Badge not found</h1>"
            "<p>This badge is not valid any more, or never was.</p>" + _stores(),
            404,
        )
    app_link = f"{APP_SCHEME}://b/{badge_code}"
    return _page(
        f"{holder.display_name} · {holder.event_name}",
        f"<h1>{escape(holder.display_name)}</h1>"
        f"<p>at {escape(holder.event_name)}</p>"
        f'<a class="open" href="{escape(app_link)}">Open in the Wellspring app</a>'
        "<p>Scan it in the app to exchange contacts.</p>" + _stores(),
        200,
    )


def _json(document) -> Response:
    return Response(
        json.dumps(document), mimetype="application/json", headers={"Cache-Control": "max-age=3600"}
    )


def _not_configured() -> Response:
    raise NotFound("Not configured on this deployment.")


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@blp.route("/.well-known/apple-app-site-association")
def apple_app_site_association() -> Response:
    """iOS universal links: the apps (TEAMID.bundle.id, from IOS_APP_IDS) that open /b/*."""
    app_ids = _split(current_app.config.get("IOS_APP_IDS"))
    if not app_ids:
        return _not_configured()
    return _json(
        {
            "applinks": {
                # iOS 13+ reads appIDs/components; older versions appID/paths.
                "apps": [],
                "details": [
                    {"appIDs": app_ids, "components": [{"/": BADGE_PATHS}]},
                    *({"appID": app_id, "paths": [BADGE_PATHS]} for app_id in app_ids),
                ],
            }
        }
    )


@blp.route("/.well-known/assetlinks.json")
def asset_links() -> Response:
    """Android App Links: the package (ANDROID_APP_PACKAGE) and its signing certificates
    (ANDROID_CERT_SHA256) allowed to handle this site's links."""
    package = (current_app.config.get("ANDROID_APP_PACKAGE") or "").strip()
    fingerprints = _split(current_app.config.get("ANDROID_CERT_SHA256"))
    if not package or not fingerprints:
        return _not_configured()
    return _json(
        [
            {
                "relation": ["delegate_permission/common.handle_all_urls"],
                "target": {
                    "namespace": "android_app",
                    "package_name": package,
                    "sha256_cert_fingerprints": fingerprints,
                },
            }
        ]
    )
