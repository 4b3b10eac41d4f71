"""A circuit breaker shared through a real redis-server: several processes, one breaker.

Each ``RedisStore`` with its own client stands for a process where threads suffice;
the fleet tests start real processes (multiprocessing, spawn).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from typing import Any

import fleet_workers
import pytest
import redis

import resiliency
from resiliency import CircuitBreaker, CircuitOpenError, CircuitState, Registry
from resiliency.stores.memory import MemoryStore
from resiliency.stores.redis import RedisStore


@pytest.fixture
def stores(redis_url: str) -> Iterator[Any]:
    """Make stores (one per pretend process) on the flushed session server; close them after."""
    made: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        options.setdefault("sync_interval", 0.05)
        store = RedisStore(redis.Redis.from_url(redis_url), **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
        store.client.close()


def failing(breaker: CircuitBreaker) -> Any:
    @breaker
    def call() -> None:
        raise ConnectionError("down")

    return call


def fail(call: Any, times: int) -> None:
    for _ in range(times):
        with pytest.raises((ConnectionError, CircuitOpenError)):
            call()


def test_a_trip_in_one_process_opens_the_breaker_in_the_others_at_their_next_sync(stores: Any) -> None:
    a = CircuitBreaker("pay", failure_threshold=3, reset_timeout=60, store=stores(), registry=Registry())
    b = CircuitBreaker("pay", failure_threshold=3, reset_timeout=60, store=stores(), registry=Registry())
    fail(failing(a), 3)
    assert a.state is CircuitState.OPEN
    a.sync()  # what the store's thread does every sync_interval: a publishes its trip...
    b.sync()  # ...and b reads it
    assert b.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as caught:
        failing(b)()
    assert 59 < caught.value.retry_after <= 60


def test_counts_are_shared_so_failures_spread_over_processes_trip_the_breaker(stores: Any) -> None:
    a = CircuitBreaker("count", failure_threshold=4, reset_timeout=60, store=stores(), registry=Registry())
    b = CircuitBreaker("count", failure_threshold=4, reset_timeout=60, store=stores(), registry=Registry())
    fail(failing(a), 2)
    a.sync()
    b.sync()
    fail(failing(b), 2)  # 2 here + 2 replayed from a
    assert b.state is CircuitState.OPEN
    b.sync()
    a.sync()
    assert a.state is CircuitState.OPEN


def test_a_closed_call_makes_no_round_trip(stores: Any, redis_url: str) -> None:
    store = stores(sync_interval=3600)  # no background sync during the test
    breaker = CircuitBreaker("quiet", failure_threshold=3, store=store, registry=Registry())

    @breaker
    def ok() -> int:
        return 1

    with redis.Redis.from_url(redis_url) as client:
        client.config_resetstat()
        for _ in range(500):
            ok()
        calls = client.info("commandstats")
    assert not [k for k in calls if k.startswith(("cmdstat_eval", "cmdstat_h", "cmdstat_script"))]
    breaker.sync()
    assert breaker.metrics().successes == 500


def test_a_process_attaching_to_an_open_breaker_starts_open(stores: Any) -> None:
    """pybreaker #24 / #26: the state was not loaded and counts were reset on attach."""
    a = CircuitBreaker("attach", failure_threshold=2, reset_timeout=60, store=stores(), registry=Registry())
    fail(failing(a), 2)
    a.sync()
    late = CircuitBreaker("attach", failure_threshold=2, reset_timeout=60, store=stores(), registry=Registry())
    assert late.state is CircuitState.OPEN
    assert 59 < late.retry_after <= 60


def test_missing_or_expired_keys_are_a_fresh_closed_breaker(stores: Any, redis_url: str) -> None:
    """pybreaker #28: a missing key crashed the breaker."""
    store = stores()
    breaker = CircuitBreaker("gone", failure_threshold=2, reset_timeout=60, store=store, registry=Registry())
    fail(failing(breaker), 2)
    breaker.sync()
    with redis.Redis.from_url(redis_url) as client:
        client.delete(store.key("cb", "gone"))
    fresh = CircuitBreaker("gone", failure_threshold=2, reset_timeout=60, store=stores(), registry=Registry())
    assert fresh.state is CircuitState.CLOSED
    fresh.sync()
    assert fresh.state is CircuitState.CLOSED


