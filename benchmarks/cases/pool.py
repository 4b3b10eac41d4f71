"""Endpoint pools: ``select()`` over 100 endpoints per strategy, and ``execute`` over a direct call.

The selection rows compare each strategy with what a hand-written balancer does in one
line: ``next(itertools.cycle(...))`` for round robin, ``random.choices`` for random and
weighted picks. Every endpoint is usable and nothing is in flight, the common state of a
pool between calls (least connections then stops at the first idle endpoint).
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import Any

import resiliency

from .._harness import RESILIENCY, Target, aanswer, answer, case, need

SIZE = 100
_ids = itertools.count()


def _is_endpoint(result: Any) -> bool:
    return str(getattr(result, "address", "")).startswith("10.")


def _endpoints() -> list[Any]:
    endpoint = need("Endpoint")
    return [
        endpoint(f"e{i}", f"10.0.{i // 250}.{i % 250 + 1}:80", weight=1 + i % 5, zone=("a", "b")[i % 2])
        for i in range(SIZE)
    ]


def _pool(strategy: str) -> Any:
    pool_type = need("EndpointPool")
    return pool_type(
        f"bench-{next(_ids)}",
        _endpoints(),
        strategy=strategy,
        zone="a",
        rng=random.Random(1),
        registry=resiliency.Registry(),
    )


GOALS = {
    "round_robin": 1000,
    "random": 1000,
    "weighted": 1000,
    "least_connections": 1000,
    "p2c_ewma": 1000,
    "consistent_hash": 2000,
    "health_based": None,
    "zone_aware": None,
}

SELECT = {}
for _strategy, _goal in GOALS.items():
    SELECT[_strategy] = case(
        f"pool_select_{_strategy}",
        f"pool select, {_strategy.replace('_', ' ')}, 100 endpoints",
        f'`pool.select()` on an `EndpointPool(strategy="{_strategy}")` of 100 usable endpoints'
        + (' with `key="user-1234"`.' if _strategy == "consistent_hash" else "."),
        target=None if _goal is None else Target(_goal),
        expect=_is_endpoint,
    )


def _selector(strategy: str) -> Any:
    pool = _pool(strategy)
    if strategy == "consistent_hash":
        return functools.partial(pool.select, "user-1234")
    return pool.select


for _strategy in GOALS:
    SELECT[_strategy].add(RESILIENCY)(functools.partial(_selector, _strategy))


busy = case(
    "pool_select_least_connections_busy",
    "pool select, least connections, 100 endpoints all busy",
    '`pool.select()` on an `EndpointPool(strategy="least_connections")` of 100 endpoints that each have '
    "calls in flight (one has fewer): the worst case, a full scan.",
    expect=_is_endpoint,
)


@busy.add(RESILIENCY)
def _busy() -> Any:
    pool = _pool("least_connections")
    members = list(pool._snap.by_id.values())
    for index, member in enumerate(members):
        member.inflight = 2 if index != 77 else 1
    return pool.select


@SELECT["round_robin"].add("hand-written itertools.cycle")
def _cycle() -> Any:
    return functools.partial(next, itertools.cycle(_endpoints()))


@SELECT["random"].add("hand-written random.choices")
def _choices() -> Any:
    endpoints, rng = _endpoints(), random.Random(1)
    return lambda: rng.choices(endpoints)[0]


@SELECT["random"].add("hand-written random.choice")
def _choice() -> Any:
    endpoints, rng = _endpoints(), random.Random(1)
    return functools.partial(rng.choice, endpoints)


@SELECT["weighted"].add("hand-written random.choices(weights=)")
def _weighted_choices() -> Any:
    endpoints, rng = _endpoints(), random.Random(1)
    weights = [e.weight for e in endpoints]
    return lambda: rng.choices(endpoints, weights)[0]


@SELECT["weighted"].add("hand-written random.choices(cum_weights=)")
def _cum_weights() -> Any:
    endpoints, rng = _endpoints(), random.Random(1)
    cumulative = list(itertools.accumulate(e.weight for e in endpoints))
    return lambda: rng.choices(endpoints, cum_weights=cumulative)[0]


execute_sync = case(
    "pool_execute_sync",
    "pool execute, first endpoint answers (sync)",
    "`pool.execute_sync(fn)` on a round-robin pool of 100 endpoints, `fn(endpoint)` answering at once: "
    "selection, the failover engine's sequential mode and the per-endpoint accounting over a direct call.",
)
execute_async = case(
    "pool_execute_async",
    "pool execute, first endpoint answers (async)",
    "`await pool.execute(fn)` on a round-robin pool of 100 endpoints, `fn(endpoint)` an `async def` answering at once.",
)

NO_PEER = "no peer library offers endpoint pools; the bare row is the reference"


def _on_endpoint(endpoint: Any) -> int:
    return answer()


async def _aon_endpoint(endpoint: Any) -> int:
    return await aanswer()


execute_sync.add(RESILIENCY, note=NO_PEER)(lambda: functools.partial(_pool("round_robin").execute_sync, _on_endpoint))
for _runner in ("asyncio", "trio"):
    execute_async.add(RESILIENCY, _runner, note=NO_PEER if _runner == "asyncio" else None)(
        lambda: functools.partial(_pool("round_robin").execute, _aon_endpoint)
    )
