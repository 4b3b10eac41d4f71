"""What tenacity and pybreaker users reach for: random and chained waits, a floor, time-bounded
attempts; ``breaker.call``, ``breaker.calling()``, ``last_failure`` and the rejection event."""

from __future__ import annotations

import random

import anyio
import pytest

from resiliency import (
    CallRecorded,
    CallRejected,
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    Event,
    Registry,
    RetryPolicy,
    retry,
)
from resiliency.testing import FakeClock


class Boom(Exception):
    pass


def always_fails(clock: FakeClock, policy: RetryPolicy) -> list[float]:
    @retry(policy=policy, clock=clock)
    def fail() -> None:
        raise Boom

    with pytest.raises(Boom):
        fail()
    return clock.sleeps


# -- waits --------------------------------------------------------------------------------------


def test_random_wait_draws_between_min_and_max() -> None:
    policy = RetryPolicy(max_attempts=50, backoff="random", base_delay=1.0, max_delay=3.0, rng=random.Random(4))
    sleeps = always_fails(FakeClock(), policy)
    assert len(sleeps) == 49
    assert all(1.0 <= s <= 3.0 for s in sleeps)
    assert len(set(sleeps)) > 40


def test_chained_waits_then_the_last_repeats() -> None:
    policy = RetryPolicy(max_attempts=6, backoff=[0.1, 0.5, 2.0])
    assert always_fails(FakeClock(), policy) == [0.1, 0.5, 2.0, 2.0, 2.0]
    assert policy.backoff == (0.1, 0.5, 2.0)  # kept as a tuple: the policy stays hashable
    assert hash(policy) == hash(RetryPolicy(max_attempts=6, backoff=(0.1, 0.5, 2.0)))


def test_chained_waits_are_capped_by_max_delay() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=(1.0, 50.0), max_delay=5.0)
    assert always_fails(FakeClock(), policy) == [1.0, 5.0]


def test_a_floor_on_exponential_waits() -> None:
    policy = RetryPolicy(max_attempts=6, backoff="exponential", base_delay=0.1, min_delay=0.5, max_delay=10.0)
    assert always_fails(FakeClock(), policy) == pytest.approx([0.5, 0.5, 0.5, 0.8, 1.6])


def test_a_retry_after_hint_is_not_floored() -> None:
    class Hinted(Exception):
        retry_after = 0.2

    policy = RetryPolicy(max_attempts=2, min_delay=1.0)
    assert policy.next_delay(1, Hinted(), None, 0.0, 0.0, None) == 0.2


def test_attempts_bounded_only_by_total_time() -> None:
    policy = RetryPolicy(max_attempts=None, max_total_time=10.0, backoff="constant", base_delay=1.0)
    clock = FakeClock()
    assert always_fails(clock, policy) == [1.0] * 10  # 11 attempts fit in 10 s of sleeps
    assert clock.monotonic() == 10.0


@pytest.mark.parametrize(
    ("fields", "error", "name"),
    [
        ({"max_attempts": None}, ValueError, "max_attempts"),
        ({"backoff": []}, ValueError, "backoff"),
        ({"backoff": [1.0, -1.0]}, ValueError, "backoff"),
        ({"backoff": [1.0, "x"]}, TypeError, "backoff"),
        ({"min_delay": 5.0, "max_delay": 1.0}, ValueError, "min_delay"),
        ({"min_delay": -1.0}, ValueError, "min_delay"),
    ],
)
def test_bad_wait_settings_name_the_field(fields: dict[str, object], error: type[Exception], name: str) -> None:
    with pytest.raises(error, match=name):
        RetryPolicy(**fields)  # type: ignore[arg-type]


# -- breaker ------------------------------------------------------------------------------------


def test_call_runs_through_the_breaker_and_keeps_the_last_failure() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5, clock=clock)

    def divide(a: int, b: int) -> float:
        return a / b

    assert breaker.call(divide, 6, b=3) == 2.0
    assert breaker.last_failure is None
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            breaker.call(divide, 1, 0)
    assert isinstance(breaker.last_failure, ZeroDivisionError)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(divide, 1, 1)
    assert info.value.retry_after == 5.0
    breaker.reset()
    assert breaker.last_failure is None


def test_calling_block_records_outcomes_and_rejects_when_open(registry: Registry) -> None:
    events: list[Event] = []
    registry.subscribe(events.append)
    clock = FakeClock()
    breaker = CircuitBreaker("db", failure_threshold=1, reset_timeout=3, clock=clock, registry=registry)
    with breaker.calling():
        pass
    with pytest.raises(Boom), breaker.calling():
        raise Boom
    assert breaker.state is CircuitState.OPEN
    ran = False
    with pytest.raises(CircuitOpenError), breaker.calling():
        ran = True
    assert not ran
    recorded = [e for e in events if isinstance(e, CallRecorded)]
    assert [(e.success, type(e.error)) for e in recorded] == [(True, type(None)), (False, Boom)]
    assert [e for e in events if isinstance(e, CallRejected)] == [CallRejected("db", 3.0)]
    clock.advance(3)
    with breaker.calling():  # the probe
        pass
    assert breaker.state is CircuitState.CLOSED


def test_an_ignored_error_in_a_block_counts_for_nothing() -> None:
    breaker = CircuitBreaker(failure_threshold=1, ignore_on=KeyError)
    with pytest.raises(KeyError), breaker.calling():
        raise KeyError("x")
    assert breaker.state is CircuitState.CLOSED
    assert breaker.last_failure is None


def test_rejections_by_decorated_calls_emit_call_rejected(registry: Registry) -> None:
    events: list[Event] = []
    registry.subscribe(events.append)
    breaker = CircuitBreaker("svc", registry=registry)
    breaker.force_open()

    @breaker
    def f() -> int:
        return 1

    with pytest.raises(CircuitOpenError):
        f()
    assert [e for e in events if isinstance(e, CallRejected)] == [CallRejected("svc", float("inf"))]


@pytest.mark.anyio
async def test_async_call_and_async_with_calling() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=2, clock=clock)

    async def fetch(x: int) -> int:
        await anyio.sleep(0)
        return x * 2

    assert await breaker.acall(fetch, 21) == 42
    with pytest.raises(Boom):
        async with breaker.calling():
            raise Boom
    with pytest.raises(CircuitOpenError):
        async with breaker.calling():
            pass
    clock.advance(2)
    # A cancelled probe is released, not recorded: the breaker stays half-open.
    with anyio.CancelScope() as scope:
        async with breaker.calling():
            scope.cancel()
            await anyio.sleep(1)
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.metrics().half_open_in_flight == 0
    async with breaker.calling():
        pass
    assert breaker.state is CircuitState.CLOSED
