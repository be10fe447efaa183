"""The delivery worker: one loop running a list of steps, pass after pass.

Each step delivers what is due in one outbox (follow-ups, push, mail) or does some
housekeeping (expired Idempotency-Key answers, the offline-sync log), and answers how many
items it handled and a line saying what it did; a step that handled a full batch is not caught
up, so the loop goes round again without waiting. A failing step is logged and the others
still run. Adding a kind of delivery is adding a `Step` to `delivery_steps`.

Run by `flask --app api deliver [--loop]` (`make worker` in production, beside `make serve`;
`deliver-follow-ups` is its older name), and by `make run` beside the API on a laptop
(api/devserver.py supervises it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask

from api.policy import EXTENSION as THROTTLE_POLICY
from services.core import idempotency
from services.mail.outbox import deliver_due_mail
from services.mail.transport import transport_from_config
from services.messaging import delivery
from services.offline.compaction import compact_change_log
from services.push.delivery import PushWorker
from services.push.providers import PushConfig

log = logging.getLogger("wellspring.worker")
SYNC_LOG_COMPACTION_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class StepResult:
    handled: int  # a full batch means more is waiting; housekeeping answers 0
    summary: str = ""  # what the pass did, for the log (empty: nothing to say)


@dataclass(frozen=True)
class Step:
    name: str
    batch: int
    # One pass: deliver up to `batch` due items, stop early when the event is set.
    run: Callable[[threading.Event], StepResult]


def delivery_steps(app: Flask, *, batch: int = 500) -> list[Step]:
    db = app.extensions["wellspring.db"]
    clock = app.extensions["wellspring.clock"]
    policy = app.extensions[THROTTLE_POLICY]
    transport = app.extensions.get("wellspring.mail_transport") or transport_from_config(
        app.config.get("SMTP_URL"), Path(app.config["MAIL_DIR"])
    )
    mail_from = app.config["MAIL_FROM"]

    def expired_answers(_stop: threading.Event) -> StepResult:
        # Housekeeping, not delivery: Idempotency-Key answers past their 24 hours. Counted
        # as 0 handled so the loop never spins on it.
        with db.session_factory() as session:
            purged = idempotency.purge_expired(session, clock.now())
        return StepResult(0, f"purged {purged} expired idempotency answers" if purged else "")

    def follow_ups(stop: threading.Event) -> StepResult:
        report = delivery.deliver_due_follow_ups(
            db.session_factory, clock, policy, batch=batch, stop=stop
        )
        return StepResult(report.processed, f"follow-ups: {report}" if report.processed else "")

    pusher = push_worker(app)

    def push(_stop: threading.Event) -> StepResult:
        decided, sent = pusher.run_pass(db.session_factory, clock)
        busy = decided.decided or sent.processed
        # A pass takes what is due; nothing is left waiting for another.
        return StepResult(0, f"push: {decided}; {sent}" if busy else "")

    def mail(stop: threading.Event) -> StepResult:
        report = deliver_due_mail(
            db.session_factory, clock, transport, mail_from, batch=batch, stop=stop
        )
        return StepResult(report.processed, f"mail: {report}" if report.processed else "")

    retention = timedelta(days=app.config["SYNC_LOG_RETENTION_DAYS"])
    compacted_at: list[datetime] = []

    def sync_log(_stop: threading.Event) -> StepResult:
        # Housekeeping, once a day (a pass scans the whole log: 6 s for 2.3 million rows). The
        # day between passes is also what makes compaction safe for a pull that read a
        # watermark just before a pass dropped it.
        now = clock.now()
        if compacted_at and now - compacted_at[-1] < SYNC_LOG_COMPACTION_EVERY:
            return StepResult(0)
        report = compact_change_log(
            db.read_session_factory, db.session_factory, now, retention=retention
        )
        compacted_at[:] = [now]
        if not (report.changes_removed or report.watermarks_removed):
            return StepResult(0)
        return StepResult(
            0,
            f"sync log: {report.changes_removed} superseded change rows and "
            f"{report.watermarks_removed} old watermarks removed",
        )

    return [
        Step("expired-idempotency-answers", batch, expired_answers),
        Step("sync-log-compaction", batch, sync_log),
        Step("follow-ups", batch, follow_ups),
        Step("push", batch, push),
        Step("mail", batch, mail),
    ]


def log_summary(step: Step, summary: str) -> None:
    log.info("%s", summary)


def run_pass(
    steps: list[Step],
    stop: threading.Event,
    report: Callable[[Step, str], None] = log_summary,
) -> bool:
    """Every step once, each summary handed to `report` (the log; the one-pass command prints
    them); answers whether some step has more waiting (a full batch)."""
    more = False
    for step in steps:
        if stop.is_set():
            break
        try:
            result = step.run(stop)
        except Exception:  # the database or the mail server went away, say: keep going
            log.exception("delivery step %s failed; next pass", step.name)
            continue
        if result.summary:
            report(step, result.summary)
        more = more or result.handled >= step.batch
    return more


def run_loop(steps: list[Step], *, interval: float, stop: threading.Event) -> None:
    """Pass after pass until `stop` is set; waits `interval` seconds once caught up."""
    while not stop.is_set():
        if not run_pass(steps, stop):
            stop.wait(interval)


def push_worker(app: Flask) -> PushWorker:
    """Senders for the configured providers (one log line per provider left out)."""
    return PushWorker(PushConfig.from_mapping(app.config))
