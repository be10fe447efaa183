"""The anti-pestering policy (PRODUCT.md "Throttling policy"), as pure functions.

`decide` answers one question: may the owner of a contact send them a message at `now`? It
reads nothing but its arguments: the pair's counters (kept on the contact rows, updated in the
same transaction as each message) and the few rolling-window timestamps the caps need, which
services/messaging/messaging.py reads with bounded, indexed queries. `check_schedule` and
`earliest_slot` apply `awaiting_reply` and `min_gap` to the future sends a follow-up schedule
makes, in time order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from services.core.errors import Conflict, InvalidInput, PermissionDenied, RateLimited
from services.core.formatting import to_iso

RECIPIENT_UNAVAILABLE = "recipient_unavailable"
AWAITING_REPLY = "awaiting_reply"
MIN_GAP = "min_gap"
CONVERSATION_BURST = "conversation_burst"
DAILY_CAP = "daily_cap"
RECIPIENT_BUSY = "recipient_busy"

# When several rules refuse, the answer names the first of these.
PRECEDENCE = (
    RECIPIENT_UNAVAILABLE,
    AWAITING_REPLY,
    MIN_GAP,
    CONVERSATION_BURST,
    DAILY_CAP,
    RECIPIENT_BUSY,
)

# Keeps 2**(k-1) finite whatever a deployment sets as the unanswered limits.
_MAX_GAP_DOUBLINGS = 16


@dataclass(frozen=True)
class ThrottlePolicy:
    """The deployment's limits; the defaults are PRODUCT.md's."""

    max_unanswered_new_contact: int = 2
    max_unanswered: int = 3
    min_gap: timedelta = timedelta(days=3)
    daily_cold_cap: int = 30
    recipient_cold_cap: int = 10
    cap_window: timedelta = timedelta(hours=24)
    conversation_window: timedelta = timedelta(hours=24)
    burst_limit: int = 10
    burst_window: timedelta = timedelta(minutes=10)

    def gap_after(self, streak: int) -> timedelta:
        """How long the next message waits after `streak` unanswered ones (3 d * 2^(k-1))."""
        return self.min_gap * 2 ** min(max(streak - 1, 0), _MAX_GAP_DOUBLINGS)

    def max_unanswered_for(self, *, new_contact: bool) -> int:
        return self.max_unanswered_new_contact if new_contact else self.max_unanswered

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ThrottlePolicy:
        """Read `THROTTLE_*` settings (counts, and durations in the unit their name says)."""
        values: dict[str, Any] = {}
        for name, (key, unit) in SETTINGS.items():
            raw = settings.get(key)
            if raw is None or raw == "":
                continue
            try:
                number = int(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{key} must be a whole number, got {raw!r}") from exc
            if number < 1:
                raise ValueError(f"{key} must be at least 1, got {raw!r}")
            values[name] = timedelta(**{unit: number}) if unit else number
        return cls(**values)


# Policy field → (setting name, timedelta unit or None for a count).
SETTINGS: dict[str, tuple[str, str | None]] = {
    "max_unanswered_new_contact": ("THROTTLE_MAX_UNANSWERED_NEW_CONTACT", None),
    "max_unanswered": ("THROTTLE_MAX_UNANSWERED", None),
    "min_gap": ("THROTTLE_MIN_GAP_HOURS", "hours"),
    "daily_cold_cap": ("THROTTLE_DAILY_COLD_CAP", None),
    "recipient_cold_cap": ("THROTTLE_RECIPIENT_COLD_CAP", None),
    "cap_window": ("THROTTLE_CAP_WINDOW_HOURS", "hours"),
    "conversation_window": ("THROTTLE_CONVERSATION_HOURS", "hours"),
    "burst_limit": ("THROTTLE_BURST_LIMIT", None),
    "burst_window": ("THROTTLE_BURST_WINDOW_MINUTES", "minutes"),
}


@dataclass(frozen=True)
class PairState:
    """Everything the decision reads, for the direction sender → recipient.

    The `recent_*` tuples hold send times inside the rule's window, newest first, and need only
    be as long as the rule's limit (the queries fetch at most that many).
    """

    unanswered_streak: int = 0
    last_sent_at: datetime | None = None
    last_received_at: datetime | None = None  # the recipient's last message to the sender
    recipient_ever_wrote: bool = False
    recipient_unavailable: bool = False  # muted, not interested, removed or gone
    recent_cold_from_sender: tuple[datetime, ...] = ()
    recent_cold_to_recipient: tuple[datetime, ...] = ()
    recent_to_recipient: tuple[datetime, ...] = ()  # sender → this recipient, any kind

    @property
    def new_contact(self) -> bool:
        return not self.recipient_ever_wrote

    @property
    def cold(self) -> bool:
        """A message now would be cold: the recipient never wrote to the sender."""
        return not self.recipient_ever_wrote


@dataclass(frozen=True)
class ThrottleDecision:
    allowed: bool
    reason: str | None = None
    next_allowed_at: datetime | None = None
    # Every rule that refused, in precedence order (the answer names the first).
    reasons: tuple[str, ...] = field(default=())


ALLOWED = ThrottleDecision(True)


def in_conversation(state: PairState, now: datetime, policy: ThrottlePolicy) -> bool:
    return state.last_received_at is not None and (
        now - state.last_received_at < policy.conversation_window
    )


def _window_full(
    recent: Sequence[datetime], limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """When a rolling window already holds `limit` sends, the instant one slot frees up."""
    inside = [sent for sent in recent if sent > now - window]
    if len(inside) < limit:
        return None
    inside.sort(reverse=True)
    return inside[limit - 1] + window


def decide(state: PairState, now: datetime, policy: ThrottlePolicy) -> ThrottleDecision:
    """May the sender message the recipient at `now`? Pure: no clock, no database."""
    refusals: dict[str, datetime | None] = {}
    if state.recipient_unavailable:
        refusals[RECIPIENT_UNAVAILABLE] = None
    if in_conversation(state, now, policy):
        # Double-texting someone who is talking to you is fine, up to a burst.
        reopens = _window_full(
            state.recent_to_recipient, policy.burst_limit, policy.burst_window, now
        )
        if reopens is not None:
            refusals[CONVERSATION_BURST] = reopens
    else:
        streak = state.unanswered_streak
        if streak >= policy.max_unanswered_for(new_contact=state.new_contact):
            refusals[AWAITING_REPLY] = None
        if streak >= 1 and state.last_sent_at is not None:
            gap_ends = state.last_sent_at + policy.gap_after(streak)
            if now < gap_ends:
                refusals[MIN_GAP] = gap_ends
        if state.cold:
            for reason, recent, limit in (
                (DAILY_CAP, state.recent_cold_from_sender, policy.daily_cold_cap),
                (RECIPIENT_BUSY, state.recent_cold_to_recipient, policy.recipient_cold_cap),
            ):
                reopens = _window_full(recent, limit, policy.cap_window, now)
                if reopens is not None:
                    refusals[reason] = reopens
    if not refusals:
        return ALLOWED
    reasons = tuple(reason for reason in PRECEDENCE if reason in refusals)
    times = list(refusals.values())
    # The first named rule is the answer; the retry time is when every refusing rule has let
    # go (None when one of them only lifts on a reply or a change of heart).
    next_allowed_at = None if any(t is None for t in times) else max(times)
    return ThrottleDecision(False, reasons[0], next_allowed_at, reasons)


# Scheduling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSend:
    """A future send of the pair's schedule; `key` tells items apart (None: the one proposed)."""

    at: datetime
    key: Any = None


