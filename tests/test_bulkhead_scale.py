"""A bulkhead costs what its peak concurrency costs, never what ``max_concurrent`` is.

Regression tests for issue 8, defect 11: ``Bulkhead(max_concurrent=10**7)`` took 4 s and
600 MiB (a slot object each, made up front) and ``metrics()`` 0.2 s; ``sys.maxsize`` ran
out of memory.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc

import anyio
import pytest

from resiliency import Bulkhead, BulkheadMetrics

HUGE = [10**7, sys.maxsize]


@pytest.mark.parametrize("limit", HUGE, ids=["10**7", "sys.maxsize"])
def test_a_huge_limit_allocates_nothing_up_front(limit: int) -> None:
    tracemalloc.start()
    try:
        bh = Bulkhead(max_concurrent=limit, max_queue=limit)

        @bh
        def call() -> int:
            return 42

        assert call() == 42
        metrics = bh.metrics()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # bytes; 10**7 slots made up front took ~600 MiB
    assert metrics == BulkheadMetrics(
        active=0, queued=0, available=limit, completed=1, rejected=0, max_concurrent=limit, max_queue=limit
    )
    assert "active=0/" in repr(bh)


@pytest.mark.usefixtures("no_thread_leak")
def test_32_threads_make_at_most_32_slots_and_count_exactly() -> None:
    bh = Bulkhead(max_concurrent=sys.maxsize)
    inside = [0, 0]  # now, most seen
    lock = threading.Lock()

    @bh
    def call() -> None:
        with lock:
            inside[0] += 1
            inside[1] = max(inside)
        with lock:
            inside[0] -= 1

    def hammer() -> None:
        for _ in range(500):
            call()

    threads = [threading.Thread(target=hammer) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    metrics = bh.metrics()
    assert (metrics.completed, metrics.active, metrics.rejected) == (16_000, 0, 0)
    assert metrics.available == sys.maxsize
    assert len(bh._core.made) <= 32  # one per call at once, never max_concurrent


@pytest.mark.anyio
async def test_1000_tasks_make_at_most_1000_slots() -> None:
    bh = Bulkhead(max_concurrent=10**7)
    started = anyio.Event()

    @bh
    async def call() -> None:
        await started.wait()

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        assert bh.metrics().active == 1000
        assert bh.metrics().available == 10**7 - 1000
        started.set()
    metrics = bh.metrics()
    assert (metrics.completed, metrics.active) == (1000, 0)
    assert len(bh._core.made) == 1000
