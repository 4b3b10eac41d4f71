"""A hypothesis state machine drives a decorated function through a ``CircuitBreaker``.

The function's outcome (success, failure, a slow call, an ignored or an unrelated
exception, a nested call made while it runs) is chosen by the test; time is a
``FakeClock`` that the function itself moves forward, so slow calls are measured the
way the breaker measures them. A plain reference model predicts every admission,
rejection (with its ``retry_after``), state, counter and event.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from resiliency import CircuitOpenError, Registry
from resiliency._circuit_breaker import CircuitBreaker, CircuitBreakerPolicy, CircuitState
from resiliency._events import CallRecorded, CircuitStateChanged, Event
from resiliency.testing import FakeClock

BUCKETS = 10  # TimeWindow's default


class Boom(Exception):
    """A failure (``failure_on``)."""


class Skip(Exception):
    """Ignored (``ignore_on``)."""


class Other(Exception):
    """Neither: counts as a success."""


@dataclass(frozen=True)
class Step:
    """One call: what the function does, how long it takes, and a call it makes inside."""

    kind: str  # "ok", "boom", "skip", "other"
    duration: float
    inner: Step | None = None


KINDS = {"ok": None, "boom": Boom, "skip": Skip, "other": Other}
steps = st.recursive(
    st.builds(Step, st.sampled_from(list(KINDS)), st.sampled_from([0.0, 0.25, 1.5])),
    lambda inner: st.builds(Step, st.sampled_from(list(KINDS)), st.sampled_from([0.0, 0.25, 1.5]), inner),
    max_leaves=3,
)


class Model:
    """The breaker as plainly as possible: strings for states, lists for windows."""

    def __init__(self, policy: CircuitBreakerPolicy) -> None:
        self.p = policy
        self.transitions: list[tuple[str, str]] = []
        self.calls_recorded = 0
        self.round = 0  # half-open rounds so far: a probe's ticket is -round
        self.probes = 0  # probes running now, of any round
        self.clear()

    def clear(self) -> None:
        self.state = "closed"
        self.forced = False
        self.opened_at = 0.0
        self.consecutive = 0
        self.count_window: deque[tuple[bool, bool]] = deque(maxlen=self.p.window_size or 1)
        self.time_window: list[tuple[int, bool, bool]] = []
        self.probe_successes = 0
        self.successes = self.failures = self.slow = self.rejections = self.opened = 0

    def move(self, new: str) -> None:
        self.transitions.append((self.state, new))
        self.state = new

    def state_at(self, now: float) -> str:
        if self.state == "open" and not self.forced and self.opened_at + self.p.reset_timeout - now <= 0:
            return "half_open"
        return self.state

    def admit(self, now: float) -> float | None:
        if self.state == "closed":
            return None
        if self.state == "open":
            wait = math.inf if self.forced else self.opened_at + self.p.reset_timeout - now
            if wait > 0:
                self.rejections += 1
                return wait
            self.move("half_open")
            self.probe_successes = 0
            self.round += 1
        if self.probes < self.p.half_open_max_calls:
            self.probes += 1
            return -float(self.round)
        self.rejections += 1
        return 0.0

    def window(self, now: float) -> tuple[int, int, int]:
        if self.p.window_duration is None:
            entries = [(f, s) for f, s in self.count_window]
        else:
            current = math.floor(now * BUCKETS / self.p.window_duration)
            self.time_window = [e for e in self.time_window if e[0] > current - BUCKETS]
            entries = [(f, s) for _, f, s in self.time_window]
        return len(entries), sum(f for f, _ in entries), sum(s for _, s in entries)

    def open(self, now: float) -> None:
        self.opened += 1
        self.opened_at = now
        self.probe_successes = 0
        self.move("open")

    def record(self, now: float, failed: bool, slow: bool, probe: float) -> None:
        self.calls_recorded += 1
        if probe:
            self.probes -= 1
        self.failures += failed
        self.successes += not failed
        self.slow += slow
        if self.state == "closed":
            self.consecutive = self.consecutive + 1 if failed else 0
            if self.p.uses_window:
                if self.p.window_duration is None:
                    self.count_window.append((failed, slow))
                else:
                    self.window(now)
                    self.time_window.append((math.floor(now * BUCKETS / self.p.window_duration), failed, slow))
            calls, bad, slowed = self.window(now) if self.p.uses_window else (0, 0, 0)
            rate, slow_rate = self.p.failure_rate_threshold, self.p.slow_call_rate_threshold
            if (
                (self.p.failure_threshold is not None and self.consecutive >= self.p.failure_threshold)
                or (rate is not None and calls >= self.p.minimum_calls and bad / calls >= rate)
                or (slow_rate is not None and calls >= self.p.minimum_calls and slowed / calls >= slow_rate)
            ):
                self.open(now)
        elif self.state == "half_open" and probe == -self.round:
            if failed or slow:
                self.open(now)
            else:
                self.probe_successes += 1
                if self.probe_successes >= self.p.success_threshold:
                    self.consecutive, self.probe_successes = 0, 0
                    self.count_window.clear()
                    self.time_window.clear()
                    self.forced = False
                    self.move("closed")

    def release(self, probe: float) -> None:
        if probe:
            self.probes -= 1

    def force_open(self, now: float) -> None:
        self.forced = True
        if self.state != "open":
            self.open(now)

    def reset(self) -> None:
        old = self.state
        transitions, recorded = self.transitions, self.calls_recorded
        self.clear()
        self.transitions, self.calls_recorded = transitions, recorded
        if old != "closed":
            self.transitions.append((old, "closed"))


class BreakerMachine(RuleBasedStateMachine):
    """Calls (nested ones too), clock moves, force_open and reset; breaker and model must agree."""

    @initialize(
        failure_threshold=st.sampled_from([None, 1, 2, 3]),
        failure_rate=st.sampled_from([None, 0.5, 1.0]),
        slow_rate=st.sampled_from([None, 0.5, 1.0]),
        window=st.sampled_from(["count", "time"]),
        window_size=st.integers(1, 6),
        window_duration=st.sampled_from([2.0, 5.0]),
        minimum_calls=st.integers(1, 6),
        reset_timeout=st.sampled_from([0.5, 1.0, 2.5]),
        half_open_max_calls=st.integers(1, 3),
        success_threshold=st.integers(1, 3),
    )
    def build(
        self,
        failure_threshold: int | None,
        failure_rate: float | None,
        slow_rate: float | None,
        window: str,
        window_size: int,
        window_duration: float,
        minimum_calls: int,
        reset_timeout: float,
        half_open_max_calls: int,
        success_threshold: int,
    ) -> None:
        if failure_threshold is None and failure_rate is None and slow_rate is None:
            failure_threshold = 1
        uses_window = failure_rate is not None or slow_rate is not None
        by_count = window == "count"
        policy = CircuitBreakerPolicy(
            failure_threshold=failure_threshold,
            failure_rate_threshold=failure_rate,
            window_size=window_size if by_count and uses_window else None,
            window_duration=None if by_count or not uses_window else window_duration,
            minimum_calls=min(minimum_calls, window_size) if by_count else minimum_calls,
            slow_call_duration=None if slow_rate is None else 1.0,
            slow_call_rate_threshold=slow_rate,
            reset_timeout=reset_timeout,
            half_open_max_calls=half_open_max_calls,
            success_threshold=success_threshold,
            failure_on=Boom,
            ignore_on=Skip,
        )
        self.clock = FakeClock()
        self.registry = Registry()
        self.events: list[Event] = []
        self.registry.subscribe(self.events.append)
        self.breaker = CircuitBreaker("m", policy=policy, clock=self.clock, registry=self.registry)
        self.model = Model(policy)
        self.protected = self.breaker(self.body)

    def body(self, step: Step) -> str:
        """The protected function: make the inner call, let time pass, end as told."""
        if step.inner is not None:
            self.perform(step.inner)
        self.clock.advance(step.duration)
        error = KINDS[step.kind]
        if error is not None:
            raise error(step.kind)
        return step.kind

    def perform(self, step: Step) -> None:
        """One decorated call, predicted by the model, then checked."""
        start = self.clock.monotonic()
        verdict = self.model.admit(start)
        rejection: CircuitOpenError | None = None
        result: Any = None
        try:
            result = self.protected(step)
        except CircuitOpenError as exc:
            rejection = exc
        except (Boom, Skip, Other) as exc:
            result = type(exc)
        if rejection is not None:
            assert verdict is not None, "rejected, the model admitted"
            assert verdict >= 0, "rejected, the model let a probe through"
            assert rejection.retry_after == verdict
            assert rejection.breaker is self.breaker
            return
        assert verdict is None or verdict < 0, f"admitted, the model rejected: {verdict}"
        end = self.clock.monotonic()
        expected = KINDS[step.kind] or step.kind
        assert result == expected
        probe = 0.0 if verdict is None else verdict
        if step.kind == "skip":
            self.model.release(probe)
            return
        timed = self.model.p.slow_call_duration is not None
        slow = timed and end - start >= 1.0
        self.model.record(end, step.kind == "boom", slow, probe)

    @rule(step=steps)
    def call(self, step: Step) -> None:
        self.perform(step)

    @rule(quarters=st.integers(0, 12))
    def advance(self, quarters: int) -> None:
        self.clock.advance(quarters * 0.25)

    @rule()
    def force_open(self) -> None:
        self.breaker.force_open()
        self.model.force_open(self.clock.monotonic())

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.reset()

    @invariant()
    def agree(self) -> None:
        if not hasattr(self, "model"):
            return
        now = self.clock.monotonic()
        model = self.model
        m = self.breaker.metrics()
        assert self.breaker.state.value == model.state_at(now)
        assert m.state.value == model.state_at(now)
        assert (m.successes, m.failures, m.slow_calls) == (model.successes, model.failures, model.slow)
        assert (m.rejections, m.opened_count) == (model.rejections, model.opened)
        assert m.consecutive_failures == model.consecutive
        assert m.half_open_in_flight == model.probes
        assert m.forced_open == model.forced
        if model.p.uses_window:
            assert m.window_calls == model.window(now)[0]
        changes = [(e.old.value, e.new.value) for e in self.events if isinstance(e, CircuitStateChanged)]
        assert changes == model.transitions
        assert sum(isinstance(e, CallRecorded) for e in self.events) == model.calls_recorded
        expected_retry = 0.0
        if model.state == "open":
            expected_retry = math.inf if model.forced else max(0.0, model.opened_at + model.p.reset_timeout - now)
        assert self.breaker.retry_after == expected_retry
        assert CircuitState(m.state.value) is m.state


BreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestBreakerMachine = BreakerMachine.TestCase
