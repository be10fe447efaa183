"""The counters the stats read (migration 0006) agree with the rows they summarize.

`registrations.checked_in_at_door` and `exchange_count`, `connections.first_message_at` are
kept by the check-in, contact and messaging services; the migration fills them for data that
existed before. Both paths are compared with what the rows say, and with each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from services.core.clock import SettableClock
from services.core.db import READ_ONLY, make_engine
from services.core.migrations import alembic_config, upgrade_to_head
from services.core.models import DOOR, Attendance, Connection, Contact, Message, Registration
from tests.conftest import T0, _create_postgres_database, _drop_postgres_database
from tests.support import ApiCaller, event_with_staff, new_session, new_user, register
from tests.support.live import committing_app, run_at_once

MINUTE = timedelta(minutes=1)


@dataclass
class Scenario:
    event_id: str
    organizer: ApiCaller
    people: list[ApiCaller]
    expected_exchanges: dict[str, int]  # registration id -> exchanges counted on it
    first_messages: dict[frozenset[str], datetime]  # pair of user ids -> first message


def _tick(clock: SettableClock) -> datetime:
    return clock.advance(MINUTE)


def _exchange(clock, scanner: ApiCaller, badge: str, event_id: str) -> None:
    _tick(clock)
    response = scanner.post("/v1/contacts/scan", json={"badge": badge, "event_id": event_id})
    assert response.status_code == 201, response.get_json()


def _message(clock, db_scalar, sender: ApiCaller, recipient: ApiCaller, at: datetime) -> None:
    clock.set(at)
    contact_id = db_scalar(
        select(Contact.id).where(
            Contact.owner_id == uuid.UUID(sender.id), Contact.other_id == uuid.UUID(recipient.id)
        )
    )
    response = sender.post(f"/v1/contacts/{contact_id}/messages", json={"body": "Hello"})
    assert response.status_code == 201, response.get_json()


def build_scenario(client, clock: SettableClock, db_scalar) -> Scenario:
    """Door scans (one undone, one exit), a session scan, exchanges before and after check-in,
    someone who cancels and registers again between two exchanges, and messages."""
    setup = event_with_staff(client)
    event_id = setup.event_id
    people = [new_user(client, display_name=f"P{number}") for number in range(7)]
    registrations = [register(person, event_id) for person in people]
    badge = [registration["badge_code"] for registration in registrations]
    for index in range(5):
        _tick(clock)
        assert setup.scan(badge[index]).status_code == 201
    _tick(clock)
    mistaken = setup.scan(badge[4]).get_json()  # P4 again: the existing check-in
    assert setup.organizer.delete(f"/v1/check-ins/{mistaken['check_in_id']}").status_code == 204
    assert setup.scan(badge[3], direction="exit").status_code == 201
    talk = new_session(setup.organizer, event_id)
    assert setup.scan(badge[0], session_id=talk["id"]).status_code == 201

    p0, p1, p2, _p3, _p4, p5, p6 = people
    for scanner, other in ((p0, 1), (p0, 2), (p0, 3), (p1, 2), (p5, 0)):
        _exchange(clock, scanner, badge[other], event_id)
    _exchange(clock, p6, badge[0], event_id)  # counts on P6's first registration
    _tick(clock)
    assert p6.delete(f"/v1/registrations/{registrations[6]['id']}").status_code == 204
    _tick(clock)
    again = register(p6, event_id)
    _exchange(clock, p6, badge[1], event_id)  # counts on the new one
    _tick(clock)
    assert setup.scan(again["badge_code"]).status_code == 201

    sent = _tick(clock)
    _message(clock, db_scalar, p0, p1, sent)
    _message(clock, db_scalar, p1, p0, sent + timedelta(hours=1))  # a reply: not the first
    _message(clock, db_scalar, p2, p0, sent + timedelta(days=3))

    ids = [registration["id"] for registration in registrations]
    return Scenario(
        event_id=event_id,
        organizer=setup.organizer,
        people=people,
        expected_exchanges={
            ids[0]: 5,
            ids[1]: 3,
            ids[2]: 2,
            ids[3]: 1,
            ids[4]: 0,
            ids[5]: 1,
            ids[6]: 1,
            again["id"]: 1,
        },
        first_messages={
            frozenset((p0.id, p1.id)): sent,
            frozenset((p0.id, p2.id)): sent + timedelta(days=3),
        },
    )


def counters(scalars, event_id: str) -> dict:
    """What the counters hold for an event, keyed by registration and by pair."""
    event = uuid.UUID(event_id)
    registrations = {
        str(row.id): (row.checked_in_at_door, row.exchange_count)
        for row in scalars(select(Registration).where(Registration.event_id == event))
    }
    connections = {
        frozenset((str(row.user_a_id), str(row.user_b_id))): row.first_message_at
        for row in scalars(select(Connection).where(Connection.event_id == event))
    }
    return {"registrations": registrations, "connections": connections}


def assert_counters_match_the_rows(scalar, scalars, scenario: Scenario) -> None:
    event = uuid.UUID(scenario.event_id)
    held = counters(scalars, scenario.event_id)
    door = set(
        str(registration_id)
        for registration_id in scalars(
            select(Attendance.registration_id).where(
                Attendance.event_id == event, Attendance.place == DOOR
            )
        )
    )
    assert {rid: flag for rid, (flag, _count) in held["registrations"].items()} == {
        rid: rid in door for rid in held["registrations"]
    }
    assert {rid: count for rid, (_flag, count) in held["registrations"].items()} == (
        scenario.expected_exchanges
    )
    connections = scalar(
        select(func.count()).select_from(Connection).where(Connection.event_id == event)
    )
    assert sum(count for _flag, count in held["registrations"].values()) == 2 * connections
    for pair, first_message_at in held["connections"].items():
        user_a, user_b = (uuid.UUID(user_id) for user_id in pair)
        earliest = scalar(
            select(func.min(Message.sent_at)).where(
                Message.sender_id.in_([user_a, user_b]), Message.recipient_id.in_([user_a, user_b])
            )
        )
        assert first_message_at == earliest == scenario.first_messages.get(pair)


def test_the_services_keep_the_counters(anon, clock, db):
    scenario = build_scenario(anon.client, clock, db.scalar)
    assert_counters_match_the_rows(db.scalar, db.scalars, scenario)
    networking = scenario.organizer.get(f"/v1/events/{scenario.event_id}/stats").get_json()[
        "networking"
    ]
    assert networking == {
        "exchanges": 7,
        "networkers": 5,  # P0 5, P1 3, P2 2, P3 1 (left, still checked in), P6 again 1
        "networker_rate": 1.0,  # P4's only door scan was undone: 5 checked in
        "median_exchanges_per_networker": 2.0,
        "followed_up_within_7d_rate": 0.2857,  # P0-P1 and P0-P2 of 7
        "suppressed": False,
        "min_group_size": 5,
        "meetings": {"requested": 0, "accepted": 0, "held": 0},
    }


@pytest.fixture
def fresh_engine(tmp_path) -> Iterator[Engine]:
    """An empty database of the suite's kind, for migrating up and down."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if server_url:
        url, name = _create_postgres_database(server_url)
    else:
        url, name = f"sqlite:///{tmp_path / 'migrations.db'}", None
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if name:
        _drop_postgres_database(server_url, name)


