"""``@retry``: attempts, what is re-raised, backoff sleeps, Retry-After, budgets, events."""

from __future__ import annotations

import random
import threading
import traceback
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from freezegun import freeze_time

import resiliency
from resiliency import (
    BulkheadFullError,
    CircuitOpenError,
    RetryPolicy,
    RetryResult,
    retry,
    timeout,
)
from resiliency._events import RetryScheduled
from resiliency.testing import FakeClock, set_clock


class Flaky(Exception):
    """An error that records which attempt raised it."""

    def __init__(self, attempt: int) -> None:
        super().__init__(f"attempt {attempt}")
        self.attempt = attempt


class Hinted(Exception):
    """An error carrying a Retry-After hint in whichever form a test gives."""

    def __init__(self, retry_after: object = None, headers: object = None) -> None:
        super().__init__("hinted")
        if retry_after is not None:
            self.retry_after = retry_after
        if headers is not None:
            self.response = type("Response", (), {"headers": headers})()


class Counter:
    """Counts calls; fails (with a fresh ``Flaky``) until ``succeed_on``, if given."""

    def __init__(self, succeed_on: int | None = None, result: object = "ok") -> None:
        self.calls = 0
        self.errors: list[Flaky] = []
        self.succeed_on = succeed_on
        self.result = result

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        self.calls += 1
        if self.succeed_on is not None and self.calls >= self.succeed_on:
            return self.result
        error = Flaky(self.calls)
        self.errors.append(error)
        raise error


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- attempts and what comes out ------------------------------------------------------


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_attempts_are_counted_exactly(clock: FakeClock, max_attempts: int) -> None:
    counter = Counter()
    flaky = retry(max_attempts=max_attempts, backoff="constant", base_delay=1.0, clock=clock)(counter)
    with pytest.raises(Flaky):
        flaky()
    assert counter.calls == max_attempts
    assert clock.sleeps == [1.0] * (max_attempts - 1)


def test_success_after_failures_returns_value_and_stops(clock: FakeClock) -> None:
    counter = Counter(succeed_on=3, result=42)
    assert retry(max_attempts=5, clock=clock)(counter)() == 42
    assert counter.calls == 3
    assert len(clock.sleeps) == 2


def test_success_first_time_never_touches_the_clock(clock: FakeClock) -> None:
    counter = Counter(succeed_on=1)
    assert retry(clock=clock)(counter)() == "ok"
    assert counter.calls == 1
    assert clock.sleeps == []
    assert clock.monotonic() == 0.0


def test_last_exception_is_reraised_unchanged(clock: FakeClock) -> None:
    errors: list[Flaky] = []

    @retry(max_attempts=3, clock=clock)
    def users_function() -> None:
        error = Flaky(len(errors) + 1)
        errors.append(error)
        raise error

    with pytest.raises(Flaky) as excinfo:
        users_function()
    assert excinfo.value is errors[-1]
    assert excinfo.value.attempt == 3
    frames = [frame.name for frame in traceback.extract_tb(excinfo.value.__traceback__)]
    assert "users_function" in frames
    assert frames[-1] == "users_function"


def test_the_last_error_is_not_chained_to_earlier_attempts(clock: FakeClock) -> None:
    counter = Counter()
    with pytest.raises(Flaky) as excinfo:
        retry(max_attempts=3, clock=clock)(counter)()
    assert excinfo.value.__context__ is None
    assert excinfo.value.__cause__ is None


def test_calls_from_many_threads_retry_independently(clock: FakeClock) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def make_call(n: int) -> None:
        calls = 0

        def fn() -> int:
            nonlocal calls
            calls += 1
            if calls < 3:
                raise ConnectionError
            return n

        value = retry(max_attempts=3, backoff="none")(fn)()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=make_call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(8))


