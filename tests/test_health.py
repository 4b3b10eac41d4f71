"""``Registry.health()`` and ``Registry.reset_all()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from resiliency import Bulkhead, CircuitBreaker, CircuitState, HealthReport, Registry
from resiliency.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def trip(breaker: CircuitBreaker) -> None:
    def fail() -> None:
        raise RuntimeError("down")

    protected = breaker(fail)
    for _ in range(breaker.policy.failure_threshold or 1):
        with pytest.raises(RuntimeError):
            protected()
    assert breaker.state is CircuitState.OPEN


def test_an_empty_registry_is_healthy(registry: Registry) -> None:
    before = time.time()
    report = registry.health()
    assert report == HealthReport("healthy", (), (), (), (), report.checked_at)
    assert before <= report.checked_at <= time.time()
    assert report.healthy


def test_closed_breakers_are_healthy(registry: Registry) -> None:
    CircuitBreaker("a", registry=registry)
    Bulkhead("pool", registry=registry)
    assert registry.health().status == "healthy"


def test_one_open_breaker_of_two_is_degraded(registry: Registry, clock: FakeClock) -> None:
    a = CircuitBreaker("a", failure_threshold=1, reset_timeout=30, clock=clock, registry=registry)
    CircuitBreaker("b", registry=registry)
    trip(a)
    clock.advance(17.5)
    report = registry.health()
    assert (report.status, report.open_breakers, report.half_open_breakers) == ("degraded", ("a",), ())
    assert report.issues == ("breaker 'a' is open (retry in 12.5s)",)
    assert not report.healthy


def test_every_breaker_open_is_unhealthy(registry: Registry, clock: FakeClock) -> None:
    a = CircuitBreaker("a", failure_threshold=1, clock=clock, registry=registry)
    b = CircuitBreaker("b", registry=registry)
    trip(a)
    b.force_open()
    report = registry.health()
    assert report.status == "unhealthy"
    assert report.open_breakers == ("a", "b")
    assert "breaker 'b' is forced open" in report.issues


def test_a_half_open_breaker_is_degraded(registry: Registry, clock: FakeClock) -> None:
    a = CircuitBreaker("a", failure_threshold=1, reset_timeout=5, clock=clock, registry=registry)
    trip(a)
    clock.advance(5)  # the next call would be a probe
    report = registry.health()
    assert (report.status, report.open_breakers, report.half_open_breakers) == ("degraded", (), ("a",))
    assert report.issues == ("breaker 'a' is half-open (probing)",)


@pytest.fixture
def held() -> Iterator[tuple[threading.Event, list[threading.Thread]]]:
    release = threading.Event()
    threads: list[threading.Thread] = []
    yield release, threads
    release.set()
    for thread in threads:
        thread.join(5)


def occupy(bulkhead: Bulkhead, n: int, held: tuple[threading.Event, list[threading.Thread]]) -> None:
    """Start ``n`` threads that each call into ``bulkhead`` and block there."""
    release, threads = held

    @bulkhead
    def block() -> None:
        release.wait(5)

    for _ in range(n):
        thread = threading.Thread(target=block)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + 5
    while True:
        m = bulkhead.metrics()
        if m.active + m.queued >= n or time.monotonic() > deadline:
            return
        time.sleep(0.001)


def test_a_full_bulkhead_without_a_queue_is_saturated(
    registry: Registry, held: tuple[threading.Event, list[threading.Thread]]
) -> None:
    pool = Bulkhead("pool", max_concurrent=2, registry=registry)
    occupy(pool, 1, held)
    assert registry.health().status == "healthy"  # a free slot left
    occupy(pool, 1, held)
    report = registry.health()
    assert (report.status, report.saturated_bulkheads) == ("degraded", ("pool",))
    assert report.issues == ("bulkhead 'pool' is saturated (2/2 running, 0/0 queued)",)


def test_a_bulkhead_with_a_queue_is_saturated_once_callers_wait(
    registry: Registry, held: tuple[threading.Event, list[threading.Thread]]
) -> None:
    pool = Bulkhead("pool", max_concurrent=1, max_queue=5, registry=registry)
    occupy(pool, 1, held)
    assert registry.health().status == "healthy"  # busy, but nobody waits
    occupy(pool, 1, held)
    report = registry.health()
    assert report.saturated_bulkheads == ("pool",)
    assert report.issues == ("bulkhead 'pool' is saturated (1/1 running, 1/5 queued)",)


def test_saturated_bulkheads_do_not_make_it_unhealthy(
    registry: Registry, clock: FakeClock, held: tuple[threading.Event, list[threading.Thread]]
) -> None:
    pool = Bulkhead("pool", max_concurrent=1, registry=registry)
    a = CircuitBreaker("a", failure_threshold=1, clock=clock, registry=registry)
    occupy(pool, 1, held)
    trip(a)
    report = registry.health()
    assert report.status == "unhealthy"  # every breaker open
    assert report.saturated_bulkheads == ("pool",)
    assert len(report.issues) == 2


def test_private_breakers_are_not_in_the_report(registry: Registry) -> None:
    CircuitBreaker(registry=registry).force_open()
    assert registry.health().status == "healthy"


def test_reset_all_closes_every_breaker_and_clears_counts(registry: Registry, clock: FakeClock) -> None:
    a = CircuitBreaker("a", failure_threshold=1, clock=clock, registry=registry)
    b = CircuitBreaker("b", registry=registry)
    pool = Bulkhead("pool", registry=registry)
    trip(a)
    b.force_open()
    assert registry.health().status == "unhealthy"
    registry.reset_all()
    assert a.state is b.state is CircuitState.CLOSED
    assert (a.metrics().calls, a.metrics().opened_count) == (0, 0)
    assert registry.health().status == "healthy"
    assert pool.metrics().available == 10  # bulkheads keep their live state


def test_reset_all_resets_any_named_object_that_can_reset(registry: Registry) -> None:
    class Resettable:
        def __init__(self) -> None:
            self.resets = 0

        def reset(self) -> None:
            self.resets += 1

    thing = Resettable()
    registry.add("rate_limiter", "custom", thing)
    registry.reset_all()
    assert thing.resets == 1


def test_the_report_is_frozen(registry: Registry) -> None:
    report = registry.health()
    with pytest.raises(AttributeError):
        report.status = "unhealthy"  # type: ignore[misc]
