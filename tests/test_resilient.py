"""``ResiliencePolicy``, ``@resilient`` and ``execute``: the fixed order, sharing by name, both backends."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import anyio
import pytest

from resiliency import (
    BulkheadFullError,
    BulkheadPolicy,
    CircuitBreaker,
    CircuitBreakerPolicy,
    CircuitOpenError,
    CircuitState,
    FallbackPolicy,
    Registry,
    ResiliencePolicy,
    ResiliencyTimeoutError,
    RetryPolicy,
    TimeoutPolicy,
    execute,
    resilient,
    retry,
)
from resiliency import _resilient as resilient_module
from resiliency.testing import FakeClock, describe


class Boom(Exception):
    """A failure."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def default(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """``execute`` uses the default registry: give it a fresh one for the test."""
    fresh = Registry()
    monkeypatch.setattr(resilient_module, "default_registry", fresh)
    return fresh


FULL = ResiliencePolicy(
    retry=RetryPolicy(max_attempts=3, backoff="none"),
    circuit_breaker=CircuitBreakerPolicy(failure_threshold=5),
    timeout=2.0,
    bulkhead=BulkheadPolicy(max_concurrent=4),
    fallback=FallbackPolicy(value="fallback"),
)


# -- the policy ----------------------------------------------------------------------------


def test_the_policy_defaults_to_nothing_and_normalises_the_timeout() -> None:
    assert ResiliencePolicy() == ResiliencePolicy(None, None, None, None, None)
    assert ResiliencePolicy(timeout=3).timeout == TimeoutPolicy(3.0)
    assert ResiliencePolicy(timeout=timedelta(seconds=3)) == ResiliencePolicy(timeout=TimeoutPolicy(3.0))
    assert ResiliencePolicy(timeout=3).timeout_policy == TimeoutPolicy(3.0)
    with pytest.raises(AttributeError):
        FULL.retry = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "error", "param"),
    [
        ({"retry": 3}, TypeError, "retry"),
        ({"circuit_breaker": {"failure_threshold": 5}}, TypeError, "circuit_breaker"),
        ({"bulkhead": 10}, TypeError, "bulkhead"),
        ({"fallback": "x"}, TypeError, "fallback"),
        ({"timeout": "30"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": 0}, ValueError, "seconds"),
        ({"timeout": -1.0}, ValueError, "seconds"),
    ],
)
def test_bad_fields_name_the_parameter(fields: dict[str, Any], error: type[Exception], param: str) -> None:
    with pytest.raises(error, match=param):
        ResiliencePolicy(**fields)


def test_bad_resilient_arguments(registry: Registry) -> None:
    with pytest.raises(ValueError, match="name"):
        resilient("", policy=FULL, registry=registry)
    with pytest.raises(TypeError, match="name"):
        resilient(None, policy=FULL, registry=registry)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy"):
        resilient("x", policy=RetryPolicy(), registry=registry)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="registry"):
        resilient("x", policy=FULL, registry={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no policy named 'unknown'"):
        resilient("unknown", registry=registry)


# -- @resilient --------------------------------------------------------------------------------


def test_the_fixed_order_outermost_first(registry: Registry) -> None:
    @resilient("svc", policy=FULL, registry=registry)
    def call() -> int:
        return 1

    assert [s.kind for s in describe(call)] == ["fallback", "retry", "circuit_breaker", "bulkhead", "timeout"]
    assert describe(call)[2] is registry.breaker("svc")
    assert describe(call)[3] is registry.bulkhead("svc")
    assert registry.policy("svc") is FULL
    assert call() == 1
    assert call.__name__ == "call"


def test_parts_left_out_are_left_out(registry: Registry) -> None:
    @resilient("r", policy=ResiliencePolicy(retry=RetryPolicy(), timeout=1), registry=registry)
    def call() -> int:
        return 1

    assert [s.kind for s in describe(call)] == ["retry", "timeout"]
    assert registry.names("breaker") == registry.names("bulkhead") == []

    def plain() -> int:
        return 2

    assert resilient("empty", policy=ResiliencePolicy(), registry=registry)(plain) is plain


def test_call_sites_sharing_a_name_share_the_breaker_and_bulkhead(registry: Registry) -> None:
    policy = ResiliencePolicy(circuit_breaker=CircuitBreakerPolicy(failure_threshold=2))

    @resilient("payments", policy=policy, registry=registry)
    def charge() -> None:
        raise Boom

    @resilient("payments", policy=policy, registry=Registry())
    def refund_elsewhere() -> None:  # another registry: another breaker
        raise Boom

    @resilient("payments", registry=registry)  # no policy: the one registered under the name
    def refund() -> str:
        return "refunded"

    for _ in range(2):
        with pytest.raises(Boom):
            charge()
    with pytest.raises(CircuitOpenError):
        refund()
    assert describe(refund)[0] is describe(charge)[0] is registry.breaker("payments")
    assert describe(refund_elsewhere)[0] is not describe(charge)[0]
    with pytest.raises(ValueError, match="payments"):
        resilient("payments", policy=ResiliencePolicy(retry=RetryPolicy()), registry=registry)


def test_a_named_breaker_declared_elsewhere_must_agree(registry: Registry) -> None:
    CircuitBreaker("orders", failure_threshold=9, registry=registry)
    with pytest.raises(ValueError, match="orders"):
        resilient("orders", policy=ResiliencePolicy(circuit_breaker=CircuitBreakerPolicy()), registry=registry)


def test_retry_counts_each_attempt_in_the_breaker_and_stops_at_it(registry: Registry, clock: FakeClock) -> None:
    calls = itertools.count()
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=5, backoff="none"),
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=3, reset_timeout=10),
    )

    @resilient("flaky", policy=policy, clock=clock, registry=registry)
    def call() -> None:
        next(calls)
        raise Boom

    with pytest.raises(CircuitOpenError):
        call()
    assert next(calls) == 3
    breaker = registry.breaker("flaky")
    assert (breaker.metrics().failures, breaker.metrics().rejections) == (3, 1)


def test_the_timeout_is_per_attempt_and_counts_as_a_breaker_failure(registry: Registry, clock: FakeClock) -> None:
    attempts: list[float] = []
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=3, backoff="none", retry_on=TimeoutError),
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=10),
        timeout=TimeoutPolicy(1.0, mode="cooperative"),
    )

    @resilient("slow", policy=policy, clock=clock, registry=registry)
    def call() -> str:
        attempts.append(clock.monotonic())
        clock.advance(1.5 if len(attempts) < 3 else 0.5)
        return "late" if len(attempts) < 3 else "ok"

    assert call() == "ok"
    assert attempts == [0.0, 1.5, 3.0]  # each attempt had its own second
    assert registry.breaker("slow").metrics().failures == 2


def test_the_fallback_answers_for_an_open_breaker(registry: Registry) -> None:
    policy = ResiliencePolicy(
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=1),
        fallback=FallbackPolicy(value="cached", on=CircuitOpenError),
    )

    @resilient("cache", policy=policy, registry=registry)
    def call() -> str:
        raise Boom

    with pytest.raises(Boom):
        call()
    assert call() == "cached"


def test_the_bulkhead_holds_a_slot_per_attempt_and_its_rejection_is_not_retried(registry: Registry) -> None:
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=3, backoff="none"),
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=1, ignore_on=BulkheadFullError),
        bulkhead=BulkheadPolicy(max_concurrent=1),
    )
    inside, release = threading.Event(), threading.Event()

    @resilient("narrow", policy=policy, registry=registry)
    def call(block: bool) -> str:
        if block:
            inside.set()
            release.wait(5)
        return "done"

    worker = threading.Thread(target=call, args=(True,))
    worker.start()
    inside.wait(5)
    try:
        with pytest.raises(BulkheadFullError):
            call(False)
        assert registry.bulkhead("narrow").metrics().rejected == 1  # not retried
        assert registry.breaker("narrow").state is CircuitState.CLOSED  # ignored by the breaker
    finally:
        release.set()
        worker.join(5)
    assert call(False) == "done"


def test_strategies_stacked_around_join_the_pipeline(registry: Registry) -> None:
    @retry(max_attempts=2)
    @resilient("stacked", policy=ResiliencePolicy(timeout=1), registry=registry)
    def call() -> int:
        return 3

    assert [s.kind for s in describe(call)] == ["retry", "timeout"]


@pytest.mark.anyio
async def test_async_bundle(registry: Registry, clock: FakeClock) -> None:
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=2, backoff="constant", base_delay=1.0, retry_on=TimeoutError),
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=3),
        timeout=1.0,
        bulkhead=BulkheadPolicy(max_concurrent=2),
    )
    tries = itertools.count()

    @resilient("async", policy=policy, clock=clock, registry=registry)
    async def call() -> str:
        if next(tries) == 0:
            await clock.asleep(5)  # cancelled at virtual second 1
        return "ok"

    assert await call() == "ok"
    assert clock.monotonic() == 2.0  # 1 s timed out + 1 s backoff
    assert registry.breaker("async").metrics().failures == 1
    assert registry.bulkhead("async").metrics().completed == 2


@pytest.mark.anyio
async def test_1000_concurrent_tasks_through_a_bundle(registry: Registry, clock: FakeClock) -> None:
    policy = ResiliencePolicy(
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=None, failure_rate_threshold=1.0, window_size=1000),
        bulkhead=BulkheadPolicy(max_concurrent=100, max_queue=1000),
        timeout=10.0,
    )
    go = anyio.Event()

    @resilient("many", policy=policy, clock=clock, registry=registry)
    async def call(i: int) -> int:
        await go.wait()
        if i % 5 == 0:
            raise Boom
        return i

    outcomes: list[Any] = []

    async def one(i: int) -> None:
        try:
            outcomes.append(await call(i))
        except Boom:
            outcomes.append("boom")

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(one, i)
        await anyio.wait_all_tasks_blocked()
        m = registry.bulkhead("many").metrics()
        assert (m.active, m.queued) == (100, 900)
        go.set()
    breaker = registry.breaker("many").metrics()
    assert (breaker.successes, breaker.failures) == (800, 200)
    assert outcomes.count("boom") == 200
    assert registry.bulkhead("many").metrics().completed == 1000


# -- execute -------------------------------------------------------------------------------------


def test_execute_runs_a_sync_function_once_under_the_bundle(default: Registry) -> None:
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=3, backoff="none"),
        circuit_breaker=CircuitBreakerPolicy(failure_threshold=5),
    )
    outcomes = [Boom(), Boom(), "ok"]

    def call(x: int, *, y: int) -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return f"{outcome}{x}{y}"

    assert execute("exec", call, policy, 1, y=2) == "ok12"
    assert default.breaker("exec").metrics().failures == 2
    assert default.policy("exec") is policy
    assert execute("exec", lambda: "again", None) == "again"  # the registered policy
    with pytest.raises(ValueError, match="exec"):
        execute("exec", call, ResiliencePolicy(), 1, y=2)
    with pytest.raises(TypeError, match="fn"):
        execute("exec", 42, policy)  # type: ignore[call-overload]


@pytest.mark.anyio
async def test_execute_returns_a_coroutine_for_an_async_function(default: Registry, clock: FakeClock) -> None:
    async def call(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x * 2

    pending = execute("aexec", call, ResiliencePolicy(timeout=5.0, circuit_breaker=CircuitBreakerPolicy()), 21)
    assert await pending == 42
    assert default.breaker("aexec").metrics().successes == 1


@pytest.mark.anyio
async def test_execute_async_timeout(default: Registry) -> None:
    async def hang() -> None:
        await anyio.sleep(5)

    with anyio.fail_after(2), pytest.raises(ResiliencyTimeoutError):
        await execute("hang", hang, ResiliencePolicy(timeout=0.01))
