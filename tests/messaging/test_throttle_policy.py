"""The throttling policy as a pure function: every rule, its boundaries, and precedence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.messaging.throttle import (
    PairState,
    PlannedSend,
    ThrottlePolicy,
    check_schedule,
    decide,
    earliest_slot,
)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
POLICY = ThrottlePolicy()


def times(count: int, newest: datetime, step: timedelta = SECOND) -> tuple[datetime, ...]:
    """`count` send times, newest first, `step` apart."""
    return tuple(newest - step * i for i in range(count))


@dataclass(frozen=True)
class Case:
    name: str
    state: PairState
    reason: str | None  # None: allowed
    next_allowed_at: datetime | None = None
    reasons: tuple[str, ...] = ()


KNOWN = {"recipient_ever_wrote": True, "last_received_at": NOW - 30 * DAY}
CASES = [
    Case("new contact, nothing sent yet", PairState(), None),
    Case(
        "new contact, one unanswered, 3 days passed",
        PairState(unanswered_streak=1, last_sent_at=NOW - 3 * DAY),
        None,
    ),
    Case(
        "new contact, one unanswered, 3 days minus a second",
        PairState(unanswered_streak=1, last_sent_at=NOW - 3 * DAY + SECOND),
        "min_gap",
        NOW + SECOND,
    ),
    Case(
        "known contact, two unanswered wait 6 days",
        PairState(unanswered_streak=2, last_sent_at=NOW - 5 * DAY, **KNOWN),
        "min_gap",
        NOW + DAY,
    ),
    Case(
        "known contact, two unanswered, 6 days passed",
        PairState(unanswered_streak=2, last_sent_at=NOW - 6 * DAY, **KNOWN),
        None,
    ),
    Case(
        "new contact, two unanswered: only a reply unlocks",
        PairState(unanswered_streak=2, last_sent_at=NOW - 300 * DAY),
        "awaiting_reply",
    ),
    Case(
        "known contact, three unanswered: only a reply unlocks",
        PairState(unanswered_streak=3, last_sent_at=NOW - 300 * DAY, **KNOWN),
        "awaiting_reply",
    ),
    Case(
        "muted or not interested",
        PairState(recipient_unavailable=True),
        "recipient_unavailable",
    ),
    Case(
        "conversation: they wrote 23:59:59 ago, double-texting is fine",
        PairState(
            unanswered_streak=7,
            last_sent_at=NOW - SECOND,
            recipient_ever_wrote=True,
            last_received_at=NOW - 24 * timedelta(hours=1) + SECOND,
        ),
        None,
    ),
    Case(
        "conversation over after exactly 24 h",
        PairState(
            unanswered_streak=7,
            last_sent_at=NOW - SECOND,
            recipient_ever_wrote=True,
            last_received_at=NOW - DAY,
        ),
        "awaiting_reply",
        reasons=("awaiting_reply", "min_gap"),
    ),
    Case(
        "conversation burst: 10 in the last 10 minutes",
        PairState(
            recipient_ever_wrote=True,
            last_received_at=NOW - timedelta(hours=1),
            recent_to_recipient=times(10, NOW, step=timedelta(seconds=10)),
        ),
        "conversation_burst",
        # the 10th newest was sent 90 s ago; it leaves the window in 8.5 minutes
        NOW - timedelta(seconds=90) + timedelta(minutes=10),
    ),
    Case(
        "conversation burst: the 10th newest just left the window",
        PairState(
            recipient_ever_wrote=True,
            last_received_at=NOW - timedelta(hours=1),
            recent_to_recipient=(*times(9, NOW), NOW - timedelta(minutes=10)),
        ),
        None,
    ),
    Case(
        "daily cap: 30 cold messages within 24 h",
        PairState(recent_cold_from_sender=times(30, NOW, step=timedelta(minutes=1))),
        "daily_cap",
        NOW - timedelta(minutes=29) + DAY,
    ),
    Case(
        "daily cap: the 30th newest sent exactly 24 h ago",
        PairState(recent_cold_from_sender=(*times(29, NOW), NOW - DAY)),
        None,
    ),
    Case(
        "daily cap does not count toward a contact who has written",
        PairState(**KNOWN, recent_cold_from_sender=times(30, NOW)),
        None,
    ),
    Case(
        "recipient busy: 10 cold messages to them from anyone within 24 h",
        PairState(recent_cold_to_recipient=times(10, NOW - timedelta(hours=2))),
        "recipient_busy",
        NOW - timedelta(hours=2) - 9 * SECOND + DAY,
    ),
    Case(
        "recipient busy: 9 within 24 h is fine",
        PairState(recent_cold_to_recipient=times(9, NOW)),
        None,
    ),
    # Precedence: the answer names the first refusing rule in PRODUCT.md's order.
    Case(
        "unavailable beats awaiting_reply",
        PairState(recipient_unavailable=True, unanswered_streak=2, last_sent_at=NOW),
        "recipient_unavailable",
        reasons=("recipient_unavailable", "awaiting_reply", "min_gap"),
    ),
    Case(
        "unavailable beats conversation_burst",
        PairState(
            recipient_unavailable=True,
            recipient_ever_wrote=True,
            last_received_at=NOW - SECOND,
            recent_to_recipient=times(10, NOW),
        ),
        "recipient_unavailable",
        reasons=("recipient_unavailable", "conversation_burst"),
    ),
    Case(
        "awaiting_reply beats min_gap (and has no retry time)",
        PairState(unanswered_streak=2, last_sent_at=NOW - DAY),
        "awaiting_reply",
        reasons=("awaiting_reply", "min_gap"),
    ),
    Case(
        "min_gap beats daily_cap; the retry time is when both let go",
        PairState(
            unanswered_streak=1,
            last_sent_at=NOW - DAY,
            recent_cold_from_sender=times(30, NOW),
        ),
        "min_gap",
        NOW + 2 * DAY,
        reasons=("min_gap", "daily_cap"),
    ),
    Case(
        "min_gap beats daily_cap even when the cap lifts later",
        PairState(
            unanswered_streak=1,
            last_sent_at=NOW - 3 * DAY + SECOND,
            recent_cold_from_sender=times(30, NOW),
        ),
        "min_gap",
        NOW - 29 * SECOND + DAY,
        reasons=("min_gap", "daily_cap"),
    ),
    Case(
        "daily_cap beats recipient_busy",
        PairState(
            recent_cold_from_sender=times(30, NOW - timedelta(hours=1)),
            recent_cold_to_recipient=times(10, NOW),
        ),
        "daily_cap",
        NOW - 9 * SECOND + DAY,  # recipient_busy lifts last
        reasons=("daily_cap", "recipient_busy"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decision(case):
    decision = decide(case.state, NOW, POLICY)
    assert decision.allowed is (case.reason is None)
    assert decision.reason == case.reason
    assert decision.next_allowed_at == case.next_allowed_at
    if case.reasons:
        assert decision.reasons == case.reasons


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.next_allowed_at is not None], ids=lambda c: c.name
)
def test_allowed_exactly_at_next_allowed_at_and_not_a_second_before(case):
    assert decide(case.state, case.next_allowed_at, POLICY).allowed
    refused = decide(case.state, case.next_allowed_at - SECOND, POLICY)
    assert not refused.allowed
    # the rule that lifts last is the one still refusing (often the named one)
    assert refused.reason in (case.reasons or (case.reason,))


def test_min_gap_doubles_with_each_unanswered_message():
    generous = ThrottlePolicy(max_unanswered=10)
    for streak, days in [(1, 3), (2, 6), (3, 12), (4, 24)]:
        state = PairState(unanswered_streak=streak, last_sent_at=NOW, **KNOWN)
        assert decide(state, NOW, generous).next_allowed_at == NOW + days * DAY


def test_policy_is_configurable():
    policy = ThrottlePolicy.from_settings(
        {
            "THROTTLE_MAX_UNANSWERED_NEW_CONTACT": "1",
            "THROTTLE_MIN_GAP_HOURS": "24",
            "THROTTLE_DAILY_COLD_CAP": 5,
            "THROTTLE_BURST_WINDOW_MINUTES": "30",
            "UNRELATED": "x",
        }
    )
    assert policy.max_unanswered_new_contact == 1
    assert policy.max_unanswered == 3
    assert policy.min_gap == DAY
    assert policy.daily_cold_cap == 5
    assert policy.burst_window == timedelta(minutes=30)
    assert decide(PairState(unanswered_streak=1, last_sent_at=NOW), NOW, policy).reason == (
        "awaiting_reply"
    )
    assert ThrottlePolicy.from_settings({}) == ThrottlePolicy()


@pytest.mark.parametrize("value", ["0", "-3", "three", "1.5"])
def test_bad_policy_settings_are_refused_at_startup(value):
    with pytest.raises(ValueError, match="THROTTLE_DAILY_COLD_CAP"):
        ThrottlePolicy.from_settings({"THROTTLE_DAILY_COLD_CAP": value})


def test_environment_overrides_defaults_and_app_config_overrides_environment(monkeypatch):
    from api.policy import build_throttle_policy

    monkeypatch.setenv("THROTTLE_DAILY_COLD_CAP", "12")
    monkeypatch.setenv("THROTTLE_RECIPIENT_COLD_CAP", "4")
    policy = build_throttle_policy({"THROTTLE_RECIPIENT_COLD_CAP": 6})
    assert (policy.daily_cold_cap, policy.recipient_cold_cap) == (12, 6)


# Scheduling ---------------------------------------------------------------------------------

FRESH = PairState()
KNOWN_FRESH = PairState(recipient_ever_wrote=True, last_received_at=NOW - 30 * DAY)


def planned(*days: float) -> list[PlannedSend]:
    return [PlannedSend(NOW + DAY * d, f"item-{i}") for i, d in enumerate(days)]


@dataclass(frozen=True)
class ScheduleCase:
    name: str
    state: PairState
    scheduled: list[PlannedSend]
    proposed_day: float
    reason: str | None
    earliest_day: float | None = None  # the earliest slot at or after the proposed time


SCHEDULE_CASES = [
    ScheduleCase("first follow-up to a new contact", FRESH, [], 0, None),
    ScheduleCase("second one needs 3 days after the first", FRESH, planned(0), 2, "min_gap", 3),
    ScheduleCase("second one exactly 3 days after the first", FRESH, planned(0), 3, None),
    ScheduleCase(
        "a new contact gets two unanswered, no third", FRESH, planned(0, 3), 30, "awaiting_reply"
    ),
    ScheduleCase(
        "a known contact gets a third after 6 more days", KNOWN_FRESH, planned(0, 3), 9, None
    ),
    ScheduleCase("a known contact's third too early", KNOWN_FRESH, planned(0, 3), 8, "min_gap", 9),
    ScheduleCase(
        "already sent messages count: min_gap from the last one",
        PairState(unanswered_streak=1, last_sent_at=NOW),
        [],
        1,
        "min_gap",
        3,
    ),
    ScheduleCase(
        "an earlier insert may not break a later item",
        KNOWN_FRESH,
        planned(10),
        9,
        "min_gap",
        13,  # after the day-10 item: 10 + 3
    ),
    ScheduleCase("an earlier insert that leaves room", KNOWN_FRESH, planned(10), 2, None),
    ScheduleCase(
        "in a conversation the schedule is exempt",
        PairState(
            unanswered_streak=3,
            last_sent_at=NOW,
            recipient_ever_wrote=True,
            last_received_at=NOW - timedelta(hours=1),
        ),
        planned(0.1),
        0.2,
        None,
    ),
    ScheduleCase(
        "after the conversation window the streak counts again",
        PairState(
            unanswered_streak=3,
            last_sent_at=NOW,
            recipient_ever_wrote=True,
            last_received_at=NOW - timedelta(hours=1),
        ),
        [],
        2,
        "awaiting_reply",
    ),
    ScheduleCase(
        "an item that would be refused anyway does not count as a send",
        PairState(unanswered_streak=2, last_sent_at=NOW, **KNOWN),
        planned(1),  # needs day 6: it will be refused at delivery
        6,
        None,
    ),
]


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=lambda c: c.name)
def test_schedule(case):
    proposed = NOW + DAY * case.proposed_day
    problem = check_schedule(case.state, case.scheduled, proposed, POLICY)
    assert (problem.reason if problem else None) == case.reason
    earliest = earliest_slot(case.state, case.scheduled, proposed, POLICY)
    if case.reason is None:
        assert earliest == proposed
    elif case.reason == "awaiting_reply":
        assert earliest is None
    else:
        assert earliest == NOW + DAY * case.earliest_day
        assert check_schedule(case.state, case.scheduled, earliest, POLICY) is None
        assert check_schedule(case.state, case.scheduled, earliest - SECOND, POLICY) is not None
