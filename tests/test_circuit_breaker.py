"""``CircuitBreaker`` / ``@circuit_breaker``: forms, trip modes, half-open, events, threads, tasks.

Time is a ``FakeClock`` passed as ``clock=``; each test has its own ``Registry``.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import sys
import threading
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest

from resiliency import BulkheadFullError, CircuitOpenError, Registry, ResiliencyTimeoutError, retry, timeout
from resiliency._circuit_breaker import (
    CircuitBreaker,
    CircuitBreakerMetrics,
    CircuitBreakerPolicy,
    CircuitState,
    _breaker,
    circuit_breaker,
)
from resiliency._events import CallRecorded, CircuitStateChanged, Event
from resiliency.testing import FakeClock, describe

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class Boom(Exception):
    """The protected call's failure."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def flaky(outcomes: list[Any]) -> Callable[[], Any]:
    """A function that pops the next outcome: an exception instance is raised, anything else returned."""

    def call() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return call


def fail_times(fn: Callable[[], Any], n: int, error: type[BaseException] = Boom) -> None:
    for _ in range(n):
        with pytest.raises(error):
            fn()


# -- forms --------------------------------------------------------------------------------


def test_bare_decorator_uses_the_defaults(registry: Registry) -> None:
    @circuit_breaker
    def ping() -> str:
        return "pong"

    assert ping() == "pong"
    [strategy] = describe(ping)
    assert strategy.kind == "circuit_breaker"
    assert strategy.policy == CircuitBreakerPolicy()
    assert isinstance(strategy, CircuitBreaker)
    assert strategy.name is None
    assert ping.__name__ == "ping"


def test_called_with_fields_makes_a_private_breaker(registry: Registry, clock: FakeClock) -> None:
    deco = circuit_breaker(failure_threshold=2, reset_timeout=timedelta(seconds=10), clock=clock, registry=registry)
    assert isinstance(deco, CircuitBreaker)
    assert deco.policy.reset_timeout == 10.0
    assert registry.names("breaker") == []

    fn = deco(flaky([Boom(), Boom(), 1]))
    fail_times(fn, 2)
    with pytest.raises(CircuitOpenError):
        fn()


def test_named_breakers_are_shared_and_checked(registry: Registry) -> None:
    first = circuit_breaker("payments", failure_threshold=3, reset_timeout=30, registry=registry)
    same = circuit_breaker("payments", failure_threshold=3, reset_timeout=30.0, registry=registry)
    bare = circuit_breaker("payments", registry=registry)
    assert first is same is bare is registry.breaker("payments")
    assert first.name == "payments"
    with pytest.raises(ValueError, match="payments"):
        circuit_breaker("payments", failure_threshold=4, registry=registry)


def test_a_bare_name_creates_a_default_breaker_that_later_settings_must_match(registry: Registry) -> None:
    made = circuit_breaker("search", registry=registry)
    assert made.policy == CircuitBreakerPolicy()
    assert circuit_breaker("search", failure_threshold=5, registry=registry) is made  # the defaults, spelled out
    with pytest.raises(ValueError, match="search"):
        circuit_breaker("search", failure_threshold=2, registry=registry)


def test_instance_forms(registry: Registry) -> None:
    breaker = CircuitBreaker(failure_threshold=1, registry=registry)
    assert circuit_breaker(breaker) is breaker

    @breaker
    def a() -> int:
        raise Boom

    @circuit_breaker(breaker)
    def b() -> int:
        return 2

    fail_times(a, 1)
    with pytest.raises(CircuitOpenError):  # one breaker guards both call sites
        b()
    with pytest.raises(TypeError, match="takes no fields"):
        circuit_breaker(breaker, failure_threshold=2)  # type: ignore[call-overload]


def test_policy_and_fields(registry: Registry) -> None:
    policy = CircuitBreakerPolicy(failure_threshold=2, reset_timeout=5)
    assert CircuitBreaker(policy=policy).policy is policy
    merged = CircuitBreaker(policy=policy, reset_timeout=9)
    assert (merged.policy.failure_threshold, merged.policy.reset_timeout) == (2, 9.0)
    assert circuit_breaker(policy=policy).policy is policy


