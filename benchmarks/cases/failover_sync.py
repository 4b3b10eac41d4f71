"""Sync parallel failover over 3 and 10 providers, against a hand-written thread-pool race.

``execute_any_sync`` / ``execute_all_sync`` run each provider on a reused pool thread
(issue 8: they used to start one thread per provider per call). The reference is what a
user would write by hand: a ``ThreadPoolExecutor`` kept for the process, one ``submit``
per provider, ``wait(FIRST_COMPLETED)`` (any) or every result (all). Goal: within 1.5x
of it.
"""

from __future__ import annotations

import functools
import itertools
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import resiliency

from .._harness import ANSWER, RESILIENCY, answer, case, need

_ids = itertools.count()
_POOLS: dict[int, ThreadPoolExecutor] = {}
NO_PEER = "no peer library offers multi-provider failover; the hand-written row is the reference"


def _pool(size: int) -> ThreadPoolExecutor:
    if size not in _POOLS:
        _POOLS[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"bench-{size}")
    return _POOLS[size]


def _group(size: int) -> Any:
    group_type = need("FailoverGroup")
    adapt = need("provider_from_callable")
    group = group_type(f"bench-sync-{next(_ids)}", registry=resiliency.Registry())
    group.register(*(adapt(f"p{i}", answer, op="default") for i in range(size)))
    return group


def _all_ok(size: int) -> Any:
    def check(result: Any) -> bool:
        return len(result) == size and all(getattr(o, "value", o) == ANSWER for o in result)

    return check


for _size in (3, 10):
    _any = case(
        f"failover_any_sync_{_size}",
        f"failover, parallel-any, {_size} sync providers (pool)",
        f"`group.execute_any_sync(op)` over {_size} sync providers that answer at once, against "
        "a hand-written ThreadPoolExecutor race (submit each, wait FIRST_COMPLETED). Goal: <= 1.5x.",
    )
    _all = case(
        f"failover_all_sync_{_size}",
        f"failover, parallel-all, {_size} sync providers (pool)",
        f"`group.execute_all_sync(op)` over {_size} sync providers, against a hand-written "
        "ThreadPoolExecutor (submit each, collect every result). Goal: <= 1.5x.",
        expect=_all_ok(_size),
    )
    _any.add(RESILIENCY, note=NO_PEER)(
        functools.partial(lambda size: functools.partial(_group(size).execute_any_sync, "default"), _size)
    )
    _all.add(RESILIENCY, note=NO_PEER)(
        functools.partial(lambda size: functools.partial(_group(size).execute_all_sync, "default"), _size)
    )

    def _hand_any(size: int) -> Any:
        pool = _pool(size)

        def call() -> Any:
            futures = [pool.submit(answer) for _ in range(size)]
            done, pending = wait(futures, return_when=FIRST_COMPLETED)
            for future in pending:
                future.cancel()
            return next(iter(done)).result()

        return call

    def _hand_all(size: int) -> Any:
        pool = _pool(size)

        def call() -> Any:
            return [f.result() for f in [pool.submit(answer) for _ in range(size)]]

        return call

    _any.add("hand-written ThreadPoolExecutor")(functools.partial(_hand_any, _size))
    _all.add("hand-written ThreadPoolExecutor")(functools.partial(_hand_all, _size))
