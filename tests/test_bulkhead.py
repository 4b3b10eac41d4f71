"""``Bulkhead`` / ``@bulkhead``: limits, FIFO hand-off, time limits, cancellation, registry.

Threads for sync callers, both anyio backends for async ones, ``FakeClock`` for time.
Every test runs under ``no_thread_leak``; real waits are a few ms at most.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest

from resiliency import BulkheadFullError, Registry, ResiliencyTimeoutError, retry, timeout
from resiliency._bulkhead import Bulkhead, BulkheadMetrics, BulkheadPolicy, bulkhead
from resiliency._bulkhead._core import GRANTED, RETURNED, WAITING, AsyncWaiter, Slot, Slots
from resiliency._deadline import push_deadline, reset_deadline
from resiliency._events import BulkheadRejected
from resiliency.testing import FakeClock, describe

SAFETY = 5.0  # seconds: a net against a hung test, never reached when the code is right


pytestmark = pytest.mark.usefixtures("no_thread_leak_patient")  # every test, see conftest


def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll ``predicate`` (another thread must make it true) in sub-millisecond steps."""
    deadline = time.monotonic() + SAFETY
    while not predicate():
        assert time.monotonic() < deadline, "condition never reached"
        time.sleep(0.0002)


async def await_until(predicate: Callable[[], bool]) -> None:
    """Async form of ``wait_until``: yields to the loop (and to threads) between polls."""
    with anyio.fail_after(SAFETY):
        while not predicate():
            await anyio.sleep(0.0002)


def start(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(SAFETY)
        assert not thread.is_alive()


def metrics_of(bh: Bulkhead, **expected: int) -> bool:
    m = bh.metrics()
    return all(getattr(m, key) == value for key, value in expected.items())


class Holder:
    """A thread that holds one slot of ``bh`` until ``let_go()``."""

    def __init__(self, bh: Bulkhead) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()

        @bh
        def hold() -> None:
            self.entered.set()
            assert self.gate.wait(SAFETY)

        self.thread = start(hold)
        assert self.entered.wait(SAFETY)

    def let_go(self) -> None:
        self.gate.set()
        join(self.thread)


# -- policy and construction -----------------------------------------------------------


def test_policy_defaults_and_timedelta() -> None:
    policy = BulkheadPolicy()
    assert (policy.max_concurrent, policy.max_queue, policy.queue_timeout) == (10, 0, None)
    assert BulkheadPolicy(queue_timeout=timedelta(milliseconds=1500)).queue_timeout == 1.5  # type: ignore[arg-type]
    assert BulkheadPolicy(2, 3, 4) == BulkheadPolicy(max_concurrent=2, max_queue=3, queue_timeout=4.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "param"),
    [
        ({"max_concurrent": 0}, ValueError, "max_concurrent"),
        ({"max_concurrent": -3}, ValueError, "max_concurrent"),
        ({"max_concurrent": 2.0}, TypeError, "max_concurrent"),
        ({"max_concurrent": True}, TypeError, "max_concurrent"),
        ({"max_concurrent": "5"}, TypeError, "max_concurrent"),
        ({"max_queue": -1}, ValueError, "max_queue"),
        ({"max_queue": False}, TypeError, "max_queue"),
        ({"queue_timeout": 0}, ValueError, "queue_timeout"),
        ({"queue_timeout": -1.0}, ValueError, "queue_timeout"),
        ({"queue_timeout": math.nan}, ValueError, "queue_timeout"),
        ({"queue_timeout": math.inf}, ValueError, "queue_timeout"),
        ({"queue_timeout": "1"}, TypeError, "queue_timeout"),
        ({"queue_timeout": True}, TypeError, "queue_timeout"),
    ],
)
@pytest.mark.parametrize("make", [BulkheadPolicy, Bulkhead, bulkhead], ids=["policy", "Bulkhead", "bulkhead"])
def test_bad_settings_name_the_parameter(
    make: Callable[..., object], kwargs: dict[str, Any], error: type[Exception], param: str
) -> None:
    with pytest.raises(error) as excinfo:
        make(**kwargs)
    text = str(excinfo.value)
    assert text.startswith(f"{param} must be ")
    assert f"(got {next(iter(kwargs.values()))!r})" in text


