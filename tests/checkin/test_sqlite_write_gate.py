"""SQLite writers queue at a gate (services/core/db.py) instead of polling SQLite's busy lock."""

from __future__ import annotations

import subprocess
import sys
import threading
from itertools import pairwise
from pathlib import Path

from sqlalchemy import text

from services.core.db import SQLiteWriteGate, make_engine
from services.core.migrations import upgrade_to_head

REPO = Path(__file__).resolve().parents[2]


def test_one_writer_at_a_time_across_threads(tmp_dir):
    gate = SQLiteWriteGate.for_database(str(tmp_dir / "threads.db"))
    assert gate.acquire(timeout=1)
    other: list[bool] = []
    waiter = threading.Thread(target=lambda: other.append(gate.acquire(timeout=0.2)))
    waiter.start()
    waiter.join()
    assert other == [False]  # held: the other thread gave up after its timeout
    gate.release()
    assert gate.acquire(timeout=1)
    gate.release()


def test_one_writer_at_a_time_across_processes(tmp_dir):
    database = str(tmp_dir / "processes.db")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from services.core.db import SQLiteWriteGate; "
            f"gate = SQLiteWriteGate.for_database({database!r}); "
            "assert gate.acquire(timeout=5); print('held', flush=True); sys.stdin.readline(); "
            "gate.release()",
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        gate = SQLiteWriteGate.for_database(database)
        assert not gate.acquire(timeout=0.2)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.wait(timeout=10) == 0
        assert gate.acquire(timeout=5)
        gate.release()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_write_transaction_holds_the_gate_until_its_connection_is_returned(tmp_dir):
    engine = make_engine(f"sqlite:///{tmp_dir / 'engine.db'}")
    upgrade_to_head(engine)
    gate = SQLiteWriteGate.for_database(str(tmp_dir / "engine.db"))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the gate is taken
        assert not _acquire_elsewhere(gate)
        conn.commit()
        conn.execute(text("SELECT 1"))  # a second transaction on the same connection
        conn.commit()
    assert _acquire_elsewhere(gate)  # returned to the pool: the gate is free again
    with engine.connect().execution_options(wellspring_read_only=True) as reader:
        reader.execute(text("SELECT 1"))  # readers never queue
        assert _acquire_elsewhere(gate)
    engine.dispose()


def _acquire_elsewhere(gate: SQLiteWriteGate) -> bool:
    outcome: list[bool] = []

    def attempt() -> None:
        got = gate.acquire(timeout=0.2)
        if got:
            gate.release()
        outcome.append(got)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return outcome[0]


_TAKE_TURNS = """
import sys, time
from services.core.db import SQLiteWriteGate
database, name, log, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gate = SQLiteWriteGate.for_database(database)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(rounds):
    assert gate.acquire(timeout=10)
    with open(log, "a") as out:
        out.write(name)
    time.sleep(0.0002)  # the write transaction
    gate.release()
"""


def test_processes_that_keep_writing_take_turns(tmp_dir):
    """Two processes that want the gate again the moment they leave it: each gets it after
    the other, instead of one taking it again and again while the other polls."""
    database, log, rounds = str(tmp_dir / "turns.db"), tmp_dir / "turns.log", 200
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _TAKE_TURNS, database, name, str(log), str(rounds)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in "AB"
    ]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready"
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        for writer in writers:
            assert writer.wait(timeout=60) == 0
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    order = log.read_text()
    assert sorted(order) == ["A"] * rounds + ["B"] * rounds
    # The gate changes hands at nearly every turn (2 x rounds - 1 handovers would be perfect).
    # Not at every one: one of them may start a little late, or the scheduler may hold one
    # back between two turns and leave the other a few in a row.
    handovers = sum(1 for this, after in pairwise(order) if this != after)
    assert handovers >= 0.8 * (2 * rounds - 1), order