def test_half_open_admits_exactly_half_open_max_calls_fleet_wide(stores: Any) -> None:
    settings: dict[str, Any] = {"failure_threshold": 1, "reset_timeout": 0.2, "half_open_max_calls": 2}
    fleet = [CircuitBreaker("probe", store=stores(), registry=Registry(), **settings) for _ in range(4)]
    fail(failing(fleet[0]), 1)
    for breaker in fleet:
        breaker.sync()
        assert breaker.state is not CircuitState.CLOSED
    running = threading.Barrier(2, timeout=30)
    release = threading.Event()
    admitted: list[int] = []
    rejected: list[int] = []

    def probe(i: int) -> None:
        @fleet[i % 4]
        def call() -> None:
            admitted.append(i)
            if len(admitted) <= 2:
                running.wait()
            release.wait(30)

        try:
            call()
        except CircuitOpenError:
            rejected.append(i)

    while fleet[0].retry_after > 0:
        threading.Event().wait(0.01)
    threads = [threading.Thread(target=probe, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads[:-1]:
        t.join(0.0)
    # Every caller but the two probes is turned away while they run.
    while len(rejected) < 10:
        threading.Event().wait(0.01)
    assert len(admitted) == 2
    release.set()
    for t in threads:
        t.join(30)
    for _ in range(2):  # the probes' outcomes go out, then everyone reads the result
        for breaker in fleet:
            breaker.sync()
    assert {b.state for b in fleet} == {CircuitState.CLOSED}


def test_a_failed_probe_reopens_the_breaker_everywhere(stores: Any) -> None:
    a = CircuitBreaker("reopen", failure_threshold=1, reset_timeout=0.05, store=stores(), registry=Registry())
    b = CircuitBreaker("reopen", failure_threshold=1, reset_timeout=0.05, store=stores(), registry=Registry())
    fail(failing(a), 1)
    a.sync()
    b.sync()
    while b.retry_after > 0:
        threading.Event().wait(0.01)
    fail(failing(b), 1)  # the probe fails
    b.sync()
    a.sync()
    assert a.state is CircuitState.OPEN
    assert a.retry_after > 0.0


def test_force_open_and_reset_reach_the_fleet(stores: Any) -> None:
    a = CircuitBreaker("force", failure_threshold=5, store=stores(), registry=Registry())
    b = CircuitBreaker("force", failure_threshold=5, store=stores(), registry=Registry())
    a.force_open()
    b.sync()
    assert b.state is CircuitState.OPEN
    assert b.retry_after == float("inf")
    b.reset()
    a.sync()
    assert a.state is CircuitState.CLOSED


def test_state_changes_from_the_fleet_are_events(stores: Any) -> None:
    registry = Registry()
    seen: list[Any] = []
    registry.subscribe(seen.append)
    a = CircuitBreaker("events", failure_threshold=1, store=stores(), registry=Registry())
    b = CircuitBreaker("events", failure_threshold=1, store=stores(), registry=registry)
    fail(failing(a), 1)
    a.sync()
    b.sync()
    assert [(e.old, e.new) for e in seen if isinstance(e, resiliency.CircuitStateChanged)] == [
        (CircuitState.CLOSED, CircuitState.OPEN)
    ]


def test_registry_store_is_the_default_of_named_breakers(stores: Any) -> None:
    store = stores()
    registry = Registry(store=store)
    named = CircuitBreaker("by-registry", registry=registry)
    private = CircuitBreaker(registry=registry)
    decorated = resiliency.circuit_breaker("by-decorator", registry=registry)
    assert type(named).__name__ == "SharedCircuitBreaker"
    assert type(decorated).__name__ == "SharedCircuitBreaker"
    assert type(private) is CircuitBreaker
    assert type(CircuitBreaker("local", store=MemoryStore(), registry=Registry())) is CircuitBreaker


def test_a_shared_breaker_needs_a_name(stores: Any) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        CircuitBreaker(store=stores(), registry=Registry())
    with pytest.raises(TypeError, match="store"):
        CircuitBreaker("x", store="redis://", registry=Registry())  # type: ignore[arg-type]


def test_fleet_of_processes_sees_a_trip(redis_url: str) -> None:
    """Real processes: two watchers see the breaker tripped by a third."""
    ctx = multiprocessing.get_context("spawn")
    ready = [ctx.Event() for _ in range(2)]
    go = ctx.Event()
    out = ctx.Queue()
    watchers = [ctx.Process(target=fleet_workers.breaker_watcher, args=(redis_url, r, out)) for r in ready]
    tripper = ctx.Process(target=fleet_workers.breaker_tripper, args=(redis_url, 3, go))
    for p in [*watchers, tripper]:
        p.start()
    try:
        for r in ready:
            assert r.wait(60)
        go.set()
        assert sorted(out.get(timeout=60) for _ in watchers) == ["open", "open"]
    finally:
        for p in [*watchers, tripper]:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in [*watchers, tripper]] == [0, 0, 0]


def test_fleet_counts_add_up_across_processes(redis_url: str) -> None:
    """Real processes: 3 failures in each of two processes make 6: the fleet's breaker is open."""
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    workers = [ctx.Process(target=fleet_workers.breaker_counter, args=(redis_url, 3, go)) for _ in range(2)]
    for p in workers:
        p.start()
    go.set()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0, 0]
    store = RedisStore(redis.Redis.from_url(redis_url))
    try:
        here = CircuitBreaker("fleet-count", failure_threshold=6, reset_timeout=60, store=store, registry=Registry())
        assert here.state is CircuitState.OPEN
    finally:
        store.close()
        store.client.close()
