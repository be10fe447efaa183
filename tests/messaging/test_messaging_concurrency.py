"""Messages and follow-up delivery under real concurrency (committing apps, threads, processes).

The policy must let exactly one of N parallel sends through when it allows one, also across
pairs for the rolling caps; delivery workers must send each follow-up exactly once, even when
one of them is killed in the middle of a delivery.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from services.checkin.checkins import BadgeScan
from services.core.clock import SettableClock
from services.core.db import make_engine, make_session_factory
from services.core.migrations import upgrade_to_head
from services.core.models import Contact, FollowUp, FollowUpPlan, Message, User
from services.messaging.delivery import deliver_due_follow_ups
from services.messaging.throttle import ThrottlePolicy
from services.networking.contacts import exchange_by_scan
from tests.conftest import T0
from tests.support import ApiCaller, new_event, new_user, register
from tests.support.live import committing_app, run_at_once
from tests.support.messaging_seed import seed_pairs
from tests.support.messaging_support import side_id

POLICY = ThrottlePolicy()


def _person(app, cleanup) -> ApiCaller:
    person = new_user(app.test_client())
    cleanup.append(uuid.UUID(person.id))
    return person


def _connect(app, a: ApiCaller, b: ApiCaller) -> tuple[str, str]:
    """Connect a and b through the real exchange, committed; their contact ids."""
    event = new_event(a)
    register(a, event["id"])
    badge = register(b, event["id"])["badge_code"]
    factory = app.extensions["wellspring.db"].session_factory
    with factory() as session:
        exchange_by_scan(
            session,
            scanner=session.get(User, uuid.UUID(a.id)),
            event_id=uuid.UUID(event["id"]),
            scan=BadgeScan(badge=badge),
            note=None,
            now=T0,
        )
        return side_id(session, a.id, b.id), side_id(session, b.id, a.id)


def _send(app, sender: ApiCaller, contact_id: str, body: str = "Hello"):
    response = app.test_client().post(
        f"/v1/contacts/{contact_id}/messages",
        json={"body": body},
        headers={"Authorization": f"Bearer {sender.token}"},
    )
    return response.status_code, (response.get_json() or {}).get("reason")


def _messages_between(engine, contact_id: str) -> int:
    with engine.connect() as conn:
        connection_id = conn.scalar(
            select(Contact.connection_id).where(Contact.id == uuid.UUID(contact_id))
        )
        return conn.scalar(
            select(func.count()).select_from(Message).where(Message.connection_id == connection_id)
        )


def _twenty_sends_to_one_new_contact(apps, cleanup, engine):
    a, b = _person(apps[0], cleanup), _person(apps[0], cleanup)
    a_contact, _ = _connect(apps[0], a, b)
    results = run_at_once(20, lambda i: _send(apps[i % 2], a, a_contact))
    assert Counter(results) == {(201, None): 1, (429, "min_gap"): 19}
    assert _messages_between(engine, a_contact) == 1
    with engine.connect() as conn:
        sent, streak = conn.execute(
            select(Contact.sent_count, Contact.unanswered_streak).where(
                Contact.id == uuid.UUID(a_contact)
            )
        ).one()
    assert (sent, streak) == (1, 1)


def test_20_threads_through_two_app_instances_send_exactly_one_on_postgresql(
    postgres, engine, second_engine, cleanup
):
    clock = SettableClock(T0)
    apps = [committing_app(engine, clock), committing_app(second_engine, clock)]
    _twenty_sends_to_one_new_contact(apps, cleanup, engine)


def test_20_threads_through_two_app_instances_send_exactly_one_on_sqlite(tmp_dir):
    url = f"sqlite:///{tmp_dir / 'sends.db'}"
    engines = [make_engine(url), make_engine(url)]
    upgrade_to_head(engines[0])
    clock = SettableClock(T0)
    apps = [committing_app(e, clock) for e in engines]
    _twenty_sends_to_one_new_contact(apps, [], engines[0])
    for e in engines:
        e.dispose()


@pytest.mark.parametrize("cap", ["THROTTLE_DAILY_COLD_CAP", "THROTTLE_RECIPIENT_COLD_CAP"])
def test_rolling_caps_hold_across_pairs_under_concurrency(
    postgres, engine, second_engine, cleanup, cap
):
    """Different pairs don't share a pair lock; the per-person lock keeps the caps exact."""
    clock = SettableClock(T0)
    apps = [committing_app(e, clock, **{cap: 3}) for e in (engine, second_engine)]
    hub = _person(apps[0], cleanup)
    others = [_person(apps[0], cleanup) for _ in range(8)]
    if cap == "THROTTLE_DAILY_COLD_CAP":  # one sender, eight new contacts
        sends = [(hub, _connect(apps[0], hub, other)[0]) for other in others]
        refusal = "daily_cap"
    else:  # eight senders, one recipient
        sends = [(other, _connect(apps[0], other, hub)[0]) for other in others]
        refusal = "recipient_busy"
    results = run_at_once(8, lambda i: _send(apps[i % 2], *sends[i]))
    assert Counter(results) == {(201, None): 3, (429, refusal): 5}
    with engine.connect() as conn:
        column = Message.sender_id if refusal == "daily_cap" else Message.recipient_id
        assert conn.scalar(select(func.count()).where(column == uuid.UUID(hub.id))) == 3