def _migrate(engine: Engine, verb, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        verb(config, revision)


def test_the_migration_fills_the_counters_as_the_services_would(fresh_engine):
    upgrade_to_head(fresh_engine)
    clock = SettableClock(T0)
    app = committing_app(fresh_engine, clock)
    factory = app.extensions["wellspring.db"].session_factory

    def read_scalar(query):
        # A reading connection per lookup: on SQLite a session would hold the write lock.
        with fresh_engine.connect().execution_options(**READ_ONLY) as connection:
            return connection.scalar(query)

    scenario = build_scenario(app.test_client(), clock, read_scalar)
    with factory() as session:
        kept = counters(session.scalars, scenario.event_id)

    _migrate(fresh_engine, command.downgrade, "0005")
    _migrate(fresh_engine, command.upgrade, "head")

    with factory() as session:
        assert counters(session.scalars, scenario.event_id) == kept
        assert_counters_match_the_rows(session.scalar, session.scalars, scenario)


def test_exchanges_and_check_ins_at_once_count_every_pair_once(engine, is_postgres):
    """Everyone in a group scans everyone else while the door scans them: each registration
    ends with one exchange per other person, no update lost, no request failed."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    app = committing_app(engine, SettableClock(T0))
    client = app.test_client()
    setup = event_with_staff(client)
    people = [new_user(client) for _ in range(6)]
    registrations = [register(person, setup.event_id) for person in people]
    scans = [
        (people[first], registrations[second]["badge_code"])
        for one, other in combinations(range(len(people)), 2)
        for first, second in ((one, other), (other, one))
    ]
    door = [registration["badge_code"] for registration in registrations]

    def work(index: int) -> int:
        caller = app.test_client()
        if index < len(scans):
            scanner, badge = scans[index]
            path, body = "/v1/contacts/scan", {"badge": badge, "event_id": setup.event_id}
        else:
            scanner, badge = setup.staff, door[index - len(scans)]
            path, body = f"/v1/events/{setup.event_id}/check-ins", {"badge": badge}
        response = caller.post(
            path, json=body, headers={"Authorization": f"Bearer {scanner.token}"}
        )
        return response.status_code

    statuses = run_at_once(len(scans) + len(door), work)
    assert sorted(statuses[: len(scans)]) == [200] * 15 + [201] * 15
    assert statuses[len(scans) :] == [201] * len(door)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Registration.checked_in_at_door, Registration.exchange_count).where(
                Registration.event_id == uuid.UUID(setup.event_id)
            )
        ).all()
    assert sorted(rows) == [(True, 5)] * len(people)
