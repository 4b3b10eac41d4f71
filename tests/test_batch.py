"""``map_concurrent`` / ``amap_concurrent``: limits, rate, batches, retries, progress, cancellation."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from resiliency import Bulkhead, RateLimiter, RetryPolicy, amap_concurrent, map_concurrent
from resiliency.testing import FakeClock


class Gauge:
    """Counts calls in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


# -- async --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_outcome_per_item_in_input_order_within_the_limit() -> None:
    gauge = Gauge()

    async def work(n: int) -> int:
        gauge.enter()
        for _ in range(n % 5):  # items finish out of order
            await anyio.sleep(0)
        gauge.leave()
        if n % 7 == 3:
            raise ValueError(n)
        return n * n

    outcomes = await amap_concurrent(work, range(200), limit=8)
    assert gauge.most == 8
    assert [o.value for o in outcomes if o.ok] == [n * n for n in range(200) if n % 7 != 3]
    failed = [o for o in outcomes if not o.ok]
    assert [o.error.args[0] for o in failed] == [n for n in range(200) if n % 7 == 3]  # type: ignore[union-attr]
    assert all(
        o.attempts == 1 and o.provider == "test_one_outcome_per_item_in_input_order_within_the_limit.<locals>.work"
        for o in outcomes
    )


@pytest.mark.anyio
async def test_retry_per_item_counts_attempts() -> None:
    seen: dict[int, int] = {}

    async def work(n: int) -> int:
        seen[n] = seen.get(n, 0) + 1
        if seen[n] <= n:
            raise ConnectionError(n)
        return n

    policy = RetryPolicy(max_attempts=3, base_delay=0.0)
    outcomes = await amap_concurrent(work, range(4), limit=2, retry=policy, clock=FakeClock())
    assert [(o.ok, o.attempts) for o in outcomes] == [(True, 1), (True, 2), (True, 3), (False, 3)]


@pytest.mark.anyio
async def test_rate_spaces_the_calls_out() -> None:
    clock = FakeClock()
    started: list[float] = []

    async def work(n: int) -> int:
        started.append(clock.monotonic())
        return n

    outcomes = await amap_concurrent(work, range(6), limit=6, rate=2.0, clock=clock)
    assert all(o.ok for o in outcomes)
    # A bucket of 2 starts full: two at once, then one every half second.
    assert sorted(started) == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])


@pytest.mark.anyio
async def test_a_shared_rate_limiter_is_used_as_given() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, max_wait=10.0, clock=clock)

    async def work(n: int) -> int:
        return n

    outcomes = await amap_concurrent(work, range(3), rate=limiter, clock=clock)
    assert all(o.ok for o in outcomes)
    assert limiter.metrics().allowed == 3
    assert clock.monotonic() == pytest.approx(2.0)


@pytest.mark.anyio
async def test_batches_finish_before_the_next_starts_with_a_pause() -> None:
    clock = FakeClock()
    log: list[tuple[str, int, float]] = []
    progress: list[tuple[int, int]] = []

    async def work(n: int) -> int:
        log.append(("start", n, clock.monotonic()))
        await anyio.sleep(0)
        log.append(("end", n, clock.monotonic()))
        return n

    outcomes = await amap_concurrent(
        work,
        range(7),
        limit=2,
        batch_size=3,
        batch_pause=5.0,
        clock=clock,
        on_progress=lambda d, t: progress.append((d, t)),
    )
    assert [o.value for o in outcomes] == list(range(7))
    assert progress == [(d, 7) for d in range(1, 8)]
    starts = {n: at for kind, n, at in log if kind == "start"}
    assert [starts[n] for n in range(7)] == [0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 10.0]
    last_end_of_first = max(i for i, entry in enumerate(log) if entry[0] == "end" and entry[1] < 3)
    first_start_of_second = min(i for i, entry in enumerate(log) if entry[0] == "start" and entry[1] >= 3)
    assert last_end_of_first < first_start_of_second


@pytest.mark.anyio
async def test_async_progress_callback_is_awaited() -> None:
    seen: list[int] = []

    async def report(done: int, total: int) -> None:
        await anyio.sleep(0)
        seen.append(done)

    async def work(n: int) -> int:
        return n

    await amap_concurrent(work, range(5), limit=2, on_progress=report)
    assert sorted(seen) == [1, 2, 3, 4, 5]


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_items_in_flight() -> None:
    started = 0
    cancelled = 0
    all_started = anyio.Event()

    async def work(n: int) -> int:
        nonlocal started, cancelled
        started += 1
        if started == 4:
            all_started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled += 1
            raise
        return n

    async with anyio.create_task_group() as group:
        scope = anyio.CancelScope()

        async def caller() -> None:
            with scope:
                await amap_concurrent(work, range(100), limit=4)

        group.start_soon(caller)
        await all_started.wait()
        scope.cancel()
    assert (started, cancelled) == (4, 4)