def test_policy_and_fields_together_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="policy= or the fields"):
        Bulkhead(policy=BulkheadPolicy(), max_concurrent=3)
    with pytest.raises(TypeError, match="policy= or the fields"):
        bulkhead(policy=BulkheadPolicy(), queue_timeout=1.0)
    with pytest.raises(TypeError, match="policy must be a BulkheadPolicy"):
        Bulkhead(policy={"max_concurrent": 3})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "param"),
    [
        ("", {}, ValueError, "name"),
        (None, {"clock": "now"}, TypeError, "clock"),
        (None, {"registry": {}}, TypeError, "registry"),
        ("db", {"registry": "reg"}, TypeError, "registry"),
    ],
)
def test_bad_name_clock_or_registry(name: Any, kwargs: dict[str, Any], error: type[Exception], param: str) -> None:
    with pytest.raises(error, match=f"^{param} must be"):
        Bulkhead(name, **kwargs)
    with pytest.raises(error, match=f"^{param} must be"):
        bulkhead(name, **kwargs)
    with pytest.raises(TypeError, match=r"^name must be"):
        Bulkhead(3)  # type: ignore[arg-type]


def test_metrics_repr_and_policy(registry: Registry) -> None:
    bh = Bulkhead("db", max_concurrent=3, max_queue=2, registry=registry)
    assert bh.name == "db"
    assert bh.kind == "bulkhead"
    assert bh.policy == BulkheadPolicy(3, 2)
    assert bh.metrics() == BulkheadMetrics(
        active=0, queued=0, available=3, completed=0, rejected=0, max_concurrent=3, max_queue=2
    )
    assert repr(bh) == "<Bulkhead 'db' active=0/3 queued=0/2>"
    assert repr(Bulkhead()) == "<Bulkhead active=0/10 queued=0/0>"


# -- decorator forms --------------------------------------------------------------------


def test_bare_called_and_instance_forms(registry: Registry) -> None:
    @bulkhead
    def bare(x: int) -> int:
        """Doc."""
        return x + 1

    @bulkhead()
    def called(x: int) -> int:
        return x * 2

    shared = Bulkhead(max_concurrent=2)

    @bulkhead(shared)
    def one() -> str:
        return "one"

    @shared
    async def two() -> str:
        return "two"

    assert bare(1) == 2
    assert called(4) == 8
    assert one() == "one"
    assert bare.__name__ == "bare"
    assert bare.__doc__ == "Doc."
    assert inspect.iscoroutinefunction(two)
    assert not inspect.iscoroutinefunction(one)
    assert describe(one) == [shared]
    assert describe(two) == [shared]
    (private,) = describe(bare)
    assert isinstance(private, Bulkhead)
    assert private.policy == BulkheadPolicy()
    assert private is not describe(called)[0]
    assert bulkhead(shared) is shared
    assert shared.metrics().completed == 1


def test_instance_form_takes_no_settings() -> None:
    shared = Bulkhead()
    with pytest.raises(TypeError, match="takes no fields"):
        bulkhead(shared, max_concurrent=3)
    with pytest.raises(TypeError, match="takes no fields"):
        bulkhead(shared, clock=FakeClock())
    with pytest.raises(TypeError, match="first argument must be"):
        bulkhead(42)


def test_works_on_methods_and_stacks_with_retry() -> None:
    bh = Bulkhead(max_concurrent=1)

    class Service:
        @retry(max_attempts=3)
        @bh
        def call(self, x: int) -> int:
            return x

        @classmethod
        @bh
        def klass(cls, x: int) -> str:
            return f"{cls.__name__}{x}"

    assert Service().call(5) == 5
    assert Service.klass(1) == "Service1"
    assert [s.kind for s in describe(Service.call)] == ["retry", "bulkhead"]
    assert bh.metrics().completed == 2


def test_rejection_is_not_retried_by_default() -> None:
    bh = Bulkhead(max_concurrent=1)
    calls: list[int] = []

    @retry(max_attempts=5, backoff="none")
    @bh
    def guarded() -> None:
        calls.append(1)

    holder = Holder(bh)
    try:
        with pytest.raises(BulkheadFullError):
            guarded()
    finally:
        holder.let_go()
    assert calls == []
    assert bh.metrics().rejected == 1