def test_policy_one_off_call_forms() -> None:
    policy = CircuitBreakerPolicy(failure_threshold=1)
    assert policy.call(lambda x, *, y: x + y, 1, y=2) == 3
    with pytest.raises(Boom):  # a fresh private breaker each time: it never opens
        policy.call(flaky([Boom()]))
    assert policy.call(lambda: "again") == "again"
    assert isinstance(policy.to_strategy(), CircuitBreaker)


@pytest.mark.anyio
async def test_policy_async_one_off_call() -> None:
    async def double(x: int) -> int:
        return 2 * x

    assert await CircuitBreakerPolicy().acall(double, 21) == 42


def test_equal_policies_are_shared_between_breakers() -> None:
    assert CircuitBreaker(failure_threshold=7).policy is CircuitBreaker(failure_threshold=7).policy


def test_named_instance_is_recorded_and_a_second_one_refused(registry: Registry) -> None:
    breaker = CircuitBreaker("db", registry=registry)
    assert registry.breaker("db") is breaker
    with pytest.raises(ValueError, match="db"):
        CircuitBreaker("db", registry=registry)


@pytest.mark.parametrize(
    ("kwargs", "error", "param"),
    [
        ({"failure_threshold": 0}, ValueError, "failure_threshold"),
        ({"failure_threshold": "5"}, TypeError, "failure_threshold"),
        ({"failure_threshold": True}, TypeError, "failure_threshold"),
        ({"failure_rate_threshold": 1.5}, ValueError, "failure_rate_threshold"),
        ({"failure_rate_threshold": 0}, ValueError, "failure_rate_threshold"),
        ({"slow_call_rate_threshold": math.nan, "slow_call_duration": 1}, ValueError, "slow_call_rate_threshold"),
        ({"reset_timeout": -1}, ValueError, "reset_timeout"),
        ({"reset_timeout": "30"}, TypeError, "reset_timeout"),
        ({"window_size": 0, "failure_rate_threshold": 0.5}, ValueError, "window_size"),
        ({"half_open_max_calls": 0}, ValueError, "half_open_max_calls"),
        ({"success_threshold": 1.5}, TypeError, "success_threshold"),
        ({"failure_on": "ValueError"}, TypeError, "failure_on"),
        ({"ignore_on": [ValueError, 3]}, TypeError, "ignore_on"),
        ({"failure_threshold": None}, ValueError, "failure_threshold"),  # no trip condition at all
        ({"window_size": 10, "window_duration": 5, "failure_rate_threshold": 0.5}, ValueError, "window_duration"),
        ({"slow_call_duration": 1.0}, ValueError, "slow_call_rate_threshold"),
        ({"failure_threshold_typo": 3}, TypeError, "failure_threshold_typo"),
        ({"policy": {"failure_threshold": 3}}, TypeError, "policy"),
        ({"clock": object()}, TypeError, "clock"),
        ({"registry": {}}, TypeError, "registry"),
        ({"name": ""}, ValueError, "name"),
        ({"name": 3}, TypeError, "name"),
    ],
)
def test_bad_input_fails_at_construction_naming_the_parameter(
    kwargs: dict[str, Any], error: type[Exception], param: str
) -> None:
    name = kwargs.pop("name", None)
    with pytest.raises(error, match=param):
        CircuitBreaker(name, **kwargs)
    if name is None:
        with pytest.raises(error, match=param):
            circuit_breaker(**kwargs)


def test_bad_first_argument() -> None:
    with pytest.raises(TypeError, match="first argument"):
        circuit_breaker(42)  # type: ignore[call-overload]


def test_decorating_a_generator_is_a_type_error() -> None:
    def gen() -> Any:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        circuit_breaker(gen)


# -- the consecutive mode, open, half-open ------------------------------------------------


