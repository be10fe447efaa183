"""A delivery worker run in its own process, which stops dead in the middle of a delivery so a
test can SIGKILL it there (imported by the spawned child: keep it importable and small)."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import event, text

from services.core.clock import SettableClock
from services.core.db import make_engine, make_session_factory
from services.core.models import FollowUp
from services.messaging.delivery import deliver_due_follow_ups
from services.messaging.throttle import ThrottlePolicy


def deliver_until_the_nth_commit_then_hang(database_url: str, now: str, nth: int, report) -> None:
    """Deliver; at the nth delivery, with its message written but not committed, report
    (backend pid, follow-up id) and hang until killed."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    commits = 0

    @event.listens_for(factory, "before_commit")
    def hang_on_the_nth(session) -> None:
        nonlocal commits
        commits += 1
        if commits < nth:
            return
        session.flush()  # the message row and the follow-up's new status, uncommitted
        in_flight = [o.id for o in session.identity_map.values() if isinstance(o, FollowUp)]
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
        report.put((backend, in_flight))
        time.sleep(3600)

    deliver_due_follow_ups(
        factory, SettableClock(datetime.fromisoformat(now)), ThrottlePolicy(), batch=1_000_000
    )