@pytest.mark.anyio
async def test_concurrent_async_calls_keep_their_own_attempts(clock: FakeClock) -> None:
    calls: dict[int, int] = {}
    results: dict[int, int] = {}

    @retry(max_attempts=4, backoff="constant", base_delay=1.0, clock=clock)
    async def fn(n: int) -> int:
        calls[n] = calls.get(n, 0) + 1
        await anyio.sleep(0)
        if calls[n] <= n:
            raise ConnectionError(n)
        return n * 10

    async def run(n: int) -> None:
        results[n] = await fn(n)

    async with anyio.create_task_group() as group:
        for n in range(4):
            group.start_soon(run, n)
    assert results == {0: 0, 1: 10, 2: 20, 3: 30}
    assert calls == {0: 1, 1: 2, 2: 3, 3: 4}
    assert sorted(clock.sleeps) == [1.0] * 6


def test_arguments_are_passed_to_every_attempt(clock: FakeClock) -> None:
    seen: list[tuple[Any, ...]] = []

    @retry(max_attempts=3, clock=clock)
    def fn(a: int, *, b: str) -> str:
        seen.append((a, b))
        if len(seen) < 3:
            raise ConnectionError
        return f"{a}{b}"

    assert fn(1, b="x") == "1x"
    assert seen == [(1, "x")] * 3


def test_last_result_is_returned_when_retry_if_result_keeps_failing(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=4, retry_if_result=lambda r: r is None or r < 10, clock=clock)
    def poll() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert poll() == 4
    assert calls == 4
    assert len(clock.sleeps) == 3


def test_retry_if_result_stops_on_good_result(clock: FakeClock) -> None:
    results = iter([None, None, "done", "never"])

    @retry(max_attempts=5, retry_if_result=lambda r: r is None, clock=clock)
    def poll() -> str | None:
        return next(results)

    assert poll() == "done"
    assert len(clock.sleeps) == 2


def test_retry_on_types_only_retries_those(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=5, retry_on=(ConnectionError, TimeoutError), clock=clock)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise (ConnectionError if calls < 3 else ValueError)("boom")

    with pytest.raises(ValueError, match="boom"):
        fn()
    assert calls == 3


def test_retry_on_single_type(clock: FakeClock) -> None:
    counter = Counter()
    with pytest.raises(Flaky):
        retry(max_attempts=3, retry_on=KeyError, clock=clock)(counter)()
    assert counter.calls == 1
    assert clock.sleeps == []


def test_retry_on_predicate(clock: FakeClock) -> None:
    counter = Counter()
    seen: list[BaseException] = []

    def predicate(exc: BaseException) -> bool:
        seen.append(exc)
        return isinstance(exc, Flaky) and exc.attempt < 2

    with pytest.raises(Flaky) as excinfo:
        retry(max_attempts=5, retry_on=predicate, clock=clock)(counter)()
    assert counter.calls == 2
    assert excinfo.value.attempt == 2
    assert seen == counter.errors


@pytest.mark.parametrize(
    "error",
    [CircuitOpenError(None, 1.0), BulkheadFullError(None)],
    ids=["circuit_open", "bulkhead_full"],
)
def test_rejections_are_not_retried_by_default(clock: FakeClock, error: Exception) -> None:
    calls = 0

    @retry(max_attempts=3, clock=clock)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        fn()
    assert calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [CircuitOpenError(None, 0.0), BulkheadFullError(None)],
    ids=["circuit_open", "bulkhead_full"],
)
def test_rejections_are_retried_when_named(clock: FakeClock, error: Exception) -> None:
    calls = 0

    @retry(max_attempts=3, retry_on=(type(error), ValueError), backoff="constant", base_delay=0.5, clock=clock)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(type(error)):
        fn()
    assert calls == 3


def test_base_exception_is_never_retried(clock: FakeClock) -> None:
    class Stop(BaseException):
        pass

    calls = 0

    @retry(max_attempts=3, retry_on=lambda exc: True, clock=clock)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise Stop

    with pytest.raises(Stop):
        fn()
    assert calls == 1


# -- backoff sleeps ---------------------------------------------------------------------


