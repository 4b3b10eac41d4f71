"""Shared state on a loopback Redis: resiliency's stores next to the peers, in one run.

Starts its own ``redis-server`` on a free port (or uses ``--url``), then measures:

- the closed path of a circuit breaker: in memory, on a ``RedisStore``, pybreaker with
  ``CircuitRedisStorage`` and nopanic-redis (per call, and the ratio to in-memory);
- how long a trip in one process takes to be seen by two others (default interval);
- rate-limiter acquires per second: one process, sync (next to a raw ``INCR`` round
  trip), and 100 asyncio tasks, against pyrate-limiter's Redis bucket, ``limits``'
  Redis moving and fixed windows, and nopanic-redis;
- the bytes Redis holds for one breaker and one limiter (``MEMORY USAGE``).

Prints a markdown table with the date, machine and command. ``--smoke`` runs every
entry a few times (CI: it checks that every entry works; its numbers mean nothing).

    python benchmarks/redis_store.py [--smoke] [--url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
import redis.asyncio

import resiliency
from resiliency.stores.redis import RedisStore

Row = tuple[str, str, str]


# -- a server --------------------------------------------------------------------------


def start_server() -> tuple[subprocess.Popen[bytes], str, tempfile.TemporaryDirectory[str]]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.TemporaryDirectory(prefix="bench-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", workdir.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
            return proc, url, workdir
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


# -- timing ----------------------------------------------------------------------------


def per_call(fn: Callable[[], object], n: int, rounds: int) -> float:
    """Median seconds per call of ``fn`` over ``rounds`` rounds of ``n`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def interleaved(entries: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each entry, the entries taking turns in every round."""
    samples: dict[str, list[float]] = {name: [] for name in entries}
    for _ in range(rounds):
        for name, fn in entries.items():
            samples[name].append(per_call(fn, n, 1))
    return {name: statistics.median(values) for name, values in samples.items()}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


# -- breaker closed path ---------------------------------------------------------------


def breaker_entries(url: str, cleanup: list[Callable[[], object]]) -> dict[str, Callable[[], object]]:
    import nopanic_redis
    import pybreaker

    def noop() -> int:
        return 1

    memory = resiliency.CircuitBreaker(failure_threshold=5, registry=resiliency.Registry())
    store = RedisStore(redis.Redis.from_url(url))
    cleanup.append(store.close)
    shared = resiliency.CircuitBreaker("bench", failure_threshold=5, store=store, registry=resiliency.Registry())
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, redis.Redis.from_url(url), namespace="bench")
    pyb = pybreaker.CircuitBreaker(fail_max=5, state_storage=storage)
    nop = nopanic_redis.redis_circuit_breaker(redis.Redis.from_url(url), name="bench")
    return {
        "resiliency, in memory": memory(noop),
        "resiliency, RedisStore": shared(noop),
        "pybreaker, CircuitRedisStorage": lambda: pyb.call(noop),
        "nopanic-redis": nop(noop),
    }


# -- trip propagation ------------------------------------------------------------------


def _watch(url: str, name: str, ready: Any, out: Any) -> None:
    store = RedisStore(redis.Redis.from_url(url))
    breaker = resiliency.CircuitBreaker(name, failure_threshold=1, reset_timeout=600, store=store)
    ready.set()
    while breaker.state is resiliency.CircuitState.CLOSED:
        time.sleep(0.0005)
    out.put(time.monotonic())  # CLOCK_MONOTONIC: one clock for every process of the host
    store.close()


def trip_propagation(url: str, trips: int) -> list[float]:
    """Seconds from a trip in this process until each of two other processes sees it."""
    ctx = multiprocessing.get_context("spawn")
    delays: list[float] = []
    for i in range(trips):
        name = f"trip-{i}"
        ready = [ctx.Event() for _ in range(2)]
        out = ctx.Queue()
        procs = [ctx.Process(target=_watch, args=(url, name, r, out)) for r in ready]
        for p in procs:
            p.start()
        for r in ready:
            r.wait(60)
        store = RedisStore(redis.Redis.from_url(url))
        breaker = resiliency.CircuitBreaker(name, failure_threshold=1, reset_timeout=600, store=store)
        time.sleep(0.2)  # let the watchers settle into their loop
        tripped = time.monotonic()
        try:
            breaker(lambda: 1 / 0)()
        except ZeroDivisionError:
            pass
        delays += [out.get(timeout=60) - tripped for _ in procs]
        for p in procs:
            p.join(30)
        store.close()
    return delays


# -- limiter, one process, sync ----------------------------------------------------------


def limiter_sync_entries(url: str, cleanup: list[Callable[[], object]]) -> dict[str, Callable[[], object]]:
    import limits
    import limits.storage
    import limits.strategies
    import nopanic_redis
    from pyrate_limiter import Duration, Limiter, Rate, RedisBucket

    raw = redis.Redis.from_url(url)
    store = RedisStore(redis.Redis.from_url(url))
    cleanup.append(store.close)
    ours = resiliency.RateLimiter("bench-sync", rate=1e9, store=store, registry=resiliency.Registry())
    bucket = RedisBucket.init([Rate(10**9, Duration.SECOND)], redis.Redis.from_url(url), "bench-pyrate")
    pyrate = Limiter(bucket)
    cleanup.append(pyrate.close if hasattr(pyrate, "close") else (lambda: None))
    storage = limits.storage.RedisStorage(url)
    item = limits.RateLimitItemPerSecond(10**9)
    moving = limits.strategies.MovingWindowRateLimiter(storage)
    fixed = limits.strategies.FixedWindowRateLimiter(storage)
    nop = nopanic_redis.redis_rate_limit(redis.Redis.from_url(url), name="bench-sync", rate=1e9)

    @nop
    def nop_call() -> int:
        return 1

    return {
        "raw redis-py INCR": lambda: raw.incr("bench-incr"),
        "resiliency, RedisStore": ours.try_acquire,
        "pyrate-limiter, RedisBucket": lambda: pyrate.try_acquire("bench", blocking=False),
        "limits, Redis moving window": lambda: moving.hit(item, "bench-m"),
        "limits, Redis fixed window": lambda: fixed.hit(item, "bench-f"),
        "nopanic-redis": nop_call,
    }


# -- limiter, 100 asyncio tasks ----------------------------------------------------------


async def _tasks(acquire: Callable[[], Awaitable[object]], tasks: int, each: int) -> float:
    async def run() -> None:
        for _ in range(each):
            await acquire()

    start = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(tasks)))
    return tasks * each / (time.perf_counter() - start)


async def limiter_async(url: str, tasks: int, each: int, rounds: int) -> dict[str, float]:
    import limits
    import limits.aio.storage
    import limits.aio.strategies
    import nopanic_redis
    from pyrate_limiter import Duration, Limiter, Rate, RedisBucket

    client = redis.asyncio.Redis.from_url(url)
    store = RedisStore(client)
    ours = resiliency.RateLimiter("bench-async", rate=1e9, store=store, registry=resiliency.Registry())

    @ours
    async def ours_call() -> int:
        return 1

    bucket = await RedisBucket.init([Rate(10**9, Duration.SECOND)], redis.asyncio.Redis.from_url(url), "bench-apyrate")
    pyrate = Limiter(bucket)
    storage = limits.aio.storage.RedisStorage("async+" + url, implementation="redispy")
    item = limits.RateLimitItemPerSecond(10**9)
    moving = limits.aio.strategies.MovingWindowRateLimiter(storage)
    fixed = limits.aio.strategies.FixedWindowRateLimiter(storage)
    nop = nopanic_redis.redis_rate_limit(redis.asyncio.Redis.from_url(url), name="bench-async", rate=1e9)

    @nop
    async def nop_call() -> int:
        return 1

    entries: dict[str, Callable[[], Awaitable[object]]] = {
        "resiliency, RedisStore (coalesced)": ours_call,
        "pyrate-limiter, RedisBucket": lambda: pyrate.try_acquire_async("bench", blocking=False),
        "limits, Redis moving window": lambda: moving.hit(item, "bench-am"),
        "limits, Redis fixed window": lambda: fixed.hit(item, "bench-af"),
        "nopanic-redis": nop_call,
    }
    samples: dict[str, list[float]] = {name: [] for name in entries}
    for _ in range(rounds):
        for name, acquire in entries.items():
            samples[name].append(await _tasks(acquire, tasks, each))
    store.close()
    await client.aclose()
    return {name: statistics.median(values) for name, values in samples.items()}


# -- bytes -----------------------------------------------------------------------------


def bytes_held(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    store = RedisStore(client)
    breaker = resiliency.CircuitBreaker("bytes", failure_threshold=5, store=store, registry=resiliency.Registry())
    for _ in range(10):
        breaker(lambda: 1)()
    try:
        breaker(lambda: 1 / 0)()
    except ZeroDivisionError:
        pass
    breaker.sync()
    limiter = resiliency.RateLimiter("bytes", rate=100, store=store, registry=resiliency.Registry())
    limiter.try_acquire()
    sizes = {
        "breaker (closed, with counts)": int(client.memory_usage(store.key("cb", "bytes")) or 0),
        "rate limiter (GCRA: one value)": int(client.memory_usage(store.key("rl", "bytes")) or 0),
    }
    breaker.force_open()
    sizes["breaker (open)"] = int(client.memory_usage(store.key("cb", "bytes")) or 0)
    store.close()
    client.close()
    return sizes


# -- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few calls per entry (CI)")
    parser.add_argument("--url", help="an existing Redis (default: start redis-server on a free port)")
    options = parser.parse_args()
    n, rounds, trips, each = (50, 2, 1, 5) if options.smoke else (2000, 7, 5, 100)
    proc = workdir = None
    url = options.url
    if url is None:
        proc, url, workdir = start_server()
    cleanup: list[Callable[[], object]] = []
    load_start = os.getloadavg()[0]
    try:
        rows: list[Row] = []
        breaker = interleaved(breaker_entries(url, cleanup), n, rounds)
        base = breaker["resiliency, in memory"]
        rows += [("breaker closed path", name, f"{us(t)} ({t / base:,.1f}x in-memory)") for name, t in breaker.items()]
        delays = trip_propagation(url, trips)
        rows.append(
            (
                "trip propagation (sync_interval 0.05 s)",
                "resiliency, 2 watching processes",
                f"median {statistics.median(delays) * 1e3:.0f} ms, max {max(delays) * 1e3:.0f} ms",
            )
        )
        sync = interleaved(limiter_sync_entries(url, cleanup), n, rounds)
        incr = sync["raw redis-py INCR"]
        rows += [
            ("limiter, 1 process sync", name, f"{1 / t:,.0f}/s ({t / incr:.2f}x INCR round trip)")
            for name, t in sync.items()
        ]
        tasks = asyncio.run(limiter_async(url, 100, each, rounds))
        best_peer = max(v for k, v in tasks.items() if not k.startswith("resiliency"))
        rows += [
            ("limiter, 100 asyncio tasks", name, f"{rate:,.0f}/s ({rate / best_peer:.2f}x best peer)")
            for name, rate in tasks.items()
        ]
        rows += [("bytes in Redis", name, f"{size} B") for name, size in bytes_held(url).items()]
    finally:
        for close in cleanup:
            close()
        if proc is not None:
            proc.kill()
            proc.wait()
        if workdir is not None:
            workdir.cleanup()
    load_end = os.getloadavg()[0]
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {python}, redis-py {redis.__version__}, ", end="")
    print(f"redis-server on loopback; 1-minute load {load_start:.2f} -> {load_end:.2f}  ")
    print(f"Command: `python benchmarks/redis_store.py{' --smoke' if options.smoke else ''}`\n")
    print("| case | entry | result |\n|---|---|---|")
    for case, name, result in rows:
        print(f"| {case} | {name} | {result} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
