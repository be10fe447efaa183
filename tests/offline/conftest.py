"""A committing app and a small event (Ada and Bo registered) for the offline-sync tests."""

from __future__ import annotations

import pytest

from api.extensions import limiter
from tests.support import ApiCaller, event_with_staff, new_user, register
from tests.support.live import committing_app


@pytest.fixture
def anon(engine, clock) -> ApiCaller:
    app = committing_app(engine, clock)
    limiter.reset()
    return ApiCaller(app.test_client())


@pytest.fixture
def meetup(anon):
    setup = event_with_staff(anon.client)
    ada = new_user(anon.client, display_name="Ada")
    bo = new_user(anon.client, display_name="Bo")
    assert bo.patch("/v1/me", json={"headline": "Builds boats"}).status_code == 200
    ada_reg = register(ada, setup.event_id)
    bo_reg = register(bo, setup.event_id)
    return setup, ada, bo, ada_reg, bo_reg
