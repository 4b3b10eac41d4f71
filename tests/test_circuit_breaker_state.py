"""BreakerCore: each trip mode at its threshold, half-open probes, events, threads."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from resiliency._circuit_breaker._policy import CircuitBreakerPolicy
from resiliency._circuit_breaker._state import BreakerCore, CircuitState

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN
ROUND_1, ROUND_2 = -1.0, -2.0  # the probe tickets of the first half-open rounds


def core(**fields: Any) -> BreakerCore:
    return BreakerCore(CircuitBreakerPolicy(**fields))


def ok(breaker: BreakerCore, now: float = 0.0, duration: float = 0.0, probe: float = 0.0) -> None:
    breaker.record(now, failed=False, duration=duration, probe=probe)


def fail(breaker: BreakerCore, now: float = 0.0, duration: float = 0.0, probe: float = 0.0) -> None:
    breaker.record(now, failed=True, duration=duration, probe=probe)


def test_circuit_state_values() -> None:
    assert [s.value for s in CircuitState] == ["closed", "open", "half_open"]
    assert CircuitState.__doc__


def test_closed_admits_with_none() -> None:
    breaker = core()
    assert breaker.state is CLOSED
    assert breaker.admit(0.0) is None


def test_consecutive_failures_open_exactly_at_the_threshold() -> None:
    breaker = core(failure_threshold=3)
    fail(breaker)
    fail(breaker)
    assert breaker.state is CLOSED
    fail(breaker, now=7.0)
    assert breaker.state is OPEN
    snap = breaker.snapshot(7.0)
    assert snap.opened_count == 1
    assert snap.consecutive_failures == 3
    assert snap.last_state_change == 7.0


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = core(failure_threshold=3)
    for _ in range(5):
        fail(breaker)
        fail(breaker)
        ok(breaker)
    assert breaker.state is CLOSED
    assert breaker.snapshot(0.0).consecutive_failures == 0


def test_failure_rate_opens_exactly_at_the_threshold_once_minimum_calls_are_seen() -> None:
    breaker = core(failure_threshold=None, failure_rate_threshold=0.5, window_size=10, minimum_calls=10)
    for _ in range(5):
        ok(breaker)
    for _ in range(4):
        fail(breaker)
    assert breaker.state is CLOSED  # 4/9, and only 9 calls
    fail(breaker)
    assert breaker.state is OPEN  # 5/10 >= 0.5


def test_failure_rate_below_the_threshold_stays_closed() -> None:
    breaker = core(failure_threshold=None, failure_rate_threshold=0.5, window_size=10, minimum_calls=10)
    for i in range(100):
        breaker.record(0.0, failed=i % 10 < 4, duration=0.0, probe=0.0)  # 4 in every 10
    assert breaker.state is CLOSED
    assert breaker.snapshot(0.0).window_calls == 10


def test_minimum_calls_hold_back_a_full_failure_rate() -> None:
    breaker = core(failure_threshold=None, failure_rate_threshold=0.1, window_size=20, minimum_calls=6)
    for _ in range(5):
        fail(breaker)
    assert breaker.state is CLOSED
    fail(breaker)
    assert breaker.state is OPEN


def test_the_count_window_slides() -> None:
    breaker = core(failure_threshold=None, failure_rate_threshold=0.5, window_size=4, minimum_calls=4)
    fail(breaker)
    ok(breaker)
    ok(breaker)
    ok(breaker)  # 1/4
    ok(breaker)  # the failure leaves: 0/4
    fail(breaker)  # 1/4
    assert breaker.state is CLOSED
    fail(breaker)  # 2/4
    assert breaker.state is OPEN


def test_the_time_window_forgets_old_failures() -> None:
    breaker = core(failure_threshold=None, failure_rate_threshold=0.5, window_duration=10, minimum_calls=4)
    for _ in range(3):
        fail(breaker, now=0.5)
    assert breaker.state is CLOSED  # 3 calls < minimum
    for _ in range(4):
        ok(breaker, now=10.5)  # the failures of bucket 0 have left
    fail(breaker, now=10.5)
    assert breaker.state is CLOSED  # 1/5
    fail(breaker, now=11.5)
    fail(breaker, now=12.5)
    assert breaker.state is CLOSED  # 3/7
    fail(breaker, now=13.5)
    assert breaker.state is OPEN  # 4/8


def test_slow_call_rate_opens_exactly_at_the_threshold() -> None:
    breaker = core(
        failure_threshold=None, slow_call_duration=1.0, slow_call_rate_threshold=0.5, window_size=4, minimum_calls=4
    )
    ok(breaker, duration=0.99)
    ok(breaker, duration=0.5)
    ok(breaker, duration=1.0)  # slow: duration >= slow_call_duration
    assert breaker.state is CLOSED
    ok(breaker, duration=3.0)
    assert breaker.state is OPEN  # 2/4
    assert breaker.snapshot(0.0).slow_calls == 2


def test_slow_failures_count_in_both_rates() -> None:
    breaker = core(
        failure_threshold=None,
        failure_rate_threshold=1.0,
        slow_call_duration=1.0,
        slow_call_rate_threshold=1.0,
        window_size=2,
        minimum_calls=2,
    )
    fail(breaker, duration=5.0)
    ok(breaker, duration=5.0)
    assert breaker.state is OPEN  # slow 2/2, failures 1/2
    snap = breaker.snapshot(0.0)
    assert (snap.failures, snap.successes, snap.slow_calls) == (1, 1, 2)


def test_modes_combine() -> None:
    breaker = core(failure_threshold=3, failure_rate_threshold=0.9, window_size=10, minimum_calls=10)
    fail(breaker)
    fail(breaker)
    fail(breaker)
    assert breaker.state is OPEN  # consecutive mode, although the rate needs 10 calls


def test_open_rejects_with_the_time_left() -> None:
    breaker = core(failure_threshold=1, reset_timeout=10)
    fail(breaker, now=100.0)
    assert breaker.admit(100.0) == 10.0
    assert breaker.admit(104.0) == 6.0
    assert breaker.admit(109.5) == 0.5
    assert breaker.snapshot(104.0).rejections == 3
    assert breaker.snapshot(104.0).retry_after == 6.0


def test_state_stays_open_until_admit_but_state_at_reports_half_open() -> None:
    breaker = core(failure_threshold=1, reset_timeout=10)
    fail(breaker, now=0.0)
    assert breaker.state_at(9.9) is OPEN
    assert breaker.state_at(10.0) is HALF_OPEN
    assert breaker.state is OPEN  # nothing moved it yet
    assert breaker.snapshot(10.0).state is HALF_OPEN
    assert breaker.admit(10.0) == ROUND_1
    assert breaker.state is HALF_OPEN


def test_half_open_admits_at_most_half_open_max_calls_probes() -> None:
    breaker = core(failure_threshold=1, reset_timeout=1, half_open_max_calls=3, success_threshold=10)
    fail(breaker)
    assert [breaker.admit(1.0) for _ in range(5)] == [ROUND_1, ROUND_1, ROUND_1, 0.0, 0.0]
    ok(breaker, now=1.0, probe=ROUND_1)  # frees one slot
    assert breaker.admit(1.0) == ROUND_1
    assert breaker.admit(1.0) == 0.0
    assert breaker.snapshot(1.0).half_open_in_flight == 3
    assert breaker.snapshot(1.0).rejections == 3


def test_success_threshold_probes_close_it_with_a_fresh_window() -> None:
    breaker = core(
        failure_threshold=None,
        failure_rate_threshold=0.5,
        window_size=4,
        minimum_calls=2,
        reset_timeout=5,
        success_threshold=3,
    )
    fail(breaker)
    fail(breaker)
    assert breaker.state is OPEN
    for i in range(3):
        assert breaker.admit(5.0 + i) == ROUND_1
        assert breaker.state is HALF_OPEN
        ok(breaker, now=5.0 + i, probe=ROUND_1)
    assert breaker.state is CLOSED
    snap = breaker.snapshot(8.0)
    assert (snap.window_calls, snap.window_failures, snap.consecutive_failures) == (0, 0, 0)
    assert snap.last_state_change == 7.0
    assert snap.retry_after is None
    fail(breaker)
    assert breaker.state is CLOSED  # 1 call < minimum_calls in the new window


def test_a_failed_probe_reopens_and_restarts_the_timeout() -> None:
    breaker = core(failure_threshold=1, reset_timeout=5, success_threshold=2)
    fail(breaker, now=0.0)
    assert breaker.admit(5.0) == ROUND_1
    ok(breaker, now=5.5, probe=ROUND_1)
    assert breaker.admit(6.0) == ROUND_1
    fail(breaker, now=6.0, probe=ROUND_1)
    assert breaker.state is OPEN
    assert breaker.admit(7.0) == 4.0
    assert breaker.snapshot(7.0).opened_count == 2


def test_a_slow_probe_reopens_in_slow_call_mode() -> None:
    breaker = core(
        failure_threshold=1, slow_call_duration=2.0, slow_call_rate_threshold=1.0, window_size=10, reset_timeout=1
    )
    fail(breaker)
    assert breaker.admit(1.0) == ROUND_1
    ok(breaker, now=4.0, duration=3.0, probe=ROUND_1)
    assert breaker.state is OPEN


def test_a_late_result_from_the_closed_era_decides_nothing() -> None:
    breaker = core(failure_threshold=1, reset_timeout=1)
    assert breaker.admit(0.0) is None  # a slow call starts while closed
    fail(breaker, now=0.0)  # another call opens the breaker
    assert breaker.admit(1.0) == ROUND_1
    ok(breaker, now=1.0, probe=0.0)  # the old call ends: no probe success
    fail(breaker, now=1.0, probe=0.0)
    assert breaker.state is HALF_OPEN
    assert breaker.snapshot(1.0).calls == 3


def test_release_frees_a_probe_slot_and_counts_nothing() -> None:
    breaker = core(failure_threshold=1, reset_timeout=1)
    fail(breaker)
    assert breaker.admit(1.0) == ROUND_1
    assert breaker.admit(1.0) == 0.0
    breaker.release(probe=ROUND_1)
    assert breaker.state is HALF_OPEN
    assert breaker.admit(1.0) == ROUND_1
    breaker.release(probe=0.0)  # a closed-era call: nothing to free
    assert breaker.admit(1.0) == 0.0
    snap = breaker.snapshot(1.0)
    assert (snap.calls, snap.successes, snap.failures, snap.half_open_in_flight) == (1, 0, 1, 1)


def test_force_open_holds_it_open_until_reset() -> None:
    events: list[tuple[CircuitState, CircuitState]] = []
    breaker = core(reset_timeout=1)
    breaker.on_transition = lambda old, new: events.append((old, new))
    breaker.force_open(3.0)
    assert breaker.state is OPEN
    assert breaker.admit(1_000.0) == math.inf
    assert breaker.state_at(1_000.0) is OPEN
    snap = breaker.snapshot(1_000.0)
    assert (snap.forced_open, snap.retry_after, snap.opened_count, snap.rejections) == (True, math.inf, 1, 1)
    breaker.reset(1_001.0)
    assert breaker.state is CLOSED
    assert breaker.admit(1_001.0) is None
    assert events == [(CLOSED, OPEN), (OPEN, CLOSED)]
    assert breaker.snapshot(1_001.0).last_state_change == 1_001.0


def test_force_open_on_an_open_breaker_holds_it_without_an_event() -> None:
    events: list[tuple[CircuitState, CircuitState]] = []
    breaker = core(failure_threshold=1, reset_timeout=1)
    breaker.on_transition = lambda old, new: events.append((old, new))
    fail(breaker)
    breaker.force_open(0.5)
    assert breaker.admit(5.0) == math.inf
    assert events == [(CLOSED, OPEN)]
    assert breaker.snapshot(5.0).opened_count == 1


def test_force_open_from_half_open() -> None:
    breaker = core(failure_threshold=1, reset_timeout=1)
    fail(breaker)
    assert breaker.admit(1.0) == ROUND_1
    breaker.force_open(1.0)
    ok(breaker, now=1.0, probe=ROUND_1)  # the probe ends while forced open
    assert breaker.state is OPEN
    assert breaker.admit(99.0) == math.inf


def test_reset_clears_every_counter() -> None:
    breaker = core(failure_threshold=2, failure_rate_threshold=0.5, window_size=10)
    ok(breaker)
    fail(breaker)
    fail(breaker)
    breaker.admit(0.0)
    breaker.reset()
    snap = breaker.snapshot(0.0)
    assert snap.state is CLOSED
    assert snap.last_state_change is None
    assert snap[2:13] == (0,) * 11  # every count


def test_reset_of_a_closed_breaker_sends_no_event() -> None:
    events: list[object] = []
    breaker = BreakerCore(CircuitBreakerPolicy(), on_transition=lambda *t: events.append(t))
    breaker.reset(1.0)
    assert events == []


def test_every_transition_is_reported_outside_the_lock() -> None:
    events: list[tuple[CircuitState, CircuitState]] = []
    breaker = core(failure_threshold=1, reset_timeout=1)

    def on_transition(old: CircuitState, new: CircuitState) -> None:
        assert not breaker._lock.locked()
        events.append((old, new))

    breaker.on_transition = on_transition
    fail(breaker, now=0.0)  # closed -> open
    assert breaker.admit(1.0) == ROUND_1  # open -> half-open
    fail(breaker, now=1.0, probe=ROUND_1)  # half-open -> open
    assert breaker.admit(2.0) == ROUND_2  # open -> half-open
    ok(breaker, now=2.0, probe=ROUND_2)  # half-open -> closed
    assert events == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


class CountingLock:
    """Stands in for the core's lock to count how often it is taken."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken = 0

    def __enter__(self) -> None:
        self.lock.acquire()
        self.taken += 1

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def locked(self) -> bool:
        return self.lock.locked()