@dataclass(frozen=True)
class ScheduleProblem:
    reason: str  # awaiting_reply | min_gap
    key: Any  # the item that breaks the rule


def _walk(
    state: PairState, items: Sequence[PlannedSend], policy: ThrottlePolicy
) -> list[tuple[PlannedSend, ScheduleProblem | None]]:
    """Each item's verdict, in time order, against the state the earlier valid ones leave.

    An item found in violation will be refused at delivery, so it does not count as a send.
    Items at the same instant keep their given order (the proposed one is placed last).
    """
    streak = state.unanswered_streak
    last_sent = state.last_sent_at
    verdicts: list[tuple[PlannedSend, ScheduleProblem | None]] = []
    for item in sorted(items, key=lambda i: (i.at, i.key is None)):
        conversation = state.last_received_at is not None and (
            item.at - state.last_received_at < policy.conversation_window
        )
        problem = None
        if not conversation:
            if streak >= policy.max_unanswered_for(new_contact=state.new_contact):
                problem = ScheduleProblem(AWAITING_REPLY, item.key)
            elif (
                streak >= 1
                and last_sent is not None
                and item.at < last_sent + policy.gap_after(streak)
            ):
                problem = ScheduleProblem(MIN_GAP, item.key)
        verdicts.append((item, problem))
        if problem is None:
            streak += 1
            last_sent = item.at
    return verdicts


