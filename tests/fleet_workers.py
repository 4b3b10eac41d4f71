"""Bodies of the worker processes of the fleet tests (run with multiprocessing's spawn).

Each worker makes its own client, store and strategy, as a separate process of a fleet
would, and reports through a ``multiprocessing`` queue or its exit code.
"""

from __future__ import annotations

import time
from typing import Any

import redis

import resiliency
from resiliency.stores.redis import RedisStore


def _store(url: str, **options: Any) -> RedisStore:
    return RedisStore(redis.Redis.from_url(url), **options)


def limiter_worker(url: str, limit: int, acquires: int, start: Any, out: Any) -> None:
    """Try ``acquires`` tokens of a limiter of ``limit`` tokens (no refill); report the count got."""
    store = _store(url)
    limiter = resiliency.RateLimiter(
        "fleet-limit", rate=limit, period=1e9, burst=limit, store=store, registry=resiliency.Registry()
    )
    start.wait(60)
    got = sum(limiter.try_acquire() for _ in range(acquires))
    out.put(got)
    store.close()


def breaker_tripper(url: str, threshold: int, go: Any) -> None:
    """Fail ``threshold`` times through a shared breaker, after ``go`` is set."""
    store = _store(url, sync_interval=0.05)
    breaker = resiliency.CircuitBreaker(
        "fleet-breaker", failure_threshold=threshold, reset_timeout=60, store=store, registry=resiliency.Registry()
    )

    @breaker
    def call() -> None:
        raise ConnectionError("down")

    go.wait(60)
    for _ in range(threshold):
        try:
            call()
        except ConnectionError:
            pass
    store.close()


def breaker_watcher(url: str, ready: Any, out: Any) -> None:
    """Attach to the shared breaker, say ready, and report when it sees it open (seconds)."""
    store = _store(url, sync_interval=0.05)
    breaker = resiliency.CircuitBreaker(
        "fleet-breaker", failure_threshold=3, reset_timeout=60, store=store, registry=resiliency.Registry()
    )
    ready.set()
    deadline = time.monotonic() + 30
    while breaker.state is resiliency.CircuitState.CLOSED and time.monotonic() < deadline:
        time.sleep(0.002)
    out.put(breaker.state.value)
    store.close()


def breaker_counter(url: str, failures: int, go: Any) -> None:
    """Record ``failures`` failures (fewer than the threshold) through the shared breaker."""
    store = _store(url, sync_interval=0.05)
    breaker = resiliency.CircuitBreaker(
        "fleet-count", failure_threshold=6, reset_timeout=60, store=store, registry=resiliency.Registry()
    )

    @breaker
    def call() -> None:
        raise ConnectionError("down")

    go.wait(60)
    for _ in range(failures):
        try:
            call()
        except ConnectionError:
            pass
    breaker.sync()  # flush now rather than at the next tick
    store.close()


def bulkhead_holder(url: str, slots: int, lease: float, holding: Any) -> None:
    """Take ``slots`` slots of the shared bulkhead and hold them until killed."""
    import threading

    store = _store(url, lease=lease)
    bulkhead = resiliency.Bulkhead("fleet-bulkhead", max_concurrent=4, store=store, registry=resiliency.Registry())
    held = threading.Semaphore(0)

    @bulkhead
    def hold() -> None:
        held.release()
        time.sleep(3600)

    for _ in range(slots):
        threading.Thread(target=hold, daemon=True).start()
    for _ in range(slots):
        held.acquire()
    holding.set()
    time.sleep(3600)
