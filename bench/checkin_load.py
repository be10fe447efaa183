"""Check-in load benchmark: door scans against the framework's own ceiling, SQLite and PostgreSQL.

    make bench                       # both databases, concurrency 8 and 32, 3 rounds of 15 s runs
    .venv/bin/python bench/checkin_load.py --databases postgresql --duration 5 --profile

For each database (a throwaway SQLite file; a throwaway database on BENCH_POSTGRES_URL's server):
1. Ceilings, served by gunicorn with the project's gunicorn.conf.py and 2 workers like the app:
   a bare Flask JSON endpoint, and a Flask endpoint doing one SQLAlchemy INSERT
   (bench/ceiling_app.py).
2. The app under the same settings (`make serve`: production, JSON access log on), the three
   servers side by side. For each concurrency, 3 rounds (`--rounds`), each on a fresh event
   with 20,000 registrations (bulk-seeded, hashed badge codes): the two ceilings, then
   - first-time scans: every request scans a badge not scanned before (201 checked_in);
   - duplicate scans: badges already checked in, round-robin (200 already_checked_in).
3. A 500-scan `POST /v1/sync/scans` batch (and its replay) and message sends, timed one by one,
   when the running app's spec has those endpoints ("n/a (endpoint missing)" otherwise).

The load generator is wrk (C, epoll, one thread): on a 2-core machine a Python client would
take a good part of a core from the server it measures, and more of it from the faster ceilings,
which would flatter the ratios. Its Lua script (bench/wrk_post.lua) gives each request the next
badge of a file and counts answers by status, so a first-time run that ran out of fresh badges
or got anything but 201 is reported as such.

`--profile` adds a first-time-scan run (not one of the measured ones) while py-spy samples the
GIL-holding thread of one gunicorn worker, and prints where its CPU went, by layer and by the
app's functions (bench/results/ keeps the raw stacks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from harness import (
    REPO,
    RESULTS_DIR,
    SERVE_THREADS,
    BenchDatabase,
    Seeder,
    Server,
    gunicorn,
    http_json,
    throwaway_database,
)
from sqlalchemy import select, text

from services.checkin.checkins import BadgeScan
from services.core.models import User
from services.networking import contacts

WRK_SCRIPT = REPO / "bench" / "wrk_post.lua"
APP = "api:create_app()"
BARE = "ceiling_app:bare_app()"
ONE_INSERT = "ceiling_app:insert_app()"
WARM_UP_SCANS = 100
SYNC_BATCH = 500
MESSAGE_SENDS = 20


@dataclass
class Run:
    database: str
    scenario: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    statuses: dict[str, int]
    errors: dict[str, int]
    wrapped: bool
    notes: list[str] = field(default_factory=list)
    round: int = 1


def wrk(url: str, badges_file: Path, token: str, concurrency: int, duration: int) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(badges_file),
        token,
        "1",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def to_run(database: str, scenario: str, concurrency: int, raw: dict, round_: int) -> Run:
    seconds = raw["duration_us"] / 1e6
    return Run(
        round=round_,
        database=database,
        scenario=scenario,
        concurrency=concurrency,
        rps=raw["requests"] / seconds,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        requests=raw["requests"],
        statuses=raw["statuses"],
        errors={k: v for k, v in raw["errors"].items() if v},
        wrapped=bool(raw["wrapped"]),
    )


def write_lines(path: Path, values: list[str]) -> Path:
    path.write_text("\n".join(values) + "\n")
    return path


# --- the runs ---------------------------------------------------------------------------------


def measure(database: BenchDatabase, args, workdir: Path) -> tuple[list[Run], dict[str, Any]]:
    """The three servers side by side (idle ones cost nothing); for each concurrency the
    ceilings and the scans run back to back, so a change in the machine's load hits all alike."""
    from ceiling_app import metadata

    engine = database.engine()
    metadata.create_all(engine)
    engine.dispose()
    fillers = write_lines(workdir / "ceiling-badges.txt", [uuid.uuid4().hex for _ in range(1000)])
    seeder = Seeder(database)
    token = seeder.staff.token
    runs: list[Run] = []
    kind = database.kind

    def log(name: str) -> Path:
        return RESULTS_DIR / f"gunicorn-{kind}-{name}.log"

    with (
        gunicorn(BARE, database, log("bare"), health_path="/health") as bare,
        gunicorn(ONE_INSERT, database, log("insert"), health_path="/health") as one_insert,
        gunicorn(APP, database, log("app")) as app,
    ):
        for server in (bare, one_insert):
            wrk(server.base_url + "/ceiling", fillers, token, 8, 2)  # warm-up
        for concurrency in args.concurrency:
            for round_ in range(1, args.rounds + 1):
                runs += measure_round(
                    seeder, app, (bare, one_insert), args, workdir, concurrency, round_
                )

        extras: dict[str, Any] = {
            "sync": time_sync_batch(seeder, app),
            "messages": time_message_sends(seeder, app),
        }
        if args.profile:
            extras["profile"] = summarize_profile(profile_scans(seeder, app, args, workdir))
    seeder.close()
    return runs, extras


