"""Arrival buckets aligned to the wall clock of an event's time zone, DST included.

A bucket boundary is an instant at which the local clock reads local midnight of the event's
first day plus a whole number of bucket widths. Buckets are instants, not local labels: on a
fall-back day the repeated local hour gives two boundaries (two buckets of 60 minutes), and a
local 4-hour bucket that spans a transition stays one bucket (5 or 3 real hours long).

The UTC offset is constant between transitions, so the arrival range is split into offset
spans; within a span the bucket index is plain integer arithmetic on epoch seconds, which the
database computes for every row (see services/stats/stats.py). This module maps (span, index) pairs
to boundary instants and enumerates the boundaries for the zero-filled series.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# Transitions are found by stepping this far and bisecting; zones never change offset twice
# within an hour.
_PROBE_STEP = 3600


def to_epoch(instant: datetime) -> int:
    """Whole seconds since the epoch, floored (sub-second parts never cross a boundary)."""
    return (instant - _EPOCH) // timedelta(seconds=1)


def from_epoch(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _offset(zone: ZoneInfo, seconds: int) -> int:
    return int(from_epoch(seconds).astimezone(zone).utcoffset().total_seconds())


@dataclass(frozen=True)
class OffsetSpan:
    """Instants from `start` (epoch seconds; None: since forever) on, at one UTC offset."""

    start: int | None
    offset: int


def offset_spans(zone: ZoneInfo, first: int, last: int) -> list[OffsetSpan]:
    """Spans of constant UTC offset covering the epoch seconds `first` .. `last`."""
    current = _offset(zone, first)
    spans = [OffsetSpan(None, current)]
    probe = first
    while probe < last:
        step_to = min(probe + _PROBE_STEP, last)
        if _offset(zone, step_to) != current:
            low, high = probe, step_to  # offset(low) == current, offset(high) differs
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            current = _offset(zone, high)
            spans.append(OffsetSpan(high, current))
            probe = high
        else:
            probe = step_to
    return spans


class BucketGrid:
    """Boundaries every `width` seconds of local clock time, from local midnight of `day`."""

    def __init__(self, zone: ZoneInfo, width: int, day, first: int, last: int) -> None:
        self.width = width
        origin = int((datetime.combine(day, time()) - _NAIVE_EPOCH).total_seconds())
        # Any origin congruent modulo the width names the same boundaries; the smallest
        # non-negative one keeps every index non-negative, so integer division is a floor in SQL.
        self.origin = origin % width
        # A local bucket can last a width plus an hour of DST: the spans reach that far beyond
        # the arrivals, so the first bucket's start and the last bucket's end are right.
        margin = width + 2 * _PROBE_STEP
        self.spans = offset_spans(zone, first - margin, last + margin)
        self._starts = [span.start for span in self.spans[1:]]

    def span_of(self, seconds: int) -> int:
        return bisect.bisect_right(self._starts, seconds)

    def local_index(self, span: int, seconds: int) -> int:
        return (seconds + self.spans[span].offset - self.origin) // self.width

    def start_of(self, span: int, index: int) -> int:
        """The boundary that begins the bucket holding index `index` of span `span`."""
        nominal = index * self.width + self.origin - self.spans[span].offset
        span_start = self.spans[span].start
        if span_start is not None and nominal < span_start:
            # That local time never happened in this span (or happened before it, at the
            # old offset): the bucket began at the last boundary before the transition.
            return self.bucket_of(span_start - 1)
        return nominal

    def bucket_of(self, seconds: int) -> int:
        span = self.span_of(seconds)
        return self.start_of(span, self.local_index(span, seconds))

    def next_boundary(self, boundary: int) -> int:
        span = self.span_of(boundary)
        candidate = (self.local_index(span, boundary) + 1) * self.width
        candidate += self.origin - self.spans[span].offset
        while span + 1 < len(self.spans) and candidate >= self.spans[span + 1].start:
            # Past the next transition: the first boundary at or after it, at its offset.
            span += 1
            start = self.spans[span].start
            index = -(-(start + self.spans[span].offset - self.origin) // self.width)
            candidate = index * self.width + self.origin - self.spans[span].offset
        return candidate

    def boundaries(self, first: int, last: int) -> list[int]:
        """Every bucket start from the bucket holding `first` through the one holding `last`."""
        starts = [self.bucket_of(first)]
        while True:
            following = self.next_boundary(starts[-1])
            if following > last:
                return starts
            starts.append(following)


@dataclass(frozen=True)
class ArrivalBucket:
    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True)
class ArrivalSummary:
    """What the arrivals chart shows."""

    event_id: uuid.UUID
    event_name: str
    starts_at: datetime
    timezone: str
    bucket_minutes: int
    registered: int
    checked_in: int
    show_up_rate: float | None
    arrivals: list[ArrivalBucket]
    generated_at: datetime