def test_policy_call_and_acall() -> None:
    policy = BulkheadPolicy(max_concurrent=1)
    assert policy.call(lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(KeyError):
        policy.call({}.__getitem__, "missing")

    async def double(x: int) -> int:
        return 2 * x

    assert anyio.run(policy.acall, double, 21) == 42
    assert isinstance(policy.to_strategy(), Bulkhead)


# -- admission, rejection, metrics ------------------------------------------------------


def test_full_rejection_error_and_metrics() -> None:
    bh = Bulkhead(max_concurrent=1)
    holder = Holder(bh)

    @bh
    def call() -> None:
        raise AssertionError("must not run")

    try:
        with pytest.raises(BulkheadFullError) as first:
            call()
        with pytest.raises(BulkheadFullError) as second:
            call()
        assert bh.metrics() == BulkheadMetrics(1, 0, 0, 0, 2, 1, 0)
    finally:
        holder.let_go()
    assert first.value is not second.value
    assert first.value.bulkhead is bh
    assert first.value.code == "BULKHEAD_FULL"
    assert first.value.reason == "full"
    assert "full" in str(first.value)
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 2, 1, 0)


def test_a_failing_call_gives_its_slot_back() -> None:
    bh = Bulkhead(max_concurrent=1)

    @bh
    def boom() -> None:
        raise ValueError("boom")

    for _ in range(3):
        with pytest.raises(ValueError, match="boom"):
            boom()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 3, 0, 1, 0)


def test_events_only_with_listeners(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    bh = Bulkhead("db", max_concurrent=1, registry=registry)

    @bh
    def call() -> None:
        pass

    holder = Holder(bh)
    try:
        # No listener: no event object is even built.
        def refuse(*args: object) -> None:
            raise AssertionError("event built without a listener")

        with monkeypatch.context() as patch:
            patch.setattr("resiliency._bulkhead._bulkhead.BulkheadRejected", refuse)
            with pytest.raises(BulkheadFullError):
                call()
        seen: list[object] = []
        registry.subscribe(seen.append)
        with pytest.raises(BulkheadFullError):
            call()
    finally:
        holder.let_go()
    assert seen == [BulkheadRejected("db", "full")]


# -- threads ----------------------------------------------------------------------------


def test_32_threads_never_exceed_the_limit_exact_counts() -> None:
    bh = Bulkhead(max_concurrent=4, max_queue=8)
    gate = threading.Event()
    lock = threading.Lock()
    running = peak = 0
    errors: list[BaseException] = []

    @bh
    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        assert gate.wait(SAFETY)
        with lock:
            running -= 1

    def caller() -> None:
        try:
            work()
        except BulkheadFullError as exc:
            errors.append(exc)

    threads = [start(caller) for _ in range(32)]
    wait_until(lambda: metrics_of(bh, active=4, queued=8, rejected=20))
    gate.set()
    join(*threads)
    assert len(errors) == 20
    assert peak == 4
    assert bh.metrics() == BulkheadMetrics(0, 0, 4, 12, 20, 4, 8)


def test_32_threads_hammering_all_complete() -> None:
    bh = Bulkhead(max_concurrent=3, max_queue=32)
    lock = threading.Lock()
    running = peak = 0

    @bh
    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0)  # let another thread in while the slot is held
        with lock:
            running -= 1

    def caller() -> None:
        for _ in range(200):
            work()

    join(*[start(caller) for _ in range(32)])
    assert peak <= 3
    assert bh.metrics() == BulkheadMetrics(0, 0, 3, 6400, 0, 3, 32)


def queue_threads(bh: Bulkhead, count: int, record: list[int]) -> list[threading.Thread]:
    """Start ``count`` callers one by one, each queued before the next starts."""
    threads = []
    for i in range(count):

        @bh
        def work(i: int = i) -> None:
            record.append(i)

        threads.append(start(work))
        wait_until(lambda i=i: bh.metrics().queued == i + 1)  # type: ignore[misc]
    return threads


