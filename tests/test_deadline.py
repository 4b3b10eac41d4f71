"""The caller's deadline: a context variable that nests, resets, and stays with its task."""

from __future__ import annotations

import threading

import anyio
import pytest

from resiliency import remaining, timeout
from resiliency._deadline import push_deadline, reset_deadline
from resiliency.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_no_deadline_gives_none() -> None:
    assert remaining() is None


def test_push_and_reset(clock: FakeClock) -> None:
    token = push_deadline(3.0, clock, clock.monotonic())
    try:
        assert remaining() == 3.0
        clock.advance(1.25)
        assert remaining() == 1.75
        clock.advance(5)
        assert remaining() == 0.0
    finally:
        reset_deadline(token)
    assert remaining() is None


def test_nested_deadlines_keep_the_earlier(clock: FakeClock) -> None:
    outer = push_deadline(2.0, clock, clock.monotonic())
    try:
        later = push_deadline(10.0, clock, clock.monotonic())
        assert remaining() == 2.0
        reset_deadline(later)
        earlier = push_deadline(0.5, clock, clock.monotonic())
        assert remaining() == 0.5
        reset_deadline(earlier)
        assert remaining() == 2.0
    finally:
        reset_deadline(outer)


def test_a_passed_outer_deadline_stays_passed_inside(clock: FakeClock) -> None:
    outer = push_deadline(1.0, clock, clock.monotonic())
    try:
        clock.advance(2.0)
        inner = push_deadline(5.0, clock, clock.monotonic())
        assert remaining() == 0.0
        reset_deadline(inner)
    finally:
        reset_deadline(outer)


def test_a_plain_thread_does_not_inherit_the_deadline(clock: FakeClock) -> None:
    seen: list[float | None] = []

    @timeout(1.0, mode="cooperative", clock=clock)
    def fn() -> None:
        thread = threading.Thread(target=lambda: seen.append(remaining()))
        thread.start()
        thread.join()
        seen.append(remaining())

    fn()
    assert seen == [None, 1.0]


@pytest.mark.anyio
async def test_concurrent_tasks_keep_their_own_deadlines(clock: FakeClock) -> None:
    seen: dict[str, float | None] = {}

    def make(name: str, seconds: float) -> object:
        @timeout(seconds, clock=clock)
        async def task() -> None:
            await anyio.sleep(0)
            seen[name] = remaining()

        return task

    async with anyio.create_task_group() as group:
        group.start_soon(make("short", 1.0))  # type: ignore[arg-type]
        group.start_soon(make("long", 7.0))  # type: ignore[arg-type]
    assert seen == {"short": 1.0, "long": 7.0}
    assert remaining() is None


@pytest.mark.anyio
async def test_a_task_started_under_a_deadline_copies_it(clock: FakeClock) -> None:
    seen: list[float | None] = []

    async def child() -> None:
        seen.append(remaining())

    @timeout(4.0, clock=clock)
    async def parent() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(child)

    await parent()
    assert seen == [4.0]


def test_deadline_is_reset_after_an_error(clock: FakeClock) -> None:
    @timeout(1.0, mode="cooperative", clock=clock)
    def fn() -> None:
        raise ValueError

    with pytest.raises(ValueError):
        fn()
    assert remaining() is None
