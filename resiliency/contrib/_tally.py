"""Counting events locally, read at scrape or export time (shared by prometheus and otel).

A ``Tally`` is a registry listener: each event bumps a counter keyed by its labels (one
dict lookup and one ``next()`` on an ``itertools.count``, which is a single C call and so
atomic under the GIL: no lock per call). Exporters read the totals when they are asked
(a Prometheus scrape, an OpenTelemetry collection) instead of calling their SDK per call.
The live gauges (breaker state, bulkhead occupancy) are read from the registry's named
objects at that moment; a breaker without a registry entry is known by its last
``CircuitStateChanged``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .._circuit_breaker import CircuitState
from .._errors import CircuitOpenError
from .._events import (
    BulkheadAdmitted,
    BulkheadRejected,
    CallIgnored,
    CallRecorded,
    CallRejected,
    CircuitStateChanged,
    Event,
    FailoverFinished,
    ProviderFailed,
    ProviderSucceeded,
    RateLimited,
    RetryScheduled,
    TimeoutOccurred,
)
from .._registry import Registry

__all__ = ["BUCKETS", "COUNTERS", "STATE_VALUES", "Counter", "Histogram", "Tally"]

STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}
"""``circuit_breaker_state`` gauge values."""

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, float("inf"))
"""Upper bounds (seconds) of the ``failover_call_duration_seconds`` buckets (Prometheus' defaults)."""

# metric name -> (help text, label names)
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "circuit_breaker_state_changes_total": ("Circuit breaker state transitions.", ("name", "from_state", "to_state")),
    "circuit_breaker_calls_total": (
        "Calls seen by a circuit breaker, by result (success, failure, ignored, rejected).",
        ("name", "result"),
    ),
    "retry_attempts_total": ("Retries (attempts after the first).", ("name",)),
    "timeout_operations_total": ("Calls that timed out.", ("name",)),
    "bulkhead_executions_total": (
        "Bulkhead admissions (active), admissions after a wait in the queue (queued), rejections (rejected).",
        ("name", "state"),
    ),
    "rate_limiter_rejections_total": ("Calls refused by a rate limiter.", ("name",)),
    "failover_provider_calls_total": (
        "Failover provider attempts, by result (success, failure, rejected).",
        ("group", "op", "provider", "result"),
    ),
}


class Counter:
    """A monotonic count bumped without a lock; ``value()`` reads it."""

    __slots__ = ("_lock", "_reads", "_ticks", "inc")

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self.inc: Callable[[], object] = self._ticks.__next__
        self._reads = 0
        self._lock = threading.Lock()

    def value(self) -> int:
        """The count now (each read ticks the underlying count once; it is taken off)."""
        with self._lock:
            ticks = next(self._ticks)
            value = ticks - self._reads
            self._reads += 1
            return value