def test_queued_threads_run_in_fifo_order() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=5)
    holder = Holder(bh)
    order: list[int] = []
    threads = queue_threads(bh, 5, order)
    holder.let_go()
    join(*threads)
    assert order == [0, 1, 2, 3, 4]
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 6, 0, 1, 5)


def test_release_wakes_exactly_one_waiter() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=3)
    first = Holder(bh)
    gates = [threading.Event() for _ in range(3)]
    entered: list[int] = []

    def make(i: int) -> Callable[[], None]:
        @bh
        def work() -> None:
            entered.append(i)
            assert gates[i].wait(SAFETY)

        return work

    threads = []
    for i in range(3):
        threads.append(start(make(i)))
        wait_until(lambda i=i: bh.metrics().queued == i + 1)  # type: ignore[misc]
    first.let_go()
    wait_until(lambda: entered == [0])
    assert bh.metrics() == BulkheadMetrics(1, 2, 0, 1, 0, 1, 3)
    gates[0].set()
    wait_until(lambda: entered == [0, 1])
    assert bh.metrics() == BulkheadMetrics(1, 1, 0, 2, 0, 1, 3)
    gates[1].set()
    gates[2].set()
    join(*threads)
    assert entered == [0, 1, 2]


def test_thread_queue_timeout_in_virtual_time() -> None:
    clock = FakeClock()
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=5, clock=clock)
    holder = Holder(bh)
    outcome: list[object] = []

    @bh
    def work() -> None:
        outcome.append("ran")

    def caller() -> None:
        try:
            work()
        except BulkheadFullError as exc:
            outcome.append(exc)

    thread = start(caller)
    wait_until(lambda: bh.metrics().queued == 1)
    clock.advance(4.999)
    time.sleep(0.002)
    assert outcome == []
    assert bh.metrics().queued == 1
    clock.advance(0.001)
    join(thread)
    holder.let_go()
    (error,) = outcome
    assert isinstance(error, BulkheadFullError)
    assert error.reason == "queue_timeout"
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 1, 1, 1)


def test_thread_queue_timeout_in_real_time() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=0.002)
    holder = Holder(bh)

    @bh
    def work() -> None:
        raise AssertionError("must not run")

    try:
        with pytest.raises(BulkheadFullError, match="queue_timeout"):
            work()
    finally:
        holder.let_go()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 1, 1, 1)


def test_thread_never_waits_past_its_deadline() -> None:
    clock = FakeClock()
    bh = Bulkhead(max_concurrent=1, max_queue=2, clock=clock)  # no queue_timeout
    holder = Holder(bh)
    outcome: list[object] = []

    @bh
    def work() -> None:
        outcome.append("ran")

    def caller(seconds: float) -> None:
        token = push_deadline(seconds, clock, clock.monotonic())
        try:
            work()
        except BulkheadFullError as exc:
            outcome.append(exc)
        finally:
            reset_deadline(token)

    caller(0.0)  # no time left: refused without queueing
    assert bh.metrics() == BulkheadMetrics(1, 0, 0, 0, 1, 1, 2)
    thread = start(lambda: caller(2.0))
    wait_until(lambda: bh.metrics().queued == 1)
    clock.advance(2.0)
    join(thread)
    holder.let_go()
    assert len(outcome) == 2
    assert all(isinstance(e, BulkheadFullError) and e.reason == "queue_timeout" for e in outcome)
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 2, 1, 2)


def test_deadline_shorter_than_queue_timeout_wins() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=60)
    holder = Holder(bh)

    @timeout(0.002, mode="cooperative")
    @bh
    def work() -> None:
        raise AssertionError("must not run")

    started = time.monotonic()
    try:
        with pytest.raises((BulkheadFullError, ResiliencyTimeoutError)):
            work()
    finally:
        holder.let_go()
    assert time.monotonic() - started < 1.0
    assert bh.metrics().queued == 0


