"""Streamed responses read the database while the body is sent: check them through a real
server, where the request's session is closed before the stream is consumed."""

import urllib.request

import vobject

from services.core.clock import SettableClock
from services.core.db import make_engine
from services.core.migrations import upgrade_to_head
from tests.conftest import T0
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, live_server


def test_all_contacts_vcf_streams_through_a_live_server(tmp_dir):
    engine = make_engine(f"sqlite:///{tmp_dir / 'vcf.db'}")
    upgrade_to_head(engine)
    app = committing_app(engine, SettableClock(T0))
    client = app.test_client()
    setup = event_with_staff(client)
    ada = new_user(client)
    register(ada, setup.event_id)
    for index in range(3):
        person = new_user(client, display_name=f"Person {index}")
        badge = register(person, setup.event_id)["badge_code"]
        ada.post("/v1/contacts/scan", json={"badge": badge, "event_id": setup.event_id})
    with live_server(app) as base_url:
        request = urllib.request.Request(
            f"{base_url}/v1/contacts.vcf", headers={"Authorization": f"Bearer {ada.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
    names = sorted(card.fn.value for card in vobject.readComponents(text))
    assert names == ["Person 0", "Person 1", "Person 2"]
    engine.dispose()
