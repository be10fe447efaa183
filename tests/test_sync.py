import random
import uuid

from sqlalchemy import func, select

from services.models import CheckIn, Connection, Registration, ScanReceipt
from tests.support import assert_problem, event_with_staff, new_user, register


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