def test_the_closed_fast_path_takes_no_lock() -> None:
    breaker = core(failure_threshold=5)
    lock = CountingLock()
    breaker._lock = lock  # type: ignore[assignment]
    for _ in range(100):
        assert breaker.admit(0.0) is None
        ok(breaker)
    assert lock.taken == 0
    fail(breaker)  # failures take the lock
    assert lock.taken == 1
    assert breaker.snapshot(0.0).successes == 100


def test_a_window_success_takes_the_lock() -> None:
    breaker = core(failure_rate_threshold=0.5)
    lock = CountingLock()
    breaker._lock = lock  # type: ignore[assignment]
    assert breaker.admit(0.0) is None
    ok(breaker)
    assert lock.taken == 1


def test_snapshot_reads_do_not_change_the_counts() -> None:
    breaker = core()
    for _ in range(7):
        ok(breaker)
    assert [breaker.snapshot(0.0).successes for _ in range(3)] == [7, 7, 7]
    ok(breaker)
    assert breaker.snapshot(0.0).calls == 8


def run_threads(count: int, target: Any) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize(
    "fields",
    [
        {"failure_threshold": 10**9},  # consecutive only: the lock-free success path
        {"failure_threshold": None, "failure_rate_threshold": 1.0, "window_size": 100, "minimum_calls": 100},
    ],
)
def test_threads_get_exact_totals(fields: dict[str, Any]) -> None:
    breaker = core(**fields)
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            breaker.snapshot(0.0)

    def worker(_: int) -> None:
        for i in range(1_000):
            assert breaker.admit(0.0) is None
            breaker.record(0.0, failed=i % 7 == 0, duration=0.0, probe=False)

    watcher = threading.Thread(target=reader)
    watcher.start()
    run_threads(32, worker)
    done.set()
    watcher.join()
    failures_per_thread = len(range(0, 1_000, 7))
    snap = breaker.snapshot(0.0)
    assert snap.state is CLOSED
    assert snap.calls == 32_000
    assert snap.failures == 32 * failures_per_thread
    assert snap.successes == 32 * (1_000 - failures_per_thread)
    assert snap.rejections == 0