def check_schedule(
    state: PairState,
    scheduled: Sequence[PlannedSend],
    proposed: datetime,
    policy: ThrottlePolicy,
) -> ScheduleProblem | None:
    """Does a send at `proposed` fit the pair's schedule?

    It must pass `awaiting_reply` and `min_gap` itself, and must not make an already-scheduled
    item fail that would have passed without it.
    """
    passed_before = {item.key for item, verdict in _walk(state, scheduled, policy) if not verdict}
    after = _walk(state, [*scheduled, PlannedSend(proposed)], policy)
    for item, verdict in after:
        if item.key is None and verdict is not None:
            return verdict
    for item, verdict in after:
        if verdict is not None and item.key in passed_before:
            return verdict
    return None


def _first_allowed_after(
    state: PairState, prefix: Sequence[PlannedSend], not_before: datetime, policy: ThrottlePolicy
) -> datetime:
    """The earliest instant ≥ not_before a send passes `min_gap` after the `prefix` sends."""
    streak = state.unanswered_streak
    last_sent = state.last_sent_at
    for item, verdict in _walk(state, prefix, policy):
        if verdict is None:
            streak += 1
            last_sent = item.at
    if state.last_received_at is not None:
        conversation_ends = state.last_received_at + policy.conversation_window
        if not_before < conversation_ends:
            return not_before
    if streak >= 1 and last_sent is not None:
        return max(not_before, last_sent + policy.gap_after(streak))
    return not_before


def earliest_slot(
    state: PairState,
    scheduled: Sequence[PlannedSend],
    not_before: datetime,
    policy: ThrottlePolicy,
) -> datetime | None:
    """The earliest instant ≥ not_before at which a send fits the schedule (None: only a reply
    can make room). Schedules are a handful of items, so every gap between them is tried."""
    ordered = sorted(scheduled, key=lambda i: i.at)
    candidates = []
    for position in range(len(ordered) + 1):
        prefix = ordered[:position]
        floor = max([not_before, *(i.at for i in prefix)])
        candidate = _first_allowed_after(state, prefix, floor, policy)
        if check_schedule(state, ordered, candidate, policy) is None:
            candidates.append(candidate)
    return min(candidates) if candidates else None


# Refusals as domain errors ------------------------------------------------------------------


def _seconds_until(instant: datetime | None, now: datetime) -> int | None:
    if instant is None:
        return None
    return max(1, ceil((instant - now).total_seconds()))


class RecipientUnavailable(PermissionDenied):
    reason = RECIPIENT_UNAVAILABLE
    title = "This person is not receiving messages from you"


class AwaitingReply(Conflict):
    reason = AWAITING_REPLY
    title = "Wait for a reply before writing again"


class MinGap(RateLimited):
    reason = MIN_GAP
    title = "Give them time to answer before writing again"


class ConversationBurst(RateLimited):
    reason = CONVERSATION_BURST
    title = "Too many messages in a few minutes; let them catch up"


class DailyCap(RateLimited):
    reason = DAILY_CAP
    title = "You reached today's limit of messages to new contacts"


class RecipientBusy(RateLimited):
    reason = RECIPIENT_BUSY
    title = "This person received many messages from new contacts today; try later"


REFUSAL_ERRORS = {
    error.reason: error
    for error in (
        RecipientUnavailable,
        AwaitingReply,
        MinGap,
        ConversationBurst,
        DailyCap,
        RecipientBusy,
    )
}


def refusal_error(decision: ThrottleDecision, now: datetime) -> Exception:
    """The domain error a refused send raises (403/409/429 at the edge)."""
    error = REFUSAL_ERRORS[decision.reason]
    if error is RecipientUnavailable:
        return error()
    next_allowed_at = to_iso(decision.next_allowed_at)
    detail = f"{error.title}. " + (
        f"Next allowed at {next_allowed_at}."
        if next_allowed_at
        else "Only a reply from them lifts this."
    )
    context: dict[str, Any] = {"next_allowed_at": next_allowed_at}
    if decision.next_allowed_at is not None:
        context["retry_after"] = _seconds_until(decision.next_allowed_at, now)
    return error(detail, **context)


class ScheduleAwaitingReply(InvalidInput):
    reason = AWAITING_REPLY
    title = "The schedule already has as many unanswered messages as the policy allows"


class ScheduleMinGap(InvalidInput):
    reason = MIN_GAP
    title = "Too close to another message to this contact"


def schedule_error(problem: ScheduleProblem, earliest: datetime | None) -> InvalidInput:
    error = ScheduleMinGap if problem.reason == MIN_GAP else ScheduleAwaitingReply
    if error is ScheduleMinGap and earliest is None:
        error = ScheduleAwaitingReply
    return error(earliest_allowed_at=to_iso(earliest))