def test_both_people_writing_at_once_never_deadlock(postgres, engine, second_engine, cleanup):
    clock = SettableClock(T0)
    apps = [committing_app(engine, clock), committing_app(second_engine, clock)]
    a, b = _person(apps[0], cleanup), _person(apps[0], cleanup)
    a_contact, b_contact = _connect(apps[0], a, b)
    assert _send(apps[0], a, a_contact)[0] == 201
    assert _send(apps[0], b, b_contact)[0] == 201
    clock.advance(timedelta(minutes=1))
    # both in a conversation now: 8 each way (under the burst limit), all at once
    work = [(a, a_contact), (b, b_contact)] * 8
    results = run_at_once(16, lambda i: _send(apps[i % 2], *work[i]))
    assert Counter(results) == {(201, None): 16}
    with engine.connect() as conn:
        rows = conn.execute(
            select(Contact.sent_count, Contact.received_count).where(
                Contact.id.in_([uuid.UUID(a_contact), uuid.UUID(b_contact)])
            )
        ).all()
    assert sorted(rows) == [(9, 9), (9, 9)]


# Delivery workers -----------------------------------------------------------------------------


def _statuses(engine, follow_up_ids) -> Counter:
    with engine.connect() as conn:
        return Counter(
            conn.scalars(select(FollowUp.status).where(FollowUp.id.in_(follow_up_ids))).all()
        )


def _assert_each_delivered_once(engine, seeded) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(FollowUp.status, FollowUp.message_id, FollowUp.contact_id).where(
                FollowUp.id.in_(seeded.follow_up_ids)
            )
        ).all()
        senders = [pair[2] for pair in seeded.pairs]
        messages = conn.execute(
            select(Message.id, Message.sender_id, Message.recipient_id).where(
                Message.sender_id.in_(senders)
            )
        ).all()
        sent_counts = conn.scalars(
            select(Contact.sent_count).where(Contact.id.in_([p[0] for p in seeded.pairs]))
        ).all()
    assert Counter(status for status, _, _ in rows) == {"sent": len(seeded.follow_up_ids)}
    assert len(messages) == len(seeded.follow_up_ids)  # no duplicates, none lost
    assert {message_id for _, message_id, _ in rows} == {m.id for m in messages}
    assert len({(m.sender_id, m.recipient_id) for m in messages}) == len(messages)
    assert set(sent_counts) == {1}


