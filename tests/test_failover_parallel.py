"""Parallel failover: execute_any (race, hedging, cancellation), execute_all, and the sync forms."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from resiliency import (
    AllProvidersFailedError,
    FailoverGroup,
    FailoverGroupView,
    PolicyConfig,
    Registry,
    ResiliencyTimeoutError,
    RetryPolicy,
    provider,
)
from resiliency._deadline import push_deadline, reset_deadline
from resiliency.testing import FakeClock

ONCE = PolicyConfig(default=RetryPolicy(max_attempts=1))


class SignallingClock(FakeClock):
    """A FakeClock that records the hedge timers set on it and signals each one."""

    def __init__(self) -> None:
        super().__init__()
        self.whens: list[float] = []
        self.timer_set = threading.Event()

    def call_at(self, when: float, callback: Callable[[], object]) -> Any:
        handle = super().call_at(when, callback)
        self.whens.append(when)
        self.timer_set.set()
        return handle


def both_paths(group: FailoverGroup) -> list[FailoverGroupView]:
    """The group (native asyncio tasks on asyncio) and a hedged view (the anyio path)."""
    return [group, group.with_options(hedge_delay=0.001)]


# -- execute_any ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("hedged", [False, True])
async def test_execute_any_first_success_wins_and_losers_are_really_cancelled(registry: Registry, hedged: bool) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    state = {"finally": 0, "after_await": 0}

    class Slow:
        @provider("slow", op="op", group=group)
        async def op(self) -> str:
            try:
                await anyio.sleep(10)
                state["after_await"] += 1
                return "slow"
            finally:
                state["finally"] += 1

    class Fast:
        @provider("fast", op="op", group=group, priority=1)
        async def op(self) -> str:
            await anyio.sleep(0)
            return "fast"

    group.register(Slow(), Fast())
    view = both_paths(group)[hedged]
    with anyio.fail_after(5):
        assert await view.execute_any("op") == "fast"
    assert state == {"finally": 1, "after_await": 0}  # cancelled, and cleaned up before return
    stats = group.stats()
    assert (stats.get("slow", "op").cancelled, stats.get("fast", "op").successes) == (1, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("hedged", [False, True])
async def test_execute_any_all_failed_lists_every_attempt_in_order(registry: Registry, hedged: bool) -> None:
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="none")), registry=registry
    )

    class Late:
        @provider("late", op="op", group=group)
        async def op(self) -> None:
            for _ in range(5):
                await anyio.sleep(0)
            raise ConnectionError("late")

    class Early:
        @provider("early", op="op", group=group, priority=1)
        async def op(self) -> None:
            raise TimeoutError("early")

    group.register(Late(), Early())
    view = group if not hedged else group.with_options(hedge_delay=0)
    with pytest.raises(AllProvidersFailedError) as info:
        await view.execute_any("op")
    assert [(a.provider, a.attempt) for a in info.value.attempts] == [
        ("early", 1),
        ("early", 2),
        ("late", 1),
        ("late", 2),
    ]


@pytest.mark.anyio
async def test_a_none_result_is_a_success(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("none", op="op", group=group)
    async def returns_none() -> None:
        return None

    assert await group.execute_any("op") is None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["execute", "execute_any", "execute_any_hedged", "execute_all"])
async def test_cancelling_the_caller_cancels_every_provider_it_started(registry: Registry, mode: str) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    started: list[str] = []
    cleaned: list[str] = []
    expected = 1 if mode == "execute" else 3
    all_started = anyio.Event()

    def make(name: str) -> Any:
        class Hang:
            @provider(name, op="op", group=group)
            async def op(self) -> None:
                started.append(name)
                if len(started) == expected:
                    all_started.set()
                try:
                    await anyio.sleep(10)
                finally:
                    cleaned.append(name)

        return Hang()

    group.register(make("a"), make("b"), make("c"))
    view = group.with_options(hedge_delay=0.001) if mode == "execute_any_hedged" else group
    method = getattr(view, mode.replace("_hedged", ""))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(method, "op")
            await all_started.wait()
            tg.cancel_scope.cancel()
    assert sorted(cleaned) == sorted(started)
    assert len(started) == expected


# -- hedging -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_hedge_starts_the_next_provider_only_after_hedge_delay(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    a_started = anyio.Event()
    log: list[tuple[str, float]] = []

    class First:
        @provider("first", op="op", group=group)
        async def op(self) -> str:
            log.append(("first", clock.monotonic()))
            a_started.set()
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

    class Second:
        @provider("second", op="op", group=group, priority=1)
        async def op(self) -> str:
            log.append(("second", clock.monotonic()))
            return "second"

    group.register(First(), Second())
    results: list[str] = []

    async def run() -> None:
        results.append(await group.with_options(hedge_delay=1.0).execute_any("op"))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await a_started.wait()
            await anyio.wait_all_tasks_blocked()
            clock.advance(0.75)
            await anyio.wait_all_tasks_blocked()
            assert [name for name, _ in log] == ["first"]
            clock.advance(0.25)
    assert results == ["second"]
    assert log == [("first", 0.0), ("second", 1.0)]
    assert group.stats().get("first", "op").cancelled == 1


@pytest.mark.anyio
async def test_hedge_starts_the_next_provider_at_once_when_the_previous_fails(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    log: list[str] = []

    class First:
        @provider("first", op="op", group=group)
        async def op(self) -> str:
            log.append("first")
            await anyio.sleep(0)
            log.append("first failed")
            raise ConnectionError("first")

    class Second:
        @provider("second", op="op", group=group, priority=1)
        async def op(self) -> str:
            log.append("second")
            return "second"

    group.register(First(), Second())
    with anyio.fail_after(5):
        assert await group.with_options(hedge_delay=30.0).execute_any("op") == "second"
    assert log == ["first", "first failed", "second"]
    assert clock.monotonic() == 0.0


@pytest.mark.anyio
async def test_no_hedge_starts_after_the_callers_deadline(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    release = anyio.Event()
    started: list[str] = []

    class First:
        @provider("first", op="op", group=group)
        async def op(self) -> str:
            started.append("first")
            await release.wait()
            raise ConnectionError("first")

    class Second:
        @provider("second", op="op", group=group, priority=1)
        async def op(self) -> str:
            started.append("second")
            return "second"

    group.register(First(), Second())
    errors: list[BaseException] = []

    async def run() -> None:
        token = push_deadline(1.0, clock, clock.monotonic())
        try:
            await group.with_options(hedge_delay=2.0).execute_any("op")
        except AllProvidersFailedError as exc:
            errors.append(exc)
        finally:
            reset_deadline(token)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await anyio.wait_all_tasks_blocked()
            clock.advance(2.0)  # the hedge fires, but the deadline (1.0) has passed
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert started == ["first"]
    assert len(errors) == 1
    assert "before second could start" in errors[0].__notes__[0]


@pytest.mark.anyio
async def test_with_options_timeout_cancels_a_race(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    cleaned: list[str] = []

    class Hang:
        @provider("hang", op="op", group=group)
        async def op(self) -> None:
            try:
                await clock.asleep(10.0)
            finally:
                cleaned.append("hang")

    group.register(Hang())
    with pytest.raises(ResiliencyTimeoutError):
        await group.with_options(timeout=1.0).execute_any("op")
    assert cleaned == ["hang"]


# -- execute_all ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_execute_all_returns_outcomes_in_provider_order_without_raising(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="none")), registry=registry, clock=clock
    )

    def make(name: str, priority: int, fail: bool) -> Any:
        class P:
            @provider(name, op="presign", group=group, priority=priority)
            async def presign(self, key: str) -> str:
                await anyio.sleep(0)
                if fail:
                    raise PermissionError(name)
                return f"https://{name}/{key}"

        return P()

    group.register(make("c", 2, False), make("b", 1, True), make("a", 0, False))
    for view in both_paths(group):
        outcomes = await view.execute_all("presign", "k")
        assert [(o.provider, o.ok, o.value, type(o.error), o.attempts) for o in outcomes] == [
            ("a", True, "https://a/k", type(None), 1),
            ("b", False, None, PermissionError, 2),
            ("c", True, "https://c/k", type(None), 1),
        ]
        assert all(o.duration >= 0.0 for o in outcomes)


@pytest.mark.anyio
async def test_execute_all_when_every_provider_fails_still_returns(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("x", op="op", group=group)
    async def x() -> None:
        raise ValueError("x")

    outcomes = await group.execute_all("op")
    assert [(o.ok, str(o.error)) for o in outcomes] == [(False, "x")]


# -- sync variants (threads) -----------------------------------------------------------------


@pytest.mark.usefixtures("no_thread_leak")
def test_execute_any_sync_first_success_wins_loser_abandoned(registry: Registry) -> None:
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=5, backoff="none")), registry=registry
    )
    slow_started = threading.Event()
    release = threading.Event()
    slow_calls: list[int] = []

    @provider("slow", op="op", group=group)
    def slow() -> str:
        slow_calls.append(1)
        slow_started.set()
        release.wait(5)
        raise ConnectionError("slow")

    @provider("fast", op="op", group=group, priority=1)
    def fast() -> str:
        slow_started.wait(5)
        return "fast"

    before = set(threading.enumerate())
    assert group.execute_any_sync("op") == "fast"
    release.set()
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
    assert slow_calls == [1]  # the abandoned loser started no second attempt


@pytest.mark.usefixtures("no_thread_leak")
def test_execute_any_sync_all_failed(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("a", op="op", group=group)
    def a() -> None:
        raise ConnectionError("a")

    @provider("b", op="op", group=group)
    def b() -> None:
        raise ConnectionError("b")

    with pytest.raises(AllProvidersFailedError) as info:
        group.execute_any_sync("op")
    assert sorted(x.provider for x in info.value.attempts) == ["a", "b"]


@pytest.mark.usefixtures("no_thread_leak")
def test_execute_all_sync_outcomes_in_order(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    barrier = threading.Barrier(3, timeout=5)

    def make(name: str, fail: bool) -> None:
        @provider(name, op="op", group=group)
        def op(key: str) -> str:
            barrier.wait()  # all three run at once, on three threads
            if fail:
                raise KeyError(name)
            return f"{name}:{key}"

    make("a", False)
    make("b", True)
    make("c", False)
    outcomes = group.execute_all_sync("op", "k")
    assert [(o.provider, o.ok, o.value) for o in outcomes] == [
        ("a", True, "a:k"),
        ("b", False, None),
        ("c", True, "c:k"),
    ]
    assert isinstance(outcomes[1].error, KeyError)


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_hedge_waits_for_hedge_delay_on_the_group_clock(registry: Registry) -> None:
    clock = SignallingClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    release = threading.Event()
    second_started_at: list[float] = []

    @provider("first", op="op", group=group)
    def first() -> str:
        clock.timer_set.wait(5)  # the caller waits on its hedge timer
        clock.advance(0.5)
        clock.advance(0.5)
        release.wait(5)
        raise ConnectionError("first")

    @provider("second", op="op", group=group, priority=1)
    def second() -> str:
        second_started_at.append(clock.monotonic())
        return "second"

    try:
        assert group.with_options(hedge_delay=1.0).execute_any_sync("op") == "second"
    finally:
        release.set()
    assert clock.whens == [1.0]
    assert second_started_at == [1.0]


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_hedge_starts_the_next_at_once_on_failure(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    order: list[str] = []

    @provider("first", op="op", group=group)
    def first() -> str:
        order.append("first")
        raise ConnectionError("first")

    @provider("second", op="op", group=group, priority=1)
    def second() -> str:
        order.append("second")
        return "second"

    assert group.with_options(hedge_delay=60.0).execute_any_sync("op") == "second"
    assert order == ["first", "second"]
    assert clock.monotonic() == 0.0


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_hedge_with_the_system_clock(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    release = threading.Event()

    @provider("first", op="op", group=group)
    def first() -> str:
        release.wait(5)
        return "first"

    @provider("second", op="op", group=group, priority=1)
    def second() -> str:
        return "second"

    try:
        assert group.with_options(hedge_delay=0.002).execute_any_sync("op") == "second"
    finally:
        release.set()


@pytest.mark.usefixtures("no_thread_leak")
def test_sync_parallel_modes_keep_the_callers_deadline(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    started: list[str] = []

    @provider("first", op="op", group=group)
    def first() -> str:
        started.append("first")
        clock.advance(5.0)
        raise ConnectionError("first")

    @provider("second", op="op", group=group, priority=1)
    def second() -> str:
        started.append("second")
        return "second"

    token = push_deadline(1.0, clock, clock.monotonic())
    try:
        with pytest.raises(AllProvidersFailedError):
            group.with_options(hedge_delay=10.0).execute_any_sync("op")
    finally:
        reset_deadline(token)
    assert started == ["first"]


@pytest.mark.usefixtures("no_thread_leak")
def test_more_providers_than_worker_threads(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    for index in range(40):
        provider(f"p{index}", op="op", group=group)(lambda index=index: index)
    outcomes = group.execute_all_sync("op")
    assert [o.value for o in outcomes] == list(range(40))
    assert group.execute_any_sync("op") in range(40)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["execute_any", "execute_all"])
async def test_with_options_timeout_on_the_system_clock_cancels_every_provider(registry: Registry, mode: str) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    cleaned: list[str] = []

    def make(name: str) -> None:
        @provider(name, op="op", group=group)
        async def op() -> None:
            try:
                await anyio.sleep(10)
            finally:
                cleaned.append(name)

    make("a")
    make("b")
    view = group.with_options(timeout=0.003)
    with anyio.fail_after(5):
        if mode == "execute_any":
            with pytest.raises(ResiliencyTimeoutError):
                await view.execute_any("op")
        else:  # execute_all never raises for providers: the unfinished ones timed out
            outcomes = await view.execute_all("op")
            assert [type(o.error) for o in outcomes] == [ResiliencyTimeoutError] * 2
    assert sorted(cleaned) == ["a", "b"]
