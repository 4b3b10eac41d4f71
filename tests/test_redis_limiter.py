"""A rate limiter shared through a real redis-server: GCRA, exact across processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any

import anyio
import fleet_workers
import pytest
import redis
import redis.asyncio

from resiliency import RateLimitedError, RateLimiter, Registry, rate_limit
from resiliency.stores.redis import RedisStore
from resiliency.testing import FakeClock


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    with RedisStore(redis.Redis.from_url(redis_url)) as made:
        yield made
    made.client.close()


def test_processes_sharing_a_limit_admit_exactly_the_limit(redis_url: str) -> None:
    """4 processes x 2,000 acquires against a limit of 300 admit exactly 300."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=fleet_workers.limiter_worker, args=(redis_url, 300, 2000, start, out)) for _ in range(4)
    ]
    for p in workers:
        p.start()
    start.set()
    try:
        got = [out.get(timeout=120) for _ in workers]
    finally:
        for p in workers:
            p.join(60)
    assert sum(got) == 300
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]


def test_two_stores_share_one_bucket(store: RedisStore, redis_url: str) -> None:
    other = RedisStore(redis.Redis.from_url(redis_url))
    try:
        a = RateLimiter("shared", rate=5, period=3600, store=store, registry=Registry())
        b = RateLimiter("shared", rate=5, period=3600, store=other, registry=Registry())
        assert [a.try_acquire(), b.try_acquire(), a.try_acquire(), b.try_acquire(), a.try_acquire()] == [True] * 5
        assert not a.try_acquire()
        assert not b.try_acquire()
        assert a.metrics().allowed == 3
        assert a.metrics().rejected == 1
    finally:
        other.close()
        other.client.close()


def test_a_refusal_carries_the_seconds_until_a_token(store: RedisStore) -> None:
    limiter = RateLimiter("refuse", rate=1, period=100, store=store, registry=Registry())

    @limiter
    def call() -> int:
        return 1

    assert call() == 1
    with pytest.raises(RateLimitedError) as caught:
        call()
    assert 99 < caught.value.retry_after <= 100


def test_max_wait_reserves_a_token_and_sleeps_for_it(store: RedisStore) -> None:
    clock = FakeClock()
    limiter = RateLimiter("wait", rate=1, period=5, max_wait=10, clock=clock, store=store, registry=Registry())

    @limiter
    def call() -> int:
        return 1

    assert call() == 1
    assert call() == 1  # waited ~5 s (virtual) for its reserved token
    assert 4.9 < clock.monotonic() <= 5.0
    limiter_short = RateLimiter("wait2", rate=1, period=5, max_wait=1, clock=clock, store=store, registry=Registry())
    assert limiter_short.try_acquire()
    with pytest.raises(RateLimitedError):
        limiter_short(lambda: 1)()


def test_the_decorator_takes_store(store: RedisStore) -> None:
    registry = Registry()

    @rate_limit("deco", rate=2, period=3600, store=store, registry=registry)
    def call() -> int:
        return 1

    assert call() + call() == 2
    with pytest.raises(RateLimitedError):
        call()


@pytest.mark.anyio
async def test_async_acquires_are_exact_and_coalesced(redis_url: str, anyio_backend: str) -> None:
    client: Any = (
        redis.asyncio.Redis.from_url(redis_url) if anyio_backend == "asyncio" else redis.Redis.from_url(redis_url)
    )
    store = RedisStore(client)
    admitted: list[int] = []
    limiter = RateLimiter("async", rate=250, period=3600, store=store, registry=Registry())

    @limiter
    async def call() -> None:
        admitted.append(1)

    async def task() -> None:
        for _ in range(10):
            try:
                await call()
            except RateLimitedError:
                pass

    with redis.Redis.from_url(redis_url) as probe:
        probe.config_resetstat()
        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(task)
        stats = probe.info("commandstats")
    assert len(admitted) == 250
    assert limiter.metrics().allowed == 250
    assert limiter.metrics().rejected == 750
    script_calls = sum(v["calls"] for k, v in stats.items() if k.startswith("cmdstat_eval"))
    assert script_calls < 1000 / 2  # 1,000 acquires shared far fewer round trips
    store.close()
    if anyio_backend == "asyncio":
        await client.aclose()
    else:
        client.close()


@pytest.mark.anyio
async def test_a_cancelled_waiter_gives_its_token_back(store: RedisStore, anyio_backend: str) -> None:
    limiter = RateLimiter("cancel", rate=1, period=3600, max_wait=7200, store=store, registry=Registry())
    assert limiter.try_acquire()

    @limiter
    async def call() -> None:
        return None

    with anyio.move_on_after(0.05):
        await call()  # reserves the token due in an hour, then is cancelled while sleeping
    assert not limiter.try_acquire()  # refused; the refund goes with this call
    client = store.client
    seconds, micros = client.time()
    tat = float(client.get(store.key("rl", "cancel")))
    assert (tat - (seconds * 1e6 + micros)) / 1e6 == pytest.approx(3600, abs=5)  # not 7,200


@pytest.mark.anyio
async def test_cancelled_coalesced_acquires_give_their_tokens_back(store: RedisStore, anyio_backend: str) -> None:
    """Tasks cancelled at any point of a coalesced acquire never cost the fleet a token."""
    import random

    rng = random.Random(12)
    limiter = RateLimiter("storm", rate=60, period=3600, store=store, registry=Registry())
    ran = 0

    @limiter
    async def call() -> None:
        nonlocal ran
        ran += 1

    async def one(delay: float) -> None:
        with anyio.move_on_after(delay):
            try:
                await call()
            except RateLimitedError:
                pass

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(one, rng.choice([0.0, 0.0005, 0.001, 0.002, 1.0]))
    left = sum(limiter.try_acquire() for _ in range(100))  # refunds go with the first
    assert ran + left == 60


def test_one_limiter_serves_one_event_loop_after_another(store: RedisStore) -> None:
    limiter = RateLimiter("loops", rate=6, period=3600, store=store, registry=Registry())

    @limiter
    async def call() -> None:
        return None

    async def two() -> None:
        for _ in range(2):
            await call()

    for backend in ("asyncio", "trio", "asyncio"):
        anyio.run(two, backend=backend)
    with pytest.raises(RateLimitedError):
        anyio.run(two, backend="trio")