def measure_round(
    seeder: Seeder,
    app: Server,
    ceiling_servers: tuple[Server, Server],
    args,
    workdir: Path,
    concurrency: int,
    round_: int,
) -> list[Run]:
    """One round at one concurrency: a fresh event, the two ceilings, then the scans, back to
    back, so that whatever else the machine is doing weighs on the four runs alike."""
    bare, one_insert = ceiling_servers
    kind = seeder.database.kind
    token = seeder.staff.token
    fillers = workdir / "ceiling-badges.txt"
    runs: list[Run] = []
    started = time.monotonic()
    event = seeder.event(args.registrations)
    print(
        f"  c={concurrency}, round {round_}: seeded an event with {args.registrations} "
        f"registrations in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    url = f"{app.base_url}/v1/events/{event.event_id}/check-ins"
    for badge in event.badges[:WARM_UP_SCANS]:
        status, body = http_json("POST", url, {"badge": badge}, token)
        if status != 201:
            raise RuntimeError(f"warm-up scan answered {status}: {body}")
    ceilings = (("ceiling: bare Flask JSON", bare), ("ceiling: one INSERT", one_insert))
    for label, server in ceilings:
        raw = wrk(server.base_url + "/ceiling", fillers, token, concurrency, args.duration)
        runs.append(to_run(kind, label, concurrency, raw, round_))
        print_run(runs[-1])

    fresh = write_lines(workdir / "fresh.txt", event.badges[WARM_UP_SCANS:])
    raw = wrk(url, fresh, token, concurrency, args.duration)
    first = to_run(kind, "first-time scans", concurrency, raw, round_)
    if first.wrapped:
        first.notes.append("ran out of fresh badges: includes duplicates")
    runs.append(first)
    print_run(first)

    # wrk calls request() once to check the script before it starts sending, so the
    # first fresh badge was never scanned; responses in flight when wrk stopped may not
    # have been processed either: leave both out.
    sent = event.badges[WARM_UP_SCANS + 1 : WARM_UP_SCANS + first.requests - concurrency]
    scanned = event.badges[:WARM_UP_SCANS] + sent[:5000]
    again = write_lines(workdir / "scanned.txt", scanned)
    raw = wrk(url, again, token, concurrency, args.duration)
    runs.append(to_run(kind, "duplicate scans", concurrency, raw, round_))
    print_run(runs[-1])
    return runs


def spec_paths(server: Server) -> dict[str, Any]:
    status, spec = http_json("GET", server.base_url + "/v1/openapi.json")
    return spec.get("paths", {}) if status == 200 else {}


def time_sync_batch(seeder: Seeder, server: Server) -> dict[str, Any]:
    if "post" not in spec_paths(server).get("/v1/sync/scans", {}):
        return {"first": "n/a (endpoint missing)", "replay": "n/a (endpoint missing)"}
    event = seeder.event(SYNC_BATCH, name="Sync Conf")
    scanned_at = datetime.now(UTC).isoformat()
    batch = {
        "scans": [
            {
                "client_scan_id": str(uuid.uuid4()),
                "kind": "check_in",
                "event_id": event.event_id,
                "badge": badge,
                "scanned_at": scanned_at,
            }
            for badge in event.badges
        ]
    }
    timings: dict[str, Any] = {}
    for label in ("first", "replay"):
        started = time.perf_counter()
        status, body = http_json(
            "POST", server.base_url + "/v1/sync/scans", batch, seeder.staff.token
        )
        elapsed = time.perf_counter() - started
        answers = Counter(r.get("status") for r in (body or {}).get("results", []))
        timings[label] = f"{elapsed * 1000:.0f} ms (HTTP {status}, {dict(answers)})"
        timings[f"{label}_seconds"] = elapsed
    return timings


def time_message_sends(seeder: Seeder, server: Server) -> dict[str, Any]:
    if "post" not in spec_paths(server).get("/v1/contacts/{contact_id}/messages", {}):
        return {"sends": "n/a (endpoint missing)"}
    event = seeder.event(MESSAGE_SENDS, name="Messaging Conf")
    sender = seeder.person("sender")
    seeder.register(sender, event.event_id)
    contact_ids = []
    with seeder.app.app_context():
        session = seeder.app.extensions["wellspring.db"].session_factory()
        scanner = session.scalar(select(User).where(User.email == sender.email))
        for badge in event.badges:
            exchange = contacts.exchange_by_scan(
                session,
                scanner=scanner,
                event_id=uuid.UUID(event.event_id),
                scan=BadgeScan(badge=badge),
                note=None,
                now=datetime.now(UTC),
            )
            contact_ids.append(str(exchange.contact.contact.id))
        session.close()
    durations, statuses = [], Counter()
    for contact_id in contact_ids:
        started = time.perf_counter()
        status, _ = http_json(
            "POST",
            f"{server.base_url}/v1/contacts/{contact_id}/messages",
            {"body": "Thank you for the chat at the conference!", "kind": "thank_you"},
            sender.token,
        )
        durations.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
    return {
        "sends": f"{len(durations)} sends to new contacts, median "
        f"{statistics.median(durations):.1f} ms, max {max(durations):.1f} ms "
        f"(HTTP {dict(statuses)})",
        "median_ms": statistics.median(durations),
    }


# --- profile ----------------------------------------------------------------------------------


def profile_scans(seeder: Seeder, server: Server, args, workdir: Path) -> Path:
    """First-time scans at concurrency 8 while py-spy samples one worker (not a measured run)."""
    event = seeder.event(min(args.registrations, 10_000))
    url = f"{server.base_url}/v1/events/{event.event_id}/check-ins"
    fresh = write_lines(workdir / "profile.txt", event.badges)
    raw_path = RESULTS_DIR / f"profile-{seeder.database.kind}.txt"
    worker = server.worker_pids()[0]
    seconds = max(3, args.duration - 2)
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(worker),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(raw_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wrk(url, fresh, seeder.staff.token, 8, seconds + 1)
    spy.wait(timeout=60)
    return raw_path


# Where a sampled frame on top of the stack belongs, by the file it is in (first match wins).
LAYERS = (
    ("psycopg (driver)", ("psycopg",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("gunicorn (HTTP, workers)", ("gunicorn/", "selectors.py", "concurrent/futures")),
    ("logging (JSON lines)", ("logging/", "pythonjsonlogger/", "json/")),
    ("Flask, werkzeug", ("flask/", "werkzeug/")),
    ("flask-smorest, webargs, marshmallow", ("flask_smorest/", "webargs/", "marshmallow/")),
    ("flask-limiter", ("flask_limiter/", "limits/")),
    ("the app (api/, services/)", ("api/", "services/")),
)


def summarize_profile(raw_path: Path) -> str:
    """The GIL-holding samples of one worker: by layer (the frame on top), and the inclusive
    share of the app's own functions (their whole call, database work included)."""
    by_layer: Counter[str] = Counter()
    by_app_function: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_short_frame(frame) for frame in stack.split(";")]
        top = frames[-1]
        by_layer[
            next((name for name, marks in LAYERS if any(m in top for m in marks)), "other")
        ] += samples
        for frame in {f for f in frames if "(api/" in f or "(services/" in f}:
            by_app_function[frame] += samples
    lines = [
        f"  py-spy --gil, {total} samples of one worker during first-time scans ({raw_path.name})",
        "  CPU by layer (frame on top):",
    ]
    lines += [f"    {n / total:6.1%}  {name}" for name, n in by_layer.most_common()]
    lines.append("  the app's functions, inclusive (everything they call):")
    lines += [f"    {n / total:6.1%}  {name}" for name, n in by_app_function.most_common(14)]
    return "\n".join(lines)


def _short_frame(frame: str) -> str:
    """`func (/long/path/site-packages/pkg/mod.py:12)` → `func (pkg/mod.py)`."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    function, path = match.groups()
    for marker in ("site-packages/", str(REPO) + "/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{function} ({path})"


# --- report -----------------------------------------------------------------------------------


def machine_description(args) -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return [
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}); "
        f"load average at the start {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"python {platform.python_version()}; flask {version('flask')}, "
        f"flask-smorest {version('flask-smorest')}, sqlalchemy {version('sqlalchemy')}, "
        f"gunicorn {version('gunicorn')}, psycopg {version('psycopg')}; "
        f"{wrk_version.split(' [')[0].strip()}",
        f"server: gunicorn.conf.py as `make serve` (production), 2 workers x {SERVE_THREADS} "
        "threads (gthread), JSON access log on; the ceilings under the same settings",
        f"load: wrk, 1 thread, keep-alive, {args.duration} s per run; {args.rounds} rounds per "
        f"concurrency level, each on a fresh event of {args.registrations} registrations",
    ]


def describe_database(database: BenchDatabase) -> str:
    if database.kind == "sqlite":
        return f"sqlite {sqlite3.sqlite_version} (file, WAL, synchronous=NORMAL)"
    engine = database.engine()
    with engine.connect() as conn:
        server_version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"postgresql {server_version} (same machine, local TCP, default settings)"


def print_run(run: Run) -> None:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(run.statuses.items()))
    errors = f" errors {run.errors}" if run.errors else ""
    notes = f" ({'; '.join(run.notes)})" if run.notes else ""
    print(
        f"  {run.scenario:<26} c={run.concurrency:<3} {run.rps:8.0f} rps  "
        f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  [{statuses}]{errors}{notes}",
        flush=True,
    )


def report(runs: list[Run], extras: dict[str, dict[str, Any]], header: list[str]) -> str:
    """One line per database, scenario and concurrency: the median over the rounds of rps and
    of each percentile, and the median of each round's ratio to that round's ceilings."""
    lines = ["", "Wellspring check-in load benchmark", *header, ""]
    lines.append(
        f"{'database':<11}{'scenario':<27}{'conc':>5}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'vs bare':>9}{'vs INSERT':>11}  rps over the rounds"
    )
    verdicts = []
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.database, run.scenario, run.concurrency), []).append(run)
    for (database, scenario, concurrency), group in groups.items():
        rps = statistics.median(run.rps for run in group)
        p50 = statistics.median(run.p50_ms for run in group)
        p99 = statistics.median(run.p99_ms for run in group)
        vs_bare = _median_ratio(runs, group, "ceiling: bare Flask JSON")
        vs_insert = _median_ratio(runs, group, "ceiling: one INSERT")
        notes = sorted({note for run in group for note in run.notes})
        lines.append(
            f"{database:<11}{scenario:<27}{concurrency:>5}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}"
            f"{vs_bare:>9.0%}{vs_insert:>11.0%}  "
            + " ".join(f"{run.rps:.0f}" for run in group)
            + (f"  ! {'; '.join(notes)}" if notes else "")
        )
        if scenario == "first-time scans":
            verdicts.append(
                f"{database} c={concurrency}: first-time scans at {vs_insert:.0%} of the "
                f"one-INSERT ceiling (target ≥ 50%): {'met' if vs_insert >= 0.5 else 'NOT met'}"
            )
            if concurrency == 8:
                verdicts.append(
                    f"{database} c=8: first-time p99 {p99:.1f} ms (target ≤ 25 ms): "
                    f"{'met' if p99 <= 25 else 'NOT met'}"
                )
        expected = {"first-time scans": "201", "duplicate scans": "200"}.get(scenario)
        for run in group:
            if expected and set(run.statuses) - {expected}:
                verdicts.append(
                    f"{database} {scenario} c={concurrency} round {run.round}: {run.statuses}"
                )
    lines.append("")
    for database, extra in extras.items():
        lines.append(f"{database}: {extra['database']}")
        sync = extra["sync"]
        lines.append(f"{database}: 500-scan /v1/sync/scans batch: first {sync['first']}")
        lines.append(f"{database}: same batch replayed: {sync['replay']}")
        if "first_seconds" in sync:
            verdicts.append(
                f"{database}: 500-scan batch {sync['first_seconds']:.2f} s (target ≤ 1 s): "
                f"{'met' if sync['first_seconds'] <= 1 else 'NOT met'}"
            )
        lines.append(f"{database}: message send: {extra['messages']['sends']}")
    lines.append("")
    lines.extend(verdicts)
    for database, extra in extras.items():
        if "profile" in extra:
            lines += ["", f"{database} profile:", extra["profile"]]
    return "\n".join(lines)


def _median_ratio(runs: list[Run], group: list[Run], ceiling: str) -> float:
    """The median over the rounds of rps / the same round's `ceiling` rps."""
    ratios = []
    for run in group:
        for other in runs:
            same_round = (other.database, other.concurrency, other.round) == (
                run.database,
                run.concurrency,
                run.round,
            )
            if same_round and other.scenario == ceiling:
                ratios.append(run.rps / other.rps)
    return statistics.median(ratios) if ratios else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--duration", type=int, default=15, help="seconds per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per concurrency (the table shows medians)"
    )
    parser.add_argument("--registrations", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="py-spy one worker (extra run)")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if shutil.which("wrk") is None:
        sys.exit("bench/checkin_load.py needs wrk: apt-get install -y wrk")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    header = machine_description(args)
    runs: list[Run] = []
    extras: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for kind in args.databases.split(","):
            with throwaway_database(kind, workdir) as database:
                print(f"== {kind}", flush=True)
                description = describe_database(database)
                database_runs, extras[kind] = measure(database, args, workdir)
                extras[kind]["database"] = description
                runs += database_runs
    print(report(runs, extras, header))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = RESULTS_DIR / f"checkin_load-{stamp}.json"
    document = {"header": header, "runs": [asdict(r) for r in runs], "extras": extras}
    saved.write_text(json.dumps(document, indent=2))
    print(f"\n(saved {saved.relative_to(REPO)})")


if __name__ == "__main__":
    main()
