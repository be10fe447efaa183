"""The change log and the watermarks stop growing, and no phone notices (offline/compaction).

Watermarks are stamped with the wall clock (the `timestamp` a pull answers), so a pass is run
"a month later" by handing it that instant rather than by waiting.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.worker import delivery_steps
from services.core.db import READ_ONLY, make_session_factory
from services.core.models import SyncChange, SyncWatermark
from services.offline.compaction import DEFAULT_RETENTION, compact_change_log
from services.offline.tracking import from_ms
from tests.offline.mirror import Mirror
from tests.offline.phone import assert_converged, pull, scan_contact, sync
from tests.support import new_user, register
from tests.support.live import committing_app


def wall_clock() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def sessions(engine):
    return (
        make_session_factory(engine.execution_options(**READ_ONLY)),
        make_session_factory(engine),
    )


def log_rows(engine, scope: str) -> list[tuple[str, uuid.UUID]]:
    with engine.connect() as connection:
        return [
            (tbl, row_id)
            for tbl, row_id in connection.execute(
                select(SyncChange.tbl, SyncChange.row_id).where(
                    SyncChange.scope == uuid.UUID(scope)
                )
            )
        ]


def watermarks(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(SyncWatermark.at_ms)).scalars())


def test_compaction_leaves_one_row_per_record_and_every_phone_converges(engine, sessions, meetup):
    setup, ada, bo, _ada_reg, bo_reg = meetup
    cy = new_user(ada.client, display_name="Cy")
    cy_reg = register(cy, setup.event_id)
    bo_contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    cy_contact = scan_contact(ada, setup.event_id, cy_reg["badge_code"])
    silent = Mirror()  # a phone that will not sync again for a month
    sync(ada, silent)
    for round_ in range(6):
        note = {"note": f"note {round_}"}
        assert ada.patch(f"/v1/contacts/{bo_contact['id']}", json=note).status_code == 200
        assert bo.patch("/v1/me", json={"headline": f"headline {round_}"}).status_code == 200
    assert ada.delete(f"/v1/contacts/{cy_contact['id']}").status_code == 204
    pull(ada)  # another phone's pull: the floor the passes below settle on
    busy = Mirror()  # a phone that syncs every day
    sync(ada, busy)
    assert ada.patch(f"/v1/contacts/{bo_contact['id']}", json={"note": "after"}).status_code == 200
    expected = pull(ada, busy.last_pulled_at)["changes"]
    before = log_rows(engine, ada.id)
    assert len(before) > len(set(before))  # the same records logged many times

    # A month after the busy phone's pull: every older watermark is past the retention.
    month_later = from_ms(busy.last_pulled_at) + DEFAULT_RETENTION
    read, write = sessions
    first = compact_change_log(read, write, month_later)
    assert first.watermarks_removed > 0 and first.floor_ms <= silent.last_pulled_at
    assert silent.last_pulled_at not in watermarks(engine)
    assert busy.last_pulled_at in watermarks(engine)
    # The log is compacted only below a floor an earlier pass set: Bo's contact row, logged
    # 13 times before the other phone's pull and once after, is compacted by the second pass.
    bo_row = ("contacts", uuid.UUID(bo_contact["id"]))
    assert log_rows(engine, ada.id).count(bo_row) == before.count(bo_row) == 14
    second = compact_change_log(read, write, month_later)
    assert second.changes_removed > 0 and second.watermarks_removed == 0
    assert log_rows(engine, ada.id).count(bo_row) == 2
    after = log_rows(engine, ada.id)
    assert len(after) < len(before) and set(after) == set(before)
    assert compact_change_log(read, write, month_later).changes_removed == 0

    # The phone whose watermark is kept gets the same answer as before.
    assert pull(ada, busy.last_pulled_at)["changes"] == expected
    sync(ada, busy)
    assert_converged(ada, busy)
    # The silent phone's watermark is gone: it is sent every record of its log, the removed
    # contact in `deleted`, and ends equal to the server.
    answer = sync(ada, silent)
    assert cy_contact["id"] in answer["changes"]["contacts"]["deleted"]
    assert silent.tables["contacts"].keys() == {bo_contact["id"]}
    assert silent.tables["contacts"][bo_contact["id"]]["note"] == "after"
    assert silent.tables["contacts"][bo_contact["id"]]["headline"] == "headline 5"
    assert_converged(ada, silent)


def test_a_push_from_a_phone_older_than_the_floor_is_a_conflict_then_succeeds(sessions, meetup):
    setup, ada, _bo, _ada_reg, bo_reg = meetup
    contact = scan_contact(ada, setup.event_id, bo_reg["badge_code"])
    phone = Mirror()
    sync(ada, phone)
    pull(ada)  # another phone, later
    read, write = sessions
    month_later = wall_clock() + DEFAULT_RETENTION + timedelta(days=1)
    compact_change_log(read, write, month_later)
    compact_change_log(read, write, month_later)
    edit = {
        "contacts": {
            "created": [],
            "updated": [{"id": contact["id"], "note": "offline"}],
            "deleted": [],
        }
    }
    stale = ada.post(f"/v1/sync/push?last_pulled_at={phone.last_pulled_at}", json=edit)
    # The log can no longer say what changed since: the app pulls and pushes again.
    assert stale.status_code == 409, stale.get_json()
    sync(ada, phone)
    fresh = ada.post(f"/v1/sync/push?last_pulled_at={phone.last_pulled_at}", json=edit)
    assert fresh.status_code == 204, fresh.get_json()
    sync(ada, phone)
    assert phone.tables["contacts"][contact["id"]]["note"] == "offline"


def test_the_worker_compacts_at_most_once_a_day(engine, clock):
    app = committing_app(engine, clock)
    (step,) = [s for s in delivery_steps(app) if s.name == "sync-log-compaction"]
    user = new_user(app.test_client(), display_name="Dee")
    pull(user)
    clock.set(wall_clock() + DEFAULT_RETENTION + timedelta(days=1))
    stop = threading.Event()
    assert step.run(stop).handled == 0  # housekeeping never keeps the loop spinning
    pull(user)
    pull(user)
    assert len(watermarks(engine)) >= 2
    clock.advance(timedelta(hours=23, minutes=59))
    step.run(stop)
    assert len(watermarks(engine)) >= 2  # within the day: not run again
    clock.advance(timedelta(minutes=2))
    step.run(stop)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(SyncWatermark)) == 1