def test_two_workers_deliver_1000_follow_ups_exactly_once_on_postgresql(
    postgres, engine, second_engine, cleanup
):
    seeded = seed_pairs(engine, T0, senders=50, recipients_per_sender=20)
    cleanup.extend(seeded.user_ids)
    factories = [make_session_factory(e) for e in (engine, second_engine)]
    clock = SettableClock(T0)
    reports = run_at_once(
        2, lambda i: deliver_due_follow_ups(factories[i], clock, POLICY, batch=5000)
    )
    assert sum(r.delivered for r in reports) == 1000
    assert all(r.delivered > 0 for r in reports), reports  # both really worked
    assert sum(r.failed + r.skipped + r.requeued for r in reports) == 0
    _assert_each_delivered_once(engine, seeded)


def test_a_worker_killed_mid_delivery_loses_and_duplicates_nothing(
    postgres, engine, database_url, cleanup
):
    seeded = seed_pairs(engine, T0, senders=50, recipients_per_sender=20)
    cleanup.extend(seeded.user_ids)
    from tests.support.delivery_process import deliver_until_the_nth_commit_then_hang

    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    worker = spawn.Process(
        target=deliver_until_the_nth_commit_then_hang,
        args=(database_url, T0.isoformat(), 300, report),
    )
    worker.start()
    try:
        backend_pid, in_flight = report.get(timeout=300)
        # Hung inside its 300th delivery: 299 committed, one written but not committed.
        assert _statuses(engine, seeded.follow_up_ids) == {"sent": 299, "scheduled": 701}
        assert len(in_flight) == 1
        # Another worker meanwhile delivers everything but the one the hung worker holds.
        clock = SettableClock(T0)
        rescuer = make_session_factory(engine)
        meanwhile = deliver_due_follow_ups(rescuer, clock, POLICY, batch=5000)
        assert meanwhile.delivered == 700
        assert _statuses(engine, in_flight) == {"scheduled": 1}
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=30)
        assert worker.exitcode == -signal.SIGKILL
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
    _wait_for_backend_to_end(engine, backend_pid)
    # Its transaction rolled back with the connection: the follow-up is due again.
    after = deliver_due_follow_ups(rescuer, clock, POLICY, batch=5000)
    assert after.delivered == 1
    _assert_each_delivered_once(engine, seeded)


