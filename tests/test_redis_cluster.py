"""The shared strategies on a real 3-master Redis Cluster: one hash tag per object."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio.cluster
import redis.cluster
from servers.redis_servers import RedisCluster

from resiliency import (
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitState,
    RateLimiter,
    Registry,
    RetryBudget,
)
from resiliency.stores.redis import RedisStore


@pytest.fixture
def stores(redis_cluster: RedisCluster) -> Iterator[Any]:
    made: list[RedisStore] = []

    def make(prefix: str) -> RedisStore:
        client = redis.cluster.RedisCluster(host=redis_cluster.host, port=redis_cluster.port)
        store = RedisStore(client, prefix=prefix)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
        store.client.close()


def test_keys_of_one_object_share_a_slot_and_objects_spread_over_the_masters(stores: Any) -> None:
    store = stores("slots")
    slots = {redis.cluster.key_slot(store.key("cb", f"b{i}").encode()) for i in range(30)}
    assert len(slots) > 3
    key = store.key("bh", "db")
    assert key.startswith("slots:{bh:db}")
    assert redis.cluster.key_slot(key.encode()) == redis.cluster.key_slot(b"x{bh:db}y")


def test_a_breaker_trip_reaches_the_other_process(stores: Any) -> None:
    prefix = "trip"
    a = CircuitBreaker("pay", failure_threshold=2, reset_timeout=60, store=stores(prefix), registry=Registry())
    b = CircuitBreaker("pay", failure_threshold=2, reset_timeout=60, store=stores(prefix), registry=Registry())

    @a
    def call() -> None:
        raise ConnectionError

    for _ in range(2):
        with pytest.raises(ConnectionError):
            call()
    a.sync()
    b.sync()
    assert b.state is CircuitState.OPEN


def test_a_limit_is_exact_across_stores(stores: Any) -> None:
    fleet = [
        RateLimiter(f"api{i % 1}", rate=50, period=3600, store=stores("rl"), registry=Registry()) for i in range(3)
    ]
    got = []

    def take(limiter: RateLimiter) -> None:
        got.append(sum(limiter.try_acquire() for _ in range(100)))

    threads = [threading.Thread(target=take, args=(limiter,)) for limiter in fleet]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(got) == 50


def test_bulkhead_and_budget_work_on_the_cluster(stores: Any) -> None:
    store = stores("bh")
    bulkhead = Bulkhead("db", max_concurrent=1, store=store, registry=Registry())

    @bulkhead
    def nested() -> None:
        with pytest.raises(BulkheadFullError):
            Bulkhead("db", max_concurrent=1, store=stores("bh"), registry=Registry())(lambda: None)()

    nested()
    budget = RetryBudget("calls", ratio=0.5, min_per_second=0.0, window=60, store=store, registry=Registry())
    for _ in range(4):
        budget.deposit()
    assert [budget.try_withdraw() for _ in range(3)] == [True, True, False]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_the_asyncio_cluster_client(redis_cluster: RedisCluster, anyio_backend: str) -> None:
    client = redis.asyncio.cluster.RedisCluster(host=redis_cluster.host, port=redis_cluster.port)
    store = RedisStore(client, prefix="acl")
    try:
        limiter = RateLimiter("async", rate=10, period=3600, store=store, registry=Registry())
        admitted = []

        @limiter
        async def call() -> None:
            admitted.append(1)

        for _ in range(15):
            try:
                await call()
            except Exception:
                pass
        assert len(admitted) == 10
    finally:
        store.close()
        await client.aclose()
