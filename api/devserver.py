"""`make run`: the API (gunicorn) and the delivery worker side by side, supervised.

Two child processes: gunicorn with gunicorn.conf.py, and `flask --app api deliver --loop` with
a short interval, so one command on a laptop serves requests and delivers follow-ups and mail.
The worker is a process of its own rather than a thread in gunicorn's master: the master forks
its workers, and forking a process while another of its threads holds a lock (logging's, the
connection pool's) can leave a child stuck on it; and a crash or a slow SMTP server in the
worker must never touch the API. If the worker exits, it is started again (after 1 s, doubling
to 30 s while it keeps failing at once); if gunicorn exits, the worker is stopped and `make run`
ends with gunicorn's status. SIGINT/SIGTERM stop both.

Production runs the two separately: `make serve` and `make worker` (one or more).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _gunicorn() -> list[str]:
    return [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "api:create_app()"]


def _worker(interval: float) -> list[str]:
    return [str(BIN / "flask"), "--app", "api", "deliver", "--loop", "--interval", f"{interval:g}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker-interval", type=float, default=2.0)
    args = parser.parse_args(argv)

    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    api = subprocess.Popen(_gunicorn(), cwd=ROOT)
    worker = subprocess.Popen(_worker(args.worker_interval), cwd=ROOT)
    backoff, started = 1.0, time.monotonic()
    try:
        while not stopping:
            if api.poll() is not None:
                break
            if worker.poll() is not None:
                quick = time.monotonic() - started < 10
                backoff = min(backoff * 2, 30.0) if quick else 1.0
                print(
                    f"devserver: the delivery worker exited ({worker.returncode}); "
                    f"starting it again in {backoff:g} s",
                    file=sys.stderr,
                )
                deadline = time.monotonic() + backoff
                while not stopping and time.monotonic() < deadline and api.poll() is None:
                    time.sleep(0.2)
                if stopping or api.poll() is not None:
                    break
                worker = subprocess.Popen(_worker(args.worker_interval), cwd=ROOT)
                started = time.monotonic()
            time.sleep(0.2)
    finally:
        for child in (worker, api):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in (worker, api):
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    return api.returncode if api.returncode is not None else 0


if __name__ == "__main__":
    os.environ.setdefault("WELLSPRING_ENV", "development")
    sys.exit(main())
