"""Bytes per circuit breaker: what one more breaker keeps alive, after 100 calls through it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from .._harness import RESILIENCY, Target, Unavailable, aanswer, answer, case, need

CALLS = 100  # successful calls through each breaker before it is measured (fills windows)

consecutive = case(
    "breaker_bytes_consecutive",
    "bytes per breaker, consecutive-failures mode",
    f"Memory one more breaker (threshold 5) keeps alive, after {CALLS} successful calls "
    "through a function it protects (the function's wrapper is then dropped). Measured with "
    "`tracemalloc` over 50 breakers: shared one-time allocations are not counted.",
    measure="size",
    target=Target(300, "bytes"),
)
window = case(
    "breaker_bytes_window100",
    "bytes per breaker, 100-call sliding window",
    f"The same with a failure-rate breaker over the last 100 calls, after {CALLS} calls (a full window).",
    measure="size",
    target=Target(1024, "bytes"),
)

COUNT_ONLY = "counts consecutive failures only; it has no sliding window"
_ids = itertools.count()


def _exercise(fn: Any) -> None:
    for _ in range(CALLS):
        fn()


async def _aexercise(fn: Any) -> None:
    for _ in range(CALLS):
        await fn()


def _resiliency(**settings: Any) -> Any:
    breaker_type = need("CircuitBreaker")

    def make() -> Any:
        breaker = breaker_type(**settings)
        _exercise(breaker(answer))
        return breaker

    return make


consecutive.add(RESILIENCY)(lambda: _resiliency(failure_threshold=5))
window.add(RESILIENCY)(lambda: _resiliency(failure_threshold=None, failure_rate_threshold=0.5, window_size=100))


@consecutive.add("pybreaker")
def _pybreaker() -> Any:
    import pybreaker

    def make() -> Any:
        breaker = pybreaker.CircuitBreaker(fail_max=5)
        _exercise(breaker(answer))
        return breaker

    return make


@consecutive.add("circuitbreaker")
def _circuitbreaker() -> Any:
    import circuitbreaker

    def make() -> Any:
        breaker = circuitbreaker.CircuitBreaker(failure_threshold=5, name=f"bench-{next(_ids)}")
        _exercise(breaker(answer))
        return breaker

    return make


@consecutive.add("purgatory", note="one more named circuit in one shared `SyncCircuitBreakerFactory`")
def _purgatory() -> Any:
    from purgatory import SyncCircuitBreakerFactory

    factory = SyncCircuitBreakerFactory(default_threshold=5)

    def make() -> Any:
        name = f"bench-{next(_ids)}"
        _exercise(factory(name)(answer))
        return factory.uow.contexts.get(name)

    return make


@consecutive.add("aiobreaker")
def _aiobreaker() -> Any:
    import aiobreaker

    def make() -> Any:
        breaker = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=60))
        _exercise(breaker(answer))
        return breaker

    return make


def _nopanic() -> Any:
    import nopanic

    def make() -> Any:
        breaker = nopanic.CircuitBreaker()
        _exercise(breaker(answer))
        return breaker

    return make


@consecutive.add("nopanic")
def _nopanic_consecutive() -> Any:
    raise Unavailable("nopanic has no consecutive-failures mode (only a failure rate over a time window)")


window.add("nopanic", note="its window is time-based (30 s in 10 buckets); it has no count window")(_nopanic)


def _pyresilience(**settings: Any) -> Any:
    from pyresilience import CircuitBreaker, CircuitBreakerConfig

    def make() -> Any:
        breaker = CircuitBreaker(CircuitBreakerConfig(**settings))
        for _ in range(CALLS):  # what its executor does around a successful call
            breaker.allow_request()
            breaker.record_success(0.0)
        return breaker

    return make


consecutive.add("pyresilience")(lambda: _pyresilience(failure_threshold=5))
window.add("pyresilience")(lambda: _pyresilience(sliding_window_size=100, failure_rate_threshold=0.5))


@consecutive.add("hyx", "asyncio")
def _hyx() -> Any:
    from hyx.circuitbreaker import consecutive_breaker

    async def make() -> Any:
        breaker = consecutive_breaker(failure_threshold=5)
        await _aexercise(breaker(aanswer))
        return breaker

    return make


for _peer in ("pybreaker", "circuitbreaker", "purgatory", "aiobreaker", "hyx"):
    window.missing(_peer, COUNT_ONLY)
