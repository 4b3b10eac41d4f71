"""``FakeClock`` across tasks and threads: each sleeper wakes at its own virtual deadline."""

from __future__ import annotations

import math
import random
import threading
import time

import anyio
import pytest

from resiliency import ResiliencyTimeoutError, retry, timeout
from resiliency._clock import SYSTEM_CLOCK, get_clock
from resiliency.testing import FakeClock, use_clock

pytestmark = pytest.mark.anyio


async def test_two_sleepers_wake_at_their_own_deadlines() -> None:
    clock = FakeClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.asleep(seconds)
        woke.append((name, clock.monotonic()))

    async with anyio.create_task_group() as group:
        group.start_soon(sleeper, "A", 10)
        group.start_soon(sleeper, "B", 1)
    assert woke == [("B", 1.0), ("A", 10.0)]
    assert clock.monotonic() == 10.0
    assert sorted(clock.sleeps) == [1, 10]


async def test_many_sleepers_wake_in_deadline_order_at_exact_times() -> None:
    clock = FakeClock(start=100.0)
    deadlines = random.Random(7).sample(range(1, 200), 40)
    woke: list[tuple[int, float]] = []

    async def sleeper(seconds: int) -> None:
        await clock.asleep(seconds)
        woke.append((seconds, clock.monotonic()))

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for seconds in deadlines:
            group.start_soon(sleeper, seconds)
    assert woke == [(s, 100.0 + s) for s in sorted(deadlines)]
    assert time.perf_counter() - started < 2.0  # virtual hours, a blink of real time


async def test_sleepers_on_the_same_deadline_wake_together() -> None:
    clock = FakeClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str) -> None:
        await clock.asleep(3)
        woke.append((name, clock.monotonic()))

    async with anyio.create_task_group() as group:
        for name in "abc":
            group.start_soon(sleeper, name)
            await anyio.lowlevel.checkpoint()  # let it register before the next starts
    assert sorted(woke) == [("a", 3.0), ("b", 3.0), ("c", 3.0)]  # trio runs a batch in any order


async def test_repeated_sleeps_interleave_in_virtual_time() -> None:
    clock = FakeClock()
    ticks: list[tuple[str, float]] = []

    async def ticker(name: str, period: float, count: int) -> None:
        for _ in range(count):
            await clock.asleep(period)
            ticks.append((name, clock.monotonic()))

    async with anyio.create_task_group() as group:
        group.start_soon(ticker, "fast", 2.0, 4)
        group.start_soon(ticker, "slow", 3.0, 2)
    assert [t for _, t in ticks] == sorted(t for _, t in ticks)  # time never goes back
    assert ("fast", 8.0) in ticks
    assert ("slow", 6.0) in ticks
    assert clock.monotonic() == 8.0


async def test_time_waits_for_a_long_chain_of_wakeups_before_jumping() -> None:
    # A token passes through 30 tasks before the last one sleeps 1 s; meanwhile
    # another task sleeps 2 s. Jumping to 2 before the chain has finished would be
    # wrong: autojump waits until every task is blocked.
    clock = FakeClock()
    woke: list[tuple[str, float]] = []
    events = [anyio.Event() for _ in range(31)]

    async def link(i: int) -> None:
        await events[i].wait()
        events[i + 1].set()

    async def last() -> None:
        await events[30].wait()
        await clock.asleep(1)
        woke.append(("chain", clock.monotonic()))

    async def other() -> None:
        events[0].set()
        await clock.asleep(2)
        woke.append(("other", clock.monotonic()))

    async with anyio.create_task_group() as group:
        for i in range(30):
            group.start_soon(link, i)
        group.start_soon(last)
        group.start_soon(other)
    assert woke == [("chain", 1.0), ("other", 2.0)]


async def test_a_task_woken_early_can_start_a_shorter_sleep_first() -> None:
    clock = FakeClock()
    woke: list[tuple[str, float]] = []

    async def child() -> None:
        await clock.asleep(1)
        woke.append(("child", clock.monotonic()))

    async def parent(group: anyio.abc.TaskGroup) -> None:
        await clock.asleep(1)
        group.start_soon(child)  # sleeps until 2, before "long" wakes at 5

    async def long() -> None:
        await clock.asleep(5)
        woke.append(("long", clock.monotonic()))

    async with anyio.create_task_group() as group:
        group.start_soon(parent, group)
        group.start_soon(long)
    assert woke == [("child", 2.0), ("long", 5.0)]


async def test_a_timeout_cancels_one_sleeper_and_the_others_go_on() -> None:
    clock = FakeClock()
    log: list[tuple[str, float]] = []

    @timeout(3, clock=clock)
    async def slow() -> None:
        await clock.asleep(10)

    async def guarded() -> None:
        with pytest.raises(ResiliencyTimeoutError):
            await slow()
        log.append(("timed out", clock.monotonic()))

    async def sleeper() -> None:
        await clock.asleep(5)
        log.append(("slept", clock.monotonic()))

    async with anyio.create_task_group() as group:
        group.start_soon(guarded)
        group.start_soon(sleeper)
    assert log == [("timed out", 3.0), ("slept", 5.0)]


