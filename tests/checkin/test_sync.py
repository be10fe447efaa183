import random
import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from services.core.models import Attendance, CheckIn, Connection, Registration, ScanReceipt, User
from tests.support import (
    add_staff,
    assert_problem,
    event_with_staff,
    new_event,
    new_session,
    new_user,
    register,
)


def _counts(db):
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (CheckIn, Connection, ScanReceipt)
    )


def test_500_scans_with_replays_sent_twice(anon, db):
    setup = event_with_staff(anon.client)
    scanner = setup.staff
    register(scanner, setup.event_id)  # staff who also attends, so it can exchange contacts
    people = [new_user(anon.client) for _ in range(120)]
    badges = [register(person, setup.event_id)["badge_code"] for person in people]
    rng = random.Random(7)
    unique = []
    for i in range(350):
        kind = "check_in" if i < 250 else "contact"
        unique.append(
            {
                "client_scan_id": str(uuid.uuid4()),
                "kind": kind,
                "event_id": setup.event_id,
                "badge": rng.choice(badges),
                "scanned_at": f"2026-06-01T08:{rng.randrange(60):02d}:00Z",
            }
        )
    replays = [dict(rng.choice(unique)) for _ in range(150)]  # 30% replays inside the batch
    batch = unique + replays
    rng.shuffle(batch)
    before = _counts(db)

    first = scanner.post("/v1/sync/scans", json={"scans": batch})
    assert first.status_code == 200, first.get_json()
    results = first.get_json()["results"]
    assert [r["client_scan_id"] for r in results] == [s["client_scan_id"] for s in batch]
    checked_in = {s["badge"] for s in unique if s["kind"] == "check_in"}
    connected = {s["badge"] for s in unique if s["kind"] == "contact"}
    after_first = _counts(db)
    assert after_first[0] - before[0] == len(checked_in)
    assert after_first[1] - before[1] == len(connected)
    assert after_first[2] - before[2] == len(unique)
    statuses = {r["status"] for r in results}
    assert statuses <= {"checked_in", "already_checked_in", "connected", "duplicate"}
    assert sum(r["status"] == "checked_in" for r in results) == len(checked_in)

    second = scanner.post("/v1/sync/scans", json={"scans": batch})
    assert second.status_code == 200
    assert {r["status"] for r in second.get_json()["results"]} == {"duplicate"}
    assert _counts(db) == after_first

    # The stats' counters moved once per new check-in and connection, not per replay.
    counters = {
        str(user_id): (door, exchanges)
        for user_id, door, exchanges in db.execute(
            select(
                Registration.user_id, Registration.checked_in_at_door, Registration.exchange_count
            ).where(Registration.event_id == uuid.UUID(setup.event_id))
        )
    }
    assert counters[scanner.id] == (False, len(connected))
    for person, badge in zip(people, badges, strict=True):
        assert counters[person.id] == (badge in checked_in, int(badge in connected))


def test_earliest_scanned_at_wins_and_bad_items_do_not_undo_good_ones(anon):
    setup = event_with_staff(anon.client)
    alice, bob = new_user(anon.client), new_user(anon.client)
    alice_badge = register(alice, setup.event_id)["badge_code"]
    bob_reg = register(bob, setup.event_id)
    bob.post(f"/v1/registrations/{bob_reg['id']}/badge/rotate")
    online = setup.scan(alice_badge, scanned_at="2026-06-01T08:30:00Z")
    assert online.status_code == 201

    def item(badge, at, kind="check_in"):
        return {
            "client_scan_id": str(uuid.uuid4()),
            "kind": kind,
            "event_id": setup.event_id,
            "badge": badge,
            "scanned_at": at,
        }

    batch = [
        item(alice_badge, "2026-06-01T08:02:00Z"),
        item(bob_reg["badge_code"], "2026-06-01T08:03:00Z"),
        item("Q" * 32, "2026-06-01T08:04:00Z"),
        item(alice_badge, "2026-06-01T08:05:00Z", kind="contact"),
    ]
    results = setup.staff.post("/v1/sync/scans", json={"scans": batch}).get_json()["results"]
    assert [r["status"] for r in results] == [
        "already_checked_in",
        "badge_revoked",
        "unknown_badge",
        "not_registered",
    ]
    assert results[0]["first_checked_in_at"] == "2026-06-01T08:02:00Z"
    assert [r["http_status"] for r in results] == [200, 409, 404, 403]
    listing = setup.staff.get(f"/v1/events/{setup.event_id}/registrations").get_json()
    firsts = {i["registration_id"]: i["first_checked_in_at"] for i in listing["items"]}
    assert firsts[online.get_json()["registration_id"]] == "2026-06-01T08:02:00Z"


