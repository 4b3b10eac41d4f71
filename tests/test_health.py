"""``Registry.health()`` and ``Registry.reset_all()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from resiliency import (
    Bulkhead,
    CircuitBreaker,
    CircuitState,
    FailoverGroup,
    HealthReport,
    Registry,
    circuit_breaker,
    provider,
)
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


def test_every_breaker_open_is_only_degraded(registry: Registry, clock: FakeClock) -> None:
    # Issue 9, item 16: open breakers are dependencies down; the pod still serves the rest.
    a = CircuitBreaker("a", failure_threshold=1, clock=clock, registry=registry)
    b = CircuitBreaker("b", registry=registry)
    trip(a)
    b.force_open()
    report = registry.health()
    assert report.status == "degraded"
    assert report.open_breakers == ("a", "b")
    assert "breaker 'b' is forced open" in report.issues


def test_one_open_breaker_alone_is_degraded(registry: Registry, clock: FakeClock) -> None:
    trip(CircuitBreaker("only", failure_threshold=1, clock=clock, registry=registry))
    assert registry.health().status == "degraded"


def test_an_open_critical_breaker_is_unhealthy(registry: Registry, clock: FakeClock) -> None:
    db = CircuitBreaker("db", failure_threshold=1, reset_timeout=30, clock=clock, registry=registry, critical=True)
    CircuitBreaker("cache", registry=registry)
    assert db.critical
    trip(db)
    report = registry.health()
    assert (report.status, report.open_breakers) == ("unhealthy", ("db",))
    assert report.issues == ("critical breaker 'db' is open (retry in 30.0s)",)
    clock.advance(30)  # half-open: probing, degraded
    assert registry.health().status == "degraded"


def test_a_forced_open_critical_breaker_from_the_decorator_is_unhealthy(registry: Registry) -> None:
    @circuit_breaker("db", critical=True, registry=registry)
    def query() -> None: ...

    registry.breaker("db").force_open()
    assert registry.health().status == "unhealthy"


def test_critical_is_a_setting_of_a_named_breaker(registry: Registry) -> None:
    circuit_breaker("db", failure_threshold=3, critical=True, registry=registry)
    assert circuit_breaker("db", registry=registry) is registry.breaker("db")  # taken as it is
    assert circuit_breaker("db", failure_threshold=3, critical=True, registry=registry) is registry.breaker("db")
    with pytest.raises(ValueError, match="breaker 'db' is already declared with critical=True; got critical=False"):
        circuit_breaker("db", critical=False, registry=registry)


def test_critical_must_be_a_bool(registry: Registry) -> None:
    with pytest.raises(TypeError, match="critical must be a bool"):
        CircuitBreaker("x", registry=registry, critical=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="critical must be a bool"):
        circuit_breaker("x", registry=registry, critical="yes")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="critical="):
        circuit_breaker(CircuitBreaker(), critical=True)
    with pytest.raises(TypeError, match="critical must be a bool"):
        FailoverGroup("g", registry=registry, critical=None)  # type: ignore[arg-type]


def group_with_breakers(registry: Registry, *, critical: bool) -> tuple[FailoverGroup, list[CircuitBreaker]]:
    """A group of two providers of "upload", each behind its own private breaker."""
    group = FailoverGroup("storage", registry=registry, critical=critical)
    breakers = [CircuitBreaker(registry=registry), CircuitBreaker(registry=registry)]
    for name, breaker in zip(("s3", "r2"), breakers, strict=True):

        def upload() -> str:
            return "ok"

        provider(name, op="upload", group=group)(breaker(upload))

    @provider("s3", op="download", group=group)
    def download() -> str:
        return "ok"

    return group, breakers


@pytest.mark.parametrize("critical", [False, True])
def test_a_group_with_one_provider_down_is_healthy(registry: Registry, critical: bool) -> None:
    group, (s3, _) = group_with_breakers(registry, critical=critical)
    s3.force_open()
    assert group.unavailable_ops() == []
    assert registry.health().status == "healthy"  # the breakers are private; r2 still serves


@pytest.mark.parametrize(("critical", "status"), [(False, "degraded"), (True, "unhealthy")])
def test_a_group_that_cannot_run_an_op(registry: Registry, critical: bool, status: str) -> None:
    group, breakers = group_with_breakers(registry, critical=critical)
    for breaker in breakers:
        breaker.force_open()
    assert group.unavailable_ops() == ["upload"]  # download has no breaker
    report = registry.health()
    assert (report.status, report.unavailable_groups) == (status, ("storage",))
    label = "critical group" if critical else "group"
    assert report.issues == (f"{label} 'storage' cannot run 'upload': every provider's breaker is open",)
    breakers[1].reset()  # one provider back: the group serves again
    assert registry.health().status == "healthy"


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
    assert report.status == "degraded"
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
    assert registry.health().status == "degraded"
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
