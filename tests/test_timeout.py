"""``@timeout``: async cancellation on both backends, sync thread and cooperative modes, deadlines."""

from __future__ import annotations

import asyncio
import math
import threading
import traceback
from datetime import timedelta
from typing import Any

import anyio
import pytest

import resiliency
from resiliency import ResiliencyTimeoutError, TimeoutPolicy, remaining, timeout
from resiliency._events import TimeoutOccurred
from resiliency.testing import FakeClock, describe

# Real timeouts only where a real loop or thread must be interrupted, and only a few ms.
REAL = 0.01


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- async ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_timeout_really_cancels_the_call() -> None:
    log: list[str] = []

    @timeout(REAL)
    async def slow() -> None:
        try:
            await anyio.sleep(5)
            log.append("after await")
        finally:
            log.append("finally")

    with anyio.fail_after(2):  # a safety net: the test itself never hangs
        with pytest.raises(ResiliencyTimeoutError) as excinfo:
            await slow()
    error = excinfo.value
    assert isinstance(error, TimeoutError)
    assert error.code == "TIMEOUT"
    assert error.timeout == REAL
    assert REAL <= error.elapsed < 1.0
    assert log == ["finally"]


@pytest.mark.anyio
async def test_async_timeout_in_virtual_time(clock: FakeClock) -> None:
    log: list[str] = []

    @timeout(1.0, clock=clock)
    async def slow() -> None:
        try:
            await clock.asleep(5)
            log.append("after await")
        finally:
            log.append("finally")

    with pytest.raises(ResiliencyTimeoutError) as excinfo:
        await slow()
    assert (excinfo.value.timeout, excinfo.value.elapsed) == (1.0, 1.0)
    assert clock.monotonic() == 1.0
    assert log == ["finally"]


@pytest.mark.anyio
async def test_async_call_within_the_limit_returns(clock: FakeClock) -> None:
    @timeout(1.0, clock=clock)
    async def quick(x: int, *, y: int) -> int:
        await clock.asleep(0.5)
        return x + y

    assert await quick(1, y=2) == 3
    assert clock.monotonic() == 0.5
    assert remaining() is None


@pytest.mark.anyio
async def test_async_errors_pass_through_unchanged(clock: FakeClock) -> None:
    raised: list[Exception] = []

    @timeout(1.0, clock=clock)
    async def users_coroutine() -> None:
        error = TimeoutError("the user's own timeout error")
        raised.append(error)
        raise error

    with pytest.raises(TimeoutError) as excinfo:
        await users_coroutine()
    assert excinfo.value is raised[0]
    assert not isinstance(excinfo.value, ResiliencyTimeoutError)
    assert traceback.extract_tb(excinfo.value.__traceback__)[-1].name == "users_coroutine"


@pytest.mark.anyio
async def test_async_outer_cancellation_is_not_turned_into_a_timeout() -> None:
    log: list[str] = []

    @timeout(10.0)
    async def slow() -> None:
        await anyio.sleep(5)
        log.append("after await")

    with anyio.move_on_after(REAL) as scope:
        await slow()
        log.append("after call")
    assert scope.cancelled_caught
    assert log == []


@pytest.mark.anyio
async def test_async_outer_cancellation_with_fake_clock(clock: FakeClock) -> None:
    @timeout(10.0, clock=clock)
    async def slow() -> None:
        await anyio.sleep(5)

    with anyio.move_on_after(REAL) as scope:
        await slow()
    assert scope.cancelled_caught


@pytest.mark.anyio
async def test_async_task_goes_on_normally_after_a_timeout() -> None:
    @timeout(REAL)
    async def slow() -> None:
        await anyio.sleep(5)

    for _ in range(2):
        with pytest.raises(ResiliencyTimeoutError):
            await slow()
    with anyio.CancelScope() as scope:
        await anyio.sleep(0)
    assert not scope.cancel_called
    with anyio.move_on_after(REAL) as scope:
        await anyio.sleep(5)
    assert scope.cancelled_caught


def test_asyncio_task_is_not_left_cancelling_after_a_timeout() -> None:
    @timeout(REAL)
    async def slow() -> None:
        await asyncio.sleep(5)

    async def main() -> int:
        with pytest.raises(ResiliencyTimeoutError):
            await slow()
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert asyncio.run(main()) == 0


def test_outer_asyncio_timeout_survives_a_function_that_swallows_cancellation() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            pass
        return "swallowed"

    async def main() -> str:
        try:
            async with asyncio.timeout(0.05):
                assert await timeout(REAL)(stubborn)() == "swallowed"
                await asyncio.sleep(5)
        except TimeoutError:
            return "outer timeout"
        return "no timeout"

    assert asyncio.run(main()) == "outer timeout"