def test_threads_never_exceed_the_probe_limit() -> None:
    breaker = core(failure_threshold=1, reset_timeout=1, half_open_max_calls=4, success_threshold=10**9)
    fail(breaker, now=0.0)
    guard = threading.Lock()
    in_flight = [0, 0]  # now, most seen

    def worker(_: int) -> None:
        for _ in range(1_000):
            verdict = breaker.admit(5.0)
            if verdict != ROUND_1:
                assert verdict == 0.0
                continue
            with guard:
                in_flight[0] += 1
                in_flight[1] = max(in_flight)
            with guard:
                in_flight[0] -= 1
            breaker.record(5.0, failed=False, duration=0.0, probe=ROUND_1)

    run_threads(32, worker)
    snap = breaker.snapshot(5.0)
    assert 1 <= in_flight[1] <= 4
    assert snap.state is HALF_OPEN
    assert snap.half_open_in_flight == 0
    assert snap.successes + snap.rejections == 32_000


# --- A plain reference model, driven against BreakerCore by hypothesis -------------------


class Model:
    """The breaker written as plainly as possible: a deque for the window, strings for states."""

    def __init__(self, policy: CircuitBreakerPolicy) -> None:
        self.p = policy
        self.state = "closed"
        self.forced = False
        self.opened_at = 0.0
        self.consecutive = 0
        self.window: deque[tuple[bool, bool]] = deque(maxlen=policy.window_size or 1)
        self.probe_successes = 0
        self.successes = self.failures = self.slow = self.rejections = self.opened = 0
        # Kept by reset(): half-open rounds so far, and probes running now (of any round).
        self.round = getattr(self, "round", 0)
        self.probes = getattr(self, "probes", 0)

    def state_at(self, now: float) -> str:
        if self.state == "open" and not self.forced and now - self.opened_at >= self.p.reset_timeout:
            return "half_open"
        return self.state

    def admit(self, now: float) -> float | None:
        if self.state == "closed":
            return None
        if self.state == "open":
            if self.state_at(now) == "open":
                self.rejections += 1
                return math.inf if self.forced else self.opened_at + self.p.reset_timeout - now
            self.state, self.probe_successes = "half_open", 0
            self.round += 1
        if self.probes < self.p.half_open_max_calls:
            self.probes += 1
            return -float(self.round)
        self.rejections += 1
        return 0.0

    def open(self, now: float) -> None:
        if self.state != "open":
            self.opened += 1
        self.state, self.opened_at, self.probe_successes = "open", now, 0

    def record(self, now: float, failed: bool, slow: bool, probe: float) -> None:
        self.failures += failed
        self.successes += not failed
        self.slow += slow
        if probe:
            self.probes -= 1
        if self.state == "closed":
            self.consecutive = self.consecutive + 1 if failed else 0
            if self.p.uses_window:
                self.window.append((failed, slow))
            calls = len(self.window)
            bad = sum(f for f, _ in self.window)
            slowed = sum(s for _, s in self.window)
            rate, slow_rate = self.p.failure_rate_threshold, self.p.slow_call_rate_threshold
            if (
                (self.p.failure_threshold is not None and self.consecutive >= self.p.failure_threshold)
                or (rate is not None and calls >= self.p.minimum_calls and bad / calls >= rate)
                or (slow_rate is not None and calls >= self.p.minimum_calls and slowed / calls >= slow_rate)
            ):
                self.open(now)
        elif self.state == "half_open" and probe == -self.round:  # a probe of this round
            if failed or slow:
                self.open(now)
            else:
                self.probe_successes += 1
                if self.probe_successes >= self.p.success_threshold:
                    self.state, self.consecutive = "closed", 0
                    self.window.clear()

    def release(self, probe: float) -> None:
        if probe:
            self.probes -= 1

    def force_open(self, now: float) -> None:
        self.open(now)
        self.forced = True

    def reset(self) -> None:
        self.__init__(self.p)  # type: ignore[misc]


