"""Push fixtures: the local provider servers, a configured worker, devices registered by API."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.push.allowlist import Allowlist
from services.push.delivery import PushWorker
from services.push.providers import PushConfig
from tests.support.push_servers import FakeAPNs, FakeFCM, FakeWebPush, vapid_key_pair


@pytest.fixture(scope="session")
def push_servers(tmp_path_factory):
    keys: Path = tmp_path_factory.mktemp("push-keys")
    apns, fcm, webpush = FakeAPNs().start(), FakeFCM().start(), FakeWebPush().start()
    webpush.vapid_public_key = vapid_key_pair(keys / "vapid.pem")
    env = {
        **apns.env(apns.write_key(keys / "AuthKey.p8")),
        **fcm.env(fcm.write_credentials(keys / "service-account.json")),
        "VAPID_PRIVATE_KEY_FILE": str(keys / "vapid.pem"),
        "VAPID_SUBJECT": "mailto:push@wellspring.test",
        "WEBPUSH_ENDPOINT_ALLOWLIST": f"{webpush.url}/push/",
    }
    yield {"apns": apns, "fcm": fcm, "webpush": webpush, "env": env}
    for server in (apns, fcm, webpush):
        server.stop()


@pytest.fixture
def providers(push_servers, app):
    """The servers, cleared; the app accepts the local Web Push endpoint meanwhile."""
    for name in ("apns", "fcm", "webpush"):
        push_servers[name].clear()
    saved = app.extensions["wellspring.push_allowlist"]
    app.extensions["wellspring.push_allowlist"] = Allowlist.parse(
        push_servers["env"]["WEBPUSH_ENDPOINT_ALLOWLIST"]
    )
    yield push_servers
    app.extensions["wellspring.push_allowlist"] = saved


@pytest.fixture
def worker(providers):
    pusher = PushWorker(PushConfig.from_mapping(providers["env"]))
    yield pusher
    pusher.close()