class Histogram:
    """Bucket counts and sum of observed seconds (cumulative buckets are made on read)."""

    __slots__ = ("counts", "lock", "total")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = [0] * len(BUCKETS)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        """Count one observation."""
        index = next(i for i, bound in enumerate(BUCKETS) if seconds <= bound)
        with self.lock:
            self.counts[index] += 1
            self.total += seconds

    def snapshot(self) -> tuple[list[tuple[float, int]], float, int]:
        """``(cumulative buckets [(le, count)], sum, count)``."""
        with self.lock:
            counts, total = list(self.counts), self.total
        cumulative, running = [], 0
        for bound, count in zip(BUCKETS, counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return cumulative, total, running


class Tally:
    """A registry listener that counts the events the metrics are made of."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.counters: dict[str, dict[tuple[str, ...], Counter]] = {name: {} for name in COUNTERS}
        self.durations: dict[tuple[str, str, str], Histogram] = {}
        self.states: dict[str, str] = {}
        self._lock = threading.Lock()
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            CallRecorded: self._call_recorded,
            CallRejected: self._call_rejected,
            CallIgnored: self._call_ignored,
            CircuitStateChanged: self._state_changed,
            RetryScheduled: self._retry,
            TimeoutOccurred: self._timeout,
            BulkheadAdmitted: self._admitted,
            BulkheadRejected: self._bulkhead_rejected,
            RateLimited: self._rate_limited,
            ProviderSucceeded: self._provider_succeeded,
            ProviderFailed: self._provider_failed,
            FailoverFinished: self._failover_finished,
        }
        # The hottest paths (a breaker's and a bulkhead's success) skip the generic lookup.
        self._breaker_calls = self.counters["circuit_breaker_calls_total"]
        self._bulkhead = self.counters["bulkhead_executions_total"]

    def __call__(self, event: Event) -> None:
        """Count ``event`` (unknown kinds are ignored)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _bump(self, table: dict[tuple[str, ...], Counter], key: tuple[str, ...]) -> None:
        counter = table.get(key)
        if counter is None:
            with self._lock:
                counter = table.setdefault(key, Counter())
        counter.inc()

    # -- handlers ------------------------------------------------------------------

    def _call_recorded(self, event: CallRecorded) -> None:
        # The hot path of an instrumented breaker: _bump written out.
        key = (event.name or "", "success" if event.success else "failure")
        counter = self._breaker_calls.get(key)
        if counter is None:
            with self._lock:
                counter = self._breaker_calls.setdefault(key, Counter())
        counter.inc()

    def _call_rejected(self, event: CallRejected) -> None:
        self._bump(self._breaker_calls, (event.name or "", "rejected"))

    def _call_ignored(self, event: CallIgnored) -> None:
        self._bump(self._breaker_calls, (event.name or "", "ignored"))

    def _state_changed(self, event: CircuitStateChanged) -> None:
        old, new = _state(event.old), _state(event.new)
        self.states[event.name or ""] = new
        self._bump(self.counters["circuit_breaker_state_changes_total"], (event.name or "", old, new))

    def _retry(self, event: RetryScheduled) -> None:
        self._bump(self.counters["retry_attempts_total"], (event.name or "",))

    def _timeout(self, event: TimeoutOccurred) -> None:
        self._bump(self.counters["timeout_operations_total"], (event.name or "",))

    def _admitted(self, event: BulkheadAdmitted) -> None:
        # The hot path of an instrumented bulkhead: _bump written out.
        key = (event.name or "", "active")
        counter = self._bulkhead.get(key)
        if counter is None:
            with self._lock:
                counter = self._bulkhead.setdefault(key, Counter())
        counter.inc()
        if event.queued:
            self._bump(self._bulkhead, (key[0], "queued"))

    def _bulkhead_rejected(self, event: BulkheadRejected) -> None:
        self._bump(self._bulkhead, (event.name or "", "rejected"))

    def _rate_limited(self, event: RateLimited) -> None:
        self._bump(self.counters["rate_limiter_rejections_total"], (event.name or "",))

    def _provider_succeeded(self, event: ProviderSucceeded) -> None:
        key = (event.name or "", event.op, event.provider, "success")
        self._bump(self.counters["failover_provider_calls_total"], key)

    def _provider_failed(self, event: ProviderFailed) -> None:
        result = "rejected" if isinstance(event.error, CircuitOpenError) else "failure"
        key = (event.name or "", event.op, event.provider, result)
        self._bump(self.counters["failover_provider_calls_total"], key)

    def _failover_finished(self, event: FailoverFinished) -> None:
        key = (event.name or "", event.op, event.mode)
        histogram = self.durations.get(key)
        if histogram is None:
            with self._lock:
                histogram = self.durations.setdefault(key, Histogram())
        histogram.observe(event.duration)

    # -- reading -------------------------------------------------------------------

    def counts(self, metric: str) -> Iterator[tuple[tuple[str, ...], int]]:
        """``(labels, value)`` of one counter metric."""
        with self._lock:
            items = list(self.counters[metric].items())
        for key, counter in items:
            yield key, counter.value()

    def histograms(self) -> Iterator[tuple[tuple[str, str, str], tuple[list[tuple[float, int]], float, int]]]:
        """``((group, op, mode), (cumulative buckets, sum, count))`` per label set."""
        with self._lock:
            items = list(self.durations.items())
        for key, histogram in items:
            yield key, histogram.snapshot()

    def breaker_states(self) -> dict[str, int]:
        """Gauge values by breaker label: live for registry breakers, last known for the others."""
        values = {name: STATE_VALUES.get(state, 0) for name, state in list(self.states.items())}
        for name, breaker in self.registry.items("breaker"):
            values[name] = STATE_VALUES[breaker.state.value]
        return values

    def bulkheads(self) -> dict[str, tuple[int, int]]:
        """``name -> (active, queued)`` of the registry's bulkheads, read now."""
        out: dict[str, tuple[int, int]] = {}
        for name, bulkhead in self.registry.items("bulkhead"):
            metrics = bulkhead.metrics()
            out[name] = (metrics.active, metrics.queued)
        return out


def _state(value: object) -> str:
    return value.value if isinstance(value, CircuitState) else str(value)
