"""The engine contract: layers pass outcomes, one raise at the boundary, fused order, fast paths."""

from __future__ import annotations

import traceback
from typing import Any

import anyio
import pytest

import resiliency._retry
from resiliency import CircuitOpenError, ResiliencyTimeoutError, fallback, remaining, retry, timeout
from resiliency._decorators import apply_strategy, pipeline_of
from resiliency._engine import (
    AsyncLayer,
    CallablePolicy,
    Pipeline,
    Strategy,
    SyncLayer,
    drive_async,
    drive_sync,
)
from resiliency._outcome import Failure
from resiliency.testing import FakeClock, describe


class Gate(Strategy):
    """A test strategy: rejects when closed, records every outcome, releases in finally."""

    kind = "gate"

    def __init__(self) -> None:
        self.open = True
        self.outcomes: list[Any] = []
        self.released = 0

    @property
    def policy(self) -> str:
        return "gate policy"

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not self.open:
                return Failure(CircuitOpenError(self, 1.0))
            try:
                outcome = inner(args, kwargs)
            finally:
                self.released += 1
            self.outcomes.append(outcome)
            return outcome

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not self.open:
                return Failure(CircuitOpenError(self, 1.0))
            try:
                outcome = await inner(args, kwargs)
            finally:
                self.released += 1
            self.outcomes.append(outcome)
            return outcome

        return layer


class Stop(BaseException):
    pass


# -- layers and drivers ------------------------------------------------------------------


def test_a_layer_sees_a_failure_and_the_driver_raises_it_unchanged() -> None:
    gate = Gate()
    error = ValueError("user")

    def users_function(x: int) -> int:
        if x < 0:
            raise error
        return x

    fn = apply_strategy(users_function, gate)
    assert fn(3) == 3
    with pytest.raises(ValueError) as excinfo:
        fn(-1)
    assert excinfo.value is error
    assert traceback.extract_tb(excinfo.value.__traceback__)[-1].name == "users_function"
    assert gate.outcomes[0] == 3
    assert type(gate.outcomes[1]) is Failure
    assert gate.outcomes[1].error is error


def test_a_rejection_is_a_fresh_exception_every_time() -> None:
    gate = Gate()
    gate.open = False
    fn = apply_strategy(lambda: 1, gate)
    errors = []
    for _ in range(2):
        with pytest.raises(CircuitOpenError) as excinfo:
            fn()
        errors.append(excinfo.value)
    assert errors[0] is not errors[1]
    assert errors[0].breaker is gate


def test_base_exceptions_propagate_through_layers_and_finally_runs() -> None:
    gate = Gate()
    calls = 0

    def fn() -> None:
        nonlocal calls
        calls += 1
        raise Stop

    wrapped = retry(max_attempts=3, retry_on=lambda exc: True)(apply_strategy(fn, gate))
    with pytest.raises(Stop):
        wrapped()
    assert calls == 1
    assert gate.released == 1
    assert gate.outcomes == []


@pytest.mark.anyio
async def test_async_layers_and_cancellation_release() -> None:
    gate = Gate()
    error = KeyError("k")

    async def fn(x: int) -> int:
        await anyio.sleep(0 if x >= 0 else 5)
        if x == 0:
            raise error
        return x

    wrapped = apply_strategy(fn, gate)
    assert await wrapped(2) == 2
    with pytest.raises(KeyError) as excinfo:
        await wrapped(0)
    assert excinfo.value is error
    with anyio.move_on_after(0.01):
        await wrapped(-1)
    assert gate.released == 3
    assert len(gate.outcomes) == 2