@pytest.mark.anyio
async def test_a_shared_bulkhead_bounds_two_maps_together() -> None:
    bulkhead = Bulkhead(max_concurrent=3, max_queue=100)
    gauge = Gauge()

    async def work(n: int) -> int:
        gauge.enter()
        await anyio.sleep(0)
        await anyio.sleep(0)
        gauge.leave()
        return n

    async def one_map() -> None:
        outcomes = await amap_concurrent(work, range(30), limit=bulkhead)
        assert all(o.ok for o in outcomes)

    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(one_map)
    assert gauge.most == 3


@pytest.mark.anyio
async def test_ten_thousand_items_under_load() -> None:
    async def work(n: int) -> int:
        await anyio.sleep(0)
        return n

    outcomes = await amap_concurrent(work, range(10_000), limit=100)
    assert [o.value for o in outcomes] == list(range(10_000))


@pytest.mark.anyio
async def test_empty_input_gives_an_empty_list() -> None:
    async def work(n: int) -> int:
        return n

    assert await amap_concurrent(work, [], limit=3) == []


# -- sync ---------------------------------------------------------------------------------------


def test_sync_map_on_threads_keeps_order_and_limit(no_thread_leak: None) -> None:
    gauge = Gauge()

    def work(n: int) -> float:
        gauge.enter()
        time.sleep(0.001)
        gauge.leave()
        return 1 / (n % 4)

    outcomes = map_concurrent(work, range(40), limit=5)
    assert 1 < gauge.most <= 5
    assert [o.ok for o in outcomes] == [n % 4 != 0 for n in range(40)]
    assert all(isinstance(o.error, ZeroDivisionError) for o in outcomes if not o.ok)
    assert [o.value for o in outcomes if o.ok] == [1 / (n % 4) for n in range(40) if n % 4]


def test_sync_map_with_rate_retry_batches_and_progress(no_thread_leak: None) -> None:
    clock = FakeClock()
    seen: dict[int, int] = {}
    lock = threading.Lock()
    progress: list[int] = []

    def work(n: int) -> int:
        with lock:
            seen[n] = seen.get(n, 0) + 1
            first = seen[n] == 1
        if first and n % 2:
            raise TimeoutError(n)
        return n

    outcomes = map_concurrent(
        work,
        range(6),
        limit=3,
        rate=100.0,
        batch_size=2,
        batch_pause=1.0,
        retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        on_progress=lambda done, total: progress.append(done),
        clock=clock,
    )
    assert [(o.value, o.attempts) for o in outcomes] == [(n, 1 + n % 2) for n in range(6)]
    assert sorted(progress) == [1, 2, 3, 4, 5, 6]
    assert clock.sleeps.count(1.0) == 2  # a pause between each of the three batches


def test_sync_progress_counts_each_item_once_across_threads(no_thread_leak: None) -> None:
    seen: list[int] = []
    outcomes = map_concurrent(lambda n: n, range(3000), limit=8, on_progress=lambda done, total: seen.append(done))
    assert len(outcomes) == 3000
    assert sorted(seen) == list(range(1, 3001))


def test_progress_callback_that_raises_does_not_break_the_map(caplog: pytest.LogCaptureFixture) -> None:
    def boom(done: int, total: int) -> None:
        raise RuntimeError("progress bar broke")

    outcomes = map_concurrent(lambda n: n, range(3), limit=2, on_progress=boom)
    assert [o.value for o in outcomes] == [0, 1, 2]
    assert "on_progress" in caplog.text


def test_sync_map_refuses_an_async_function() -> None:
    async def work(n: int) -> int:
        return n

    with pytest.raises(TypeError, match="amap_concurrent"):
        map_concurrent(work, range(3))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": 2.5}, TypeError, "limit"),
        ({"rate": -1.0}, ValueError, "rate"),
        ({"rate": "fast"}, TypeError, "rate"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_pause": -1.0}, ValueError, "batch_pause"),
        ({"retry": 3}, TypeError, "retry"),
        ({"on_progress": 3}, TypeError, "on_progress"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict[str, object], error: type[Exception], name: str) -> None:
    with pytest.raises(error, match=name):
        map_concurrent(lambda n: n, range(3), **kwargs)  # type: ignore[arg-type]