def _sleeps(clock: FakeClock, attempts: int | None = 5, **fields: Any) -> list[float]:
    """Run an always-failing function; check it was tried ``attempts`` times; return the sleeps."""
    counter = Counter()
    if attempts is not None:
        fields["max_attempts"] = attempts
    with pytest.raises(Flaky):
        retry(clock=clock, **fields)(counter)()
    if attempts is not None:
        assert counter.calls == attempts
    return clock.sleeps


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        ("constant", [1.0, 1.0, 1.0, 1.0]),
        ("linear", [1.0, 2.0, 3.0, 4.0]),
        ("exponential", [1.0, 2.0, 4.0, 8.0]),
        ("fibonacci", [1.0, 1.0, 2.0, 3.0]),
    ],
)
def test_deterministic_backoff_sleeps(clock: FakeClock, backoff: str, expected: list[float]) -> None:
    assert _sleeps(clock, backoff=backoff, base_delay=1.0) == expected


def test_exponential_multiplier_and_max_delay(clock: FakeClock) -> None:
    assert _sleeps(clock, 6, backoff="exponential", base_delay=0.5, multiplier=3.0, max_delay=10.0) == [
        0.5,
        1.5,
        4.5,
        10.0,
        10.0,
    ]


def test_full_jitter_sleeps_with_seeded_rng(clock: FakeClock) -> None:
    twin = random.Random(0)
    expected = [twin.uniform(0.0, 2.0**n) for n in range(4)]
    assert _sleeps(clock, backoff="full_jitter", base_delay=1.0, rng=random.Random(0)) == expected
    assert expected == pytest.approx([0.8444, 1.5159, 1.6823, 2.0713], abs=1e-4)


def test_equal_jitter_sleeps_with_seeded_rng(clock: FakeClock) -> None:
    twin = random.Random(0)
    expected = [2.0**n / 2 + twin.uniform(0.0, 2.0**n / 2) for n in range(4)]
    sleeps = _sleeps(clock, backoff="equal_jitter", base_delay=1.0, rng=random.Random(0))
    assert sleeps == pytest.approx(expected, rel=1e-12)
    for n, delay in enumerate(sleeps):
        assert 2.0**n / 2 <= delay <= 2.0**n


def test_decorrelated_jitter_sleeps_with_seeded_rng(clock: FakeClock) -> None:
    twin = random.Random(0)
    expected: list[float] = []
    previous = 1.0
    for _ in range(4):
        previous = twin.uniform(1.0, min(3.0 * previous, 30.0))
        expected.append(previous)
    assert _sleeps(clock, backoff="decorrelated_jitter", base_delay=1.0, rng=random.Random(0)) == pytest.approx(
        expected, rel=1e-12
    )


def test_same_seed_same_sleeps() -> None:
    first, second = FakeClock(), FakeClock()
    assert _sleeps(first, backoff="full_jitter", rng=random.Random(7)) == _sleeps(
        second, backoff="full_jitter", rng=random.Random(7)
    )


def test_callable_backoff_gets_attempt_and_previous(clock: FakeClock) -> None:
    calls: list[tuple[int, float]] = []

    def backoff(attempt: int, previous: float) -> float:
        calls.append((attempt, previous))
        return attempt * 0.5

    assert _sleeps(clock, 4, backoff=backoff) == [0.5, 1.0, 1.5]
    assert calls == [(1, 0.0), (2, 0.5), (3, 1.0)]


def test_callable_backoff_is_capped_by_max_delay(clock: FakeClock) -> None:
    assert _sleeps(clock, 3, backoff=lambda attempt, previous: 100.0, max_delay=2.0) == [2.0, 2.0]


@pytest.mark.parametrize(
    "fields",
    [{"backoff": "none"}, {"backoff": "constant", "base_delay": 0.0}, {"backoff": lambda a, p: 0.0}],
    ids=["none", "zero_base", "callable_zero"],
)
def test_zero_delay_never_calls_sleep(clock: FakeClock, fields: dict[str, Any]) -> None:
    assert _sleeps(clock, 4, **fields) == []


# -- Retry-After ------------------------------------------------------------------------


def _hinted_sleeps(clock: FakeClock, error: Hinted, **fields: Any) -> tuple[int, list[float]]:
    calls = 0

    @retry(max_attempts=2, backoff="constant", base_delay=1.0, clock=clock, **fields)
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise error

    with pytest.raises(Hinted) as excinfo:
        fn()
    assert excinfo.value is error
    return calls, clock.sleeps


def test_retry_after_attribute_replaces_delay(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(retry_after=7)) == (2, [7.0])