# -- async ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_1000_tasks_never_exceed_the_limit_exact_counts() -> None:
    bh = Bulkhead(max_concurrent=10, max_queue=90)
    gate = anyio.Event()
    running = peak = 0
    rejected = 0

    @bh
    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        await anyio.sleep(0)
        running -= 1

    async def caller() -> None:
        nonlocal rejected
        try:
            await work()
        except BulkheadFullError:
            rejected += 1

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(caller)
            await await_until(lambda: metrics_of(bh, active=10, queued=90, rejected=900))
            gate.set()
    assert rejected == 900
    assert peak == 10
    assert bh.metrics() == BulkheadMetrics(0, 0, 10, 100, 900, 10, 90)


@pytest.mark.anyio
async def test_1000_tasks_hammering_all_complete() -> None:
    bh = Bulkhead(max_concurrent=7, max_queue=1000)
    running = peak = 0

    @bh
    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0)
        running -= 1

    async def caller() -> None:
        for _ in range(3):
            await work()

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(caller)
    assert peak == 7
    assert bh.metrics() == BulkheadMetrics(0, 0, 7, 3000, 0, 7, 1000)


@pytest.mark.anyio
async def test_queued_tasks_run_in_fifo_order_one_per_release() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=5)
    gates = [anyio.Event() for _ in range(6)]
    order: list[int] = []

    @bh
    async def work(i: int) -> None:
        order.append(i)
        await gates[i].wait()

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(work, i)
                await await_until(lambda i=i: len(order) + bh.metrics().queued == i + 1)  # type: ignore[misc]
            for i in range(6):
                await await_until(lambda i=i: order == list(range(i + 1)))  # type: ignore[misc]
                assert bh.metrics().queued == 5 - i
                assert bh.metrics().active == 1
                gates[i].set()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 6, 0, 1, 5)


@pytest.mark.anyio
async def test_cancelled_waiter_leaves_the_queue_and_loses_no_slot() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=3)
    gate = anyio.Event()
    ran: list[str] = []

    @bh
    async def work(tag: str) -> None:
        ran.append(tag)
        if tag == "holder":
            await gate.wait()

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(work, "holder")
            await await_until(lambda: ran == ["holder"])
            tg.start_soon(work, "later")
            await await_until(lambda: bh.metrics().queued == 1)
            scope = anyio.CancelScope()

            async def cancelled_waiter() -> None:
                with scope:
                    await work("cancelled")

            tg.start_soon(cancelled_waiter)
            await await_until(lambda: bh.metrics().queued == 2)
            scope.cancel()
            await await_until(lambda: bh.metrics().queued == 1)
            gate.set()
    assert ran == ["holder", "later"]
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 2, 0, 1, 3)


@pytest.mark.anyio
@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-then-grant", "grant-then-cancel"])
async def test_waiter_cancelled_as_it_is_handed_a_slot_loses_no_slot(cancel_first: bool) -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=2)
    core = bh._core
    ran: list[str] = []

    @bh
    async def work(tag: str) -> None:
        ran.append(tag)

    slot = core._take_locked()  # stand-in for a caller holding the only slot
    assert slot is not None
    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def cancelled() -> None:
                with scope:
                    await work("cancelled")

            tg.start_soon(cancelled)
            await await_until(lambda: bh.metrics().queued == 1)
            tg.start_soon(work, "next")
            await await_until(lambda: bh.metrics().queued == 2)
            # The holder leaves (its slot goes to the first waiter) and the first waiter
            # is cancelled, both before the waiter gets to run.
            if cancel_first:
                scope.cancel()
            slot.uses += 1
            core.free.append(slot)
            core.dispatch()
            if not cancel_first:
                scope.cancel()
    if cancel_first:
        # Woken by its cancellation while holding the grant: it hands the slot on.
        assert ran == ["next"]
    else:
        # Already woken by the grant (the event is set before the cancel lands), it may
        # run first; either way the next waiter runs and no slot is lost.
        assert ran in (["next"], ["cancelled", "next"])
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1 + len(ran), 0, 1, 2)