def _wait_for_backend_to_end(engine, backend_pid: int) -> None:
    """PostgreSQL ends a dead client's session when it notices the closed socket."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            alive = conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": backend_pid},
            )
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {backend_pid} still alive a minute after its client died")


def test_workers_and_replies_at_once_never_deadlock_and_replies_win(
    postgres, engine, second_engine, cleanup
):
    """Each recipient replies while two workers deliver the sender's gentle plans: every plan
    ends cancelled by the reply; its thank_you went out before the reply or not at all."""
    seeded = seed_pairs(engine, T0, senders=10, recipients_per_sender=20, as_plans=True)
    cleanup.extend(seeded.user_ids)
    clock = SettableClock(T0)
    app = committing_app(second_engine, clock)
    with app.app_context():
        from api.auth import AUTHORITY
        from services.accounts import sessions

        authority = app.extensions[AUTHORITY]
        factory = app.extensions["wellspring.db"].session_factory
        with factory() as session:
            tokens = [
                sessions.start(session, authority, session.get(User, pair[3]), T0).access_token
                for pair in seeded.pairs
            ]
            session.commit()
    factories = [make_session_factory(e) for e in (engine, second_engine)]

    def work(index: int):
        if index < 2:
            return deliver_due_follow_ups(factories[index], clock, POLICY, batch=5000)
        statuses = []
        for pair, token in list(zip(seeded.pairs, tokens, strict=True))[index - 2 :: 4]:
            response = app.test_client().post(
                f"/v1/contacts/{pair[1]}/messages",
                json={"body": "Thanks, got it!"},
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(response.status_code)
        return statuses

    results = run_at_once(6, work)
    assert sum(r.failed for r in results[:2]) == 0
    assert Counter(s for statuses in results[2:] for s in statuses) == {201: 200}
    with engine.connect() as conn:
        plans = Counter(
            conn.execute(
                select(FollowUpPlan.status, FollowUpPlan.status_reason).where(
                    FollowUpPlan.id.in_(seeded.plan_ids)
                )
            ).all()
        )
        items = conn.execute(
            select(FollowUp.kind, FollowUp.status, FollowUp.status_reason).where(
                FollowUp.plan_id.in_(seeded.plan_ids)
            )
        ).all()
    assert plans == {("cancelled", "contact_replied"): 200}
    assert {(s, r) for k, s, r in items if k == "offer"} == {("cancelled", "contact_replied")}
    assert {(s, r) for k, s, r in items if k == "thank_you"} <= {
        ("sent", None),
        ("cancelled", "contact_replied"),
    }
    delivered = sum(r.delivered for r in results[:2])
    with engine.connect() as conn:
        messages = conn.scalar(
            select(func.count()).where(Message.sender_id.in_([p[2] for p in seeded.pairs]))
        )
    assert messages == delivered


def test_two_workers_on_sqlite_take_turns_and_deliver_each_once(tmp_dir):
    """No SKIP LOCKED on SQLite: BEGIN IMMEDIATE makes each claim-and-deliver exclusive."""
    url = f"sqlite:///{tmp_dir / 'workers.db'}"
    engines = [make_engine(url), make_engine(url)]
    upgrade_to_head(engines[0])
    seeded = seed_pairs(engines[0], T0, senders=10, recipients_per_sender=20)
    clock = SettableClock(T0)
    factories = [make_session_factory(e) for e in engines]
    reports = run_at_once(
        2, lambda i: deliver_due_follow_ups(factories[i], clock, POLICY, batch=5000)
    )
    assert sum(r.delivered for r in reports) == 200
    assert sum(r.failed for r in reports) == 0
    _assert_each_delivered_once(engines[0], seeded)
    for e in engines:
        e.dispose()


def test_the_worker_loop_command_delivers_and_stops_on_sigterm(tmp_dir):
    """`flask --app api deliver-follow-ups --loop` (the older name of `deliver`, which `make
    worker` runs), on the real clock."""
    url = f"sqlite:///{tmp_dir / 'loop.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    seeded = seed_pairs(engine, T0, senders=2, recipients_per_sender=5)  # due since T0
    with engine.begin() as conn:  # the real time of day must not fall in quiet hours
        conn.execute(
            User.__table__.update().values(quiet_hours_start="00:00", quiet_hours_end="00:00")
        )
    command = [sys.executable, "-m", "flask", "--app", "api", "deliver-follow-ups", "--loop"]
    worker = subprocess.Popen(
        [*command, "--interval", "0.2"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DATABASE_URL": url, "WELLSPRING_ENV": "development"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _statuses(engine, seeded.follow_up_ids) != {"sent": 10}:
            assert worker.poll() is None, worker.stdout.read()
            assert time.monotonic() < deadline, "the worker delivered nothing in a minute"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    banner = worker.stdout.read()
    assert "delivering expired-idempotency-answers, sync-log-compaction, follow-ups" in banner
    assert "every 0.2 s" in banner
    _assert_each_delivered_once(engine, seeded)
    engine.dispose()


def test_a_worker_gives_way_to_a_request_holding_the_pair(postgres, engine, cleanup):
    """A lock held elsewhere (an API request, say) makes the worker pass the follow-up over
    after LOCK_TIMEOUT instead of waiting, so it can never deadlock a request."""
    seeded = seed_pairs(engine, T0, senders=1, recipients_per_sender=2)
    cleanup.extend(seeded.user_ids)
    held, free = seeded.follow_up_ids
    factory = make_session_factory(engine)
    clock = SettableClock(T0)
    with engine.connect() as other:
        transaction = other.begin()
        other.execute(select(Contact.id).where(Contact.id == seeded.pairs[0][0]).with_for_update())
        report = deliver_due_follow_ups(factory, clock, POLICY, batch=10)
        assert (report.delivered, report.busy, report.failed) == (1, 1, 0)
        assert _statuses(engine, [held]) == {"scheduled": 1}
        assert _statuses(engine, [free]) == {"sent": 1}
        transaction.rollback()
    assert deliver_due_follow_ups(factory, clock, POLICY, batch=10).delivered == 1
    _assert_each_delivered_once(engine, seeded)