def test_retry_after_header_seconds_replaces_delay(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(headers={"Retry-After": "3"})) == (2, [3.0])


def test_retry_after_header_http_date_replaces_delay(clock: FakeClock) -> None:
    with freeze_time("2015-10-21 07:27:00"):
        result = _hinted_sleeps(clock, Hinted(headers={"retry-after": "Wed, 21 Oct 2015 07:27:30 GMT"}))
    assert result == (2, [30.0])


def test_retry_after_below_computed_delay_still_wins(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(retry_after=0.25)) == (2, [0.25])


def test_retry_after_above_max_is_reraised_without_sleeping(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(retry_after=61)) == (1, [])
    assert _hinted_sleeps(clock, Hinted(retry_after=5), max_retry_after=4.0) == (1, [])


def test_retry_after_equal_to_max_is_slept(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(retry_after=60)) == (2, [60.0])


def test_respect_retry_after_false_uses_computed_delay(clock: FakeClock) -> None:
    assert _hinted_sleeps(clock, Hinted(retry_after=7), respect_retry_after=False) == (2, [1.0])
    assert _hinted_sleeps(FakeClock(), Hinted(retry_after=600), respect_retry_after=False) == (2, [1.0])


# -- budgets and deadlines ---------------------------------------------------------------


def test_max_total_time_stops_before_sleeping_past_it(clock: FakeClock) -> None:
    # t=0 fail, 0+1 <= 2.5: sleep; t=1 fail, 1+1 <= 2.5: sleep; t=2 fail, 2+1 > 2.5: stop
    assert _sleeps(clock, None, max_attempts=10, backoff="constant", base_delay=1.0, max_total_time=2.5) == [
        1.0,
        1.0,
    ]


def test_max_total_time_counts_time_spent_in_calls(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=10, backoff="constant", base_delay=1.0, max_total_time=5.0, clock=clock)
    def slow() -> None:
        nonlocal calls
        calls += 1
        clock.advance(1.5)
        raise Flaky(calls)

    with pytest.raises(Flaky):
        slow()
    # t=1.5 fail, sleep -> 2.5; t=4.0 fail, 4.0+1 = 5.0 still fits; t=6.5 fail -> stop
    assert calls == 3
    assert clock.sleeps == [1.0, 1.0]


@pytest.mark.parametrize("mode", ["cooperative", "thread"])
def test_retry_never_sleeps_past_a_sync_deadline(clock: FakeClock, mode: Any) -> None:
    counter = Counter()
    fn = timeout(1.0, mode=mode, clock=clock)(
        retry(max_attempts=10, backoff="constant", base_delay=0.4, clock=clock)(counter)
    )
    with pytest.raises(Flaky) as excinfo:
        fn()
    assert excinfo.value is counter.errors[-1]
    assert counter.calls == 3
    assert clock.sleeps == [0.4, 0.4]
    assert clock.monotonic() == pytest.approx(0.8)


def test_retry_stops_when_delay_equals_remaining(clock: FakeClock) -> None:
    counter = Counter()
    fn = timeout(1.0, mode="cooperative", clock=clock)(
        retry(max_attempts=10, backoff="constant", base_delay=0.5, clock=clock)(counter)
    )
    with pytest.raises(Flaky):
        fn()
    assert counter.calls == 2
    assert clock.sleeps == [0.5]


@pytest.mark.anyio
async def test_retry_never_sleeps_past_an_async_deadline(clock: FakeClock) -> None:
    calls = 0

    @timeout(1.0, clock=clock)
    @retry(max_attempts=10, backoff="constant", base_delay=0.4, clock=clock)
    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise Flaky(calls)

    with pytest.raises(Flaky) as excinfo:
        await fn()
    assert excinfo.value.attempt == 3
    assert clock.sleeps == [0.4, 0.4]


# -- events ---------------------------------------------------------------------------------


