"""Issue 12, points 3 and 6, on PostgreSQL with real threads and a real, killed process.

- Idempotency is atomic: a worker killed after the work but before the stored answer leaves
  nothing done, so the retry does the work once and its answer is the one replayed after.
- Erasing an account while someone writes to it never deadlocks into a 5xx.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from api.auth import AUTHORITY
from services.core.clock import SettableClock, SystemClock
from services.core.models import Contact, IdempotencyRecord, Message
from tests.conftest import T0
from tests.support import event_with_staff, new_user, register
from tests.support.live import committing_app, gunicorn_server, http_json, run_at_once
from tests.support.messaging_seed import delete_users, seed_pairs

STRONG_SECRET = "s" * 48


def _wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_between_the_work_and_the_answer_leaves_nothing_done(
    postgres, engine, database_url
):
    # Signed tokens: the app that signs them and the server that checks them share the key.
    app = committing_app(engine, SystemClock(), SECRET_KEY=STRONG_SECRET)
    client = app.test_client()
    now = datetime.now(UTC)
    setup = event_with_staff(
        client,
        starts_at=(now - timedelta(minutes=30)).isoformat(),
        ends_at=(now + timedelta(hours=8)).isoformat(),
    )
    ann, bob = new_user(client), new_user(client)
    register(ann, setup.event_id)
    bob_badge = register(bob, setup.event_id)["badge_code"]
    ann_side = ann.post(
        "/v1/contacts/scan", json={"badge": bob_badge, "event_id": setup.event_id}
    ).get_json()["id"]
    bob_side = bob.get("/v1/contacts").get_json()["items"][0]["id"]
    # Bob writes first, so they are in a conversation: Ann may write again at once.
    assert bob.post(f"/v1/contacts/{bob_side}/messages", json={"body": "hi"}).status_code == 201
    with engine.connect() as conn:
        connection_id = conn.scalar(
            select(Contact.connection_id).where(Contact.id == uuid.UUID(ann_side))
        )

    def messages() -> int:
        with engine.connect() as conn:
            return conn.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.connection_id == connection_id)
            )

    def ann_record():
        with engine.connect() as conn:
            return conn.execute(
                select(IdempotencyRecord.id, IdempotencyRecord.state).where(
                    IdempotencyRecord.user_id == uuid.UUID(ann.id),
                    IdempotencyRecord.key == "ann-send-1",
                )
            ).first()

    path = f"/v1/contacts/{ann_side}/messages"
    body = {"body": "Thanks for the chat!"}
    key = {"Idempotency-Key": "ann-send-1"}
    with gunicorn_server(database_url, SECRET_KEY=STRONG_SECRET) as server:
        pair_lock = engine.connect()
        answer_lock = engine.connect()
        try:
            pair_lock.begin()
            pair_lock.execute(
                text("SELECT id FROM connections WHERE id = :id FOR UPDATE"),
                {"id": connection_id},
            )
            outcome: list = []

            def first_attempt():
                try:
                    outcome.append(http_json("POST", server.base_url + path, body, ann.token, key))
                except OSError as error:  # the worker dies under it
                    outcome.append(error)

            thread = threading.Thread(target=first_attempt, daemon=True)
            thread.start()
            _wait_for(lambda: ann_record() is not None, "the claimed key")
            record_id = ann_record()[0]
            answer_lock.begin()
            answer_lock.execute(
                text("SELECT id FROM idempotency_records WHERE id = :id FOR UPDATE"),
                {"id": record_id},
            )
            pair_lock.rollback()  # the send goes ahead, does its work, then waits to answer

            def waiting_to_answer() -> bool:
                with engine.connect() as conn:
                    return bool(
                        conn.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
                                " 'Lock' AND query ILIKE 'UPDATE idempotency_records%'"
                            )
                        )
                    )

            _wait_for(waiting_to_answer, "the request to wait before storing its answer")
            workers = server.worker_pids()
            assert len(workers) == 1
            os.kill(workers[0], signal.SIGKILL)
            thread.join(timeout=30)
            answer_lock.rollback()

            def released() -> bool:
                with engine.connect() as conn:
                    try:
                        conn.execute(
                            text(
                                "SELECT id FROM idempotency_records WHERE id = :id"
                                " FOR UPDATE NOWAIT"
                            ),
                            {"id": record_id},
                        )
                        return True
                    except Exception:
                        return False

            _wait_for(released, "the killed request's transaction to end")
        finally:
            pair_lock.close()
            answer_lock.close()
        # The lease of the dead request runs out (60 s), without waiting for it.
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE idempotency_records SET created_at = created_at - interval '61 seconds'"
                    " WHERE id = :id"
                ),
                {"id": record_id},
            )
        server.wait_until_serving(1)
        status, retried = http_json("POST", server.base_url + path, body, ann.token, key)
        assert status == 201, retried
        assert messages() == 2  # Bob's, and Ann's once
        status, replayed = http_json("POST", server.base_url + path, body, ann.token, key)
        assert status == 201 and replayed["id"] == retried["id"]
        assert messages() == 2


@pytest.mark.postgres
def test_erasing_an_account_while_it_is_written_to_never_answers_5xx(postgres, engine):
    """Erase locks the person's plans, a send to them their contact then those plans: with two
    lock orders they deadlocked (a 500). One order, and transient conflicts are retried."""
    clock = SettableClock(T0)
    apps = [committing_app(engine, clock) for _ in range(2)]
    seeded = seed_pairs(engine, T0, senders=30, recipients_per_sender=1, as_plans=True)
    # Access tokens are signed, not stored: mint one per seeded person (a sign-in row is only
    # needed to refresh).
    access = apps[0].extensions[AUTHORITY].access
    tokens = {user_id: access.issue(user_id, uuid.uuid4(), T0) for user_id in seeded.user_ids}
    statuses: Counter = Counter()
    try:
        for _mine, theirs, planner, recipient in seeded.pairs:
            # `planner` has a plan toward `recipient`; `recipient` writes back while `planner`
            # erases their account.
            def work(index, theirs=theirs, planner=planner, recipient=recipient):
                client = apps[index].test_client()
                if index == 0:
                    response = client.delete(
                        "/v1/me", headers={"Authorization": f"Bearer {tokens[planner]}"}
                    )
                else:
                    response = client.post(
                        f"/v1/contacts/{theirs}/messages",
                        json={"body": "Likewise!"},
                        headers={"Authorization": f"Bearer {tokens[recipient]}"},
                    )
                return response.status_code

            statuses.update(run_at_once(2, work))
    finally:
        delete_users(engine, seeded.user_ids)
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[204] == len(seeded.pairs)
