"""``RateLimiter`` / ``@rate_limit``: token-bucket counts in virtual time, waiting, threads.

``FakeClock`` for time (its sleeps move virtual time), threads for thread safety, both
anyio backends for async callers. No test sleeps for real.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest

from resiliency import RateLimitedError, Registry, retry
from resiliency._deadline import push_deadline, reset_deadline
from resiliency._rate_limit import RateLimiter, RateLimiterMetrics, RateLimitPolicy, TokenBucket, rate_limit
from resiliency.testing import FakeClock, describe

pytestmark = pytest.mark.usefixtures("no_thread_leak_patient")  # every test, see conftest


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def outcomes(fn: Callable[[], object], times: int) -> list[object]:
    """Call ``fn`` ``times`` times; each result, or the ``RateLimitedError`` it raised."""
    results: list[object] = []
    for _ in range(times):
        try:
            results.append(fn())
        except RateLimitedError as exc:
            results.append(exc)
    return results


def allowed(results: list[object]) -> int:
    return sum(not isinstance(r, RateLimitedError) for r in results)


# -- the pure bucket --------------------------------------------------------------------


def test_bucket_starts_full_and_refills_up_to_capacity() -> None:
    bucket = TokenBucket(3, 2.0)
    assert bucket.wait_time(100.0) == 0.0
    for _ in range(3):
        bucket.take()
    assert bucket.tokens == 0.0
    assert bucket.wait_time(100.0) == 0.5
    assert bucket.wait_time(100.25) == 0.25
    bucket.refill(110.0)
    assert bucket.tokens == 3.0


def test_bucket_reservations_go_below_zero_and_refund() -> None:
    bucket = TokenBucket(1, 4.0)
    bucket.refill(0.0)
    bucket.take()
    assert bucket.wait_time(0.0) == 0.25
    bucket.take()  # reserved: due at 0.25
    assert bucket.wait_time(0.0) == 0.5  # the next one is due after it
    bucket.refund()
    assert bucket.wait_time(0.0) == 0.25


def test_bucket_time_running_backwards_earns_nothing() -> None:
    bucket = TokenBucket(2, 1.0)
    bucket.refill(50.0)
    bucket.take()
    bucket.take()
    bucket.refill(10.0)  # another clock: a new time base
    assert bucket.tokens == 0.0
    assert bucket.wait_time(11.0) == 0.0


def test_bucket_float_steps_never_refuse_a_due_token() -> None:
    bucket = TokenBucket(1, 10.0)
    now = 0.0
    bucket.refill(now)
    for _ in range(50):
        bucket.take()
        now += 0.1  # inexact: some steps earn 0.9999999999999998 tokens
        assert bucket.wait_time(now) == 0.0


# -- policy -----------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = RateLimitPolicy(5)
    assert (policy.rate, policy.period, policy.burst, policy.max_wait) == (5.0, 1.0, 5, 0.0)
    assert RateLimitPolicy(2.5).burst == 3
    assert RateLimitPolicy(0.5).burst == 1
    assert RateLimitPolicy(3, period=timedelta(minutes=1)).period == 60.0  # type: ignore[arg-type]
    assert RateLimitPolicy(3, period=60).per_second == 0.05
    assert RateLimitPolicy(1, max_wait=math.inf).max_wait == math.inf
    assert RateLimitPolicy(5) == RateLimitPolicy(5, burst=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "param"),
    [
        ({"rate": 0}, ValueError, "rate"),
        ({"rate": -1}, ValueError, "rate"),
        ({"rate": math.nan}, ValueError, "rate"),
        ({"rate": math.inf}, ValueError, "rate"),
        ({"rate": "5"}, TypeError, "rate"),
        ({"rate": True}, TypeError, "rate"),
        ({"rate": 1, "period": 0}, ValueError, "period"),
        ({"rate": 1, "period": -1}, ValueError, "period"),
        ({"rate": 1, "period": "1"}, TypeError, "period"),
        ({"rate": 1, "burst": 0}, ValueError, "burst"),
        ({"rate": 1, "burst": 1.5}, TypeError, "burst"),
        ({"rate": 1, "burst": True}, TypeError, "burst"),
        ({"rate": 1, "max_wait": -0.1}, ValueError, "max_wait"),
        ({"rate": 1, "max_wait": math.nan}, ValueError, "max_wait"),
        ({"rate": 1, "max_wait": False}, TypeError, "max_wait"),
    ],
)
@pytest.mark.parametrize(
    "make", [RateLimitPolicy, RateLimiter, rate_limit], ids=["policy", "RateLimiter", "rate_limit"]
)
def test_bad_settings_name_the_parameter(
    make: Callable[..., object], kwargs: dict[str, Any], error: type[Exception], param: str
) -> None:
    with pytest.raises(error) as excinfo:
        make(**kwargs)
    text = str(excinfo.value)
    assert text.startswith(f"{param} must be ")
    assert f"(got {kwargs[param]!r})" in text


def test_missing_rate_and_mixed_forms_are_type_errors() -> None:
    with pytest.raises(TypeError, match="needs rate="):
        RateLimiter()
    with pytest.raises(TypeError, match="needs rate="):
        rate_limit(burst=3)
    with pytest.raises(TypeError, match="policy= or the fields"):
        RateLimiter(rate=1, policy=RateLimitPolicy(1))
    with pytest.raises(TypeError, match="policy must be a RateLimitPolicy"):
        RateLimiter(policy=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no default rate"):

        @rate_limit  # type: ignore[arg-type]
        def bare() -> None:
            pass

    limiter = RateLimiter(rate=1)
    with pytest.raises(TypeError, match="takes no fields"):
        rate_limit(limiter, rate=2)
    with pytest.raises(ValueError, match=r"^name must be"):
        RateLimiter("", rate=1)
    with pytest.raises(TypeError, match=r"^clock must be"):
        RateLimiter(rate=1, clock="now")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^registry must be"):
        RateLimiter(rate=1, registry={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^registry must be"):
        rate_limit("api", rate=1, registry={})  # type: ignore[arg-type]


# -- counting in virtual time -----------------------------------------------------------


def test_exact_token_counts_and_retry_after(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10, clock=clock)

    @limiter
    def call() -> str:
        return "ok"

    first = outcomes(call, 11)
    assert first[:10] == ["ok"] * 10
    error = first[10]
    assert isinstance(error, RateLimitedError)
    assert error.limiter is limiter
    assert error.code == "RATE_LIMITED"
    assert error.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert allowed(outcomes(call, 3)) == 1
    clock.advance(0.25)
    results = outcomes(call, 3)
    assert allowed(results) == 2
    last = results[-1]
    assert isinstance(last, RateLimitedError)
    assert last.retry_after == pytest.approx(0.05)
    assert limiter.metrics() == RateLimiterMetrics(pytest.approx(0.5), 13, 4)  # type: ignore[arg-type]


def test_many_small_steps_give_exactly_rate_tokens(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10, burst=1, clock=clock)
    count = 0
    for _ in range(100):
        count += limiter.try_acquire() + limiter.try_acquire()
        clock.advance(0.1)
    assert count == 100
    assert limiter.metrics().allowed == 100
    assert limiter.metrics().rejected == 100


def test_burst_caps_what_idle_time_saves(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=5, clock=clock)
    assert sum(limiter.try_acquire() for _ in range(8)) == 5
    clock.advance(1000)
    assert sum(limiter.try_acquire() for _ in range(8)) == 5
    clock.advance(2)
    assert sum(limiter.try_acquire() for _ in range(8)) == 2


def test_rate_per_period(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=3, period=timedelta(minutes=1), clock=clock)
    assert [limiter.acquire_nowait() for _ in range(4)] == [True, True, True, False]

    @limiter
    def call() -> None:
        pass

    with pytest.raises(RateLimitedError) as excinfo:
        call()
    assert excinfo.value.retry_after == pytest.approx(20.0)
    clock.advance(20)
    call()


def test_max_wait_waits_on_the_clock_then_proceeds(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=1, max_wait=2.0, clock=clock)
    log: list[float] = []

    @limiter
    def call() -> None:
        log.append(clock.monotonic())

    call()
    call()
    call()
    assert log == [0.0, 1.0, 2.0]
    assert clock.sleeps == [1.0, 1.0]
    assert limiter.metrics() == RateLimiterMetrics(0.0, 3, 0)


def test_max_wait_refuses_a_wait_longer_than_allowed(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=2, burst=1, max_wait=0.25, clock=clock)
    assert limiter.try_acquire()

    @limiter
    def call() -> None:
        pass

    with pytest.raises(RateLimitedError) as excinfo:
        call()  # the next token is 0.5 s away
    assert excinfo.value.retry_after == pytest.approx(0.5)
    assert clock.sleeps == []
    clock.advance(0.3)
    call()  # now 0.2 s away: waits for it
    assert clock.sleeps == [pytest.approx(0.2)]
    assert limiter.metrics().allowed == 2
    assert limiter.metrics().rejected == 1


def test_a_wait_never_passes_the_callers_deadline(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=1, max_wait=10.0, clock=clock)
    assert limiter.try_acquire()

    @limiter
    def call() -> None:
        pass

    token = push_deadline(0.5, clock, clock.monotonic())
    try:
        with pytest.raises(RateLimitedError) as excinfo:
            call()
    finally:
        reset_deadline(token)
    assert excinfo.value.retry_after == pytest.approx(1.0)
    assert clock.sleeps == []
    token = push_deadline(1.0, clock, clock.monotonic())
    try:
        call()  # exactly enough time
    finally:
        reset_deadline(token)
    assert clock.sleeps == [1.0]


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt in a sleeping thread."""


