"""A bulkhead shared through a real redis-server: slots are leases that outlive no holder."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import fleet_workers
import pytest
import redis

from resiliency import Bulkhead, BulkheadFullError, Registry, bulkhead
from resiliency.stores.redis import RedisStore


@pytest.fixture
def stores(redis_url: str) -> Iterator[Any]:
    made: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        store = RedisStore(redis.Redis.from_url(redis_url), **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
        store.client.close()


def test_max_concurrent_holds_across_processes(stores: Any) -> None:
    fleet = [Bulkhead("db", max_concurrent=3, store=stores(), registry=Registry()) for _ in range(3)]
    release = threading.Event()
    started = threading.Semaphore(0)
    rejected: list[int] = []

    def run(i: int) -> None:
        @fleet[i % 3]
        def call() -> None:
            started.release()
            release.wait(30)

        try:
            call()
        except BulkheadFullError:
            rejected.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        assert started.acquire(timeout=30)
    # Three calls hold the fleet's three slots: one more, in any process, is rejected.
    for member in fleet:
        with pytest.raises(BulkheadFullError) as caught:
            member(lambda: None)()
        assert caught.value.reason == "full"
    release.set()
    for t in threads:
        t.join(30)
    assert rejected == []
    assert fleet[0](lambda: 7)() == 7  # the slots came back


def test_a_queue_waits_for_a_fleet_slot(stores: Any) -> None:
    a = Bulkhead("queued", max_concurrent=1, store=stores(sync_interval=0.01), registry=Registry())
    b = Bulkhead(
        "queued", max_concurrent=1, max_queue=1, queue_timeout=30, store=stores(sync_interval=0.01), registry=Registry()
    )
    holding, release = threading.Event(), threading.Event()

    @a
    def hold() -> None:
        holding.set()
        release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    assert holding.wait(30)
    threading.Timer(0.05, release.set).start()
    assert b(lambda: "ran")() == "ran"  # waited for a's slot to come back
    t.join(30)


@pytest.mark.anyio
async def test_async_callers_share_the_fleet_slots(stores: Any) -> None:
    a = Bulkhead("async-db", max_concurrent=2, store=stores(), registry=Registry())
    b = Bulkhead("async-db", max_concurrent=2, store=stores(), registry=Registry())
    running = 0
    peak = 0
    rejected = 0

    async def body() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.01)
        running -= 1

    calls = [a(body), b(body)]

    async def one(i: int) -> None:
        nonlocal rejected
        try:
            await calls[i % 2]()
        except BulkheadFullError:
            rejected += 1

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(one, i)
    assert peak <= 2
    assert rejected > 0
    assert await a(body)() is None  # every slot came back


@pytest.mark.anyio
async def test_a_cancelled_call_gives_its_fleet_slot_back(stores: Any) -> None:
    shared = Bulkhead("cancelled", max_concurrent=1, store=stores(), registry=Registry())

    @shared
    async def forever() -> None:
        await anyio.sleep_forever()

    with anyio.move_on_after(0.05):
        await forever()
    assert await shared(anyio.sleep)(0) is None


def test_slots_of_a_killed_process_return_after_the_lease(stores: Any, redis_url: str) -> None:
    """A holder killed with SIGKILL stops renewing; its slots expire after ``lease``."""
    ctx = multiprocessing.get_context("spawn")
    holding = ctx.Event()
    holder = ctx.Process(target=fleet_workers.bulkhead_holder, args=(redis_url, 4, 1.0, holding))
    holder.start()
    try:
        assert holding.wait(60)
        here = Bulkhead("fleet-bulkhead", max_concurrent=4, store=stores(lease=1.0), registry=Registry())
        with pytest.raises(BulkheadFullError):
            here(lambda: None)()
        holder.kill()
        holder.join(30)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert here(lambda: "mine")() == "mine"
                break
            except BulkheadFullError:
                assert time.monotonic() < deadline, "the dead holder's slots never came back"
                time.sleep(0.05)
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join()


def test_a_running_call_renews_its_lease(stores: Any) -> None:
    store = stores(lease=1.0, sync_interval=3600)  # renewals only when the test says
    shared = Bulkhead("renewed", max_concurrent=1, store=store, registry=Registry())
    holding, release = threading.Event(), threading.Event()

    @shared
    def hold() -> None:
        holding.set()
        release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(30)
        time.sleep(0.7)
        shared.sync()  # what the store's thread does every lease / 3
        time.sleep(0.5)  # past the first lease, within the renewed one
        with pytest.raises(BulkheadFullError):
            shared(lambda: None)()
    finally:
        release.set()
        t.join(30)


def test_the_decorator_takes_store(stores: Any) -> None:
    registry = Registry()
    store = stores()

    @bulkhead("deco", max_concurrent=1, store=store, registry=registry)
    def call() -> int:
        return 1

    assert call() == 1
    assert type(registry.bulkhead("deco")).__name__ == "SharedBulkhead"
