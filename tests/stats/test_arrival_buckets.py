"""Bucket boundaries on the local clock across DST changes (pure functions, no database)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.stats.arrival_buckets import BucketGrid, from_epoch, offset_spans, to_epoch

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_FORWARD = date(2026, 3, 29)  # 01:00Z: 02:00 CET becomes 03:00 CEST
FALL_BACK = date(2026, 10, 25)  # 01:00Z: 03:00 CEST becomes 02:00 CET


def epoch(text: str) -> int:
    return to_epoch(datetime.fromisoformat(f"{text}+00:00"))


def hhmm(seconds: int) -> str:
    return from_epoch(seconds).strftime("%d %H:%M")


def grid_for(minutes: int, day: date, arrivals: list[str], zone=BERLIN) -> BucketGrid:
    seconds = [epoch(a) for a in arrivals]
    return BucketGrid(zone, minutes * 60, day, min(seconds), max(seconds))


def test_offset_spans_find_the_transition_to_the_second():
    spans = offset_spans(BERLIN, epoch("2026-10-24T12:00:00"), epoch("2026-10-25T12:00:00"))
    assert [(s.start, s.offset) for s in spans] == [
        (None, 7200),
        (epoch("2026-10-25T01:00:00"), 3600),
    ]
    assert len(offset_spans(BERLIN, epoch("2026-06-01T00:00:00"), epoch("2026-06-05T00:00:00")))


@pytest.mark.parametrize(
    ("minutes", "day", "arrivals", "boundaries", "end"),
    [
        # Fall back: the repeated local hour is two buckets of 60 minutes ...
        (
            60,
            FALL_BACK,
            ["2026-10-25T00:10:00", "2026-10-25T01:20:00"],
            ["25 00:00", "25 01:00"],
            "25 02:00",
        ),
        # ... a local 90-minute bucket 01:30-03:00 lasts 2.5 real hours ...
        (
            90,
            FALL_BACK,
            ["2026-10-25T00:10:00", "2026-10-25T01:50:00"],
            ["24 23:30"],
            "25 02:00",
        ),
        # ... and 45 minutes from midnight meets 02:15 twice (00:15Z CEST, 01:15Z CET).
        (
            45,
            FALL_BACK,
            ["2026-10-24T23:40:00", "2026-10-25T01:20:00"],
            ["24 23:30", "25 00:15", "25 01:15"],
            "25 02:00",
        ),
        # Spring forward: 03:00 CEST follows 01:59 CET; a local bucket can be shorter ...
        (
            90,
            SPRING_FORWARD,
            ["2026-03-29T00:40:00", "2026-03-29T01:10:00"],
            ["29 00:30", "29 01:00"],
            "29 02:30",
        ),
        # ... the nonexistent 02:15 is no boundary ...
        (
            45,
            SPRING_FORWARD,
            ["2026-03-29T00:40:00", "2026-03-29T01:10:00"],
            ["29 00:30", "29 01:00"],
            "29 01:45",
        ),
        # ... and local 00:00-04:00 is one bucket of three real hours.
        (
            240,
            SPRING_FORWARD,
            ["2026-03-29T00:40:00", "2026-03-29T01:10:00"],
            ["28 23:00"],
            "29 02:00",
        ),
    ],
)
def test_boundaries_across_dst(minutes, day, arrivals, boundaries, end):
    grid = grid_for(minutes, day, arrivals)
    first, last = epoch(arrivals[0]), epoch(arrivals[-1])
    starts = grid.boundaries(first, last)
    assert [hhmm(s) for s in starts] == boundaries
    assert hhmm(grid.next_boundary(starts[-1])) == end
    for arrival in arrivals:
        assert grid.bucket_of(epoch(arrival)) in starts


def test_every_second_of_a_fall_back_day_lands_in_the_bucket_that_holds_it():
    """The (span, index) pairs the database groups by map to the right boundary."""
    first, last = epoch("2026-10-24T21:00:00"), epoch("2026-10-25T04:00:00")
    for minutes in (5, 15, 45, 60, 90, 240):
        grid = BucketGrid(BERLIN, minutes * 60, FALL_BACK, first, last)
        starts = grid.boundaries(first, last)
        ends = [*starts[1:], grid.next_boundary(starts[-1])]
        for moment in range(first, last, 59):
            span = grid.span_of(moment)
            start = grid.start_of(span, grid.local_index(span, moment))
            position = starts.index(start)
            assert start <= moment < ends[position]
            local = from_epoch(start).astimezone(BERLIN)
            minutes_since_midnight = local.hour * 60 + local.minute
            assert minutes_since_midnight % minutes == 0