@pytest.mark.anyio
async def test_async_timeout_event_goes_to_listeners(clock: FakeClock, registry: resiliency.Registry) -> None:
    events: list[object] = []
    registry.subscribe(events.append)

    @timeout(2.0, clock=clock, registry=registry, name="slow")
    async def slow() -> None:
        await clock.asleep(3)

    with pytest.raises(ResiliencyTimeoutError, match=r"'slow' timed out after 2\.000s"):
        await slow()
    assert events == [TimeoutOccurred("slow", 2.0, 2.0)]


# -- sync, thread mode ---------------------------------------------------------------------


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_thread_mode_stops_waiting_and_abandons_a_daemon_worker() -> None:
    release = threading.Event()
    workers: list[threading.Thread] = []
    finished: list[str] = []

    @timeout(REAL)
    def hang() -> str:
        workers.append(threading.current_thread())
        release.wait(5)
        finished.append("done")
        return "late"

    try:
        with pytest.raises(ResiliencyTimeoutError) as excinfo:
            hang()
        assert excinfo.value.timeout == REAL
        assert REAL <= excinfo.value.elapsed < 1.0
        assert finished == []  # the caller stopped waiting; the worker still runs
        [worker] = workers
        assert worker is not threading.current_thread()
        assert worker.daemon
        assert worker.is_alive()
    finally:
        release.set()
    worker.join(1)
    assert not worker.is_alive()
    assert finished == ["done"]


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_thread_mode_returns_value_and_sees_the_deadline() -> None:
    @timeout(5.0)
    def fn(x: int, *, y: int) -> tuple[int, float | None, bool]:
        return x + y, remaining(), threading.current_thread() is threading.main_thread()

    value, left, on_main = fn(1, y=2)
    assert value == 3
    assert left is not None
    assert 4.0 < left <= 5.0
    assert not on_main
    assert remaining() is None


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_thread_mode_errors_pass_through_unchanged() -> None:
    raised: list[Exception] = []

    @timeout(5.0)
    def users_function() -> None:
        error = KeyError("missing")
        raised.append(error)
        raise error

    with pytest.raises(KeyError) as excinfo:
        users_function()
    assert excinfo.value is raised[0]
    assert "users_function" in [f.name for f in traceback.extract_tb(excinfo.value.__traceback__)]


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_thread_mode_in_virtual_time(clock: FakeClock) -> None:
    @timeout(1.0, clock=clock)
    def slow() -> str:
        assert remaining() == 1.0
        clock.sleep(5)
        return "late"

    with pytest.raises(ResiliencyTimeoutError) as excinfo:
        slow()
    assert excinfo.value.timeout == 1.0
    assert 1.0 <= excinfo.value.elapsed <= 5.0  # woken at 1.0, while the worker moves time on to 5.0


# -- sync, cooperative mode ----------------------------------------------------------------


def test_cooperative_mode_runs_in_the_caller_thread_with_remaining(clock: FakeClock) -> None:
    @timeout(2.0, mode="cooperative", clock=clock)
    def work() -> tuple[list[float], bool]:
        seen: list[float] = []
        while (left := remaining()) is not None and left > 0.5:
            seen.append(left)
            clock.sleep(0.5)
        return seen, threading.current_thread() is threading.main_thread()

    assert work() == ([2.0, 1.5, 1.0], True)
    assert remaining() is None


def test_cooperative_mode_refuses_a_late_result(clock: FakeClock) -> None:
    @timeout(1.0, mode="cooperative", clock=clock)
    def late() -> str:
        clock.sleep(3)
        return "late"

    with pytest.raises(ResiliencyTimeoutError) as excinfo:
        late()
    assert (excinfo.value.timeout, excinfo.value.elapsed) == (1.0, 3.0)


def test_cooperative_mode_errors_pass_through_unchanged(clock: FakeClock) -> None:
    error = ValueError("bad")

    @timeout(1.0, mode="cooperative", clock=clock)
    def fn() -> None:
        raise error

    with pytest.raises(ValueError) as excinfo:
        fn()
    assert excinfo.value is error


def test_cooperative_mode_exactly_at_the_deadline_is_in_time(clock: FakeClock) -> None:
    @timeout(1.0, mode="cooperative", clock=clock)
    def fn() -> str:
        clock.sleep(1.0)
        return "just in time"

    assert fn() == "just in time"


# -- deadlines -------------------------------------------------------------------------------


def test_remaining_is_none_outside_any_timeout() -> None:
    assert remaining() is None


# The inner timeout starts 0.5 s into the outer one.
@pytest.mark.parametrize(("outer", "inner", "inner_sees"), [(5.0, 2.0, 2.0), (2.0, 5.0, 1.5)])
def test_nested_timeouts_report_the_earlier_deadline(
    clock: FakeClock, outer: float, inner: float, inner_sees: float
) -> None:
    seen: dict[str, float | None] = {}

    @timeout(inner, mode="cooperative", clock=clock)
    def inner_fn() -> None:
        seen["inner"] = remaining()

    @timeout(outer, mode="cooperative", clock=clock)
    def outer_fn() -> None:
        seen["outer before"] = remaining()
        clock.sleep(0.5)
        inner_fn()
        seen["outer after"] = remaining()

    outer_fn()
    assert seen == {"outer before": outer, "inner": inner_sees, "outer after": outer - 0.5}


