"""Fault injection: ``faults`` and ``FaultyProvider`` on functions, objects and providers."""

from __future__ import annotations

import inspect
import threading
from datetime import timedelta
from typing import Any

import anyio
import pytest

from resiliency import (
    FailoverGroup,
    PolicyConfig,
    Registry,
    ResiliencyTimeoutError,
    RetryPolicy,
    provider,
    provider_from_callable,
    retry,
    timeout,
)
from resiliency._decorators import is_async_callable
from resiliency.testing import FakeClock, Fault, FaultyProvider, faults


class Quota(Exception):
    """An exception carrying data, to check that each raise gets a fresh copy."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after)
        self.retry_after = retry_after


def double(x: int) -> int:
    """Double x."""
    return 2 * x


async def adouble(x: int) -> int:
    """Double x, asynchronously."""
    await anyio.lowlevel.checkpoint()
    return 2 * x


def outcomes(fn: Any, n: int) -> list[object]:
    """Call ``fn(1)`` n times; return each result or the exception type."""
    seen: list[object] = []
    for _ in range(n):
        try:
            seen.append(fn(1))
        except Exception as exc:
            seen.append(type(exc))
    return seen


# -- counts, sync and async ----------------------------------------------------------------


def test_fail_times_fails_exactly_n_calls_then_passes() -> None:
    flaky = FaultyProvider(double, faults.fail_times(2))
    assert outcomes(flaky, 4) == [ConnectionError, ConnectionError, 2, 2]
    assert (flaky.calls, flaky.failures, flaky.injected, flaky.reached, flaky.successes) == (4, 2, 2, 2, 2)


@pytest.mark.anyio
async def test_fail_times_on_an_async_function() -> None:
    flaky = FaultyProvider(adouble, faults.fail_times(2, exc=TimeoutError))
    seen: list[object] = []
    for _ in range(3):
        try:
            seen.append(await flaky(1))
        except TimeoutError as exc:
            seen.append(str(exc))
    assert seen == ["injected fault", "injected fault", 2]
    assert (flaky.calls, flaky.injected, flaky.reached) == (3, 2, 1)


def test_retry_over_a_faulty_function_counts_every_attempt() -> None:
    clock = FakeClock()
    flaky = FaultyProvider(double, faults.fail_times(3))
    fetch = retry(max_attempts=5, backoff="constant", base_delay=2.0, clock=clock)(flaky)
    assert fetch(21) == 42
    assert (flaky.calls, flaky.injected, flaky.reached) == (4, 3, 1)
    assert clock.sleeps == [2.0, 2.0, 2.0]


@pytest.mark.anyio
async def test_retry_over_an_async_faulty_function() -> None:
    clock = FakeClock()
    flaky = FaultyProvider(adouble, faults.fail_times(4))
    fetch = retry(max_attempts=5, backoff="constant", base_delay=1.0, clock=clock)(flaky)
    assert inspect.iscoroutinefunction(fetch)
    assert await fetch(5) == 10
    assert (flaky.calls, flaky.injected) == (5, 4)
    assert clock.monotonic() == 4.0


def test_the_targets_own_errors_count_as_failures_not_injected() -> None:
    def broken(x: int) -> int:
        raise KeyError(x)

    flaky = FaultyProvider(broken, faults.fail_times(1))
    assert outcomes(flaky, 3) == [ConnectionError, KeyError, KeyError]
    assert (flaky.failures, flaky.injected, flaky.reached) == (3, 1, 2)


def test_each_raise_is_a_fresh_copy_of_the_given_exception() -> None:
    template = Quota("slow down", retry_after=7.0)
    flaky = FaultyProvider(double, faults.fail_always(template))
    raised: list[BaseException] = []
    for _ in range(2):
        with pytest.raises(Quota) as excinfo:
            flaky(1)
        raised.append(excinfo.value)
    first, second = raised
    assert first is not second
    assert first is not template
    assert (first.args, getattr(first, "retry_after", None)) == (("slow down", 7.0), 7.0)
    assert template.__traceback__ is None


def test_an_exception_factory_is_called_for_each_raise() -> None:
    made: list[int] = []

    def make() -> Exception:
        made.append(1)
        return OSError(f"disk {len(made)}")

    flaky = FaultyProvider(double, faults.fail_times(2, exc=make))
    messages = []
    for _ in range(2):
        with pytest.raises(OSError) as excinfo:
            flaky(1)
        messages.append(str(excinfo.value))
    assert messages == ["disk 1", "disk 2"]


def test_after_and_times_choose_the_calls_hit() -> None:
    flaky = FaultyProvider(double, faults.fail_times(2, after=1))
    assert outcomes(flaky, 5) == [2, ConnectionError, ConnectionError, 2, 2]
    worse = FaultyProvider(double, faults.fail_always(after=2))
    assert outcomes(worse, 4) == [2, 2, ConnectionError, ConnectionError]


# -- fail_rate: seeded, reproducible -------------------------------------------------------


def test_fail_rate_is_reproducible_with_a_seed() -> None:
    first = FaultyProvider(double, faults.fail_rate(0.3, seed=42))
    second = FaultyProvider(double, faults.fail_rate(0.3, seed=42))
    pattern = outcomes(first, 200)
    assert outcomes(second, 200) == pattern
    failed = pattern.count(ConnectionError)
    assert 40 <= failed <= 80  # about 30 % of 200
    assert first.injected == failed


def test_reset_restarts_the_counters_and_the_seeded_stream() -> None:
    flaky = FaultyProvider(double, faults.fail_rate(0.5, seed=3), faults.fail_times(1, after=10))
    pattern = outcomes(flaky, 20)
    flaky.reset()
    assert (flaky.calls, flaky.failures) == (0, 0)
    assert outcomes(flaky, 20) == pattern


def test_rate_one_always_fails_and_bad_rates_are_refused() -> None:
    assert outcomes(FaultyProvider(double, faults.fail_rate(1.0)), 3) == [ConnectionError] * 3
    for rate, error in [(0, ValueError), (1.5, ValueError), ("0.5", TypeError), (True, TypeError)]:
        with pytest.raises(error, match="rate must be a rate in"):
            faults.fail_rate(rate)  # type: ignore[arg-type]


# -- latency, hang, bad results --------------------------------------------------------------


def test_latency_sleeps_on_the_given_clock_before_each_call() -> None:
    clock = FakeClock()
    slow = FaultyProvider(double, faults.latency(timedelta(seconds=1.5), clock, times=2))
    assert [slow(1), slow(2), slow(3)] == [2, 4, 6]
    assert clock.sleeps == [1.5, 1.5]
    assert clock.monotonic() == 3.0


def test_latency_reads_the_process_clock_at_call_time() -> None:
    slow = FaultyProvider(double, faults.latency(30))
    with FakeClock() as clock:
        assert slow(1) == 2
    assert clock.monotonic() == 30.0


@pytest.mark.anyio
async def test_async_latency_under_a_timeout_times_out_in_virtual_time() -> None:
    clock = FakeClock()
    slow = FaultyProvider(adouble, faults.latency(10, clock))
    guarded = timeout(3, clock=clock)(slow)
    with pytest.raises(ResiliencyTimeoutError):
        await guarded(1)
    assert clock.monotonic() == 3.0
    assert (slow.calls, slow.reached) == (1, 0)


@pytest.mark.anyio
async def test_a_hang_waits_until_cancelled() -> None:
    clock = FakeClock()
    stuck = FaultyProvider(adouble, faults.hang(clock))
    with anyio.CancelScope() as scope:
        clock.call_at(120.0, scope.cancel)
        await stuck(1)
    assert scope.cancelled_caught
    assert clock.monotonic() == 120.0
    assert (stuck.calls, stuck.reached, stuck.failures) == (1, 0, 0)  # a cancellation is no failure


@pytest.mark.anyio
async def test_a_hang_under_retry_and_timeout_times_out_each_attempt() -> None:
    clock = FakeClock()
    stuck = FaultyProvider(adouble, faults.hang(clock, times=2))
    call = retry(max_attempts=3, backoff="none", retry_on=TimeoutError, clock=clock)(
        timeout(5, clock=clock)(stuck),
    )
    assert await call(4) == 8
    assert clock.monotonic() == 10.0
    assert (stuck.calls, stuck.reached) == (3, 1)


@pytest.mark.usefixtures("no_thread_leak")
def test_a_sync_hang_blocks_the_thread_until_released() -> None:
    hang = faults.hang()
    stuck = FaultyProvider(double, hang)
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(stuck(3)))
    worker.start()
    worker.join(0.02)
    assert worker.is_alive()
    assert results == []
    hang.release()
    worker.join(2)
    assert results == [6]
    assert stuck(4) == 8  # released for good


def test_bad_result_replaces_the_answer_without_calling_the_target() -> None:
    calls: list[int] = []

    def answer(x: int) -> str:
        calls.append(x)
        return "good"

    garbage = FaultyProvider(answer, faults.bad_result("", times=2))
    fetch = retry(max_attempts=5, backoff="none", retry_if_result=lambda r: r == "")(garbage)
    assert fetch(1) == "good"
    assert calls == [1]
    assert (garbage.calls, garbage.successes, garbage.reached) == (3, 3, 1)


def test_faults_apply_in_order() -> None:
    clock = FakeClock()
    flaky = FaultyProvider(double, faults.latency(1, clock), faults.fail_times(1), faults.bad_result(0, times=1))
    assert outcomes(flaky, 3) == [ConnectionError, 0, 2]
    assert clock.monotonic() == 3.0  # the latency came first, on every call


# -- decorators, objects, failover --------------------------------------------------------


def test_a_fault_decorates_a_function_keeping_its_face() -> None:
    @faults.fail_times(1)
    def greet(name: str, *, loud: bool = False) -> str:
        """Say hello."""
        return f"hello {name}"

    assert isinstance(greet, FaultyProvider)
    assert (greet.__name__, greet.__doc__, greet.name) == ("greet", "Say hello.", "greet")
    assert str(inspect.signature(greet)) == "(name: 'str', *, loud: 'bool' = False) -> 'str'"
    assert not is_async_callable(greet)
    assert outcomes(lambda _: greet("ann"), 2) == [ConnectionError, "hello ann"]


@pytest.mark.anyio
async def test_inject_decorates_an_async_function_with_several_faults() -> None:
    clock = FakeClock()

    @faults.inject(faults.latency(2, clock), faults.fail_times(1), name="llm")
    async def complete(prompt: str) -> str:
        return prompt.upper()

    assert is_async_callable(complete)
    assert complete.name == "llm"
    with pytest.raises(ConnectionError):
        await complete("hi")
    assert await complete("hi") == "HI"
    assert clock.monotonic() == 4.0


@pytest.mark.anyio
async def test_a_fault_on_a_method_binds_to_the_instance() -> None:
    class Client:
        def __init__(self) -> None:
            self.base = 10

        @faults.fail_times(1)
        def get(self, x: int) -> int:
            return self.base + x

        @faults.fail_times(1)
        async def aget(self, x: int) -> int:
            return self.base + x

    client = Client()
    assert outcomes(client.get, 2) == [ConnectionError, 11]
    with pytest.raises(ConnectionError):
        await client.aget(1)
    assert await client.aget(2) == 12
    assert inspect.iscoroutinefunction(client.aget)
    assert Client.__dict__["get"].calls == 2


@pytest.mark.anyio
async def test_an_object_proxy_faults_its_public_methods() -> None:
    class Storage:
        region = "eu"

        def put(self, key: str) -> str:
            return f"put {key}"

        async def get(self, key: str) -> str:
            return f"got {key}"

        def _private(self) -> str:
            return "untouched"

    proxy = FaultyProvider(Storage(), faults.fail_times(2), name="s3")
    assert proxy.region == "eu"
    assert proxy._private() == "untouched"
    with pytest.raises(ConnectionError):
        proxy.put("a")
    with pytest.raises(ConnectionError):
        await proxy.get("a")
    assert proxy.put("b") == "put b"
    assert await proxy.get("b") == "got b"
    assert (proxy.calls, proxy.injected, proxy.reached) == (4, 2, 2)
    assert repr(proxy).startswith("<FaultyProvider 's3' calls=4 failures=2")


def test_methods_narrows_the_faulted_methods() -> None:
    class Api:
        def read(self) -> str:
            return "read"

        def write(self) -> str:
            return "written"

    proxy = FaultyProvider(Api(), faults.fail_always(), methods=["write"])
    assert proxy.read() == "read"
    with pytest.raises(ConnectionError):
        proxy.write()
    with pytest.raises(TypeError, match="methods must be a collection"):
        FaultyProvider(Api(), methods="write")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="faults must be Fault objects"):
        FaultyProvider(double, ConnectionError())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exc must be an exception"):
        faults.fail_times(1, exc="boom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        faults.fail_times(0)
    with pytest.raises(ValueError, match="after must be an int >= 0"):
        faults.fail_always(after=-1)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        faults.latency(-1)
    with pytest.raises(TypeError, match="needs a callable target"):
        FaultyProvider(object()).as_provider()
    assert isinstance(faults.bad_result(None), Fault)


@pytest.mark.anyio
async def test_faulty_providers_in_a_failover_group() -> None:
    clock = FakeClock()
    group = FailoverGroup(
        "storage",
        policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="constant", base_delay=0.5, max_delay=0.5)),
        registry=Registry(),
        clock=clock,
    )

    async def upload(key: str) -> str:
        return f"stored {key}"

    s3 = FaultyProvider(upload, faults.fail_always(), name="s3")
    r2 = FaultyProvider(upload, faults.latency(0.2, clock), name="r2")
    group.register(s3.as_provider("upload"), provider_from_callable("r2", r2, op="upload", priority=1))
    assert await group.execute("upload", "a.txt") == "stored a.txt"
    assert (s3.calls, s3.injected, r2.calls) == (2, 2, 1)
    assert clock.monotonic() == pytest.approx(0.7)


def test_a_sync_faulty_provider_through_provider_from_callable() -> None:
    group = FailoverGroup("search", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=Registry())
    primary = FaultyProvider(double, faults.fail_times(1))
    group.register(provider_from_callable("primary", primary), provider_from_callable("backup", double, priority=1))
    assert group.execute_sync("default", 4) == 8  # primary failed, backup answered
    assert group.execute_sync("default", 5) == 10  # primary again
    assert (primary.calls, primary.reached) == (2, 1)


@pytest.mark.anyio
async def test_provider_marks_a_faulty_plain_function() -> None:
    group = FailoverGroup("geo", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=Registry())

    @provider("paid", op="lookup", group=group)
    @faults.fail_always()
    async def paid(query: str) -> str:
        return f"paid {query}"

    @provider("free", op="lookup", group=group, priority=1)
    async def free(query: str) -> str:
        return f"free {query}"

    assert await group.execute("lookup", "Paris") == "free Paris"
    assert (paid.calls, paid.injected) == (1, 1)
