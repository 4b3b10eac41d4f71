"""An async stack: retry, circuit breaker and timeout on one coroutine function."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from .._harness import RESILIENCY, Target, aanswer, case, need

stack = case(
    "async_stack",
    "async stack: retry + circuit breaker + timeout",
    "`@retry(max_attempts=3)` over `@circuit_breaker(failure_threshold=5)` over `@timeout(10)` "
    "on `async def fn(): return 42`, success path: the typical protection of one remote call.",
    target=Target(5000),
)


def _resiliency() -> Any:
    from resiliency import retry, timeout

    breaker = need("circuit_breaker")
    return retry(max_attempts=3)(breaker(failure_threshold=5)(timeout(10)(aanswer)))


stack.add(RESILIENCY, "asyncio")(_resiliency)
stack.add(RESILIENCY, "trio")(_resiliency)


@stack.add("tenacity + aiobreaker + asyncio.timeout", "asyncio")
def _mix() -> Any:
    import aiobreaker
    import tenacity

    breaker = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=60))

    async def timed() -> Any:
        async with asyncio.timeout(10):
            return await aanswer()

    return tenacity.retry(stop=tenacity.stop_after_attempt(3))(breaker(timed))


@stack.add("nopanic", "asyncio")
def _nopanic() -> Any:
    import nopanic

    return nopanic.compose(nopanic.retry(attempts=3), nopanic.CircuitBreaker(), nopanic.timeout(10))(aanswer)


@stack.add("pyresilience", "asyncio", note="one `@resilient` with the three configs (its way to combine)")
def _pyresilience() -> Any:
    from pyresilience import CircuitBreakerConfig, RetryConfig, TimeoutConfig, resilient

    return resilient(
        retry=RetryConfig(max_attempts=3),
        circuit_breaker=CircuitBreakerConfig(failure_threshold=5),
        timeout=TimeoutConfig(seconds=10),
    )(aanswer)


@stack.add("hyx", "asyncio")
def _hyx() -> Any:
    from hyx.circuitbreaker import consecutive_breaker
    from hyx.retry import retry
    from hyx.timeout import timeout

    return retry(on=Exception, attempts=3)(consecutive_breaker(failure_threshold=5)(timeout(10)(aanswer)))
