"""What one throttle decision costs: statements and time, whatever the message history.

    .venv/bin/python bench/throttle_bench.py                      # SQLite (temporary file)
    .venv/bin/python bench/throttle_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The sender gets a long history first (50,000 messages over a year, 29 of them cold within the
last 24 h, one short of the daily cap), so a decision that scanned history would show it.
Measured: the decision itself as a send makes it (lock the pair, read counters and the
bounded rolling windows, decide; rolled back), for a new contact (cold: the caps apply, both
people are locked), a contact who wrote (no caps) and a conversation (burst window); then
whole requests through the app: GET allowance and a successful POST message.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import timedelta

from common import QueryCounter, describe_machine, summary, throwaway_database
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from api.auth import AUTHORITY
from services.accounts import sessions
from services.core.clock import SettableClock
from services.core.db import make_session_factory
from services.core.models import Contact, Message, User
from services.messaging.messaging import check_pair, lock_pair
from services.messaging.throttle import ThrottlePolicy
from tests.conftest import T0
from tests.support.live import committing_app
from tests.support.messaging_seed import seed_pairs

HISTORY = 50_000
RUNS = 300


def seed(engine):
    warm = seed_pairs(engine, T0, senders=1, recipients_per_sender=400, due_follow_ups=False)
    sender = warm.pairs[0][2]
    cold = seed_pairs(
        engine,
        T0,
        senders=1,
        recipients_per_sender=RUNS,
        due_follow_ups=False,
        recipients_wrote=False,
    )
    with Session(engine) as session:
        # the cold pairs belong to the same sender
        session.execute(
            update(Contact)
            .where(Contact.id.in_([p[0] for p in cold.pairs]))
            .values(owner_id=sender)
        )
        session.execute(
            update(Contact)
            .where(Contact.id.in_([p[1] for p in cold.pairs]))
            .values(other_id=sender)
        )
        connection_ids = dict(
            session.execute(
                Contact.__table__.select()
                .with_only_columns(Contact.other_id, Contact.connection_id)
                .where(Contact.owner_id == sender)
            ).all()
        )
        rows = []
        for index in range(HISTORY):
            recipient = warm.pairs[index % len(warm.pairs)][3]
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "connection_id": connection_ids[recipient],
                    "sender_id": sender,
                    "recipient_id": recipient,
                    "kind": "other",
                    "body": "history",
                    "cold": index < 29,
                    "sent_at": T0 - timedelta(minutes=30 * (index + 1)),
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(insert(Message), rows[start : start + 5000])
        # conversations: the first 100 warm recipients wrote an hour ago
        for mine, _theirs, _s, _r in warm.pairs[:100]:
            session.execute(
                update(Contact)
                .where(Contact.id == mine)
                .values(last_received_at=T0 - timedelta(hours=1))
            )
        session.commit()
    return sender, warm, cold


def decision_cost(engine, label, contact_ids) -> None:
    factory = make_session_factory(engine)
    policy = ThrottlePolicy()
    samples, statements, allowed = [], [], 0
    for contact_id in contact_ids:
        with factory() as session:
            side = session.get(Contact, contact_id)
            with QueryCounter(engine) as queries:
                started = time.perf_counter()
                decision, _state = check_pair(session, lock_pair(session, side), T0, policy)
                samples.append((time.perf_counter() - started) * 1000)
            statements.append(queries.count)
            allowed += decision.allowed
            session.rollback()
    print(
        f"  {label:<32} {min(statements)}-{max(statements)} statements, {summary(samples)}, "
        f"{allowed}/{len(contact_ids)} allowed"
    )


def request_cost(engine, label, call, count) -> None:
    samples, statements = [], []
    for index in range(count):
        with QueryCounter(engine) as queries:
            started = time.perf_counter()
            status = call(index)
            samples.append((time.perf_counter() - started) * 1000)
        statements.append(queries.count)
        assert status in (200, 201), status
    print(f"  {label:<32} {min(statements)}-{max(statements)} statements, {summary(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="SERVER_URL", help="PostgreSQL server URL")
    args = parser.parse_args()
    with throwaway_database(args.postgres) as engine:
        print(describe_machine(engine))
        sender, warm, cold = seed(engine)
        print(
            f"{engine.dialect.name}: sender with {HISTORY} messages of history, "
            f"{len(warm.pairs) + len(cold.pairs)} contacts (statements: COMMIT not counted, "
            "SQLite's BEGIN IMMEDIATE is)"
        )
        print("the decision (lock pair, read state, decide), per call:")
        decision_cost(engine, "new contact (cold, caps apply)", [p[0] for p in cold.pairs])
        decision_cost(engine, "contact who wrote (no caps)", [p[0] for p in warm.pairs[100:400]])
        decision_cost(engine, "in a conversation (burst)", [p[0] for p in warm.pairs[:100]] * 3)

        app = committing_app(engine, SettableClock(T0))
        with Session(engine) as session:
            token = sessions.start(
                session, app.extensions[AUTHORITY], session.get(User, sender), T0
            ).access_token
            session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        print("whole requests through the app (auth, decision, answer):")
        request_cost(
            engine,
            "GET allowance (new contact)",
            lambda i: client.get(
                f"/v1/contacts/{cold.pairs[i][0]}/allowance", headers=headers
            ).status_code,
            RUNS,
        )
        request_cost(
            engine,
            "POST message (contact who wrote)",
            lambda i: client.post(
                f"/v1/contacts/{warm.pairs[100 + i][0]}/messages",
                json={"body": "Hello again"},
                headers=headers,
            ).status_code,
            RUNS,
        )
        request_cost(
            engine,
            "POST message (new contact, cold)",
            lambda i: client.post(
                f"/v1/contacts/{cold.pairs[i][0]}/messages",
                json={"body": "Great to meet you"},
                headers=headers,
            ).status_code,
            1,  # the daily cap: one cold message left
        )


if __name__ == "__main__":
    main()
