"""Retry, success path: a function that succeeds at once under a 3-attempt retry."""

from __future__ import annotations

from typing import Any

from .._harness import RESILIENCY, Target, Unavailable, aanswer, answer, case
from ._peers import quiet_stamina

sync = case(
    "retry_success_sync",
    "retry, success path (sync)",
    "A 3-attempt retry around `def fn(): return 42`; every call succeeds on the first attempt. "
    "Measures what a retry decorator costs when nothing goes wrong, the common case.",
    target=Target(200),
)
async_ = case(
    "retry_success_async",
    "retry, success path (async)",
    "The same as `retry_success_sync` around `async def fn(): return 42`, awaited in one event loop.",
    target=Target(350),
)


def _resiliency(fn: Any) -> Any:
    from resiliency import retry

    return retry(max_attempts=3)(fn)


def _tenacity(fn: Any) -> Any:
    import tenacity

    return tenacity.retry(stop=tenacity.stop_after_attempt(3))(fn)


def _stamina(fn: Any) -> Any:
    import stamina

    quiet_stamina()
    return stamina.retry(on=Exception, attempts=3)(fn)


def _backoff(fn: Any) -> Any:
    import backoff

    return backoff.on_exception(backoff.expo, Exception, max_tries=3)(fn)


def _nopanic(fn: Any) -> Any:
    import nopanic

    return nopanic.retry(attempts=3, on=Exception)(fn)


def _pyresilience(fn: Any) -> Any:
    from pyresilience import RetryConfig, resilient

    return resilient(retry=RetryConfig(max_attempts=3))(fn)


def _hyx(fn: Any) -> Any:
    from hyx.retry import retry

    return retry(on=Exception, attempts=3)(fn)


PEERS = (
    ("tenacity", _tenacity),
    ("stamina", _stamina),
    ("backoff", _backoff),
    ("nopanic", _nopanic),
    ("pyresilience", _pyresilience),
)

sync.add(RESILIENCY)(lambda: _resiliency(answer))
async_.add(RESILIENCY, "asyncio")(lambda: _resiliency(aanswer))
async_.add(RESILIENCY, "trio")(lambda: _resiliency(aanswer))
for _name, _wrap in PEERS:
    sync.add(_name)(lambda w=_wrap: w(answer))
    async_.add(_name, "asyncio")(lambda w=_wrap: w(aanswer))


@sync.add("hyx")
def _hyx_sync() -> Any:
    raise Unavailable("hyx is async-only: its decorators wrap coroutine functions")


async_.add("hyx", "asyncio")(lambda: _hyx(aanswer))
