"""Load: 1,000 concurrent races with random latencies, failures and cancelled callers.

Every call returns the result of a provider that succeeded in that call, or raises with
every attempt listed; afterwards no provider is running, no task or nursery is left, the
caller's task carries no leftover cancellation, and no thread has leaked.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

from resiliency import AllProvidersFailedError, FailoverGroup, PolicyConfig, Registry, RetryPolicy, provider

CALLS = 1000
NAMES = ("a", "b", "c")
POLICY = PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="none"))


class Providers:
    """Three providers with random latencies (<= 1 ms) and a 50 % failure rate."""

    def __init__(self, group: FailoverGroup, seed: int) -> None:
        self.rng = random.Random(seed)
        self.running = 0
        self.succeeded: dict[int, set[str]] = defaultdict(set)
        self.lock = threading.Lock()
        for name in NAMES:
            provider(name, op="fetch", group=group)(self._async(name))
            provider(name, op="fetch_sync", group=group)(self._sync(name))

    def _async(self, name: str) -> Any:
        async def fetch(call_id: int) -> tuple[str, int]:
            self.running += 1
            try:
                await anyio.sleep(self.rng.random() * 0.001)
                if self.rng.random() < 0.5:
                    raise ConnectionError(f"{name} failed call {call_id}")
                self.succeeded[call_id].add(name)
                return name, call_id
            finally:
                self.running -= 1

        return fetch

    def _sync(self, name: str) -> Any:
        def fetch_sync(call_id: int) -> tuple[str, int]:
            with self.lock:
                self.running += 1
                fail = self.rng.random() < 0.5
            try:
                if fail:
                    raise ConnectionError(f"{name} failed call {call_id}")
                with self.lock:
                    self.succeeded[call_id].add(name)
                return name, call_id
            finally:
                with self.lock:
                    self.running -= 1

        return fetch_sync


def check(results: dict[int, Any], providers: Providers) -> tuple[int, int]:
    won = failed = 0
    for call_id, result in results.items():
        if isinstance(result, AllProvidersFailedError):
            failed += 1
            assert not providers.succeeded[call_id]
            assert sorted(a.provider for a in result.attempts) == sorted(NAMES * 2)
            assert all(str(a.error) == f"{a.provider} failed call {call_id}" for a in result.attempts)
        else:
            won += 1
            name, got_id = result
            assert got_id == call_id
            assert name in providers.succeeded[call_id]
    return won, failed


def tasks_now(anyio_backend: str) -> set[Any]:
    return asyncio.all_tasks() if anyio_backend == "asyncio" else set()


def assert_nothing_left_behind(anyio_backend: str, tasks_before: set[Any]) -> None:
    assert anyio.current_effective_deadline() == math.inf
    if anyio_backend == "asyncio":
        assert asyncio.all_tasks() == tasks_before  # the test's task and the runner's
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
    else:
        import trio

        assert trio.lowlevel.current_task().child_nurseries == []


@pytest.mark.anyio
@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("hedge_delay", [None, 0.0002])
async def test_a_thousand_concurrent_races(registry: Registry, anyio_backend: str, hedge_delay: float | None) -> None:
    group = FailoverGroup("load", policy=POLICY, registry=registry)
    providers = Providers(group, seed=1234)
    view = group.with_options(hedge_delay=hedge_delay)
    results: dict[int, Any] = {}
    cancelled: list[int] = []
    tasks_before = tasks_now(anyio_backend)

    async def one(call_id: int) -> None:
        try:
            if call_id % 10 == 0:  # one caller in ten gives up early: its providers are cancelled
                with anyio.move_on_after(0.0003) as scope:
                    results[call_id] = await view.execute_any("fetch", call_id)
                if scope.cancelled_caught:
                    cancelled.append(call_id)
            else:
                results[call_id] = await view.execute_any("fetch", call_id)
        except AllProvidersFailedError as exc:
            results[call_id] = exc

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for call_id in range(CALLS):
                tg.start_soon(one, call_id)
    won, failed = check(results, providers)
    assert won + failed + len(cancelled) == CALLS
    assert cancelled  # some callers did give up, with providers in flight
    assert won > 0
    assert failed > 0
    assert providers.running == 0
    assert_nothing_left_behind(anyio_backend, tasks_before)
    stats = group.stats()
    assert sum(stats.get(n, "fetch").calls for n in NAMES) >= CALLS


@pytest.mark.usefixtures("no_thread_leak")
def test_concurrent_sync_races_from_many_threads(registry: Registry) -> None:
    group = FailoverGroup("load", policy=POLICY, registry=registry)
    providers = Providers(group, seed=99)
    results: dict[int, Any] = {}

    def one(call_id: int) -> None:
        try:
            results[call_id] = group.execute_any_sync("fetch_sync", call_id)
        except AllProvidersFailedError as exc:
            results[call_id] = exc

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(200)))
    won, failed = check(results, providers)
    assert won + failed == 200
    assert won > 0
    assert failed > 0
