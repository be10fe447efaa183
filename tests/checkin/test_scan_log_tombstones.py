"""Issue 12, point 10: the scan log reports scans undone after `since`, as tombstones."""

from datetime import timedelta

from tests.support import event_with_staff, new_user, register


def test_undone_scans_come_back_as_tombstones_after_since(anon, clock):
    setup = event_with_staff(anon.client)
    path = f"/v1/events/{setup.event_id}/check-ins"
    kept, undone = (register(new_user(anon.client), setup.event_id) for _ in range(2))
    setup.scan(kept["badge_code"])
    mistake = setup.scan(undone["badge_code"]).get_json()["check_in_id"]
    first_sync = setup.staff.get(path).get_json()
    assert len(first_sync["items"]) == 2
    synced_at = "2026-06-01T09:00:30Z"

    clock.advance(timedelta(minutes=1))
    assert setup.staff.delete(f"/v1/check-ins/{mistake}").status_code == 204
    page = setup.staff.get(path, query_string={"since": synced_at}).get_json()
    assert page["items"] == []
    assert page["undone"] == [{"check_in_id": mistake, "undone_at": "2026-06-01T09:01:00Z"}]
    # Before the undo, nothing to report; a device that never synced gets no tombstones.
    earlier = setup.staff.get(path, query_string={"since": "2026-06-01T09:01:30Z"}).get_json()
    assert earlier["items"] == [] and earlier["undone"] == []
    fresh = setup.staff.get(path).get_json()
    assert [i["id"] for i in fresh["items"]] != [] and fresh["undone"] == []
    assert mistake not in {i["id"] for i in fresh["items"]}


def test_tombstones_page_with_the_scans(anon, clock):
    setup = event_with_staff(anon.client)
    path = f"/v1/events/{setup.event_id}/check-ins"
    ids = []
    for _ in range(3):
        badge = register(new_user(anon.client), setup.event_id)["badge_code"]
        ids.append(setup.scan(badge).get_json()["check_in_id"])
    clock.advance(timedelta(minutes=1))
    for check_in_id in ids[:2]:
        assert setup.staff.delete(f"/v1/check-ins/{check_in_id}").status_code == 204
        clock.advance(timedelta(seconds=10))
    badge = register(new_user(anon.client), setup.event_id)["badge_code"]
    latest = setup.scan(badge).get_json()["check_in_id"]
    since = "2026-06-01T09:00:30Z"
    seen_items, seen_undone, cursor = [], [], None
    while True:
        query = {"since": since, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = setup.staff.get(path, query_string=query).get_json()
        assert len(page["items"]) + len(page["undone"]) <= 1
        seen_items += [i["id"] for i in page["items"]]
        seen_undone += [u["check_in_id"] for u in page["undone"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen_undone == ids[:2]
    assert seen_items == [latest]