@pytest.mark.anyio
async def test_task_queue_timeout_in_virtual_time() -> None:
    clock = FakeClock()
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=timedelta(seconds=3), clock=clock)
    gate = anyio.Event()
    outcome: list[object] = []

    @bh
    async def work(hold: bool) -> None:
        if hold:
            await gate.wait()

    async def waiter() -> None:
        try:
            await work(False)
            outcome.append("ran")
        except BulkheadFullError as exc:
            outcome.append(exc)

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(work, True)
            await await_until(lambda: bh.metrics().active == 1)
            tg.start_soon(waiter)
            await await_until(lambda: bh.metrics().queued == 1)
            clock.advance(2.5)
            await anyio.sleep(0)
            assert outcome == []
            await clock.asleep(0.5)  # a task sleeping on the clock moves time too
            await await_until(lambda: len(outcome) == 1)
            gate.set()
    (error,) = outcome
    assert isinstance(error, BulkheadFullError)
    assert error.reason == "queue_timeout"
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 1, 1, 1)


@pytest.mark.anyio
async def test_task_queue_timeout_in_real_time() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=0.002)
    gate = anyio.Event()

    @bh
    async def work(hold: bool) -> None:
        if hold:
            await gate.wait()

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(work, True)
            await await_until(lambda: bh.metrics().active == 1)
            with pytest.raises(BulkheadFullError, match="queue_timeout"):
                await work(False)
            gate.set()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 1, 1, 1)


@pytest.mark.anyio
async def test_task_never_waits_past_its_deadline() -> None:
    clock = FakeClock()
    bh = Bulkhead(max_concurrent=1, max_queue=2, clock=clock)
    gate = anyio.Event()

    @bh
    async def work(hold: bool) -> None:
        if hold:
            await gate.wait()

    @timeout(1.0, clock=clock)
    @bh
    async def bounded() -> None:
        raise AssertionError("must not run")

    outcome: list[BaseException] = []

    async def under_deadline() -> None:
        token = push_deadline(2.0, clock, clock.monotonic())
        try:
            await work(False)
        except BulkheadFullError as exc:
            outcome.append(exc)
        finally:
            reset_deadline(token)

    async def under_timeout() -> None:
        try:
            await bounded()
        except (BulkheadFullError, ResiliencyTimeoutError) as exc:
            outcome.append(exc)

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(work, True)
            await await_until(lambda: bh.metrics().active == 1)
            tg.start_soon(under_deadline)
            tg.start_soon(under_timeout)
            await await_until(lambda: bh.metrics().queued == 2)
            clock.advance(1.0)
            await await_until(lambda: len(outcome) == 1)
            assert bh.metrics().queued == 1
            clock.advance(1.0)
            await await_until(lambda: len(outcome) == 2)
            gate.set()
    assert isinstance(outcome[0], (BulkheadFullError, ResiliencyTimeoutError))
    assert isinstance(outcome[1], BulkheadFullError)
    assert bh.metrics().queued == 0
    assert bh.metrics().available == 1


# -- threads and tasks on one bulkhead ---------------------------------------------------


@pytest.mark.anyio
async def test_a_thread_release_wakes_a_task_of_the_loop() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1)
    holder = Holder(bh)
    done = anyio.Event()

    @bh
    async def work() -> str:
        return threading.current_thread().name

    async def waiter() -> None:
        assert await work() == threading.current_thread().name
        done.set()

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await await_until(lambda: bh.metrics().queued == 1)
            holder.gate.set()  # the holder's thread releases and wakes our task
            await done.wait()
    holder.let_go()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 2, 0, 1, 1)


@pytest.mark.anyio
async def test_a_task_release_wakes_a_thread() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1)
    gate = anyio.Event()
    ran: list[str] = []

    @bh
    async def hold() -> None:
        await gate.wait()

    @bh
    def work() -> None:
        ran.append("thread")

    with anyio.fail_after(SAFETY):
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            await await_until(lambda: bh.metrics().active == 1)
            thread = start(work)
            await await_until(lambda: bh.metrics().queued == 1)
            gate.set()
            await await_until(lambda: not thread.is_alive())
    join(thread)
    assert ran == ["thread"]
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 2, 0, 1, 1)


def test_tasks_of_two_event_loops_share_a_bulkhead() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=4)
    lock = threading.Lock()
    running = peak = 0

    @bh
    async def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await anyio.sleep(0.0002)
        with lock:
            running -= 1

    async def many() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(work)

    threads = [start(functools.partial(anyio.run, many, backend=backend)) for backend in ("asyncio", "trio")]
    join(*threads)
    assert peak == 1
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 4, 0, 1, 4)


