"""Baselines: the bare function, called or awaited in the same timing loop as every entry."""

from __future__ import annotations

from .._harness import aanswer, answer, case

bare_sync = case(
    "bare_sync",
    "bare sync call",
    "`fn()` on a plain `def fn(): return 42`: the floor of every sync row (loop and call).",
    measure="time+alloc",
)


@bare_sync.add("bare")
def _bare_sync() -> object:
    return answer


bare_async = case(
    "bare_async",
    "bare async call",
    "`await fn()` on a plain `async def fn(): return 42`, inside one running event loop: the floor of every async row.",
)


@bare_async.add("bare", "asyncio")
def _bare_asyncio() -> object:
    return aanswer


@bare_async.add("bare", "trio")
def _bare_trio() -> object:
    return aanswer
