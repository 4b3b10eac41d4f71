"""Retry, fail-fail-succeed at zero wait: two failed attempts, then success, no sleep."""

from __future__ import annotations

from typing import Any

from .._harness import RESILIENCY, Flaky, Target, Unavailable, afail_fail_succeed, case, fail_fail_succeed
from ._peers import quiet_logging, quiet_stamina

sync = case(
    "retry_ffs_sync",
    "retry, fail-fail-succeed at zero wait (sync)",
    "A function that raises on attempts 1 and 2 and returns on attempt 3, under a 3-attempt "
    "retry with zero delay. Measures the retry machinery (catching, deciding, re-calling), "
    "not sleeping; the `hand-written loop` row is the floor (a `for` loop with `try`/`except`), "
    "raising two fresh exceptions included. Peers whose zero wait still calls `time.sleep(0)` "
    "(tenacity, stamina, backoff, nopanic, pyresilience) pay a system call and a possible "
    "scheduler yield per retry; resiliency skips the sleep when the delay is 0.",
    target=Target(1500),
)
async_ = case(
    "retry_ffs_async",
    "retry, fail-fail-succeed at zero wait (async)",
    "The same as `retry_ffs_sync` with an async function. A library whose zero wait still "
    "goes through `asyncio.sleep(0)` yields to the event loop between attempts; that is part "
    "of its cost.",
)


def _resiliency(fn: Any) -> Any:
    from resiliency import retry

    return retry(max_attempts=3, backoff="none")(fn)


def _tenacity(fn: Any) -> Any:
    import tenacity

    return tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none(), reraise=True)(fn)


def _stamina(fn: Any) -> Any:
    import stamina

    quiet_stamina()
    return stamina.retry(on=Exception, attempts=3, wait_initial=0, wait_max=0, wait_jitter=0)(fn)


def _backoff(fn: Any) -> Any:
    import backoff

    quiet_logging()
    return backoff.on_exception(backoff.constant, Exception, max_tries=3, interval=0, jitter=None)(fn)


def _nopanic(fn: Any) -> Any:
    import nopanic

    return nopanic.retry(attempts=3, on=Exception, backoff=0)(fn)


def _pyresilience(fn: Any) -> Any:
    from pyresilience import RetryConfig, resilient

    return resilient(retry=RetryConfig(max_attempts=3, delay=0.0, jitter=False))(fn)


def _hyx(fn: Any) -> Any:
    from hyx.retry import retry

    return retry(on=Exception, attempts=3, backoff=0)(fn)


PEERS = (
    ("tenacity", _tenacity),
    ("stamina", _stamina),
    ("backoff", _backoff),
    ("nopanic", _nopanic),
    ("pyresilience", _pyresilience),
)

STAMINA_NOTE = (
    "retry hooks turned off (`stamina.instrumentation.set_on_retry_hooks([])`): by default it logs each retry"
)


@sync.add("hand-written loop")
def _loop_sync() -> Any:
    fn = fail_fail_succeed()

    def call() -> Any:
        for attempt in range(3):
            try:
                return fn()
            except Flaky:
                if attempt == 2:
                    raise
        return None

    return call


@async_.add("hand-written loop", "asyncio")
def _loop_async() -> Any:
    fn = afail_fail_succeed()

    async def call() -> Any:
        for attempt in range(3):
            try:
                return await fn()
            except Flaky:
                if attempt == 2:
                    raise
        return None

    return call


sync.add(RESILIENCY)(lambda: _resiliency(fail_fail_succeed()))
async_.add(RESILIENCY, "asyncio")(lambda: _resiliency(afail_fail_succeed()))
async_.add(RESILIENCY, "trio")(lambda: _resiliency(afail_fail_succeed()))
for _name, _wrap in PEERS:
    _note = STAMINA_NOTE if _name == "stamina" else None
    sync.add(_name, note=_note)(lambda w=_wrap: w(fail_fail_succeed()))
    async_.add(_name, "asyncio", note=_note)(lambda w=_wrap: w(afail_fail_succeed()))


@sync.add("hyx")
def _hyx_sync() -> Any:
    raise Unavailable("hyx is async-only: its decorators wrap coroutine functions")


async_.add("hyx", "asyncio")(lambda: _hyx(afail_fail_succeed()))
