"""Failover across three providers: sequential, parallel-any and parallel-all modes.

Every provider answers at once, so the rows measure the group's own machinery (provider
ordering, per-provider policy, task or thread fan-out, outcomes) over calling the
provider function directly (the bare row; see the "overhead" column).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import resiliency

from .._harness import ANSWER, RESILIENCY, Target, aanswer, answer, case, need

PROVIDERS = 3
_ids = itertools.count()


def _all_ok(result: Any) -> bool:
    """An execute_all answer: one outcome (or value) per provider, each 42."""
    return len(result) == PROVIDERS and all(getattr(o, "value", o) == ANSWER for o in result)


seq_sync = case(
    "failover_seq_sync",
    "failover, sequential, first provider succeeds (sync)",
    "`group.execute_sync(op)` over three sync providers made with `provider_from_callable`; "
    "the first one answers. Target on the overhead over calling the provider directly.",
    target=Target(3000, "overhead"),
)
seq_async = case(
    "failover_seq_async",
    "failover, sequential, first provider succeeds (async)",
    "`await group.execute(op)` over three async providers; the first one answers.",
    target=Target(3000, "overhead"),
)
any_async = case(
    "failover_any_async",
    "failover, parallel-any, three providers (async)",
    "`await group.execute_any(op)`: all three start, the first success wins, the others are "
    "cancelled. The hand-written rows do the same with bare tasks.",
    target=Target(40_000),
)
all_async = case(
    "failover_all_async",
    "failover, parallel-all, three providers (async)",
    "`await group.execute_all(op)`: all three run, every outcome is returned.",
    target=Target(40_000),
    expect=_all_ok,
)
any_sync = case(
    "failover_any_sync",
    "failover, parallel-any, three providers (sync, thread pool)",
    "`group.execute_any_sync(op)` over three sync providers, run on a thread pool.",
)
all_sync = case(
    "failover_all_sync",
    "failover, parallel-all, three providers (sync, thread pool)",
    "`group.execute_all_sync(op)` over three sync providers, run on a thread pool.",
    expect=_all_ok,
)

NO_PEER = "no peer library offers multi-provider failover; the hand-written rows are the reference"


def _group(fn: Any) -> Any:
    group_type = need("FailoverGroup")
    adapt = need("provider_from_callable")
    group = group_type(f"bench-{next(_ids)}", registry=resiliency.Registry())
    group.register(*(adapt(f"p{i}", fn, op="default") for i in range(PROVIDERS)))
    return group


seq_sync.add(RESILIENCY, note=NO_PEER)(lambda: functools.partial(_group(answer).execute_sync, "default"))
any_sync.add(RESILIENCY, note=NO_PEER)(lambda: functools.partial(_group(answer).execute_any_sync, "default"))
all_sync.add(RESILIENCY, note=NO_PEER)(lambda: functools.partial(_group(answer).execute_all_sync, "default"))
for _runner in ("asyncio", "trio"):
    _note = NO_PEER if _runner == "asyncio" else None
    seq_async.add(RESILIENCY, _runner, note=_note)(lambda: functools.partial(_group(aanswer).execute, "default"))
    any_async.add(RESILIENCY, _runner, note=_note)(lambda: functools.partial(_group(aanswer).execute_any, "default"))
    all_async.add(RESILIENCY, _runner, note=_note)(lambda: functools.partial(_group(aanswer).execute_all, "default"))


# -- hand-written references ---------------------------------------------------------


@any_async.add("hand-written asyncio.wait", "asyncio")
def _asyncio_any() -> Any:
    async def call() -> Any:
        tasks = [asyncio.create_task(aanswer()) for _ in range(PROVIDERS)]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return next(iter(done)).result()

    return call


def _anyio_any() -> Any:
    import anyio

    async def call() -> Any:
        result: list[Any] = []
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                value = await aanswer()
                if not result:
                    result.append(value)
                    tg.cancel_scope.cancel()

            for _ in range(PROVIDERS):
                tg.start_soon(run)
        return result[0]

    return call


any_async.add("hand-written anyio task group", "asyncio")(_anyio_any)
any_async.add("hand-written anyio task group", "trio")(_anyio_any)


@all_async.add("hand-written asyncio.gather", "asyncio")
def _asyncio_all() -> Any:
    async def call() -> Any:
        return await asyncio.gather(*(aanswer() for _ in range(PROVIDERS)))

    return call


def _anyio_all() -> Any:
    import anyio

    async def call() -> Any:
        results: list[Any] = [None] * PROVIDERS

        async def run(i: int) -> None:
            results[i] = await aanswer()

        async with anyio.create_task_group() as tg:
            for i in range(PROVIDERS):
                tg.start_soon(run, i)
        return results

    return call


all_async.add("hand-written anyio task group", "asyncio")(_anyio_all)
all_async.add("hand-written anyio task group", "trio")(_anyio_all)

_POOL: list[ThreadPoolExecutor] = []


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=PROVIDERS, thread_name_prefix="bench"))
    return _POOL[0]


@any_sync.add("hand-written ThreadPoolExecutor")
def _threads_any() -> Any:
    pool = _pool()

    def call() -> Any:
        futures = [pool.submit(answer) for _ in range(PROVIDERS)]
        done, pending = wait(futures, return_when=FIRST_COMPLETED)
        for future in pending:
            future.cancel()
        return next(iter(done)).result()

    return call


@all_sync.add("hand-written ThreadPoolExecutor")
def _threads_all() -> Any:
    pool = _pool()

    def call() -> Any:
        return [f.result() for f in [pool.submit(answer) for _ in range(PROVIDERS)]]

    return call