def test_opens_at_the_threshold_and_rejects_without_calling(clock: FakeClock, registry: Registry) -> None:
    calls = itertools.count()
    breaker = CircuitBreaker("api", failure_threshold=3, reset_timeout=10, clock=clock, registry=registry)

    @breaker
    def call() -> None:
        next(calls)
        raise Boom

    fail_times(call, 3)
    assert breaker.state is OPEN
    clock.advance(4)
    errors = []
    for _ in range(2):
        with pytest.raises(CircuitOpenError) as excinfo:
            call()
        errors.append(excinfo.value)
    assert next(calls) == 3  # the function never ran while open
    first, second = errors
    assert first is not second  # a fresh error each time
    assert first.breaker is breaker
    assert first.retry_after == 6.0
    assert first.code == "CIRCUIT_OPEN"
    assert "'api'" in str(first)
    assert breaker.retry_after == 6.0


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    fn = CircuitBreaker(failure_threshold=2, clock=clock)(flaky([Boom(), 1, Boom(), 2, Boom()]))
    for expected in (None, 1, None, 2, None):
        if expected is None:
            fail_times(fn, 1)
        else:
            assert fn() == expected
    assert describe(fn)[0].state is CLOSED  # type: ignore[attr-defined]


def test_half_open_after_the_reset_timeout_then_a_success_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=clock)
    fn = breaker(flaky([Boom(), "ok", "again"]))
    fail_times(fn, 1)
    clock.advance(9.999)
    assert breaker.state is OPEN
    clock.advance(0.001)
    assert breaker.state is HALF_OPEN  # reported as a caller would meet it
    assert breaker.retry_after == 0.0
    assert fn() == "ok"
    assert breaker.state is CLOSED
    assert breaker.retry_after == 0.0
    assert fn() == "again"


def test_a_failed_probe_reopens_and_restarts_the_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=clock)
    fn = breaker(flaky([Boom(), Boom(), "ok"]))
    fail_times(fn, 1)
    clock.advance(10)
    fail_times(fn, 1)  # the probe fails
    assert breaker.state is OPEN
    with pytest.raises(CircuitOpenError) as excinfo:
        fn()
    assert excinfo.value.retry_after == 10.0
    assert breaker.metrics().opened_count == 2


def test_success_threshold_probes_are_needed_to_close(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, success_threshold=3, clock=clock)
    fn = breaker(flaky([Boom(), 1, 2, 3, 4]))
    fail_times(fn, 1)
    clock.advance(1)
    assert fn() == 1
    assert fn() == 2
    assert breaker.state is HALF_OPEN
    assert fn() == 3
    assert breaker.state is CLOSED


def test_half_open_lets_at_most_max_calls_probes_at_once(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=1, reset_timeout=1, half_open_max_calls=2, success_threshold=2, clock=clock
    )
    seen: list[Any] = []

    @breaker
    def call(depth: int) -> str:
        if depth == -1:
            raise Boom
        if depth > 0:  # start another call while this probe is still running
            try:
                seen.append(call(depth - 1))
            except CircuitOpenError as exc:
                seen.append(exc.retry_after)
        return f"probe{depth}"

    fail_times(lambda: call(-1), 1)
    clock.advance(1)
    assert call(2) == "probe2"
    assert seen == [0.0, "probe1"]  # the third concurrent call was rejected, retry_after 0
    assert breaker.state is CLOSED
    assert breaker.metrics().rejections == 1


def test_force_open_and_reset(clock: FakeClock, registry: Registry) -> None:
    breaker = CircuitBreaker("held", clock=clock, registry=registry)
    fn = breaker(lambda: 1)
    breaker.force_open()
    clock.advance(10_000)
    with pytest.raises(CircuitOpenError) as excinfo:
        fn()
    assert excinfo.value.retry_after == math.inf
    assert str(excinfo.value) == "circuit 'held' is forced open; it rejects every call until reset()"
    m = breaker.metrics()
    assert (m.state, m.forced_open, m.retry_after, m.rejections) == (OPEN, True, math.inf, 1)
    breaker.reset()
    assert breaker.state is CLOSED
    assert fn() == 1
    m = breaker.metrics()
    assert (m.calls, m.rejections, m.forced_open, m.last_state_change) == (1, 0, False, 10_000.0)


