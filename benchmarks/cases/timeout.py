"""Async timeout around a call that returns at once: the cost of arming and disarming it."""

from __future__ import annotations

import asyncio
from typing import Any

from .._harness import RESILIENCY, Target, aanswer, case

timeout_async = case(
    "timeout_async",
    "timeout, async, call returns at once",
    "A 10 s timeout around `async def fn(): return 42`. Measures arming and disarming the "
    "deadline (a timer or cancel scope) per call; the deadline never fires. `anyio.fail_after`, "
    "`asyncio.timeout` and `trio.fail_after` are the hand-written equivalents.",
    target=Target(5000),
)


@timeout_async.add(RESILIENCY, "asyncio")
def _resiliency_asyncio() -> Any:
    from resiliency import timeout

    return timeout(10)(aanswer)


@timeout_async.add(RESILIENCY, "trio")
def _resiliency_trio() -> Any:
    from resiliency import timeout

    return timeout(10)(aanswer)


def _anyio_fail_after() -> Any:
    import anyio

    async def call() -> Any:
        with anyio.fail_after(10):
            return await aanswer()

    return call


timeout_async.add("anyio.fail_after", "asyncio")(_anyio_fail_after)
timeout_async.add("anyio.fail_after", "trio")(_anyio_fail_after)


@timeout_async.add("asyncio.timeout", "asyncio")
def _asyncio_timeout() -> Any:
    async def call() -> Any:
        async with asyncio.timeout(10):
            return await aanswer()

    return call


@timeout_async.add("trio.fail_after", "trio")
def _trio_fail_after() -> Any:
    import trio

    async def call() -> Any:
        with trio.fail_after(10):
            return await aanswer()

    return call


@timeout_async.add("nopanic", "asyncio")
def _nopanic() -> Any:
    import nopanic

    return nopanic.timeout(10)(aanswer)


@timeout_async.add("pyresilience", "asyncio")
def _pyresilience() -> Any:
    from pyresilience import TimeoutConfig, resilient

    return resilient(timeout=TimeoutConfig(seconds=10))(aanswer)


@timeout_async.add("hyx", "asyncio")
def _hyx() -> Any:
    from hyx.timeout import timeout

    return timeout(10)(aanswer)
