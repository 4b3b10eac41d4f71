"""Circuit breaker: the closed path (admit and record a success) and the open rejection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .._harness import (
    REJECTED,
    RESILIENCY,
    Target,
    Unavailable,
    aanswer,
    answer,
    arejecting,
    aswitchable,
    case,
    need,
    rejecting,
    switchable,
    trip_async,
    trip_sync,
)

HOUR = 3600  # reset timeout: an opened breaker stays open for the whole run

closed_sync = case(
    "breaker_closed_sync",
    "circuit breaker, closed (sync)",
    "A consecutive-failures breaker (threshold 5) around `def fn(): return 42`, every call "
    "succeeding: admit the call, run it, record the success.",
    target=Target(400),
)
closed_async = case(
    "breaker_closed_async",
    "circuit breaker, closed (async)",
    "The same as `breaker_closed_sync` around an async function.",
)
open_sync = case(
    "breaker_open_sync",
    "circuit breaker, open rejection (sync)",
    "The breaker is open (forced open, or tripped by 5 failures, with a one-hour reset "
    "timeout); each call is rejected with the library's error, caught by the timing loop's "
    "`try`/`except` (that try/except is in every row). The function never runs.",
    target=Target(600),
    expect=REJECTED,
)
open_async = case(
    "breaker_open_async",
    "circuit breaker, open rejection (async)",
    "The same as `breaker_open_sync` with an async function.",
    expect=REJECTED,
)

ASYNC_ONLY = "hyx is async-only: its decorators wrap coroutine functions"
PYBREAKER_ASYNC = "pybreaker's `call_async` needs Tornado's coroutines; it has no asyncio path"


# -- resiliency ------------------------------------------------------------------


def _resiliency_closed(fn: Any) -> Any:
    return need("circuit_breaker")(failure_threshold=5, reset_timeout=HOUR)(fn)


def _resiliency_open(fn: Any) -> Any:
    breaker = need("CircuitBreaker")(failure_threshold=5, reset_timeout=HOUR)
    protected = breaker(fn)
    breaker.force_open()
    return protected


closed_sync.add(RESILIENCY)(lambda: _resiliency_closed(answer))
closed_async.add(RESILIENCY, "asyncio")(lambda: _resiliency_closed(aanswer))
closed_async.add(RESILIENCY, "trio")(lambda: _resiliency_closed(aanswer))


def _resiliency_error() -> Any:
    return need("CircuitOpenError")


open_sync.add(RESILIENCY)(lambda: rejecting(_resiliency_open(answer), _resiliency_error()))
open_async.add(RESILIENCY, "asyncio")(lambda: arejecting(_resiliency_open(aanswer), _resiliency_error()))
open_async.add(RESILIENCY, "trio")(lambda: arejecting(_resiliency_open(aanswer), _resiliency_error()))


# -- pybreaker -------------------------------------------------------------------


@closed_sync.add("pybreaker")
def _pybreaker_closed() -> Any:
    import pybreaker

    return pybreaker.CircuitBreaker(fail_max=5, reset_timeout=HOUR)(answer)


@open_sync.add("pybreaker")
def _pybreaker_open() -> Any:
    import pybreaker

    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=HOUR)
    protected = breaker(answer)
    breaker.open()
    return rejecting(protected, pybreaker.CircuitBreakerError)


closed_async.missing("pybreaker", PYBREAKER_ASYNC, "asyncio")
open_async.missing("pybreaker", PYBREAKER_ASYNC, "asyncio")


# -- circuitbreaker --------------------------------------------------------------


def _cb(fn: Any) -> Any:
    import circuitbreaker

    return circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=HOUR)(fn)


closed_sync.add("circuitbreaker")(lambda: _cb(answer))
closed_async.add("circuitbreaker", "asyncio")(lambda: _cb(aanswer))


@open_sync.add("circuitbreaker", note="no force-open call: tripped by 5 failures")
def _cb_open() -> Any:
    import circuitbreaker

    fn, flag = switchable()
    protected = _cb(fn)
    trip_sync(protected, flag, 5)
    return rejecting(protected, circuitbreaker.CircuitBreakerError)


@open_async.add("circuitbreaker", "asyncio", note="no force-open call: tripped by 5 failures")
async def _cb_open_async() -> Any:
    import circuitbreaker

    fn, flag = aswitchable()
    protected = _cb(fn)
    await trip_async(protected, flag, 5)
    return arejecting(protected, circuitbreaker.CircuitBreakerError)


# -- purgatory -------------------------------------------------------------------


def _purgatory_sync(fn: Any) -> Any:
    from purgatory import SyncCircuitBreakerFactory

    return SyncCircuitBreakerFactory(default_threshold=5, default_ttl=HOUR)("bench")(fn)


def _purgatory_async(fn: Any) -> Any:
    from purgatory import AsyncCircuitBreakerFactory

    return AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=HOUR)("bench")(fn)


closed_sync.add("purgatory")(lambda: _purgatory_sync(answer))
closed_async.add("purgatory", "asyncio")(lambda: _purgatory_async(aanswer))


@open_sync.add("purgatory", note="no force-open call: tripped by 5 failures")
def _purgatory_open() -> Any:
    from purgatory.domain.model import OpenedState

    fn, flag = switchable()
    protected = _purgatory_sync(fn)
    trip_sync(protected, flag, 5)
    return rejecting(protected, OpenedState)


@open_async.add("purgatory", "asyncio", note="no force-open call: tripped by 5 failures")
async def _purgatory_open_async() -> Any:
    from purgatory.domain.model import OpenedState

    fn, flag = aswitchable()
    protected = _purgatory_async(fn)
    await trip_async(protected, flag, 5)
    return arejecting(protected, OpenedState)


# -- aiobreaker ------------------------------------------------------------------


def _aiobreaker() -> Any:
    import aiobreaker

    return aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=HOUR))


closed_sync.add("aiobreaker")(lambda: _aiobreaker()(answer))
closed_async.add("aiobreaker", "asyncio")(lambda: _aiobreaker()(aanswer))


def _aiobreaker_open(fn: Any, wrap: Any) -> Any:
    import aiobreaker

    breaker = _aiobreaker()
    protected = breaker(fn)
    breaker.open()
    return wrap(protected, aiobreaker.CircuitBreakerError)


open_sync.add("aiobreaker")(lambda: _aiobreaker_open(answer, rejecting))
open_async.add("aiobreaker", "asyncio")(lambda: _aiobreaker_open(aanswer, arejecting))


# -- nopanic ---------------------------------------------------------------------

NOPANIC_NOTE = "failure-rate breaker over a 30 s time window (its only mode), defaults"


def _nopanic_open(fn: Any, wrap: Any) -> Any:
    import nopanic

    breaker = nopanic.CircuitBreaker(reset_timeout=HOUR)
    protected = breaker(fn)
    breaker.force_open()
    return wrap(protected, nopanic.CircuitOpen)


def _nopanic(fn: Any) -> Any:
    import nopanic

    return nopanic.CircuitBreaker(reset_timeout=HOUR)(fn)


closed_sync.add("nopanic", note=NOPANIC_NOTE)(lambda: _nopanic(answer))
closed_async.add("nopanic", "asyncio", note=NOPANIC_NOTE)(lambda: _nopanic(aanswer))
open_sync.add("nopanic")(lambda: _nopanic_open(answer, rejecting))
open_async.add("nopanic", "asyncio")(lambda: _nopanic_open(aanswer, arejecting))


# -- pyresilience ----------------------------------------------------------------


def _pyresilience(fn: Any) -> Any:
    from pyresilience import CircuitBreakerConfig, resilient

    return resilient(circuit_breaker=CircuitBreakerConfig(failure_threshold=5, recovery_timeout=HOUR))(fn)


def _pyresilience_open(fn: Any, wrap: Any) -> Any:
    from pyresilience import CircuitOpenError

    protected = _pyresilience(fn)
    protected._executor._circuit_breaker.force_open()
    return wrap(protected, CircuitOpenError)


closed_sync.add("pyresilience")(lambda: _pyresilience(answer))
closed_async.add("pyresilience", "asyncio")(lambda: _pyresilience(aanswer))
open_sync.add("pyresilience")(lambda: _pyresilience_open(answer, rejecting))
open_async.add("pyresilience", "asyncio")(lambda: _pyresilience_open(aanswer, arejecting))


# -- hyx -------------------------------------------------------------------------


def _hyx(fn: Any) -> Any:
    from hyx.circuitbreaker import consecutive_breaker

    return consecutive_breaker(failure_threshold=5, recovery_time_secs=HOUR)(fn)


@closed_sync.add("hyx")
def _hyx_closed_sync() -> Any:
    raise Unavailable(ASYNC_ONLY)


@open_sync.add("hyx")
def _hyx_open_sync() -> Any:
    raise Unavailable(ASYNC_ONLY)


closed_async.add("hyx", "asyncio")(lambda: _hyx(aanswer))


@open_async.add("hyx", "asyncio", note="no force-open call: tripped by 5 failures")
async def _hyx_open_async() -> Any:
    from hyx.circuitbreaker.exceptions import BreakerFailing

    fn, flag = aswitchable()
    protected = _hyx(fn)
    await trip_async(protected, flag, 5)
    return arejecting(protected, BreakerFailing)