def test_on_retry_receives_retry_scheduled_events(clock: FakeClock) -> None:
    events: list[RetryScheduled] = []
    counter = Counter()
    with pytest.raises(Flaky):
        retry(max_attempts=3, backoff="linear", base_delay=1.0, on_retry=events.append, clock=clock, name="job")(
            counter
        )()
    assert [(e.attempt, e.delay) for e in events] == [(1, 1.0), (2, 2.0)]
    assert [e.error for e in events] == counter.errors[:2]
    assert all(type(e) is RetryScheduled and e.name == "job" for e in events)


def test_on_retry_for_a_refused_result_carries_the_result(clock: FakeClock) -> None:
    events: list[RetryScheduled] = []

    @retry(max_attempts=2, retry_if_result=lambda r: r == "bad", on_retry=events.append, clock=clock)
    def fn() -> str:
        return "bad"

    assert fn() == "bad"
    assert [(e.attempt, e.error, e.result) for e in events] == [(1, None, "bad")]


def test_on_retry_that_raises_does_not_break_the_retry(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    def hook(event: RetryScheduled) -> None:
        raise RuntimeError("hook broke")

    counter = Counter(succeed_on=3)
    assert retry(max_attempts=3, on_retry=hook, clock=clock)(counter)() == "ok"
    assert "hook broke" in caplog.text


def test_registry_listeners_get_retry_scheduled(clock: FakeClock, registry: resiliency.Registry) -> None:
    events: list[object] = []
    registry.subscribe(events.append)
    counter = Counter(succeed_on=3)
    retry(max_attempts=3, backoff="constant", base_delay=2.0, clock=clock, registry=registry, name="r")(counter)()
    assert events == [
        RetryScheduled("r", 1, 2.0, counter.errors[0]),
        RetryScheduled("r", 2, 2.0, counter.errors[1]),
    ]


def test_default_registry_gets_nothing_from_an_isolated_retry(clock: FakeClock, registry: resiliency.Registry) -> None:
    events: list[object] = []
    unsubscribe = resiliency.registry.subscribe(events.append)
    try:
        retry(max_attempts=2, clock=clock, registry=registry)(Counter(succeed_on=2))()
    finally:
        unsubscribe()
    assert events == []


# -- async ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_attempts_and_sleeps(clock: FakeClock) -> None:
    errors: list[Flaky] = []

    @retry(max_attempts=4, backoff="exponential", base_delay=1.0, clock=clock)
    async def users_coroutine() -> None:
        error = Flaky(len(errors) + 1)
        errors.append(error)
        raise error

    with pytest.raises(Flaky) as excinfo:
        await users_coroutine()
    assert excinfo.value is errors[-1]
    assert len(errors) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]
    frames = [frame.name for frame in traceback.extract_tb(excinfo.value.__traceback__)]
    assert frames[-1] == "users_coroutine"


@pytest.mark.anyio
async def test_async_success_after_failures(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=3, clock=clock)
    async def fn(x: int) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError
        return x * 2

    assert await fn(21) == 42
    assert calls == 3


@pytest.mark.anyio
async def test_async_retry_if_result_and_retry_after(clock: FakeClock) -> None:
    outcomes: list[Any] = [Hinted(retry_after=2), None, "done"]

    @retry(max_attempts=5, backoff="constant", base_delay=1.0, retry_if_result=lambda r: r is None, clock=clock)
    async def fn() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    assert await fn() == "done"
    assert clock.sleeps == [2.0, 1.0]


@pytest.mark.anyio
async def test_async_on_retry_hook_may_be_async(clock: FakeClock) -> None:
    seen: list[int] = []

    async def hook(event: RetryScheduled) -> None:
        seen.append(event.attempt)

    calls = 0

    @retry(max_attempts=3, on_retry=hook, clock=clock)
    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise Flaky(calls)

    with pytest.raises(Flaky):
        await fn()
    assert seen == [1, 2]


@pytest.mark.anyio
async def test_async_on_retry_hook_that_raises_does_not_break_the_retry(clock: FakeClock) -> None:
    async def hook(event: RetryScheduled) -> None:
        raise RuntimeError("hook broke")

    calls = 0

    @retry(max_attempts=3, on_retry=hook, clock=clock)
    async def fn() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise Flaky(calls)
        return "ok"

    assert await fn() == "ok"
    assert calls == 3