def test_metrics_fields(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=5, clock=clock)
    fn = breaker(flaky([1, Boom(), Boom(), 2, Boom(), Boom(), Boom()]))
    assert fn() == 1
    fail_times(fn, 2)
    assert fn() == 2
    clock.advance(1.5)
    fail_times(fn, 3)
    with pytest.raises(CircuitOpenError):
        fn()
    m = breaker.metrics()
    assert isinstance(m, CircuitBreakerMetrics)
    assert m == CircuitBreakerMetrics(
        state=OPEN,
        forced_open=False,
        calls=7,
        successes=2,
        failures=5,
        slow_calls=0,
        rejections=1,
        opened_count=1,
        consecutive_failures=3,
        failure_rate=5 / 7,
        slow_call_rate=0.0,
        window_calls=0,
        window_failures=0,
        window_slow_calls=0,
        half_open_in_flight=0,
        retry_after=5.0,
        last_state_change=1.5,
    )
    with pytest.raises(AttributeError):
        m.calls = 0  # type: ignore[misc]


# -- the rate modes ------------------------------------------------------------------------


def test_failure_rate_over_a_count_window(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=None, failure_rate_threshold=0.5, window_size=4, minimum_calls=4, clock=clock
    )
    fn = breaker(flaky([Boom(), 1, Boom(), 2, 3, 4, Boom(), Boom()]))
    fail_times(fn, 1)
    assert fn() == 1
    fail_times(fn, 1)  # 2 of 3: below minimum_calls
    assert breaker.state is CLOSED
    assert fn() == 2  # 2 of 4 = 0.5: opens on a success
    assert breaker.state is OPEN
    m = breaker.metrics()
    assert (m.window_calls, m.window_failures, m.failure_rate) == (4, 2, 0.5)


def test_failure_rate_over_a_time_window_forgets_old_calls(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=None, failure_rate_threshold=0.6, window_duration=10, minimum_calls=3, clock=clock
    )
    fn = breaker(flaky([Boom(), Boom(), 1, 2, Boom(), Boom()]))
    fail_times(fn, 2)
    clock.advance(11)  # the two failures leave the window
    assert fn() == 1
    assert fn() == 2
    fail_times(fn, 1)  # 1 of 3
    assert breaker.state is CLOSED
    fail_times(fn, 1)  # 2 of 4 = 0.5 < 0.6
    assert breaker.state is CLOSED
    assert breaker.metrics().window_calls == 4


def test_slow_calls_are_timed_through_the_clock(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=None,
        slow_call_duration=2.0,
        slow_call_rate_threshold=0.5,
        window_size=4,
        minimum_calls=4,
        clock=clock,
    )

    @breaker
    def work(seconds: float) -> float:
        clock.advance(seconds)
        return seconds

    for seconds in (0.5, 2.0, 1.9):
        work(seconds)
    assert breaker.state is CLOSED
    work(3.0)  # 2 slow of 4
    assert breaker.state is OPEN
    m = breaker.metrics()
    assert (m.slow_calls, m.slow_call_rate, m.failures) == (2, 0.5, 0)


@pytest.mark.anyio
async def test_async_slow_calls(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=None, slow_call_duration=1, slow_call_rate_threshold=1.0, minimum_calls=2, clock=clock
    )

    @breaker
    async def work() -> None:
        await clock.asleep(1.0)

    await work()
    await work()
    assert breaker.state is OPEN


class CountingClock(FakeClock):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return super().monotonic()


def test_the_closed_path_reads_no_clock_unless_slow_calls_are_timed() -> None:
    clock = CountingClock()
    lean = CircuitBreaker(failure_threshold=5, clock=clock)(lambda: 1)
    for _ in range(100):
        lean()
    assert clock.reads == 0
    timed = CircuitBreaker(slow_call_duration=1, slow_call_rate_threshold=0.5, clock=clock)(lambda: 1)
    for _ in range(100):
        timed()
    assert clock.reads == 200


# -- what counts -------------------------------------------------------------------------


def test_failure_on_and_ignore_on_with_types(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, failure_on=(Boom, KeyError), ignore_on=LookupError, clock=clock)
    fn = breaker(flaky([Boom(), KeyError(), IndexError(), ValueError(), Boom(), Boom()]))
    fail_times(fn, 1)
    fail_times(fn, 1, KeyError)  # a LookupError: ignored, although listed in failure_on
    fail_times(fn, 1, IndexError)  # ignored
    fail_times(fn, 1, ValueError)  # not a failure: a success
    m = breaker.metrics()
    assert (m.calls, m.successes, m.failures, m.consecutive_failures) == (2, 1, 1, 0)
    fail_times(fn, 2)
    assert breaker.state is OPEN


