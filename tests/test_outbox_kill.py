"""A worker process killed with SIGKILL mid-drain loses nothing; a second one finishes.

Real processes, a real SQLite file: 10,000 deferred writes, the first worker is killed
while it drains, a new one drains the rest. Every item is applied; the sink, which
refuses a second write with the same idempotency key (as a payment or storage API
does), holds each exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from resiliency import Outbox

ITEMS = 10_000

WORKER = textwrap.dedent(
    """
    import sqlite3, sys
    import resiliency
    from resiliency import FailoverGroup, Outbox, OutboxWorker, PolicyConfig, RetryPolicy, provider_from_callable

    outbox_path, sink_path = sys.argv[1], sys.argv[2]
    sink = sqlite3.connect(sink_path, isolation_level=None, check_same_thread=False, timeout=30)
    sink.execute("PRAGMA journal_mode=WAL")

    def apply(key, n):
        token = resiliency.idempotency_key()
        sink.execute("INSERT INTO calls (key) VALUES (?)", (token,))
        sink.execute("INSERT INTO applied (key, n) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (token, n))
        return n

    group = FailoverGroup(
        "sink", PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=resiliency.Registry(),
    )
    group.register(provider_from_callable("db", apply, op="write"))
    worker = OutboxWorker(Outbox(outbox_path), group, concurrency=1, lease=0.5, base_delay=0.0, max_delay=0.0)
    print("applied", worker.drain_sync(), flush=True)
    """
)


def _sink(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE applied (key TEXT PRIMARY KEY, n INTEGER)")
        db.execute("CREATE TABLE calls (key TEXT)")


def _start(outbox: Path, sink: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(outbox), str(sink)], env=env, stdout=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_drain_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    outbox_path, sink_path = tmp_path / "outbox.db", tmp_path / "sink.db"
    _sink(sink_path)
    box = Outbox(outbox_path)
    for n in range(ITEMS):
        box.put("write", (f"item-{n}", n))
    keys = {item.key for item in box.items(limit=ITEMS)}
    assert len(keys) == ITEMS
    assert box.stats().pending == ITEMS

    first = _start(outbox_path, sink_path)
    try:
        deadline = time.monotonic() + 60
        while box.stats().done < ITEMS // 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert first.poll() is None, "the first worker finished before it could be killed"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        assert first.stdout is not None
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    killed_at = box.stats()
    assert 0 < killed_at.done < ITEMS

    second = _start(outbox_path, sink_path)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out

    assert box.stats().done == ITEMS
    assert box.stats().pending == box.stats().in_flight == box.stats().dead == 0
    with sqlite3.connect(sink_path) as db:
        applied = dict(db.execute("SELECT key, n FROM applied").fetchall())
        calls = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert set(applied) == keys  # every item, by its idempotency key
    assert len(applied) == ITEMS  # none twice
    # At most the item in hand when the worker died was sent a second time.
    assert ITEMS <= calls <= ITEMS + 1
    box.close()
