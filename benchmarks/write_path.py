"""Write-path benchmarks: outbox put and drain, cache_fallback, FaultProxy throughput.

Usage::

    python benchmarks/write_path.py                # a real run (about a minute; needs redis-server)
    python benchmarks/write_path.py --smoke        # seconds: every entry runs once (CI)
    python benchmarks/write_path.py --markdown docs/benchmarks-write-path.md

Each row is compared with its floor or peer in the same run:

- ``SqliteOutbox.put`` against a bare ``sqlite3`` INSERT in its own transaction (WAL,
  synchronous=NORMAL); drain of a no-op provider against a bare select + update +
  commit per item (goals: within 1.5x and 2x);
- ``RedisStreamOutbox.put`` (one EVALSHA round trip) against a bare ``XADD`` round trip
  and against puts sent through one pipeline (skipped without redis-server);
- ``@cache_fallback`` success path (ttl=0: call and store; ttl>0: a fresh hit) and
  stale path against ``cachetools.cached`` hits (goal: within 1.5x);
- ``FaultProxy`` throughput with no toxic (goal: >= 50 MB/s on loopback).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import resiliency
from resiliency import FailoverGroup, Outbox, OutboxWorker, PolicyConfig, RetryPolicy, SqliteOutbox, cache_fallback

Row = tuple[str, str, str, str]  # (case, resiliency, reference, ratio or verdict)


def per_call(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` loops of ``n`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.2f} µs"


# -- SQLite outbox ----------------------------------------------------------------------


def bench_sqlite(n: int, repeat: int) -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="resiliency-bench-"))
    try:
        outbox = Outbox(SqliteOutbox(folder / "outbox.db"))
        put = per_call(lambda: outbox.put("upload", ("a.txt", b"x" * 64)), n, repeat)

        db = sqlite3.connect(folder / "floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, op TEXT, payload BLOB, state TEXT)")
        # The floor's queue index, like the outbox's: pending rows in arrival order.
        db.execute("CREATE INDEX t_pending ON t (id) WHERE state = 'p'")
        payload = b'[["a.txt",{"__bytes__":"eHh4"}],{}]'
        floor_put = per_call(
            lambda: db.execute("INSERT INTO t (op, payload, state) VALUES ('upload', ?, 'p')", (payload,)), n, repeat
        )

        group = FailoverGroup(
            "bench", PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=resiliency.Registry()
        )
        group.register(resiliency.provider_from_callable("noop", lambda key, data: None, op="upload"))

        def drain_per_item(concurrency: int) -> float:
            drains = []
            for _ in range(repeat):
                for _ in range(n):
                    outbox.put("upload", ("a.txt", b"x"))
                worker = OutboxWorker(outbox, group, concurrency=concurrency, base_delay=0, max_delay=0)
                start = time.perf_counter()
                applied = worker.drain_sync()
                drains.append((time.perf_counter() - start) / applied)
            return statistics.median(drains)

        drain = drain_per_item(1)
        drain4 = drain_per_item(4)

        def floor_item() -> None:
            row = db.execute("SELECT id, payload FROM t WHERE state = 'p' ORDER BY id LIMIT 1").fetchone()
            db.execute("BEGIN")
            db.execute("UPDATE t SET state = 'd' WHERE id = ?", (row[0],))
            db.execute("COMMIT")

        floors = []
        for _ in range(repeat):
            db.execute("UPDATE t SET state = 'p'")
            floors.append(per_call(floor_item, n, 1))
        floor_drain = statistics.median(floors)
        outbox.close()
        db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        (
            "`SqliteOutbox.put`",
            us(put),
            f"bare INSERT + commit {us(floor_put)}",
            f"{put / floor_put:.2f}x (goal <= 1.5x)",
        ),
        (
            "drain, no-op provider, per item (concurrency=1)",
            us(drain),
            f"bare select + update + commit {us(floor_drain)}",
            f"{drain / floor_drain:.2f}x (goal <= 2x)",
        ),
        (
            "drain, no-op provider, per item (concurrency=4, threads)",
            us(drain4),
            f"bare select + update + commit {us(floor_drain)}",
            f"{drain4 / floor_drain:.2f}x",
        ),
    ]


# -- Redis stream outbox ----------------------------------------------------------------


def bench_redis(n: int, repeat: int) -> list[Row]:
    binary = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        return [("`RedisStreamOutbox.put`", "n/a", "redis-py is not installed", "")]
    if binary is None:
        return [("`RedisStreamOutbox.put`", "n/a", "redis-server is not installed", "")]
    from resiliency.stores.redis import RedisStreamOutbox

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(500):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.01)
        outbox = Outbox(RedisStreamOutbox(client))
        put = per_call(lambda: outbox.put("upload", ("a.txt", b"x" * 64)), n, repeat)
        xadd = per_call(lambda: client.xadd("floor", {"id": "x"}), n, repeat)
        backend = outbox.backend

        def pipelined() -> None:
            pipe = client.pipeline(transaction=False)
            for _ in range(100):
                pipe.xadd("floor2", {"id": "x"})
            pipe.execute()

        batch = per_call(pipelined, max(1, n // 100), repeat) / 100
        calls = [("upload", ("a.txt", b"x" * 64), {})] * 100
        put_many = per_call(lambda: outbox.put_many(calls), max(1, n // 100), repeat) / 100
        client.close()
        del backend
    finally:
        proc.terminate()
        proc.wait(10)
    return [
        ("`RedisStreamOutbox.put` (one Lua script)", us(put), f"bare XADD round trip {us(xadd)}", f"{put / xadd:.2f}x"),
        (
            "`RedisStreamOutbox` `put_many` of 100 (one pipeline), per item",
            us(put_many),
            f"bare XADD round trip {us(xadd)}",
            f"{put_many / xadd:.2f}x",
        ),
        (
            "XADD through a 100-command pipeline, per item",
            us(batch),
            "(the batching floor)",
            f"{batch / xadd:.2f}x of a round trip",
        ),
    ]


# -- cache_fallback ---------------------------------------------------------------------


def bench_cache(n: int, repeat: int) -> list[Row]:
    import cachetools

    def price(sku: str) -> int:
        return 10

    through = cache_fallback()(price)
    fresh = cache_fallback(60.0)(price)
    state = {"up": True}

    def flaky(sku: str) -> int:
        if not state["up"]:
            raise ConnectionError("down")
        return 10

    stale = cache_fallback()(flaky)
    stale("a")
    state["up"] = False
    peer = cachetools.cached(cachetools.TTLCache(maxsize=10_000, ttl=60))(price)
    peer("a")
    fresh("a")
    bare = per_call(lambda: price("a"), n, repeat)

    def raising(sku: str) -> int:
        raise ConnectionError("down")

    def caught() -> None:
        try:
            raising("a")
        except ConnectionError:
            pass

    t_raise = per_call(caught, n, repeat)
    t_through = per_call(lambda: through("a"), n, repeat)
    t_fresh = per_call(lambda: fresh("a"), n, repeat)
    t_stale = per_call(lambda: stale("a"), n, repeat)
    t_peer = per_call(lambda: peer("a"), n, repeat)
    return [
        (
            "`@cache_fallback` success (ttl=0: call + store)",
            us(t_through),
            f"cachetools.cached hit {us(t_peer)}",
            f"{t_through / t_peer:.2f}x (goal <= 1.5x)",
        ),
        (
            "`@cache_fallback` fresh hit (ttl=60)",
            us(t_fresh),
            f"cachetools.cached hit {us(t_peer)}",
            f"{t_fresh / t_peer:.2f}x",
        ),
        (
            "`@cache_fallback` stale path, over a raise caught by hand",
            us(t_stale - t_raise),
            f"cachetools.cached hit {us(t_peer)}",
            f"{(t_stale - t_raise) / t_peer:.2f}x (goal <= 1.5x)",
        ),
        ("(reference) bare call; a raise caught by hand", f"{us(bare)}; {us(t_raise)}", "", ""),
    ]


# -- FaultProxy -------------------------------------------------------------------------


def bench_proxy(megabytes: int) -> list[Row]:
    from resiliency.testing import FaultProxy

    chunk = b"x" * 65536
    total = megabytes * 1024 * 1024

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def sink() -> None:
        conn, _ = server.accept()
        with conn:
            got = 0
            while got < total:
                data = conn.recv(1 << 20)
                if not data:
                    break
                got += len(data)
            conn.sendall(b"k")

    thread = threading.Thread(target=sink, daemon=True)
    thread.start()
    with (
        FaultProxy("127.0.0.1", server.getsockname()[1]) as proxy,
        socket.create_connection((proxy.host, proxy.port)) as c,
    ):
        start = time.perf_counter()
        sent = 0
        while sent < total:
            c.sendall(chunk)
            sent += len(chunk)
        assert c.recv(1) == b"k"
        seconds = time.perf_counter() - start
    thread.join(10)
    server.close()
    rate = total / seconds / 1e6
    return [
        (
            "`FaultProxy`, no toxic, one connection",
            f"{rate:,.0f} MB/s",
            "goal >= 50 MB/s",
            "met" if rate >= 50 else "**missed**",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/write_path.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="every entry once, no numbers worth reading")
    parser.add_argument("--markdown", type=Path, help="write the results page to PATH")
    args = parser.parse_args(argv)
    n, repeat, mb = (20, 1, 1) if args.smoke else (2_000, 7, 256)
    micro = 200 if args.smoke else 200_000
    rows = bench_sqlite(n, repeat) + bench_redis(n, repeat) + bench_cache(micro, repeat) + bench_proxy(mb)
    table = ["| case | resiliency | floor or peer (same run) | ratio |", "|---|---:|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    date = subprocess.run(["date"], capture_output=True, text=True, check=False).stdout.strip()
    command = f" --markdown {args.markdown}" if args.markdown else ""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    head = [
        "# Benchmarks: write path and chaos",
        "",
        "Generated by `benchmarks/write_path.py`. Compare rows within this table, not with another machine's.",
        "",
        "The floors are what the durable work costs at the least, in the same run: a bare `sqlite3` insert",
        "into a table with the same queue index (pending rows in arrival order), in WAL mode with",
        "synchronous=NORMAL, one transaction per item; and a bare select + update + commit per item. The",
        "outbox adds its serializer, claim tokens, leases and attempt counts; the sync worker acks an item",
        "in the same transaction as its next claim. The stale-path row is what `@cache_fallback` adds to a",
        "call that raises, over the raise itself caught by hand.",
        "",
        f"- **Date:** {date}",
        f"- **Machine:** {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        f"- **Python:** {platform.python_implementation()} {platform.python_version()}",
        f"- **Command:** `python benchmarks/write_path.py{command}`",
        f"- **Settings:** median of {repeat} repeats; {n} items per outbox repeat, "
        f"{micro:,} calls per cache repeat, {mb} MB through the proxy",
        f"- **Load average (1, 5, 15 min) at the end:** {load}",
        "",
    ]
    text = "\n".join([*head, *table, ""])
    print(text)
    if args.markdown and not args.smoke:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
