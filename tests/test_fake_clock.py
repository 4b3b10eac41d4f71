"""``FakeClock``: virtual time that sleeps at once, and timers that fire in order."""

from __future__ import annotations

import math
from datetime import timedelta

import anyio
import pytest

from resiliency import Clock, SystemClock
from resiliency.testing import FakeClock


def test_starts_at_zero_or_at_start() -> None:
    assert FakeClock().monotonic() == 0.0
    assert FakeClock(start=100).monotonic() == 100.0
    assert FakeClock().time() == 0.0
    assert repr(FakeClock(2.5)) == "FakeClock(now=2.5)"


def test_is_a_clock() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(SystemClock(), Clock)
    assert not isinstance(object(), Clock)


def test_advance_moves_time() -> None:
    clock = FakeClock()
    clock.advance(1.5)
    clock.advance(timedelta(milliseconds=500))
    clock.advance(0)
    assert clock.monotonic() == 2.0
    assert clock.sleeps == []


@pytest.mark.parametrize(("seconds", "error"), [(-1, ValueError), (math.nan, ValueError), ("1", TypeError)])
def test_advance_refuses_bad_input(seconds: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="seconds must be"):
        FakeClock().advance(seconds)  # type: ignore[arg-type]


def test_sleep_records_and_advances_at_once() -> None:
    clock = FakeClock()
    clock.sleep(1.0)
    clock.sleep(0.25)
    assert clock.sleeps == [1.0, 0.25]
    assert clock.monotonic() == 1.25


@pytest.mark.anyio
async def test_asleep_records_and_advances() -> None:
    clock = FakeClock()
    with anyio.fail_after(1):
        await clock.asleep(3600)
        await clock.asleep(0.5)
    assert clock.sleeps == [3600, 0.5]
    assert clock.monotonic() == 3600.5


def test_call_at_timers_fire_in_time_order() -> None:
    clock = FakeClock()
    fired: list[tuple[str, float]] = []
    clock.call_at(3.0, lambda: fired.append(("c", clock.monotonic())))
    clock.call_at(1.0, lambda: fired.append(("a", clock.monotonic())))
    clock.call_at(2.0, lambda: fired.append(("b1", clock.monotonic())))
    clock.call_at(2.0, lambda: fired.append(("b2", clock.monotonic())))
    clock.advance(1.5)
    assert fired == [("a", 1.0)]
    assert clock.monotonic() == 1.5
    clock.sleep(5)
    assert fired == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]
    assert clock.monotonic() == 6.5


def test_a_timer_fires_exactly_once() -> None:
    clock = FakeClock()
    fired: list[float] = []
    clock.call_at(1.0, lambda: fired.append(clock.monotonic()))
    clock.advance(1.0)
    clock.advance(1.0)
    assert fired == [1.0]


def test_a_timer_in_the_past_fires_at_once() -> None:
    clock = FakeClock(start=5.0)
    fired: list[str] = []
    clock.call_at(4.0, lambda: fired.append("late"))
    assert fired == ["late"]


def test_cancelled_timer_never_fires() -> None:
    clock = FakeClock()
    fired: list[str] = []
    handle = clock.call_at(1.0, lambda: fired.append("cancelled"))
    clock.call_at(2.0, lambda: fired.append("kept"))
    handle.cancel()
    clock.advance(10)
    assert fired == ["kept"]
    handle.cancel()  # cancelling twice is harmless


def test_a_timer_may_set_another() -> None:
    clock = FakeClock()
    fired: list[float] = []

    def first() -> None:
        fired.append(clock.monotonic())
        clock.call_at(2.5, lambda: fired.append(clock.monotonic()))

    clock.call_at(1.0, first)
    clock.advance(3.0)
    assert fired == [1.0, 2.5]


@pytest.mark.anyio
async def test_a_timer_that_cancels_a_scope_stops_asleep_at_its_time() -> None:
    clock = FakeClock()
    with anyio.CancelScope() as scope:
        clock.call_at(2.0, scope.cancel)
        await clock.asleep(10)
    assert scope.cancelled_caught
    assert clock.monotonic() == 2.0
    assert clock.sleeps == [10]


@pytest.mark.anyio
async def test_asleep_fires_timers_on_the_way() -> None:
    clock = FakeClock()
    fired: list[float] = []
    clock.call_at(1.0, lambda: fired.append(clock.monotonic()))
    await clock.asleep(5)
    assert fired == [1.0]
    assert clock.monotonic() == 5.0