def test_a_non_staff_check_in_item_is_refused_alone(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    register(attendee, setup.event_id)
    other = new_user(anon.client)
    other_badge = register(other, setup.event_id)["badge_code"]
    batch = [
        {
            "client_scan_id": "a",
            "kind": "check_in",
            "event_id": setup.event_id,
            "badge": other_badge,
        },
        {
            "client_scan_id": "b",
            "kind": "contact",
            "event_id": setup.event_id,
            "badge": other_badge,
        },
    ]
    results = attendee.post("/v1/sync/scans", json={"scans": batch}).get_json()["results"]
    assert [r["status"] for r in results] == ["not_event_staff", "connected"]
    assert results[1]["created"] is True


def test_batch_limits_and_validation(anon):
    setup = event_with_staff(anon.client)
    item = {
        "client_scan_id": "x",
        "kind": "check_in",
        "event_id": setup.event_id,
        "badge": "B" * 32,
    }
    too_many = [dict(item, client_scan_id=str(i)) for i in range(501)]
    body = assert_problem(setup.staff.post("/v1/sync/scans", json={"scans": too_many}), 422)
    assert body["errors"]["scans"] == ["At most 500 scans per batch."]
    bad = assert_problem(
        setup.staff.post("/v1/sync/scans", json={"scans": [dict(item, kind="teleport")]}), 422
    )
    assert "scans" in bad["errors"]
    assert setup.staff.post("/v1/sync/scans", json={"scans": []}).get_json() == {"results": []}


def _scan_table(db, event_id: str, session_id: str) -> dict:
    """Per attendee name: their stored scans, presences and door flag, with ids left out."""
    event = uuid.UUID(event_id)
    place_name = {"door": "door", session_id: "session"}
    scans, presences = {}, {}
    rows = db.execute(
        select(
            User.display_name,
            CheckIn.place,
            CheckIn.direction,
            CheckIn.scanned_at,
            CheckIn.device_id,
            CheckIn.received_at,
        )
        .join(Registration, Registration.id == CheckIn.registration_id)
        .join(User, User.id == Registration.user_id)
        .where(CheckIn.event_id == event)
    )
    for name, place, *rest in rows:
        scans.setdefault(name, []).append((place_name[place], *rest))
    scans = {name: sorted(rows, key=lambda r: (r[0], r[2])) for name, rows in scans.items()}
    first_scans = aliased(CheckIn)
    rows = db.execute(
        select(
            User.display_name,
            Attendance.place,
            Attendance.first_checked_in_at,
            Attendance.inside,
            Attendance.last_scanned_at,
            first_scans.scanned_at,
        )
        .join(Registration, Registration.id == Attendance.registration_id)
        .join(User, User.id == Registration.user_id)
        .join(first_scans, first_scans.id == Attendance.first_check_in_id)
        .where(Attendance.event_id == event)
    )
    for name, place, *rest in rows:
        presences[(name, place_name[place])] = tuple(rest)
    door_flags = dict(
        db.execute(
            select(User.display_name, Registration.checked_in_at_door)
            .join(User, User.id == Registration.user_id)
            .where(Registration.event_id == event)
        ).all()
    )
    return {"scans": scans, "presences": presences, "door": door_flags}


def test_one_batch_answers_and_stores_what_the_same_scans_one_by_one_do(anon, db):
    """The batch decides its check-ins in memory and writes them at the end; a registration
    scanned several times in one batch (exits, re-entries, late scans moving the first
    check-in back, session rooms, refusals) must end exactly as the single endpoint leaves it."""
    staff, organizer = new_user(anon.client), new_user(anon.client)
    people = [new_user(anon.client, display_name=f"Person {i}") for i in range(5)]
    one_by_one, batched = new_event(organizer), new_event(organizer)
    setups = {}
    for event in (one_by_one, batched):
        add_staff(organizer, event["id"], staff)
        badges = [register(person, event["id"])["badge_code"] for person in people]
        talk = new_session(organizer, event["id"])["id"]
        # Already stored before the batch: Person 4 came in online through door-1.
        online = staff.post(
            f"/v1/events/{event['id']}/check-ins",
            json={"badge": badges[4], "scanned_at": "2026-06-01T08:30:00Z", "device_id": "door-1"},
        )
        assert online.status_code == 201
        setups[event["id"]] = (badges, talk)

    # (person, scanned_at as HH:MM on the event's day, direction, in the talk?, device)
    plan = [
        (0, "08:30", "entry", False, "d1"),
        (1, "08:20", "exit", False, None),  # not checked in yet: refused
        (0, "08:45", "exit", False, None),
        (1, "08:20", "entry", False, None),
        (4, "08:20", "entry", False, "d5"),  # moves the stored first check-in back
        (0, "08:50", "entry", False, "d2"),  # back in
        (1, "08:25", "entry", True, "room"),
        (2, "09:10", "entry", False, None),  # more than 5 minutes ahead of the clock: refused
        (0, "08:10", "entry", False, None),  # late scan: first check-in moves back
        (1, "08:22", "entry", True, None),  # late in the room too
        (4, "08:15", "entry", False, None),  # further back; door-1's device stays d5
        (0, "08:05", "entry", False, "d3"),
        (2, "05:00", "entry", False, None),  # before the window opens: refused
        (1, "08:35", "exit", True, None),
        (0, "08:40", "exit", False, None),  # older than the last scan: already out
        (3, "08:00", "entry", False, "d4"),
        (3, "07:50", "entry", False, None),  # moves a first check-in of this same batch back
        (5, "08:00", "entry", False, None),  # an unknown badge
    ]

    def body(event_id, person, at, direction, in_talk, device):
        badges, talk = setups[event_id]
        return {
            "badge": badges[person] if person < len(badges) else "Q" * 32,
            "scanned_at": f"2026-06-01T{at}:00Z",
            "direction": direction,
            "session_id": talk if in_talk else None,
            "device_id": device,
        }

    def answer(status_code, payload, talk):
        fields = ("first_checked_in_at", "checked_in_at", "direction", "device_id", "attendee")
        return (
            status_code,
            payload.get("reason") or payload["status"],
            payload.get("session_id") == talk,
            *(payload.get(field) for field in fields),
        )

    singles = []
    for step in plan:
        scan = {k: v for k, v in body(one_by_one["id"], *step).items() if v is not None}
        response = staff.post(f"/v1/events/{one_by_one['id']}/check-ins", json=scan)
        singles.append(
            answer(response.status_code, response.get_json(), setups[one_by_one["id"]][1])
        )

    scans = [
        {
            "client_scan_id": str(uuid.uuid4()),
            "kind": "check_in",
            "event_id": batched["id"],
            **{k: v for k, v in body(batched["id"], *step).items() if v is not None},
        }
        for step in plan
    ]
    response = staff.post("/v1/sync/scans", json={"scans": scans})
    assert response.status_code == 200
    in_batch = [
        answer(result["http_status"], result, setups[batched["id"]][1])
        for result in response.get_json()["results"]
    ]

    assert in_batch == singles
    assert [s[1] for s in singles] == [
        "checked_in",
        "not_checked_in",
        "checked_out",
        "checked_in",
        "already_checked_in",
        "checked_in",
        "checked_in",
        "invalid_input",
        "already_checked_in",
        "already_checked_in",
        "already_checked_in",
        "already_checked_in",
        "outside_check_in_window",
        "checked_out",
        "already_checked_out",
        "checked_in",
        "already_checked_in",
        "unknown_badge",
    ]
    stored = _scan_table(db, one_by_one["id"], setups[one_by_one["id"]][1])
    assert _scan_table(db, batched["id"], setups[batched["id"]][1]) == stored

    def at(hh_mm: str) -> datetime:
        return datetime.fromisoformat(f"2026-06-01T{hh_mm}:00+00:00")

    assert [(s[1], s[2], s[3]) for s in stored["scans"]["Person 0"]] == [
        ("entry", at("08:05"), "d3"),  # the first entry, moved back twice
        ("exit", at("08:45"), None),
        ("entry", at("08:50"), "d2"),
    ]
    assert [(s[2], s[3]) for s in stored["scans"]["Person 4"]] == [(at("08:15"), "d5")]
    assert [(s[2], s[3]) for s in stored["scans"]["Person 3"]] == [(at("07:50"), "d4")]
    assert stored["presences"][("Person 1", "session")] == (
        at("08:22"),
        False,
        at("08:35"),
        at("08:22"),
    )
    assert stored["door"] == {f"Person {i}": i in (0, 1, 3, 4) for i in range(5)}