def test_failure_on_and_ignore_on_with_predicates(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=1,
        failure_on=lambda exc: "fatal" in str(exc),
        ignore_on=lambda exc: isinstance(exc, KeyError),
        clock=clock,
    )
    fn = breaker(flaky([Boom("minor"), KeyError("fatal"), Boom("fatal")]))
    fail_times(fn, 1)
    fail_times(fn, 1, KeyError)
    assert breaker.state is CLOSED
    fail_times(fn, 1)
    assert breaker.state is OPEN


def test_an_ignored_probe_frees_its_slot(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, ignore_on=KeyError, clock=clock)
    fn = breaker(flaky([Boom(), KeyError(), "ok"]))
    fail_times(fn, 1)
    clock.advance(1)
    fail_times(fn, 1, KeyError)  # the probe counts for nothing; the slot is free again
    assert breaker.state is HALF_OPEN
    assert fn() == "ok"
    assert breaker.state is CLOSED


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt / a cancellation in sync code."""


def test_an_interrupted_probe_frees_its_slot(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock)
    fn = breaker(flaky([Boom(), Interrupt(), "ok"]))
    fail_times(fn, 1)
    clock.advance(1)
    fail_times(fn, 1, Interrupt)
    assert breaker.metrics().half_open_in_flight == 0
    assert fn() == "ok"
    assert breaker.metrics().calls == 2  # the interrupted call is not counted


@pytest.mark.anyio
async def test_a_cancelled_async_probe_frees_its_slot(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock)
    started = anyio.Event()

    @breaker
    async def call(mode: str) -> str:
        if mode == "fail":
            raise Boom
        if mode == "hang":
            started.set()
            await anyio.sleep_forever()
        return mode

    with pytest.raises(Boom):
        await call("fail")
    clock.advance(1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "hang")
        await started.wait()
        assert breaker.metrics().half_open_in_flight == 1
        with pytest.raises(CircuitOpenError):
            await call("ok")  # the only probe slot is taken
        tg.cancel_scope.cancel()
    assert breaker.metrics().half_open_in_flight == 0
    assert await call("ok") == "ok"
    assert breaker.state is CLOSED


# -- events -------------------------------------------------------------------------------


def test_events_reach_listeners(clock: FakeClock, registry: Registry) -> None:
    events: list[Event] = []
    registry.subscribe(events.append)
    breaker = CircuitBreaker("svc", failure_threshold=1, reset_timeout=2, clock=clock, registry=registry)
    fn = breaker(flaky([1, Boom(), "ok"]))
    fn()
    fail_times(fn, 1)
    clock.advance(2)
    fn()
    breaker.force_open()
    breaker.reset()
    assert isinstance(events[2], CallRecorded)
    assert isinstance(events[2].error, Boom)  # the event carries the call's error
    assert events == [
        CallRecorded("svc", True, 0.0),
        CircuitStateChanged("svc", CLOSED, OPEN),
        CallRecorded("svc", False, 0.0, error=events[2].error),
        CircuitStateChanged("svc", OPEN, HALF_OPEN),
        CircuitStateChanged("svc", HALF_OPEN, CLOSED),
        CallRecorded("svc", True, 0.0),
        CircuitStateChanged("svc", CLOSED, OPEN),
        CircuitStateChanged("svc", OPEN, CLOSED),
    ]


def test_call_recorded_carries_the_duration_in_slow_call_mode(clock: FakeClock, registry: Registry) -> None:
    events: list[Event] = []
    registry.subscribe(events.append)
    breaker = CircuitBreaker(
        failure_threshold=None, slow_call_duration=1, slow_call_rate_threshold=1.0, clock=clock, registry=registry
    )

    @breaker
    def work(seconds: float) -> None:
        clock.advance(seconds)

    work(0.25)
    work(1.5)
    label = work.__qualname__  # an unnamed breaker reports under the callable's name
    assert events == [CallRecorded(label, True, 0.25, False), CallRecorded(label, True, 1.5, True)]


def test_no_event_is_built_without_a_listener(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    def explode(*args: Any) -> Any:
        raise AssertionError("an event was built with no listener")

    monkeypatch.setattr(_breaker, "CallRecorded", explode)
    monkeypatch.setattr(_breaker, "CircuitStateChanged", explode)
    fn = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock, registry=Registry())(flaky([1, Boom(), 2]))
    assert fn() == 1
    fail_times(fn, 1)
    clock.advance(1)
    assert fn() == 2


def test_a_listener_that_raises_never_breaks_a_call(
    clock: FakeClock, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(event: Event) -> None:
        raise RuntimeError("listener bug")

    seen: list[Event] = []
    registry.subscribe(bad)
    registry.subscribe(seen.append)
    fn = CircuitBreaker(failure_threshold=1, clock=clock, registry=registry)(flaky([1, Boom()]))
    with caplog.at_level(logging.ERROR, logger="resiliency"):
        assert fn() == 1
        fail_times(fn, 1)
    assert len(seen) == 3
    logged = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert logged == ["listener bug"] * 3


# -- targets and stacks ------------------------------------------------------------------


def test_methods_classmethods_staticmethods_share_one_breaker(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=clock)

    class Service:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        @breaker
        def method(self) -> str:
            if self.fail:
                raise Boom
            return "m"

        @breaker
        @classmethod
        def cls_method(cls) -> str:
            raise Boom

        @breaker
        @staticmethod
        def static() -> str:
            return "s"

    assert Service(False).method() == "m"
    assert Service.static() == "s"
    fail_times(Service(True).method, 1)
    fail_times(Service.cls_method, 1)
    fail_times(Service(True).cls_method, 1)
    with pytest.raises(CircuitOpenError):
        Service.static()
    assert breaker.metrics().failures == 3


def test_stacked_with_retry_and_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60, clock=clock)
    calls = itertools.count()

    @retry(max_attempts=5, backoff="none", clock=clock)
    @breaker
    @timeout(1, mode="cooperative", clock=clock)
    def fetch() -> None:
        next(calls)
        clock.advance(2)

    with pytest.raises(CircuitOpenError):  # two timeouts trip it; the retry stops at the open breaker
        fetch()
    assert next(calls) == 2
    assert [s.kind for s in describe(fetch)] == ["retry", "circuit_breaker", "timeout"]
    assert breaker.metrics().failures == 2
    assert isinstance(breaker.metrics(), CircuitBreakerMetrics)
    assert issubclass(ResiliencyTimeoutError, TimeoutError)


def test_a_bulkhead_rejection_can_be_ignored(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, ignore_on=BulkheadFullError, clock=clock)
    fn = breaker(flaky([BulkheadFullError(None)]))
    fail_times(fn, 1, BulkheadFullError)
    assert breaker.state is CLOSED


def test_repr_names_the_breaker(registry: Registry) -> None:
    assert repr(CircuitBreaker("r", registry=registry)).startswith("<CircuitBreaker 'r' state=closed")


# -- threads ------------------------------------------------------------------------------


def run_threads(count: int, target: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so the calls really interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors


@pytest.mark.parametrize(
    "fields",
    [
        {"failure_threshold": 10_000},
        {"failure_threshold": None, "failure_rate_threshold": 1.0, "window_size": 100, "minimum_calls": 100},
        {"failure_threshold": None, "failure_rate_threshold": 1.0, "window_duration": 60, "minimum_calls": 100},
    ],
    ids=["consecutive", "count-window", "time-window"],
)
def test_32_threads_1000_calls_exact_counts_while_closed(clock: FakeClock, fields: dict[str, Any]) -> None:
    breaker = CircuitBreaker(clock=clock, **fields)

    @breaker
    def call(i: int) -> int:
        if i % 4 == 0:
            raise Boom
        return i

    def worker(_: int) -> None:
        for i in range(1000):
            try:
                assert call(i) == i
            except Boom:
                pass

    run_threads(32, worker)
    m = breaker.metrics()
    assert (m.calls, m.successes, m.failures, m.rejections, m.state) == (32_000, 24_000, 8_000, 0, CLOSED)


def test_32_threads_1000_calls_exact_counts_while_tripping(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=50, reset_timeout=0.001, clock=clock)
    ran_ok, ran_failed, rejected = itertools.count(), itertools.count(), itertools.count()

    @breaker
    def call(i: int) -> int:
        if i % 3 == 0:
            next(ran_failed)
            raise Boom
        next(ran_ok)
        return i

    def worker(index: int) -> None:
        for i in range(1000):
            if index == 0 and i % 100 == 0:
                clock.advance(0.001)  # let probes through now and then
            try:
                call(i)
            except Boom:
                pass
            except CircuitOpenError:
                next(rejected)

    run_threads(32, worker)
    m = breaker.metrics()
    ok, failed, rej = next(ran_ok), next(ran_failed), next(rejected)
    assert ok + failed + rej == 32_000
    assert (m.successes, m.failures, m.rejections) == (ok, failed, rej)
    assert m.half_open_in_flight == 0


def test_32_threads_1000_rejections_while_forced_open() -> None:
    breaker = CircuitBreaker()
    fn = breaker(lambda: 1)
    breaker.force_open()
    rejected = itertools.count()

    def worker(_: int) -> None:
        for _ in range(1000):
            try:
                fn()
            except CircuitOpenError:
                next(rejected)

    run_threads(32, worker)
    assert next(rejected) == breaker.metrics().rejections == 32_000


# -- tasks -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_1000_concurrent_tasks_exact_counts(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=None, failure_rate_threshold=1.0, window_size=1000, clock=clock)
    go = anyio.Event()

    @breaker
    async def call(i: int) -> int:
        await go.wait()
        if i % 2:
            raise Boom
        return i

    results: list[Any] = []

    async def one(i: int) -> None:
        try:
            results.append(await call(i))
        except Boom:
            results.append("boom")

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(one, i)
        await anyio.wait_all_tasks_blocked()
        go.set()
    m = breaker.metrics()
    assert (m.calls, m.successes, m.failures, m.window_calls) == (1000, 500, 500, 1000)
    assert results.count("boom") == 500


@pytest.mark.anyio
async def test_1000_concurrent_tasks_in_half_open_only_max_calls_probe(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, half_open_max_calls=3, clock=clock)
    go = anyio.Event()
    ran = itertools.count()

    @breaker
    async def call(fail: bool) -> str:
        if fail:
            raise Boom
        next(ran)
        await go.wait()
        return "ok"

    with pytest.raises(Boom):
        await call(True)
    clock.advance(5)
    outcomes: list[str] = []

    async def one() -> None:
        try:
            outcomes.append(await call(False))
        except CircuitOpenError as exc:
            outcomes.append(f"rejected, retry after {exc.retry_after}")

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        assert breaker.metrics().half_open_in_flight == 3
        go.set()
    assert outcomes.count("ok") == next(ran) == 3
    assert outcomes.count("rejected, retry after 0.0") == 997
    assert breaker.state is CLOSED
    assert breaker.metrics().rejections == 997


# -- footprint ----------------------------------------------------------------------------


def bytes_per_breaker(make: Callable[[], Any], k: int = 50) -> float:
    # Other libraries' gc callbacks (hypothesis installs one with its first test in the
    # session) allocate during gc.collect(): they are set aside while measuring.
    callbacks = gc.callbacks[:]
    gc.callbacks.clear()
    try:
        make()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            keep = [make() for _ in range(k)]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    finally:
        gc.callbacks.extend(callbacks)
    return (after - before - sys.getsizeof(keep)) / k


def exercised(**fields: Any) -> Callable[[], CircuitBreaker]:
    def make() -> CircuitBreaker:
        breaker = CircuitBreaker(**fields)
        fn = breaker(lambda: 42)
        for _ in range(100):
            fn()
        return breaker

    return make


def test_bytes_per_breaker() -> None:
    assert bytes_per_breaker(exercised(failure_threshold=5)) <= 300
    assert bytes_per_breaker(exercised(failure_threshold=None, failure_rate_threshold=0.5, window_size=100)) <= 1024