OUTCOMES = ["success", "failure", "slow_success", "slow_failure", "ignored"]


class BreakerMachine(RuleBasedStateMachine):
    """Random calls, outcomes, clock moves, force_open and reset; core and model must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.pending: list[float] = []  # admitted calls not yet ended: their probe tickets (0.0: none)

    @initialize(
        failure_threshold=st.sampled_from([None, 1, 2, 3, 5]),
        failure_rate=st.sampled_from([None, 0.25, 0.5, 1.0]),
        slow_rate=st.sampled_from([None, 0.5, 1.0]),
        window_size=st.integers(1, 8),
        minimum_calls=st.integers(1, 8),
        reset_timeout=st.sampled_from([0.5, 1.0, 2.5]),
        half_open_max_calls=st.integers(1, 3),
        success_threshold=st.integers(1, 3),
    )
    def build(
        self,
        failure_threshold: int | None,
        failure_rate: float | None,
        slow_rate: float | None,
        window_size: int,
        minimum_calls: int,
        reset_timeout: float,
        half_open_max_calls: int,
        success_threshold: int,
    ) -> None:
        if failure_threshold is None and failure_rate is None and slow_rate is None:
            failure_threshold = 1
        policy = CircuitBreakerPolicy(
            failure_threshold=failure_threshold,
            failure_rate_threshold=failure_rate,
            window_size=window_size,
            minimum_calls=min(minimum_calls, window_size),
            slow_call_duration=None if slow_rate is None else 1.0,
            slow_call_rate_threshold=slow_rate,
            reset_timeout=reset_timeout,
            half_open_max_calls=half_open_max_calls,
            success_threshold=success_threshold,
        )
        self.events: list[tuple[CircuitState, CircuitState]] = []
        self.core = BreakerCore(policy, on_transition=lambda old, new: self.events.append((old, new)))
        self.model = Model(policy)

    def admit(self) -> bool:
        verdict, expected = self.core.admit(self.now), self.model.admit(self.now)
        assert verdict == expected
        if verdict is None or verdict < 0:
            self.pending.append(0.0 if verdict is None else verdict)
            return True
        return False

    def end(self, index: int, outcome: str) -> None:
        probe = self.pending.pop(index % len(self.pending))
        if outcome == "ignored":
            self.core.release(probe)
            self.model.release(probe)
            return
        failed = outcome.endswith("failure")
        duration = 1.5 if outcome.startswith("slow") else 0.25
        slow = self.model.p.slow_call_duration is not None and duration >= self.model.p.slow_call_duration
        self.core.record(self.now, failed, duration, probe)
        self.model.record(self.now, failed, slow, probe)

    @rule(outcome=st.sampled_from(OUTCOMES))
    def call(self, outcome: str) -> None:
        if self.admit():
            self.end(-1, outcome)

    @rule()
    def start_call(self) -> None:
        self.admit()

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 10), outcome=st.sampled_from(OUTCOMES))
    def end_call(self, index: int, outcome: str) -> None:
        self.end(index, outcome)

    @rule(quarters=st.integers(0, 12))
    def advance(self, quarters: int) -> None:
        self.now += quarters * 0.25  # exact in binary floating point

    @rule()
    def force_open(self) -> None:
        self.core.force_open(self.now)
        self.model.force_open(self.now)

    @rule()
    def reset(self) -> None:
        self.core.reset(self.now)
        self.model.reset()

    @invariant()
    def agree(self) -> None:
        if not hasattr(self, "core"):
            return
        model = self.model
        assert self.core.state.value == model.state
        assert self.core.state_at(self.now).value == model.state_at(self.now)
        snap = self.core.snapshot(self.now)
        assert snap.forced_open == model.forced
        assert (snap.successes, snap.failures, snap.slow_calls) == (model.successes, model.failures, model.slow)
        assert (snap.rejections, snap.opened_count) == (model.rejections, model.opened)
        assert snap.consecutive_failures == model.consecutive
        assert snap.half_open_in_flight == model.probes
        if model.p.uses_window:
            assert snap.window_calls == len(model.window)
        if self.events:
            assert self.events[-1][1] is self.core.state


BreakerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
test_breaker_against_the_model = BreakerMachine.TestCase
