"""Issue 12, point 5: an event's span is capped, stats answer at most 2,000 buckets, and the
chart draws without a process-wide lock."""

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import update

from services.core.models import Event
from services.stats import charts
from tests.support import assert_problem, event_with_staff, new_event, new_user, register


def test_an_event_longer_than_31_days_is_refused(anon):
    organizer = new_user(anon.client)
    body = {
        "name": "Long",
        "starts_at": "2026-05-01T08:00:00Z",
        "ends_at": "2026-06-01T08:00:01Z",
        "timezone": "UTC",
    }
    assert "ends_at" in assert_problem(organizer.post("/v1/events", json=body), 422)["errors"]
    event = new_event(organizer, starts_at="2026-05-01T08:00:00Z", ends_at="2026-06-01T08:00:00Z")
    response = organizer.patch(
        f"/v1/events/{event['id']}", json={"starts_at": "2026-04-30T08:00:00Z"}
    )
    assert_problem(response, 422)
    response = organizer.patch(
        f"/v1/events/{event['id']}", json={"ends_at": "2026-07-01T08:00:00Z"}
    )
    assert_problem(response, 422)


def _month_long_event_with_two_arrivals(anon):
    setup = event_with_staff(
        anon.client, starts_at="2026-05-01T08:00:00Z", ends_at="2026-06-01T08:00:00Z"
    )
    for scanned_at in ("2026-05-01T06:00:00Z", "2026-06-01T07:59:00Z"):
        badge = register(new_user(anon.client), setup.event_id)["badge_code"]
        assert setup.scan(badge, scanned_at=scanned_at).status_code == 201
    return setup


def test_stats_over_2000_buckets_name_the_smallest_bucket_that_fits(anon):
    setup = _month_long_event_with_two_arrivals(anon)
    for path in ("stats", "stats/arrivals.png"):
        response = setup.organizer.get(
            f"/v1/events/{setup.event_id}/{path}", query_string={"bucket": 5}
        )
        body = assert_problem(response, 422, "too_many_buckets")
        smallest = body["smallest_bucket"]
        assert "bucket" in body["errors"]
        assert str(smallest) in body["errors"]["bucket"][0]
    fits = setup.organizer.get(
        f"/v1/events/{setup.event_id}/stats", query_string={"bucket": smallest}
    )
    assert fits.status_code == 200
    assert len(fits.get_json()["arrivals"]) <= 2000
    too_small = setup.organizer.get(
        f"/v1/events/{setup.event_id}/stats", query_string={"bucket": smallest - 1}
    )
    assert_problem(too_small, 422, "too_many_buckets")


def test_an_old_event_from_before_the_cap_stays_bounded(anon, db):
    setup = _month_long_event_with_two_arrivals(anon)
    db.execute(
        update(Event)
        .where(Event.id == uuid.UUID(setup.event_id))
        .values(starts_at=datetime(2020, 1, 1, tzinfo=UTC))
    )
    db.flush()
    badge = register(new_user(anon.client), setup.event_id)["badge_code"]
    assert setup.scan(badge, scanned_at="2020-01-01T08:00:00Z").status_code == 201
    for bucket in (5, 240):
        response = setup.organizer.get(
            f"/v1/events/{setup.event_id}/stats", query_string={"bucket": bucket}
        )
        body = assert_problem(response, 422, "too_many_buckets")
        assert body["smallest_bucket"] is None
    response = setup.organizer.get(f"/v1/events/{setup.event_id}/stats/arrivals.png")
    assert_problem(response, 422, "too_many_buckets")


def test_charts_draw_side_by_side(anon, monkeypatch):
    """A slow chart must not hold up another one (the drawing used to take a process lock)."""
    setup = event_with_staff(anon.client)
    setup.scan(register(new_user(anon.client), setup.event_id)["badge_code"])
    summary_response = setup.organizer.get(f"/v1/events/{setup.event_id}/stats")
    assert summary_response.status_code == 200

    first_inside = threading.Event()
    release_first = threading.Event()
    real_draw = charts._draw_arrivals
    calls = []

    def slow_first(summary):
        calls.append(1)
        if len(calls) == 1:
            first_inside.set()
            assert release_first.wait(30)
        return real_draw(summary)

    monkeypatch.setattr(charts, "_draw_arrivals", slow_first)
    from services.stats.arrival_buckets import ArrivalSummary

    summary = ArrivalSummary(
        event_id=uuid.uuid4(),
        event_name="Side by side",
        starts_at=datetime(2026, 6, 1, 8, tzinfo=UTC),
        timezone="Europe/Berlin",
        bucket_minutes=15,
        registered=1,
        checked_in=0,
        show_up_rate=None,
        arrivals=[],
        generated_at=datetime(2026, 6, 1, 9, tzinfo=UTC),
    )
    first = threading.Thread(target=charts.arrivals_png, args=(summary,))
    first.start()
    try:
        assert first_inside.wait(30)
        done = []
        second = threading.Thread(target=lambda: done.append(charts.arrivals_png(summary)))
        second.start()
        second.join(timeout=20)
        assert done and done[0][:4] == b"\x89PNG", "the second chart waited for the first"
    finally:
        release_first.set()
        first.join(timeout=30)
