"""Bulkhead, uncontended: take a slot, run the call, give the slot back."""

from __future__ import annotations

from typing import Any

from .._harness import RESILIENCY, Target, aanswer, answer, case, need

sync = case(
    "bulkhead_sync",
    "bulkhead, uncontended (sync)",
    "A bulkhead of 10 concurrent calls around `def fn(): return 42`, one caller: acquire a "
    "slot, call, release. Measures the admission bookkeeping (a lock or semaphore).",
    target=Target(500),
)
async_ = case(
    "bulkhead_async",
    "bulkhead, uncontended (async)",
    "The same as `bulkhead_sync` around an async function.",
)

NO_BULKHEAD = "has no bulkhead"


def _resiliency(fn: Any) -> Any:
    return need("bulkhead")(max_concurrent=10)(fn)


def _nopanic(fn: Any) -> Any:
    import nopanic

    return nopanic.bulkhead(10)(fn)


def _pyresilience(fn: Any) -> Any:
    from pyresilience import BulkheadConfig, resilient

    return resilient(bulkhead=BulkheadConfig(max_concurrent=10))(fn)


def _hyx(fn: Any) -> Any:
    from hyx.bulkhead import bulkhead

    return bulkhead(max_concurrency=10, max_capacity=10)(fn)


sync.add(RESILIENCY)(lambda: _resiliency(answer))
async_.add(RESILIENCY, "asyncio")(lambda: _resiliency(aanswer))
async_.add(RESILIENCY, "trio")(lambda: _resiliency(aanswer))
sync.add("nopanic")(lambda: _nopanic(answer))
async_.add("nopanic", "asyncio")(lambda: _nopanic(aanswer))
sync.add("pyresilience")(lambda: _pyresilience(answer))
async_.add("pyresilience", "asyncio")(lambda: _pyresilience(aanswer))
sync.missing("hyx", "hyx is async-only: its decorators wrap coroutine functions")
async_.add("hyx", "asyncio")(lambda: _hyx(aanswer))
for _peer in ("pybreaker", "circuitbreaker", "purgatory", "aiobreaker"):
    sync.missing(_peer, f"{_peer} {NO_BULKHEAD}")
    async_.missing(_peer, f"{_peer} {NO_BULKHEAD}", "asyncio")