async def test_a_cancelled_sleeper_leaves_and_time_goes_to_the_next() -> None:
    clock = FakeClock()
    log: list[tuple[str, float]] = []

    async with anyio.create_task_group() as group:

        async def doomed() -> None:
            with anyio.CancelScope() as scope:
                clock.call_at(1.0, scope.cancel)
                await clock.asleep(100)
            log.append(("cancelled", clock.monotonic()))

        async def sleeper() -> None:
            await clock.asleep(4)
            log.append(("slept", clock.monotonic()))

        group.start_soon(doomed)
        group.start_soon(sleeper)
    assert log == [("cancelled", 1.0), ("slept", 4.0)]
    assert clock.sleeping == ()


async def test_a_hang_waits_until_a_timer_set_later_cancels_it() -> None:
    clock = FakeClock()
    scope = anyio.CancelScope()

    async def hang() -> None:
        with scope:
            await clock.asleep(math.inf)

    async with anyio.create_task_group() as group:
        group.start_soon(hang)
        await clock.settle()
        assert clock.sleeping == (math.inf,)
        assert clock.monotonic() == 0.0  # nothing to jump to: no timer yet
        clock.call_at(4.0, scope.cancel)
    assert scope.cancelled_caught
    assert clock.monotonic() == 4.0


async def test_without_autojump_sleepers_wait_for_advance() -> None:
    clock = FakeClock(autojump=False)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.asleep(seconds)
        woke.append((name, clock.monotonic()))

    async with anyio.create_task_group() as group:
        group.start_soon(sleeper, "A", 10)
        group.start_soon(sleeper, "B", 1)
        await clock.settle()
        assert clock.sleeping == (1.0, 10.0)
        assert woke == []
        clock.advance(0.5)
        await clock.settle()
        assert woke == []
        clock.advance(4.5)
        await clock.settle()
        assert woke == [("B", 5.0)]
        clock.advance(5)
    assert woke == [("B", 5.0), ("A", 10.0)]


async def test_a_thread_sleeping_moves_time_and_wakes_a_task() -> None:
    clock = FakeClock(autojump=False)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.asleep(5)
        woke.append(clock.monotonic())

    async with anyio.create_task_group() as group:
        group.start_soon(sleeper)
        await clock.settle()
        await anyio.to_thread.run_sync(clock.sleep, 7.0)  # advances at once, from the thread
        assert clock.monotonic() == 7.0
    assert woke == [7.0]


async def test_concurrent_retries_share_virtual_time() -> None:
    clock = FakeClock()
    attempts: dict[str, list[float]] = {"a": [], "b": []}

    @retry(max_attempts=3, backoff="constant", base_delay=1.0, clock=clock)
    async def call(name: str) -> str:
        attempts[name].append(clock.monotonic())
        if len(attempts[name]) < 3:
            raise ConnectionError(name)
        return name

    results: list[str] = []

    async def run(name: str) -> None:
        results.append(await call(name))

    async with anyio.create_task_group() as group:
        group.start_soon(run, "a")
        group.start_soon(run, "b")
    assert sorted(results) == ["a", "b"]
    assert attempts == {"a": [0.0, 1.0, 2.0], "b": [0.0, 1.0, 2.0]}
    assert clock.monotonic() == 2.0  # the waits overlapped: 2 s, not 4


async def test_two_event_loops_in_threads_share_one_clock() -> None:
    clock = FakeClock()
    woke: list[float] = []

    def thread_main() -> None:
        async def main() -> None:
            await clock.asleep(3)
            woke.append(clock.monotonic())

        anyio.run(main)

    thread = threading.Thread(target=thread_main)
    thread.start()
    await anyio.to_thread.run_sync(thread.join, 5.0)
    assert woke == [3.0]


# -- process-wide ----------------------------------------------------------------------


def test_with_fake_clock_installs_it_process_wide_and_restores() -> None:
    assert get_clock() is SYSTEM_CLOCK
    with FakeClock() as clock:
        assert get_clock() is clock
        with FakeClock(start=5) as inner:
            assert get_clock() is inner
        assert get_clock() is clock
    assert get_clock() is SYSTEM_CLOCK


def test_use_clock_installs_any_clock_and_restores_on_error() -> None:
    clock = FakeClock()
    with pytest.raises(KeyError), use_clock(clock) as installed:
        assert installed is clock
        assert get_clock() is clock
        raise KeyError
    assert get_clock() is SYSTEM_CLOCK
    with pytest.raises(TypeError, match="clock must be a Clock"), use_clock(object()):  # type: ignore[arg-type]
        pass


def test_a_retry_without_clock_sleeps_on_the_installed_fake_clock() -> None:
    calls: list[float] = []
    with FakeClock() as clock:

        @retry(max_attempts=3, backoff="constant", base_delay=60, max_delay=60)
        def flaky() -> None:
            calls.append(clock.monotonic())
            raise ConnectionError

        with pytest.raises(ConnectionError):
            flaky()
    assert calls == [0.0, 60.0, 120.0]
    assert clock.sleeps == [60.0, 60.0]


@pytest.mark.parametrize(("kwargs", "error"), [({"start": "0"}, TypeError), ({"autojump": 1}, TypeError)])
def test_bad_arguments_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error, match="must be"):
        FakeClock(**kwargs)  # type: ignore[arg-type]
