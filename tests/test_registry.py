"""``Registry``: named objects, declarations, lookups, listeners and typed events."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

import resiliency
from resiliency import (
    AllProvidersFailed,
    AllProvidersFailedError,
    Bulkhead,
    BulkheadFullError,
    BulkheadRejected,
    CallRecorded,
    CircuitBreaker,
    CircuitBreakerPolicy,
    CircuitOpenError,
    CircuitState,
    CircuitStateChanged,
    Event,
    FailoverGroup,
    ProviderFailed,
    ProviderSucceeded,
    Registry,
    ResiliencyTimeoutError,
    RetryScheduled,
    TimeoutOccurred,
    circuit_breaker,
    provider_from_callable,
    retry,
    timeout,
)
from resiliency.testing import FakeClock


class Boom(Exception):
    """A failure."""


def test_the_default_registry_is_public() -> None:
    assert isinstance(resiliency.registry, Registry)
    assert CircuitBreaker().registry is resiliency.registry


def test_lookups_find_named_objects_and_name_the_known_ones(registry: Registry) -> None:
    pay = CircuitBreaker("payments", registry=registry)
    CircuitBreaker("search", registry=registry)
    pool = Bulkhead("db", registry=registry)
    group = FailoverGroup("storage", registry=registry)
    assert registry.breaker("payments") is pay
    assert registry.bulkhead("db") is pool
    assert registry.group("storage") is group
    assert registry.names("breaker") == ["payments", "search"]
    with pytest.raises(KeyError, match=r"no breaker named 'orders' \(known: payments, search\)"):
        registry.breaker("orders")
    with pytest.raises(KeyError, match=r"known: db"):
        registry.bulkhead("x")
    with pytest.raises(KeyError, match=r"known: none"):
        Registry().group("x")


def test_a_second_declaration_with_other_settings_is_a_value_error(registry: Registry) -> None:
    circuit_breaker("payments", failure_threshold=5, registry=registry)
    with pytest.raises(ValueError, match="breaker 'payments' is already declared with other settings"):
        circuit_breaker("payments", failure_threshold=6, registry=registry)
    policy = CircuitBreakerPolicy(failure_threshold=5)
    assert registry.declare("breaker", "payments", policy, lambda: None) is registry.breaker("payments")


def test_names_are_per_kind_and_per_registry(registry: Registry) -> None:
    a = CircuitBreaker("same", registry=registry)
    b = Bulkhead("same", registry=registry)
    other = Registry()
    c = CircuitBreaker("same", registry=other)
    assert registry.breaker("same") is a
    assert registry.bulkhead("same") is b
    assert other.breaker("same") is c is not a


def test_declare_is_thread_safe(registry: Registry) -> None:
    made: list[CircuitBreaker] = []
    barrier = threading.Barrier(16)

    def declare() -> None:
        barrier.wait()
        made.append(circuit_breaker("shared", failure_threshold=3, registry=registry))

    threads = [threading.Thread(target=declare) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(b) for b in made}) == 1


def test_clear_forgets_names_and_listeners(registry: Registry) -> None:
    CircuitBreaker("x", registry=registry)
    registry.subscribe(lambda event: None)
    registry.clear()
    assert registry.names("breaker") == []
    assert registry.listeners == ()


# -- listeners -----------------------------------------------------------------------------


def test_subscribe_and_unsubscribe(registry: Registry) -> None:
    seen: list[Event] = []
    unsubscribe = registry.subscribe(seen.append)
    registry.emit(CallRecorded("x", True, 0.0))
    unsubscribe()
    registry.emit(CallRecorded("x", True, 0.0))
    assert seen == [CallRecorded("x", True, 0.0)]
    assert registry.listeners == ()
    with pytest.raises(TypeError, match="listener"):
        registry.subscribe("not callable")  # type: ignore[arg-type]


def test_a_listener_that_raises_is_logged_and_the_others_still_run(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Event] = []

    def bad(event: Event) -> None:
        raise RuntimeError("bad listener")

    registry.subscribe(bad)
    registry.subscribe(seen.append)
    clock = FakeClock()

    @retry(max_attempts=2, backoff="none", clock=clock, registry=registry)
    @circuit_breaker(failure_threshold=1, clock=clock, registry=registry)
    def call() -> None:
        raise Boom

    with caplog.at_level(logging.ERROR, logger="resiliency"), pytest.raises(CircuitOpenError):
        call()  # the second attempt meets the open breaker
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["CircuitStateChanged", "CallRecorded", "RetryScheduled", "CallRejected"]
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == ["bad listener"] * 4


def test_with_no_listener_no_event_is_built(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import resiliency._circuit_breaker._breaker as breaker_module

    def refuse(*args: Any) -> Any:
        raise AssertionError("an event was built with no listener")

    monkeypatch.setattr(breaker_module, "CallRecorded", refuse)
    monkeypatch.setattr(breaker_module, "CircuitStateChanged", refuse)
    breaker = CircuitBreaker(failure_threshold=1, registry=registry)
    fn = breaker(lambda: 1)
    assert not registry.listeners
    assert [fn() for _ in range(3)] == [1, 1, 1]
    breaker.force_open()
    breaker.reset()


# -- typed events from every strategy -----------------------------------------------------------


def test_every_strategy_emits_its_typed_event(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    clock = FakeClock()

    @retry(max_attempts=2, backoff="constant", base_delay=1.0, clock=clock, registry=registry, name="r")
    def flaky() -> None:
        raise Boom

    with pytest.raises(Boom):
        flaky()

    breaker = CircuitBreaker("b", failure_threshold=1, clock=clock, registry=registry)
    with pytest.raises(Boom):
        breaker(flaky.__wrapped__)()  # type: ignore[attr-defined]

    @timeout(1, mode="cooperative", clock=clock, registry=registry, name="t")
    def slow() -> None:
        clock.advance(2)

    with pytest.raises(ResiliencyTimeoutError):
        slow()

    pool = Bulkhead("p", max_concurrent=1, registry=registry)
    inside = threading.Event()
    release = threading.Event()

    @pool
    def hold() -> None:
        inside.set()
        release.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(5)
    with pytest.raises(BulkheadFullError):
        hold()
    release.set()
    worker.join()

    assert RetryScheduled("r", 1, 1.0, seen[0].error) == seen[0]  # type: ignore[attr-defined]
    assert CircuitStateChanged("b", CircuitState.CLOSED, CircuitState.OPEN) in seen
    assert any(isinstance(e, CallRecorded) and not e.success and isinstance(e.error, Boom) for e in seen)
    assert TimeoutOccurred("t", 1.0, 2.0) in seen
    assert BulkheadRejected("p", "full") in seen


@pytest.mark.anyio
async def test_failover_events(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    group = FailoverGroup("storage", registry=registry)

    async def down(key: str) -> str:
        raise Boom(key)

    async def up(key: str) -> str:
        return key

    group.register(
        provider_from_callable("a", down, op="get", priority=0),
        provider_from_callable("b", up, op="get", priority=1),
    )
    assert await group.execute("get", "k") == "k"
    kinds = [type(e) for e in seen]
    assert ProviderFailed in kinds
    assert ProviderSucceeded in kinds
    failed = next(e for e in seen if isinstance(e, ProviderFailed))
    assert (failed.name, failed.provider, failed.op) == ("storage", "a", "get")

    seen.clear()
    only_down = FailoverGroup("down", registry=registry)
    only_down.register(provider_from_callable("a", down, op="get"))
    with pytest.raises(AllProvidersFailedError):
        await only_down.execute("get", "k")
    assert any(isinstance(e, AllProvidersFailed) and e.op == "get" for e in seen)


def test_events_are_frozen(registry: Registry) -> None:
    event: Any = CallRecorded("x", True, 0.0)
    with pytest.raises(AttributeError):
        event.success = False


def test_repr_counts_each_kind_in_plain_english() -> None:
    # Issue 9 item 12: the repr said "policys".
    text = repr(Registry())
    assert "policies=0" in text
    assert "policys" not in text
    assert text == "<Registry breakers=0, bulkheads=0, rate_limiters=0, groups=0, policies=0, pools=0>"
