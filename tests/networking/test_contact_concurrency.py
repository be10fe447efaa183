"""Two people scanning each other at the same moment make one connection, not two."""

import uuid

import pytest
from sqlalchemy import func, select

from services.core.clock import SettableClock
from services.core.models import Connection, Contact
from services.networking.contacts import ordered_pair
from tests.conftest import T0
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, run_at_once


@pytest.mark.parametrize("round_", range(3))
def test_mutual_scans_at_the_same_moment(engine, is_postgres, round_):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    setup = event_with_staff(app.test_client())
    ada, bo = new_user(app.test_client()), new_user(app.test_client())
    badges = {
        ada.id: register(ada, setup.event_id)["badge_code"],
        bo.id: register(bo, setup.event_id)["badge_code"],
    }
    pairs = [(ada, badges[bo.id]), (bo, badges[ada.id])] * 4  # each side scans 4 times at once

    def scan(index):
        scanner, badge = pairs[index]
        response = app.test_client().post(
            "/v1/contacts/scan",
            json={"badge": badge, "event_id": setup.event_id},
            headers={"Authorization": f"Bearer {scanner.token}"},
        )
        return response.status_code

    statuses = run_at_once(len(pairs), scan)
    assert sorted(statuses) == [200] * 7 + [201]
    user_a, user_b = ordered_pair(uuid.UUID(ada.id), uuid.UUID(bo.id))
    with engine.connect() as conn:
        assert (
            conn.scalar(
                select(func.count())
                .select_from(Connection)
                .where(Connection.user_a_id == user_a, Connection.user_b_id == user_b)
            )
            == 1
        )
        assert (
            conn.scalar(
                select(func.count())
                .select_from(Contact)
                .where(Contact.owner_id.in_([user_a, user_b]))
            )
            == 2
        )