@pytest.mark.anyio
async def test_async_zero_delay_never_calls_sleep(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=3, backoff="none", clock=clock)
    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise Flaky(calls)

    with pytest.raises(Flaky):
        await fn()
    assert calls == 3
    assert clock.sleeps == []


@pytest.mark.anyio
async def test_cancellation_during_a_retry_wait_is_not_retried(clock: FakeClock) -> None:
    calls = 0

    @retry(max_attempts=10, backoff="constant", base_delay=1.0, retry_on=lambda exc: True, clock=clock)
    async def fn() -> None:
        nonlocal calls
        calls += 1
        raise Flaky(calls)

    with anyio.CancelScope() as scope:
        clock.call_at(1.5, scope.cancel)
        await fn()
    assert scope.cancelled_caught
    assert calls == 2
    assert clock.monotonic() == 1.5


# -- call forms --------------------------------------------------------------------------


def test_policy_call_and_call_with_stats(fake_clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=4, backoff="constant", base_delay=0.5)
    counter = Counter(succeed_on=3, result="v")
    assert policy.call(counter) == "v"
    stats = policy.call_with_stats(Counter(succeed_on=3, result="v"))
    assert stats == RetryResult("v", 3, 1.0)
    assert (stats.value, stats.attempts, stats.total_delay) == ("v", 3, 1.0)
    assert policy.call_with_stats(lambda a, b=0: a + b, 1, b=2) == RetryResult(3, 1, 0.0)


def test_call_with_stats_reraises_the_last_error(fake_clock: FakeClock) -> None:
    counter = Counter()
    with pytest.raises(Flaky) as excinfo:
        RetryPolicy(max_attempts=2, backoff="none").call_with_stats(counter)
    assert excinfo.value is counter.errors[-1]


def test_result_is_frozen() -> None:
    result = RetryResult(1, 1, 0.0)
    with pytest.raises(AttributeError):
        result.value = 2  # type: ignore[misc]


@pytest.mark.anyio
async def test_policy_acall_and_acall_with_stats(fake_clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=4, backoff="linear", base_delay=1.0)

    def make() -> Callable[[], Any]:
        calls = 0

        async def fn() -> str:
            nonlocal calls
            calls += 1
            if calls < 3:
                raise ConnectionError
            return "v"

        return fn

    assert await policy.acall(make()) == "v"
    assert await policy.acall_with_stats(make()) == RetryResult("v", 3, 3.0)


# -- decorator forms ----------------------------------------------------------------------


def test_bare_retry_uses_the_defaults(fake_clock: FakeClock) -> None:
    calls = 0

    @retry
    def fn() -> None:
        nonlocal calls
        calls += 1
        raise Flaky(calls)

    with pytest.raises(Flaky):
        fn()
    assert calls == 3
    assert fake_clock.sleeps == [0.1, 0.2]


def test_clock_is_read_at_call_time(fake_clock: FakeClock) -> None:
    counter = Counter()
    fn = retry(max_attempts=2, backoff="constant", base_delay=1.0)(counter)
    later = FakeClock()
    set_clock(later)
    with pytest.raises(Flaky):
        fn()
    assert later.sleeps == [1.0]
    assert fake_clock.sleeps == []


def test_policy_plus_field_override(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=5, backoff="constant", base_delay=1.0)
    assert _sleeps(clock, 2, policy=policy) == [1.0]
    assert _sleeps(FakeClock(), 5, policy=policy, base_delay=2.0) == [2.0] * 4


def test_policy_alone(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=3, backoff="linear", base_delay=2.0)
    assert _sleeps(clock, None, policy=policy) == [2.0, 4.0]


def test_policy_must_be_a_retry_policy() -> None:
    with pytest.raises(TypeError, match="policy must be a RetryPolicy"):
        retry(policy="fast")  # type: ignore[call-overload]


def test_bad_field_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match=r"max_attempts must be an int >= 1 \(got 0\)"):
        retry(max_attempts=0)


def test_async_on_retry_hook_on_a_sync_function_is_refused_at_decoration() -> None:
    async def hook(event: object) -> None:
        return None

    with pytest.raises(TypeError, match="on_retry must be a plain function"):

        @retry(on_retry=hook)
        def work() -> int:
            return 1