class Interrupt(BaseException):
    """Stands for a KeyboardInterrupt that reaches a waiting thread."""


class ExplodingClock(FakeClock):
    """A clock whose timer cannot be set: the waiter is interrupted while queued."""

    def call_at(self, when: float, callback: Callable[[], object]) -> Any:
        raise Interrupt


def test_an_interrupted_thread_waiter_leaves_the_queue() -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1, queue_timeout=1.0, clock=ExplodingClock())
    holder = Holder(bh)

    @bh
    def work() -> None:
        raise AssertionError("must not run")

    try:
        with pytest.raises(Interrupt):
            work()
        assert bh.metrics() == BulkheadMetrics(1, 0, 0, 0, 0, 1, 1)
    finally:
        holder.let_go()
    assert bh.metrics() == BulkheadMetrics(0, 0, 1, 1, 0, 1, 1)


# -- the core ---------------------------------------------------------------------------


class DeadWaiter:
    """A waiter whose event loop is gone: waking it fails."""

    def __init__(self) -> None:
        self.state = WAITING
        self.slot: Any = None

    def wake(self) -> bool:
        return False


def test_a_slot_granted_to_a_waiter_whose_loop_is_gone_goes_on() -> None:
    core = Slots(BulkheadPolicy(max_concurrent=1, max_queue=2))
    slot = core.admit(DeadWaiter(), True)  # type: ignore[arg-type]
    assert isinstance(slot, Slot)
    dead = DeadWaiter()
    alive = DeadWaiter()
    alive.wake = lambda: True  # type: ignore[method-assign]
    core.queue.extend([dead, alive])
    core.free.append(slot)
    core.dispatch()
    assert dead.state == RETURNED
    assert alive.state == GRANTED
    assert alive.slot is slot
    assert not core.free
    assert not core.queue


def test_admit_takes_a_slot_freed_since_the_fast_path_missed() -> None:
    core = Slots(BulkheadPolicy(max_concurrent=1))
    waiter = DeadWaiter()
    assert core.admit(waiter, True) is core.made[0]  # type: ignore[arg-type]
    assert core.admit(waiter, True) == "full"  # type: ignore[arg-type]
    assert core.rejected == 1


def test_waking_a_task_whose_loop_is_closed_fails() -> None:
    waiters: list[AsyncWaiter] = []

    async def make() -> None:
        waiters.append(AsyncWaiter())

    join(start(lambda: asyncio.run(make())))
    assert waiters[0].wake() is False  # another thread, and its loop is gone


# -- registry ---------------------------------------------------------------------------


def test_named_bulkhead_is_shared_through_the_registry(registry: Registry) -> None:
    first = bulkhead("db", max_concurrent=5, registry=registry)
    second = bulkhead("db", max_concurrent=5, registry=registry)
    plain = bulkhead("db", registry=registry)  # no settings: take it as it is
    assert first is second is plain
    assert isinstance(first, Bulkhead)
    assert registry.bulkhead("db") is first
    assert first.policy.max_concurrent == 5

    @bulkhead("db", registry=registry)
    def a() -> None:
        pass

    @bulkhead("db", policy=BulkheadPolicy(max_concurrent=5), registry=registry)
    def b() -> None:
        pass

    a()
    b()
    assert describe(a) == describe(b) == [first]
    assert first.metrics().completed == 2


def test_conflicting_named_settings_are_a_value_error(registry: Registry) -> None:
    bulkhead("db", max_concurrent=5, registry=registry)
    with pytest.raises(ValueError, match="'db' is already declared with other settings"):
        bulkhead("db", max_concurrent=6, registry=registry)
    with pytest.raises(ValueError, match="'db' is already declared"):
        Bulkhead("db", max_concurrent=5, registry=registry)
    other = Bulkhead("other", registry=registry)
    assert registry.bulkhead("other") is other
    assert registry.names("bulkhead") == ["db", "other"]
    assert Bulkhead(registry=registry).name is None
    assert registry.names("bulkhead") == ["db", "other"]
    with pytest.raises(KeyError, match="known: db, other"):
        registry.bulkhead("nope")