@pytest.mark.anyio
async def test_nested_async_timeouts_report_the_earlier_deadline(clock: FakeClock) -> None:
    @timeout(5.0, clock=clock)
    async def inner_fn() -> float | None:
        return remaining()

    @timeout(2.0, clock=clock)
    async def outer_fn() -> tuple[float | None, float | None]:
        await clock.asleep(0.5)
        return remaining(), await inner_fn()

    assert await outer_fn() == (1.5, 1.5)


@pytest.mark.anyio
async def test_outer_deadline_cancels_through_a_longer_inner_timeout(clock: FakeClock) -> None:
    @timeout(5.0, clock=clock)
    async def inner_fn() -> None:
        await clock.asleep(10)

    @timeout(1.0, clock=clock)
    async def outer_fn() -> None:
        await inner_fn()

    with pytest.raises(ResiliencyTimeoutError) as excinfo:
        await outer_fn()
    assert excinfo.value.timeout == 1.0
    assert clock.monotonic() == 1.0


def test_remaining_is_never_negative(clock: FakeClock) -> None:
    @timeout(1.0, mode="cooperative", clock=clock)
    def peek() -> None:
        clock.advance(2.0)
        assert remaining() == 0.0

    with pytest.raises(ResiliencyTimeoutError):
        peek()


# -- configuration ----------------------------------------------------------------------------


def test_seconds_accepts_timedelta() -> None:
    fn = timeout(timedelta(milliseconds=1500))(lambda: None)
    assert describe(fn)[0].policy == TimeoutPolicy(1.5)
    assert TimeoutPolicy(timedelta(minutes=1)).seconds == 60.0  # type: ignore[arg-type]


def test_bare_timeout_is_thirty_seconds() -> None:
    @timeout
    def fn() -> int:
        return 1

    assert fn() == 1
    [strategy] = describe(fn)
    assert strategy.kind == "timeout"
    assert strategy.policy == TimeoutPolicy(30.0, "thread")


def test_policy_form(clock: FakeClock) -> None:
    policy = TimeoutPolicy(1.0, mode="cooperative")
    fn = timeout(policy=policy, clock=clock)(threading.current_thread)
    assert fn() is threading.current_thread()
    assert describe(fn)[0].policy is policy


@pytest.mark.parametrize(
    ("seconds", "error", "pattern"),
    [
        (0, ValueError, r"seconds must be > 0 seconds \(got 0\)"),
        (-1, ValueError, r"seconds must be > 0 seconds \(got -1\)"),
        (math.nan, ValueError, r"seconds must be .* \(got nan\)"),
        (math.inf, ValueError, r"seconds must be a finite number of seconds \(got inf\)"),
        (timedelta(0), ValueError, r"seconds must be > 0 seconds"),
        ("1", TypeError, r"seconds must be a duration in seconds \(float or timedelta\) \(got '1'\)"),
        (True, TypeError, r"seconds must be .* \(got True\)"),
        (None, TypeError, r"seconds must be .* \(got None\)"),
    ],
)
def test_bad_seconds_are_refused_at_decoration(seconds: Any, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        TimeoutPolicy(seconds)
    if seconds is not None:
        with pytest.raises(error, match=pattern):
            timeout(seconds)


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match=r"mode must be 'thread' or 'cooperative' \(got 'x'\)"):
        timeout(1.0, mode="x")  # type: ignore[call-overload]


def test_policy_and_seconds_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        timeout(1.0, policy=TimeoutPolicy(2.0))
    with pytest.raises(TypeError, match=r"policy must be a TimeoutPolicy \(got 2\.0\)"):
        timeout(policy=2.0)  # type: ignore[call-overload]


# -- call forms -------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_thread_leak")
def test_policy_call() -> None:
    assert TimeoutPolicy(5.0).call(lambda a, b=0: a + b, 1, b=2) == 3
    release = threading.Event()
    try:
        with pytest.raises(ResiliencyTimeoutError):
            TimeoutPolicy(REAL).call(release.wait, 5)
    finally:
        release.set()


@pytest.mark.anyio
async def test_policy_acall() -> None:
    async def add(a: int, b: int = 0) -> int:
        await anyio.sleep(0)
        return a + b

    assert await TimeoutPolicy(5.0).acall(add, 1, b=2) == 3
    with pytest.raises(ResiliencyTimeoutError):
        await TimeoutPolicy(REAL).acall(anyio.sleep, 5)
