"""The events telemetry is made of: emitted with a listener, never built without one."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from resiliency import (
    AllProvidersFailedError,
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    FailoverGroup,
    PolicyConfig,
    RateLimitedError,
    RateLimiter,
    Registry,
    RetryPolicy,
    provider,
)
from resiliency._events import (
    BulkheadAdmitted,
    BulkheadRejected,
    CallIgnored,
    CallRejected,
    Event,
    FailoverFinished,
    FailoverStarted,
    ProviderFailed,
    ProviderSucceeded,
    RateLimited,
)
from resiliency.testing import FakeClock


class Ignored(Exception):
    pass


def test_bulkhead_reports_admissions_queueing_and_rejections(registry: Registry, no_thread_leak: None) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    pool = Bulkhead("db", max_concurrent=1, max_queue=1, registry=registry)
    holding, release = threading.Event(), threading.Event()

    @pool
    def work(hold: bool) -> None:
        if hold:
            holding.set()
            release.wait(10)

    first = threading.Thread(target=work, args=(True,))
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=work, args=(False,))
    second.start()
    while pool.metrics().queued < 1:  # the second caller has joined the line
        threading.Event().wait(0.001)
    with pytest.raises(BulkheadFullError):
        work(False)
    release.set()
    first.join(10)
    second.join(10)
    admitted = [e for e in seen if isinstance(e, BulkheadAdmitted)]
    assert admitted == [BulkheadAdmitted("db", False, 0), BulkheadAdmitted("db", True, 1)]
    assert [e for e in seen if isinstance(e, BulkheadRejected)] == [BulkheadRejected("db", "full")]


def test_breaker_reports_rejections_and_ignored_calls(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    clock = FakeClock()
    breaker = CircuitBreaker("api", failure_threshold=1, ignore_on=Ignored, clock=clock, registry=registry)

    @breaker
    def call(error: Exception | None) -> None:
        if error is not None:
            raise error

    with pytest.raises(Ignored):
        call(Ignored())
    with pytest.raises(ValueError):
        call(ValueError())
    with pytest.raises(CircuitOpenError):
        call(None)
    [ignored] = [e for e in seen if isinstance(e, CallIgnored)]
    assert ignored.name == "api"
    assert isinstance(ignored.error, Ignored)
    assert [e for e in seen if isinstance(e, CallRejected)] == [CallRejected("api", 30.0)]


def test_rate_limiter_reports_refusals(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    limiter = RateLimiter("sms", rate=1, clock=FakeClock(), registry=registry)
    send = limiter(lambda: None)
    send()
    with pytest.raises(RateLimitedError):
        send()
    assert seen == [RateLimited("sms", 1.0)]


def test_group_calls_report_their_mode_and_duration(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    clock = FakeClock()
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("a", op="op", group=group)
    def a() -> str:
        clock.advance(0.5)
        return "a"

    group._core.clock = clock  # the group's clock times the call
    assert group.execute_any_sync("op") == "a"
    started, succeeded, finished = seen
    assert started == FailoverStarted("g", "op", "any")
    assert isinstance(succeeded, ProviderSucceeded)
    assert (succeeded.mode, succeeded.circuit_state) == ("any", None)
    assert finished == FailoverFinished("g", "op", "any", 0.5, True, None)


def test_provider_events_carry_the_breaker_state(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)
    breaker = CircuitBreaker(failure_threshold=1, registry=registry)

    @provider("a", op="op", group=group)
    @breaker
    def a() -> str:
        raise ConnectionError

    for _ in range(2):
        with pytest.raises(AllProvidersFailedError):
            group.execute_sync("op")
    failed = [e for e in seen if isinstance(e, ProviderFailed)]
    assert [(e.circuit_state, type(e.error).__name__, e.mode) for e in failed] == [
        ("open", "ConnectionError", "sequential"),
        ("open", "CircuitOpenError", "sequential"),
    ]


def test_no_event_is_built_without_a_listener(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import resiliency._bulkhead._bulkhead as bulkhead_module
    import resiliency._circuit_breaker._breaker as breaker_module
    import resiliency._failover._hooks as hooks_module
    import resiliency._failover._observe as observe_module
    import resiliency._rate_limit._limiter as limiter_module

    def refuse(*args: Any) -> Any:
        raise AssertionError("an event was built with no listener")

    for module, names in (
        (bulkhead_module, ("BulkheadAdmitted", "BulkheadRejected")),
        (breaker_module, ("CallRejected", "CallIgnored", "CallRecorded")),
        (limiter_module, ("RateLimited",)),
        (observe_module, ("FailoverStarted", "FailoverFinished")),
        (hooks_module, ("ProviderSucceeded", "ProviderFailed")),
    ):
        for name in names:
            monkeypatch.setattr(module, name, refuse)
    pool = Bulkhead(max_concurrent=1, registry=registry)
    breaker = CircuitBreaker(failure_threshold=1, ignore_on=Ignored, registry=registry)
    limiter = RateLimiter(rate=1, clock=FakeClock(), registry=registry)

    @limiter
    @breaker
    @pool
    def call(error: Exception | None = None) -> int:
        if error is not None:
            raise error
        return 1

    assert call() == 1
    with pytest.raises(RateLimitedError):
        call()

    @breaker
    def guarded(error: Exception | None = None) -> int:
        if error is not None:
            raise error
        return 1

    with pytest.raises(Ignored):
        guarded(Ignored())
    breaker.force_open()
    with pytest.raises(CircuitOpenError):
        guarded()
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)
    provider("a", op="op", group=group)(lambda: "a")
    assert group.execute_sync("op") == "a"
    assert not registry.listeners
