"""The delivery loop (follow-ups, then push), for `flask deliver-follow-ups --loop` (`make
worker`) and for the thread `make run` starts inside its server process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from api.policy import EXTENSION as THROTTLE_POLICY
from services.messaging import delivery
from services.push.delivery import PushWorker
from services.push.providers import PushConfig

log = logging.getLogger("wellspring.delivery")


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
    """Follow-ups and pushes, pass after pass, until `stop` is set."""
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
