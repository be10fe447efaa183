"""A push worker in its own process, sending to a provider that never answers, so a test can
SIGKILL it with a batch claimed and in flight (imported by the spawned child: keep it small)."""

from __future__ import annotations

from datetime import datetime

from services.core.clock import SettableClock
from services.core.db import make_engine, make_session_factory
from services.push.delivery import PushWorker
from services.push.providers import PushConfig


def push_into_a_black_hole(database_url: str, env: dict, now: str, batch: int) -> None:
    engine = make_engine(database_url)
    worker = PushWorker(PushConfig.from_mapping(env), batch=batch)
    worker.run_pass(make_session_factory(engine), SettableClock(datetime.fromisoformat(now)))
