"""The delivery worker: one loop running a list of delivery steps, pass after pass.

Each step delivers what is due in one outbox (follow-ups, mail, …) and answers how many items
it handled; a step that handled a full batch is not caught up, so the loop goes round again
without waiting. A failing step is logged and the others still run. Adding a kind of delivery
(a purge, say) is adding a `Step` to `delivery_steps`.

Run by `flask --app api deliver --loop` (`make worker` in production, beside `make serve`),
and by `make run` beside the API on a laptop (api/devserver.py supervises it). The older
`flask --app api deliver-follow-ups` runs follow-ups and pushes through `run_delivery_loop`
(below), and `start_in_process` runs that loop on a thread of a gunicorn worker when
IN_PROCESS_WORKER=1 (gunicorn.conf.py); `make run` no longer sets it.
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
class Step:
    name: str
    batch: int
    # One pass: deliver up to `batch` due items, stop early when the event is set; answers
    # the number handled.
    run: Callable[[threading.Event], int]


def delivery_steps(app: Flask, *, batch: int = 500) -> list[Step]:
    db = app.extensions["wellspring.db"]
    clock = app.extensions["wellspring.clock"]
    policy = app.extensions[THROTTLE_POLICY]
    transport = app.extensions.get("wellspring.mail_transport") or transport_from_config(
        app.config.get("SMTP_URL"), Path(app.config["MAIL_DIR"])
    )
    mail_from = app.config["MAIL_FROM"]

    def expired_answers(_stop: threading.Event) -> int:
        # Housekeeping, not delivery: Idempotency-Key answers past their 24 hours. Counted
        # as 0 handled so the loop never spins on it.
        with db.session_factory() as session:
            purged = idempotency.purge_expired(session, clock.now())
        if purged:
            log.info("purged %d expired idempotency answers", purged)
        return 0

    def follow_ups(stop: threading.Event) -> int:
        report = delivery.deliver_due_follow_ups(
            db.session_factory, clock, policy, batch=batch, stop=stop
        )
        if report.processed:
            log.info("follow-ups: %s", report)
        return report.processed

    pusher = push_worker(app)

    def push(_stop: threading.Event) -> int:
        decided, sent = pusher.run_pass(db.session_factory, clock)
        if decided.decided or sent.processed:
            log.info("push: %s; %s", decided, sent)
        return 0  # a pass takes what is due; nothing is left waiting for another

    def mail(stop: threading.Event) -> int:
        report = deliver_due_mail(
            db.session_factory, clock, transport, mail_from, batch=batch, stop=stop
        )
        if report.processed:
            log.info("mail: %s", report)
        return report.processed

    retention = timedelta(days=app.config["SYNC_LOG_RETENTION_DAYS"])
    compacted_at: list[datetime] = []

    def sync_log(_stop: threading.Event) -> int:
        # Housekeeping, once a day (a pass scans the whole log: 6 s for 2.3 million rows). The
        # day between passes is also what makes compaction safe for a pull that read a
        # watermark just before a pass dropped it.
        now = clock.now()
        if compacted_at and now - compacted_at[-1] < SYNC_LOG_COMPACTION_EVERY:
            return 0
        report = compact_change_log(
            db.read_session_factory, db.session_factory, now, retention=retention
        )
        compacted_at[:] = [now]
        if report.changes_removed or report.watermarks_removed:
            log.info("sync log: %s", report)
        return 0

    return [
        Step("expired-idempotency-answers", batch, expired_answers),
        Step("sync-log-compaction", batch, sync_log),
        Step("follow-ups", batch, follow_ups),
        Step("push", batch, push),
        Step("mail", batch, mail),
    ]


def run_pass(steps: list[Step], stop: threading.Event) -> bool:
    """Every step once; answers whether some step has more waiting (a full batch)."""
    more = False
    for step in steps:
        if stop.is_set():
            break
        try:
            handled = step.run(stop)
        except Exception:  # the database or the mail server went away, say: keep going
            log.exception("delivery step %s failed; next pass", step.name)
            continue
        more = more or handled >= step.batch
    return more


def run_loop(steps: list[Step], *, interval: float, stop: threading.Event) -> None:
    """Pass after pass until `stop` is set; waits `interval` seconds once caught up."""
    while not stop.is_set():
        if not run_pass(steps, stop):
            stop.wait(interval)


def push_worker(app: Flask) -> PushWorker:
    """Senders for the configured providers (one log line per provider left out)."""
    return PushWorker(PushConfig.from_mapping(app.config))


def push_step(app: Flask, pusher: PushWorker):
    db, clock = app.extensions["wellspring.db"], app.extensions["wellspring.clock"]

    def push() -> None:
        decided, sent = pusher.run_pass(db.session_factory, clock)
        if decided.decided or sent.processed:
            log.info("push pass: %s; %s", decided, sent)

    return push


def run_delivery_loop(
    app: Flask,
    *,
    interval: float,
    batch: int,
    stop: threading.Event,
    housekeeping: Callable[[], object] | None = None,
) -> None:
    """Follow-ups and pushes, pass after pass, until `stop` is set (`deliver-follow-ups`)."""
    pusher = push_worker(app)
    try:
        delivery.run_worker(
            app.extensions["wellspring.db"].session_factory,
            app.extensions["wellspring.clock"],
            app.extensions[THROTTLE_POLICY],
            batch=batch,
            interval=interval,
            stop=stop,
            housekeeping=housekeeping,
            steps=(push_step(app, pusher),),
        )
    finally:
        pusher.close()


def start_in_process(app: Flask, *, interval: float = 2.0, batch: int = 500) -> threading.Event:
    """Run the delivery loop on a daemon thread of this process; set the answer to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_delivery_loop,
        args=(app,),
        kwargs={"interval": interval, "batch": batch, "stop": stop},
        name="delivery-loop",
        daemon=True,
    )
    thread.start()
    log.info("delivery loop running in this process every %g s", interval)
    return stop