class BlockingClock:
    """A clock whose sleeps never end on their own: the test interrupts them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeping = anyio.Event()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        raise Interrupt

    async def asleep(self, seconds: float) -> None:
        self.sleeping.set()
        await anyio.sleep_forever()


def test_an_interrupted_sync_wait_gives_the_token_back() -> None:
    clock = BlockingClock()
    limiter = RateLimiter(rate=1, burst=1, max_wait=5, clock=clock)
    assert limiter.try_acquire()

    @limiter
    def call() -> None:
        raise AssertionError("must not run")

    with pytest.raises(Interrupt):
        call()
    clock.now = 1.0
    assert limiter.try_acquire()  # the reserved token went back: one is due at t=1
    assert not limiter.try_acquire()
    assert limiter.metrics().allowed == 2


@pytest.mark.anyio
async def test_a_cancelled_async_wait_gives_the_token_back() -> None:
    clock = BlockingClock()
    limiter = RateLimiter(rate=1, burst=1, max_wait=5, clock=clock)
    assert limiter.try_acquire()

    @limiter
    async def call() -> None:
        raise AssertionError("must not run")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await clock.sleeping.wait()
            tg.cancel_scope.cancel()
    clock.now = 1.0
    assert limiter.try_acquire()
    assert limiter.metrics() == RateLimiterMetrics(0.0, 2, 0)


# -- async ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_counts_and_waits(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=4, burst=2, max_wait=0.2, clock=clock)
    log: list[float] = []

    @limiter
    async def call() -> None:
        log.append(clock.monotonic())

    assert inspect.iscoroutinefunction(call)
    await call()
    await call()
    with pytest.raises(RateLimitedError) as excinfo:
        await call()  # the next token is 0.25 s away, more than max_wait
    assert excinfo.value.retry_after == pytest.approx(0.25)
    clock.advance(0.05)
    await call()  # 0.2 s away now: sleeps for it on the clock
    assert log == [0.0, 0.0, pytest.approx(0.25)]
    assert clock.sleeps == [pytest.approx(0.2)]
    assert limiter.metrics() == RateLimiterMetrics(0.0, 3, 1)


@pytest.mark.anyio
async def test_async_tasks_share_one_bucket(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100, clock=clock)
    hits = 0

    @limiter
    async def call() -> None:
        nonlocal hits
        await anyio.sleep(0)
        hits += 1

    async def caller() -> None:
        try:
            await call()
        except RateLimitedError:
            pass

    async with anyio.create_task_group() as tg:
        for _ in range(250):
            tg.start_soon(caller)
    assert hits == 100
    assert limiter.metrics() == RateLimiterMetrics(0.0, 100, 150)


# -- threads ----------------------------------------------------------------------------


def test_32_threads_get_exactly_burst_tokens(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=100, clock=clock)
    lock = threading.Lock()
    got = 0

    @limiter
    def call() -> None:
        nonlocal got
        with lock:
            got += 1

    start = threading.Barrier(32)

    def caller() -> None:
        start.wait()
        for _ in range(10):
            try:
                call()
            except RateLimitedError:
                pass
            limiter.try_acquire()

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    m = limiter.metrics()
    assert m.allowed == 100
    assert m.rejected == 32 * 20 - 100
    assert got <= 100


def test_threads_with_time_passing_get_exactly_what_was_earned(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=50, burst=50, clock=clock)
    done = threading.Event()
    counts = [0] * 16

    def caller(i: int) -> None:
        while not done.is_set():
            counts[i] += limiter.try_acquire()
            time.sleep(0)

    def drained() -> None:
        deadline = time.monotonic() + 5.0
        while limiter.metrics().available >= 1.0:
            assert time.monotonic() < deadline
            time.sleep(0.0002)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    drained()
    for _ in range(20):
        clock.advance(0.1)  # 5 tokens each step
        drained()
    done.set()
    for thread in threads:
        thread.join(5)
    assert sum(counts) == limiter.metrics().allowed == 50 + 5 * 20


def test_threads_on_the_real_clock_never_exceed_the_rate() -> None:
    limiter = RateLimiter(rate=2000, burst=10)
    barrier = threading.Barrier(17)

    def caller() -> None:
        barrier.wait()
        for _ in range(500):  # busy, never sleeping
            limiter.try_acquire()

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    started = time.monotonic()  # before any call: the bound can only be generous
    barrier.wait()
    for thread in threads:
        thread.join(5)
    elapsed = time.monotonic() - started
    m = limiter.metrics()
    assert m.allowed + m.rejected == 16 * 500
    assert 10 <= m.allowed <= 10 + 2000 * elapsed + 1


# -- forms and registry -----------------------------------------------------------------


def test_decorator_forms_and_describe(clock: FakeClock) -> None:
    @rate_limit(rate=2, clock=clock)
    def one(x: int) -> int:
        """Doc."""
        return x

    policy = RateLimitPolicy(1)

    @rate_limit(policy=policy, clock=clock)
    async def two() -> None:
        pass

    (strategy,) = describe(one)
    assert isinstance(strategy, RateLimiter)
    assert strategy.kind == "rate_limit"
    assert describe(two)[0].policy is policy
    assert one(3) == 3
    assert one.__doc__ == "Doc."
    limiter = RateLimiter(rate=1)
    assert rate_limit(limiter) is limiter
    assert repr(RateLimiter("api", rate=3, period=60, registry=Registry())) == "<RateLimiter 'api' rate=3/60s burst=3>"


def test_a_retry_above_waits_exactly_retry_after(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, period=2.0, clock=clock)
    calls = 0

    @retry(max_attempts=3, clock=clock)
    @limiter
    def call() -> None:
        nonlocal calls
        calls += 1

    call()
    call()  # refused once (retry_after 2 s), retried when the token is due
    assert calls == 2
    assert clock.sleeps == [2.0]
    assert limiter.metrics() == RateLimiterMetrics(0.0, 2, 1)


def test_policy_call_and_acall() -> None:
    policy = RateLimitPolicy(1)
    assert policy.call(lambda a, b=0: a - b, 5, b=2) == 3

    async def twice(x: int) -> int:
        return 2 * x

    assert anyio.run(policy.acall, twice, 4) == 8
    assert isinstance(policy.to_strategy(), RateLimiter)


def test_named_limiter_is_shared_through_the_registry(registry: Registry, clock: FakeClock) -> None:
    first = rate_limit("api", rate=2, registry=registry, clock=clock)
    assert rate_limit("api", rate=2, registry=registry) is first
    assert rate_limit("api", registry=registry) is first  # no settings: take it as it is
    assert registry.rate_limiter("api") is first

    @rate_limit("api", registry=registry)
    def a() -> None:
        pass

    @rate_limit("api", registry=registry)
    def b() -> None:
        pass

    a()
    b()
    with pytest.raises(RateLimitedError):
        a()
    assert first.metrics().allowed == 2
    with pytest.raises(ValueError, match="already declared with other settings"):
        rate_limit("api", rate=3, registry=registry)
    with pytest.raises(ValueError, match="already declared"):
        RateLimiter("api", rate=2, registry=registry)
    with pytest.raises(TypeError, match="no rate limiter named 'other' yet"):
        rate_limit("other", registry=registry)
    assert registry.names("rate_limiter") == ["api"]
