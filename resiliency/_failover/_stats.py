"""What a failover group remembers: per provider and op counts and latencies, recent events.

Counting costs two C calls per attempt (no lock); percentiles are computed only
when ``stats()`` is asked for, over the last ``LATENCY_SAMPLES`` durations.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._errors import ProviderAttemptError
from .._events import AllProvidersFailed, Event, ProviderFailed, ProviderSucceeded
from ._summary import ErrorSummary

__all__ = ["EVENT_BUFFER", "LATENCY_SAMPLES", "GroupStats", "OpRecorder", "Outcome", "ProviderStats", "to_events"]

LATENCY_SAMPLES = 1000
"""Recent attempt durations kept per provider and op for p50/p95."""

EVENT_BUFFER = 1000
"""Recent attempt records kept per group for ``events()``."""

# Ring-buffer record kinds: (kind, provider, op, attempt, duration, extra), extra being
# None (success), ``summarize(error)`` (failure) or ``summaries(attempts)`` (all failed):
# never an exception, which would pin the call's frames and arguments.
SUCCEEDED, FAILED, ALL_FAILED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Outcome:
    """One provider's result in ``execute_all``.

    Attributes:
        provider: the provider's name.
        ok: whether it succeeded.
        value: its result (``None`` when it failed).
        error: its last exception (``None`` when it succeeded).
        attempts: the attempts it made (0 when it never started).
        duration: seconds from its start to its end, retries and backoff included.
    """

    provider: str
    ok: bool
    value: Any
    error: BaseException | None
    attempts: int
    duration: float


@dataclass(frozen=True, slots=True)
class ProviderStats:
    """Counts and latencies of one provider's attempts at one op.

    Attributes:
        provider: the provider's name.
        op: the operation.
        calls: attempts started (successes + failures + cancelled).
        successes: attempts that returned.
        failures: attempts that failed (breaker rejections included).
        cancelled: attempts cancelled before they ended (``execute_any`` losers).
        p50: median attempt duration in seconds over the recent attempts (None: none yet).
        p95: 95th percentile attempt duration in seconds (None: none yet).
        last_error: the exception of the latest failed attempt, or None.
    """

    provider: str
    op: str
    calls: int
    successes: int
    failures: int
    cancelled: int
    p50: float | None
    p95: float | None
    last_error: BaseException | None


@dataclass(frozen=True, slots=True)
class GroupStats:
    """``group.stats()``: one ``ProviderStats`` per provider and op, in provider order.

    Attributes:
        group: the group's name.
        entries: the ``ProviderStats``, in provider order, then op name.
    """

    group: str
    entries: tuple[ProviderStats, ...]

    def get(self, provider: str, op: str) -> ProviderStats:
        """Return the stats of ``provider`` at ``op``.

        Raises:
            KeyError: no such provider and op in the group.
        """
        for entry in self.entries:
            if entry.provider == provider and entry.op == op:
                return entry
        known = ", ".join(f"{e.provider}.{e.op}" for e in self.entries) or "none"
        raise KeyError(f"no provider {provider!r} with op {op!r} in group {self.group!r} (known: {known})")

    def for_provider(self, provider: str) -> tuple[ProviderStats, ...]:
        """Return the stats of every op of ``provider``."""
        return tuple(e for e in self.entries if e.provider == provider)


class OpRecorder:
    """The live counters of one provider and op.

    Thread-safe without a lock: ``next()`` on an ``itertools.count`` and
    ``deque.append`` are single C calls under the GIL, so the hot path pays two C calls
    per attempt; the counts are read back from the counters' ``repr``.
    """

    __slots__ = ("cancelled", "durations", "failures", "last_error", "successes")

    def __init__(self) -> None:
        self.successes = itertools.count()
        self.failures = itertools.count()
        self.cancelled = itertools.count()
        self.durations: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.last_error: BaseException | None = None

    def success(self, duration: float) -> None:
        """Count a successful attempt of ``duration`` seconds."""
        next(self.successes)
        self.durations.append(duration)

    def failure(self, duration: float, error: BaseException) -> None:
        """Count a failed attempt."""
        next(self.failures)
        self.durations.append(duration)
        self.last_error = error

    def cancel(self) -> None:
        """Count an attempt cancelled before it ended."""
        next(self.cancelled)

    def snapshot(self, provider: str, op: str) -> ProviderStats:
        """Return the frozen ``ProviderStats`` as of now."""
        samples = sorted(self.durations.copy())
        ok, failed, cancelled = _value(self.successes), _value(self.failures), _value(self.cancelled)
        p50, p95 = _rank(samples, 0.50), _rank(samples, 0.95)
        return ProviderStats(provider, op, ok + failed + cancelled, ok, failed, cancelled, p50, p95, self.last_error)


def _value(counter: itertools.count[int]) -> int:
    """The next value ``counter`` would give, i.e. how many times it was advanced."""
    return int(repr(counter)[len("count(") : -1])


def _rank(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``samples``."""
    if not samples:
        return None
    index = math.ceil(round(q * len(samples), 9)) - 1
    return samples[max(0, min(len(samples) - 1, index))]


def to_events(group: str, records: Iterable[tuple[Any, ...]]) -> list[Event]:
    """Turn ring-buffer records into typed events (errors as ``ErrorSummary``)."""
    events: list[Event] = []
    for kind, provider, op, attempt, duration, extra in records:
        if kind == SUCCEEDED:
            events.append(ProviderSucceeded(group, provider, op, attempt, duration))
        elif kind == FAILED:
            summary = ErrorSummary(extra[0], extra[1], provider, attempt)
            events.append(ProviderFailed(group, provider, op, attempt, duration, summary))
        else:
            tried = tuple(
                ProviderAttemptError(name, what, number, ErrorSummary(kind_name, message, name, number))
                for name, what, number, kind_name, message in extra
            )
            events.append(AllProvidersFailed(group, op, tried))
    return events