def test_pipeline_chain_and_drivers() -> None:
    gate = Gate()
    pipeline = Pipeline(lambda a, b=0: a + b, (gate,), is_async=False)
    assert pipeline.strategies == (gate,)
    assert drive_sync(pipeline.chain, (1,), {"b": 2}) == 3
    failing = Pipeline(lambda: 1 / 0, (gate,), is_async=False)
    result = failing.chain((), {})
    assert type(result) is Failure
    assert isinstance(result.error, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        drive_sync(failing.chain, (), {})


@pytest.mark.anyio
async def test_async_pipeline_driver() -> None:
    async def div(a: int, b: int) -> float:
        return a / b

    pipeline = Pipeline(div, (Gate(),), is_async=True)
    assert await drive_async(pipeline.chain, (6, 3), {}) == 2.0
    with pytest.raises(ZeroDivisionError):
        await drive_async(pipeline.chain, (1, 0), {})


def test_pipeline_of_and_describe() -> None:
    gate = Gate()

    def fn() -> int:
        return 1

    wrapped = retry(apply_strategy(fn, gate))
    pipeline = pipeline_of(wrapped)
    assert pipeline is not None
    assert pipeline.fn is fn
    assert [s.kind for s in pipeline.strategies] == ["retry", "gate"]
    assert describe(wrapped)[1] is gate
    assert describe(wrapped)[1].policy == "gate policy"
    assert pipeline_of(fn) is None
    assert describe(fn) == []
    assert describe(42) == []


def test_callable_policy_needs_to_strategy() -> None:
    class Plain(CallablePolicy):
        pass

    with pytest.raises(NotImplementedError):
        Plain().call(lambda: 1)

    class Gated(CallablePolicy):
        def to_strategy(self) -> Strategy:
            return Gate()

    assert Gated().call(lambda a, b: a - b, 5, b=2) == 3


# -- order of a fused stack ------------------------------------------------------------------


def test_fallback_outside_retry_answers_after_the_retries() -> None:
    calls = 0

    @fallback(value="fallback")
    @retry(max_attempts=3, backoff="none")
    def fn() -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError

    assert fn() == "fallback"
    assert calls == 3


def test_retry_outside_fallback_never_sees_the_failure() -> None:
    calls = 0

    @retry(max_attempts=3, backoff="none")
    @fallback(value="fallback")
    def fn() -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError

    assert fn() == "fallback"
    assert calls == 1


@pytest.mark.parametrize("outer_first", [True, False], ids=["fallback_outer", "retry_outer"])
def test_unhandled_errors_pass_the_whole_stack_with_exact_attempts(outer_first: bool) -> None:
    errors: list[Exception] = []

    def fn() -> None:
        errors.append(ConnectionError(len(errors)))
        raise errors[-1]

    fb = fallback(value=0, on=ValueError)
    rt = retry(max_attempts=3, backoff="none")
    wrapped = fb(rt(fn)) if outer_first else rt(fb(fn))
    with pytest.raises(ConnectionError) as excinfo:
        wrapped()
    assert len(errors) == 3
    assert excinfo.value is errors[-1]


def test_fallback_handles_what_retry_does_not_retry() -> None:
    calls = 0

    @retry(max_attempts=3, retry_on=ValueError, backoff="none")
    @fallback(value="fb", on=ConnectionError)
    def fn() -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError

    assert fn() == "fb"
    assert calls == 1


def test_timeout_inside_retry_is_per_attempt() -> None:
    clock = FakeClock()
    seen: list[float | None] = []

    @retry(max_attempts=3, backoff="constant", base_delay=1.0, clock=clock)
    @timeout(2.0, mode="cooperative", clock=clock)
    def fn() -> None:
        seen.append(remaining())
        clock.sleep(3.0)

    with pytest.raises(ResiliencyTimeoutError) as excinfo:
        fn()
    assert seen == [2.0, 2.0, 2.0]
    assert excinfo.value.elapsed == 3.0
    assert clock.sleeps == [3.0, 1.0, 3.0, 1.0, 3.0]


def test_timeout_outside_retry_is_one_deadline() -> None:
    clock = FakeClock()
    seen: list[float | None] = []

    @timeout(5.0, mode="cooperative", clock=clock)
    @retry(max_attempts=10, backoff="constant", base_delay=1.0, clock=clock)
    def fn() -> None:
        seen.append(remaining())
        raise ConnectionError

    with pytest.raises(ConnectionError):
        fn()
    assert seen == [5.0, 4.0, 3.0, 2.0, 1.0]  # the next 1 s wait would reach the deadline


@pytest.mark.anyio
async def test_async_stack_order() -> None:
    clock = FakeClock()
    calls = 0

    @fallback(value="fb")
    @retry(max_attempts=3, backoff="constant", base_delay=0.5, clock=clock)
    @timeout(1.0, clock=clock)
    async def fn() -> str:
        nonlocal calls
        calls += 1
        await clock.asleep(2.0)
        return "late"

    assert await fn() == "fb"
    assert calls == 3
    assert clock.monotonic() == 4.0  # 3 attempts cut at 1 s + 2 waits of 0.5 s


# -- fast paths --------------------------------------------------------------------------


class CountingClock(FakeClock):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return super().monotonic()


def test_a_successful_retry_reads_no_clock() -> None:
    clock = CountingClock()
    fn = fallback(value=0)(retry(max_attempts=3, clock=clock)(lambda: 1))
    assert fn() == 1
    assert clock.reads == 0


def test_no_event_is_built_without_a_listener(monkeypatch: pytest.MonkeyPatch, registry: resiliency.Registry) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an event was built with no listener")

    monkeypatch.setattr(resiliency._retry, "RetryScheduled", forbidden)
    calls = 0

    @retry(max_attempts=3, backoff="none", registry=registry)
    def fn() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError
        return "ok"

    assert fn() == "ok"


@pytest.mark.parametrize(
    ("decorators", "passthrough", "expected"),
    [
        ([retry(max_attempts=2, backoff="none")], True, "second"),
        ([fallback(value=0), retry(max_attempts=2, backoff="none")], True, "second"),
        ([retry(max_attempts=2, backoff="none"), fallback(value=0)], True, 0),
        ([retry(max_attempts=2, backoff="none", retry_if_result=lambda r: r is None)], False, "second"),
        ([retry(max_attempts=2, backoff="none", max_total_time=5.0)], False, "second"),
        ([fallback(value=0, if_result=lambda r: r is None)], False, 0),
        ([retry(max_attempts=2, backoff="none"), timeout(1.0, mode="cooperative")], False, "second"),
    ],
)
def test_passthrough_and_full_pipelines_give_the_same_answers(
    decorators: list[Any], passthrough: bool, expected: Any
) -> None:
    outcomes: list[Any] = [ConnectionError("first"), "second"]

    def fn() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    wrapped: Any = fn
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    pipeline = pipeline_of(wrapped)
    assert pipeline is not None
    assert pipeline.passthrough is passthrough
    assert wrapped() == expected
    assert len(outcomes) == (0 if expected == "second" else 1)  # no attempt made twice or skipped
