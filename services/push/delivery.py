"""Sending decided pushes: a step of the delivery worker's loop.

A pass: decide the due notifications (services.push.dispatch), then claim due deliveries
(`FOR UPDATE SKIP LOCKED`), lease them (their `next_attempt_at` moves LEASE ahead and the claim
commits), send them concurrently outside any transaction (HTTP/2 streams on one APNs
connection, pooled keep-alive connections for FCM and Web Push), and record every answer in
one transaction:

- sent → `sent`;
- the token or subscription is dead (APNs 410 / 400 BadDeviceToken, FCM 404 UNREGISTERED /
  400 on the token, Web Push 404/410) → the device is deleted (its queued deliveries with it);
- 429, 5xx, timeouts, connection errors → tried again after an exponential back-off with
  jitter, never sooner than the provider's `Retry-After`, until 24 h after the push was
  decided; then `failed`;
- any other refusal → `failed` with the provider's reason.

A worker killed after a claim commits and before its answers are recorded loses nothing: the
lease runs out and the next pass sends those deliveries again. So a push can be sent twice at
most for the deliveries of one batch in flight (`batch`, 500 by default) — never more, and only
when a worker dies mid-batch. A message read before its push leaves is dropped at claim time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import Clock
from services.core.db import retrying_transient_conflicts
from services.core.models import Message, Notification, PushDelivery, PushDevice
from services.push.dispatch import DispatchReport, dispatch_batch
from services.push.outbox import QUEUED, SENT
from services.push.providers import (
    GONE,
    RETRY,
    PushConfig,
    SendResult,
    Target,
)
from services.push.providers import (
    SENT as PROVIDER_SENT,
)
from services.push.providers import (
    Push as ProviderPush,
)

log = logging.getLogger("wellspring.push")

LEASE = timedelta(minutes=2)  # a claimed delivery comes back after this if its worker died
FIRST_RETRY = 30.0  # seconds; doubled per attempt
MAX_BACKOFF = 3600.0
DROPPED = "dropped"
FAILED_STATUS = "failed"


def backoff_seconds(attempts: int, retry_after: float | None, rng: random.Random) -> float:
    """Exponential back-off with jitter (between half and all of 30 s times 2^(attempts-1), at most
    an hour), never shorter than the provider's Retry-After."""
    ceiling = min(MAX_BACKOFF, FIRST_RETRY * 2 ** max(0, attempts - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass
class SendReport:
    sent: int = 0
    gone: int = 0  # devices deleted
    retried: int = 0
    failed: int = 0
    dropped: int = 0  # read before sending
    by_provider: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.sent + self.gone + self.retried + self.failed + self.dropped


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    device_id: uuid.UUID
    attempts: int
    give_up_at: datetime
    target: Target
    push: ProviderPush


def _push_of(payload: dict) -> ProviderPush:
    return ProviderPush(
        type=payload["type"],
        title=payload["title"],
        body=payload["body"],
        data=payload["data"],
        badge=payload.get("badge"),
        collapse_key=payload.get("collapse_key"),
    )


def claim_deliveries(
    session: Session, now: datetime, providers: list[str], batch: int
) -> tuple[list[Claimed], int]:
    """Lease up to `batch` due deliveries; drop those whose message was read. Caller commits."""
    rows = session.execute(
        select(
            PushDelivery.id,
            PushDelivery.device_id,
            PushDelivery.attempts,
            PushDelivery.give_up_at,
            PushDevice.provider,
            PushDevice.token,
            PushDevice.p256dh,
            PushDevice.auth,
            Notification.payload,
            Message.read_at,
        )
        .join(PushDevice, PushDevice.id == PushDelivery.device_id)
        .join(Notification, Notification.id == PushDelivery.notification_id)
        .outerjoin(Message, Message.id == Notification.message_id)
        .where(
            PushDelivery.status == QUEUED,
            PushDelivery.next_attempt_at <= now,
            PushDevice.provider.in_(providers),
        )
        .order_by(PushDelivery.next_attempt_at, PushDelivery.id)
        .limit(batch)
        .with_for_update(of=PushDelivery, skip_locked=True)
    ).all()
    read = [row.id for row in rows if row.read_at is not None]
    claimed = [
        Claimed(
            row.id,
            row.device_id,
            row.attempts + 1,
            row.give_up_at,
            Target(row.provider, row.token, row.p256dh, row.auth),
            _push_of(row.payload),
        )
        for row in rows
        if row.read_at is None
    ]
    if read:
        session.execute(
            update(PushDelivery)
            .where(PushDelivery.id.in_(read))
            .values(status=DROPPED, last_error="read before sending")
        )
    if claimed:
        session.execute(
            update(PushDelivery)
            .where(PushDelivery.id.in_([c.id for c in claimed]))
            .values(next_attempt_at=now + LEASE, attempts=PushDelivery.attempts + 1)
        )
    return claimed, len(read)


def record_results(
    session: Session,
    now: datetime,
    results: list[tuple[Claimed, SendResult]],
    rng: random.Random,
    report: SendReport,
) -> None:
    """Write what the providers answered; the caller commits."""
    sent, gone, failed, retry = [], set(), [], []
    for claimed, result in results:
        provider = claimed.target.provider
        if result.outcome == PROVIDER_SENT:
            sent.append(claimed.id)
            report.by_provider[provider] = report.by_provider.get(provider, 0) + 1
        elif result.outcome == GONE:
            gone.add(claimed.device_id)
            log.info("push: %s device %s is gone (%s)", provider, claimed.device_id, result.reason)
        elif result.outcome == RETRY:
            delay = backoff_seconds(claimed.attempts, result.retry_after, rng)
            when = now + timedelta(seconds=delay)
            if when > claimed.give_up_at:
                failed.append({"id": claimed.id, "error": _error(result, "gave up after 24 h")})
            else:
                retry.append({"id": claimed.id, "when": when, "error": _error(result)})
        else:
            failed.append({"id": claimed.id, "error": _error(result)})
    if sent:
        session.execute(
            update(PushDelivery)
            .where(PushDelivery.id.in_(sent))
            .values(status=SENT, sent_at=now, last_error=None)
        )
    for item in retry:
        session.execute(
            update(PushDelivery)
            .where(PushDelivery.id == item["id"])
            .values(next_attempt_at=item["when"], last_error=item["error"])
        )
    for item in failed:
        session.execute(
            update(PushDelivery)
            .where(PushDelivery.id == item["id"])
            .values(status=FAILED_STATUS, last_error=item["error"])
        )
    if gone:
        session.execute(delete(PushDelivery).where(PushDelivery.device_id.in_(gone)))
        session.execute(delete(PushDevice).where(PushDevice.id.in_(gone)))
    report.sent += len(sent)
    report.gone += sum(1 for _, r in results if r.outcome == GONE)
    report.retried += len(retry)
    report.failed += len(failed)


def _error(result: SendResult, prefix: str | None = None) -> str:
    text = " ".join(str(p) for p in (prefix, result.status, result.reason) if p)
    return text[:200] or "error"


class PushWorker:
    """The push step of the delivery loop: senders and their connections live as long as it."""

    def __init__(
        self,
        config: PushConfig,
        *,
        batch: int = 500,
        concurrency: int = 100,
        rng: random.Random | None = None,
    ):
        self.senders = config.senders()
        self.providers = sorted(self.senders)
        self.batch, self.concurrency = batch, concurrency
        self.rng = rng or random.Random()
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()  # one pass at a time per worker object

    # Deciding -------------------------------------------------------------------------

    def dispatch(self, session_factory: sessionmaker[Session], clock: Clock) -> DispatchReport:
        total = DispatchReport()
        while True:
            with session_factory() as session:

                def one_batch(session=session) -> DispatchReport:
                    report = dispatch_batch(
                        session, clock.now(), providers=self.providers, batch=self.batch
                    )
                    session.commit()
                    return report

                report = retrying_transient_conflicts(session, one_batch)
            total.sent += report.sent
            total.collapsed += report.collapsed
            total.held += report.held
            total.deliveries += report.deliveries
            for reason, count in report.dropped.items():
                total.dropped[reason] = total.dropped.get(reason, 0) + count
            if report.decided < self.batch:
                return total

    # Sending --------------------------------------------------------------------------

    async def _send_all(self, claimed: list[Claimed]) -> list[tuple[Claimed, SendResult]]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: Claimed) -> tuple[Claimed, SendResult]:
            async with gate:
                sender = self.senders[item.target.provider]
                try:
                    return item, await sender.send(item.target, item.push)
                except Exception as error:  # a bug must not lose the batch: retry it later
                    log.exception("push: sending %s failed", item.id)
                    return item, SendResult(RETRY, None, f"error: {type(error).__name__}")

        return await asyncio.gather(*(one(item) for item in claimed))

    def send_once(
        self, session_factory: sessionmaker[Session], clock: Clock, report: SendReport
    ) -> int:
        """Claim, send and record one batch; answers how many deliveries it claimed."""
        if not self.providers:
            return 0
        with session_factory() as session:

            def claim(session=session):
                result = claim_deliveries(session, clock.now(), self.providers, self.batch)
                session.commit()
                return result

            claimed, dropped = retrying_transient_conflicts(session, claim)
        report.dropped += dropped
        if not claimed:
            return dropped
        results = self._loop.run_until_complete(self._send_all(claimed))
        with session_factory() as session:

            def record(session=session):
                record_results(session, clock.now(), results, self.rng, report)
                session.commit()

            retrying_transient_conflicts(session, record)
        return len(claimed) + dropped

    def send(self, session_factory: sessionmaker[Session], clock: Clock) -> SendReport:
        report = SendReport()
        while self.send_once(session_factory, clock, report) >= self.batch:
            pass
        return report

    def run_pass(
        self, session_factory: sessionmaker[Session], clock: Clock
    ) -> tuple[DispatchReport, SendReport]:
        """Decide what is due, then send what is due; the delivery loop calls this each pass."""
        with self._lock:
            decided = self.dispatch(session_factory, clock)
            sent = self.send(session_factory, clock)
        return decided, sent

    def close(self) -> None:
        async def close_all():
            for sender in self.senders.values():
                await sender.aclose()

        self._loop.run_until_complete(close_all())
        for sender in self.senders.values():
            http = getattr(sender, "_http", None)
            if http is not None:
                http.close()
        self._loop.close()
