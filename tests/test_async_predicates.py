"""Async predicates are awaited on async callables and refused on sync ones (issue 9 item 3).

Before: an ``async def`` ``retry_if_result`` / ``retry_on`` / ``if_result`` / breaker
filter was called and its coroutine, always truthy, taken for its answer (every outcome
retried, every result replaced), with a "never awaited" warning after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from resiliency import (
    CircuitBreaker,
    CircuitState,
    FailoverGroup,
    Registry,
    RetryPolicy,
    circuit_breaker,
    fallback,
    provider_from_callable,
    retry,
)

pytestmark = pytest.mark.filterwarnings("error")  # a coroutine never awaited fails the test


async def never(_: object) -> bool:
    await anyio.lowlevel.checkpoint()
    return False


async def is_none(value: object) -> bool:
    await anyio.lowlevel.checkpoint()
    return value is None


async def is_key_error(exc: BaseException) -> bool:
    await anyio.lowlevel.checkpoint()
    return isinstance(exc, KeyError)


@pytest.mark.anyio
async def test_async_retry_if_result_is_awaited() -> None:
    calls = 0

    @retry(retry_if_result=never, base_delay=0)
    async def ok() -> int:
        nonlocal calls
        calls += 1
        return 1

    assert await ok() == 1
    assert calls == 1  # was 3: the coroutine object is truthy

    results = iter([None, None, 7])

    @retry(retry_if_result=is_none, max_attempts=5, base_delay=0)
    async def eventually() -> int | None:
        return next(results)

    assert await eventually() == 7


@pytest.mark.anyio
async def test_async_retry_on_predicate_is_awaited() -> None:
    calls = 0

    @retry(retry_on=is_key_error, max_attempts=4, base_delay=0)
    async def fails(exc: Exception) -> None:
        nonlocal calls
        calls += 1
        raise exc

    with pytest.raises(OSError):
        await fails(OSError("not retried"))
    assert calls == 1
    with pytest.raises(KeyError):
        await fails(KeyError("retried"))
    assert calls == 1 + 4


@pytest.mark.anyio
async def test_async_predicates_through_policy_acall() -> None:
    policy = RetryPolicy(retry_if_result=is_none, max_attempts=3, base_delay=0)
    results = iter([None, 2])

    async def fn() -> int | None:
        return next(results)

    assert await policy.acall(fn) == 2


@pytest.mark.anyio
async def test_async_fallback_predicates_are_awaited() -> None:
    @fallback(value="default", if_result=is_none)
    async def lookup(value: str | None) -> str | None:
        return value

    assert await lookup("x") == "x"  # was "default": the coroutine is truthy
    assert await lookup(None) == "default"

    @fallback(value="handled", on=is_key_error)
    async def fails(exc: Exception) -> str:
        raise exc

    assert await fails(KeyError()) == "handled"
    with pytest.raises(OSError):
        await fails(OSError())


@pytest.mark.anyio
async def test_async_breaker_filters_are_awaited() -> None:
    breaker = CircuitBreaker(failure_threshold=2, failure_on=is_key_error, registry=Registry())

    @breaker
    async def call(exc: Exception) -> None:
        raise exc

    for _ in range(3):
        with pytest.raises(OSError):
            await call(OSError())  # not a failure: was counted as one
    assert breaker.state is CircuitState.CLOSED
    for _ in range(2):
        with pytest.raises(KeyError):
            await call(KeyError())
    assert breaker.state is CircuitState.OPEN

    ignoring = CircuitBreaker(failure_threshold=1, ignore_on=is_key_error, registry=Registry())

    @ignoring
    async def ignored() -> None:
        raise KeyError

    with pytest.raises(KeyError):
        await ignored()
    assert ignoring.state is CircuitState.CLOSED
    assert ignoring.metrics().failures == 0


@pytest.mark.anyio
async def test_async_breaker_filter_with_a_window_and_concurrency() -> None:
    breaker = CircuitBreaker(
        failure_threshold=None,
        failure_rate_threshold=0.5,
        window_size=50,
        failure_on=is_key_error,
        registry=Registry(),
    )

    @breaker
    async def call(exc: Exception) -> None:
        raise exc

    async def one(i: int) -> None:
        with pytest.raises(OSError):
            await call(OSError(i))

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(one, i)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.metrics().window_failures == 0
    assert breaker.metrics().calls == 100


SYNC_REFUSALS: list[tuple[str, Callable[[], Any]]] = [
    ("retry_if_result", lambda: retry(retry_if_result=never)),
    ("retry_on", lambda: retry(retry_on=never)),
    ("if_result", lambda: fallback(value=1, if_result=never)),
    ("on", lambda: fallback(value=1, on=is_key_error)),
    ("failure_on", lambda: CircuitBreaker(failure_on=is_key_error, registry=Registry())),
    ("ignore_on", lambda: circuit_breaker(ignore_on=is_key_error)),
]


@pytest.mark.parametrize(("param", "make"), SYNC_REFUSALS, ids=[p for p, _ in SYNC_REFUSALS])
def test_async_predicates_on_a_sync_callable_are_refused_at_decoration(param: str, make: Callable[[], Any]) -> None:
    def work() -> int:
        return 1

    with pytest.raises(TypeError, match=rf"^{param} must be a plain function for a sync callable \(got async"):
        make()(work)


def test_async_predicate_in_a_sync_one_off_call_is_refused() -> None:
    with pytest.raises(TypeError, match="retry_if_result must be a plain function"):
        RetryPolicy(retry_if_result=never).call(lambda: 1)
    with pytest.raises(TypeError, match="retry_on must be a plain function"):
        RetryPolicy(retry_on=never).call_with_stats(lambda: 1)


def test_async_predicate_in_a_sync_group_call_is_a_type_error() -> None:
    group = FailoverGroup("predicates", registry=Registry())
    group.register(
        provider_from_callable("a", lambda: (_ for _ in ()).throw(KeyError()), policy=RetryPolicy(retry_on=never))
    )
    with pytest.raises(TypeError, match="retry_on is an async predicate"):
        group.execute_sync("default")


@pytest.mark.anyio
async def test_async_retry_on_is_awaited_in_an_async_group_call() -> None:
    calls = 0

    def fail() -> None:
        nonlocal calls
        calls += 1
        raise OSError("down")

    group = FailoverGroup("async-predicates", registry=Registry())
    policy = RetryPolicy(retry_on=is_key_error, max_attempts=3, base_delay=0)
    group.register(provider_from_callable("a", fail, policy=policy))
    with pytest.raises(Exception, match="all providers failed"):
        await group.execute("default")
    assert calls == 1  # OSError is not retried: the predicate said no
