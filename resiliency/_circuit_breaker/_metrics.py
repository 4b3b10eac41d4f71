"""What a circuit breaker reports: its ``CircuitState``, the raw ``BreakerSnapshot`` and ``CircuitBreakerMetrics``.

``take_snapshot`` reads a ``BreakerCore``'s counters under its lock; ``metrics_from``
turns a snapshot into the public, frozen ``CircuitBreakerMetrics`` with the rates worked
out. Neither reads a clock: the caller passes ``now``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from ._state import BreakerCore

__all__ = ["BreakerSnapshot", "CircuitBreakerMetrics", "CircuitState", "metrics_from", "take_snapshot"]


class CircuitState(enum.Enum):
    """The state of a circuit breaker.

    - ``CLOSED``: calls go ahead and their outcomes are counted.
    - ``OPEN``: calls are rejected until ``reset_timeout`` has passed since it opened.
    - ``HALF_OPEN``: up to ``half_open_max_calls`` probe calls at a time test whether the
      protected service has recovered; the others are rejected.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# CPython 3.11 reads ``CircuitState.CLOSED`` through a Python descriptor (~80 ns): the
# per-call paths read these globals instead (~10 ns).
_CLOSED: Final = CircuitState.CLOSED
_OPEN: Final = CircuitState.OPEN
_HALF_OPEN: Final = CircuitState.HALF_OPEN


class BreakerSnapshot(NamedTuple):
    """The counters of one breaker at one instant, for ``metrics()``.

    ``calls`` counts recorded outcomes (``successes + failures``); rejected and ignored
    calls are not in it. ``retry_after`` is None unless open (``inf`` when forced open).
    ``last_state_change`` is monotonic seconds, None before the first transition.
    """

    state: CircuitState
    forced_open: bool
    calls: int
    successes: int
    failures: int
    slow_calls: int
    rejections: int
    opened_count: int
    consecutive_failures: int
    window_calls: int
    window_failures: int
    window_slow_calls: int
    half_open_in_flight: int
    last_state_change: float | None
    retry_after: float | None


def _fast_totals(core: BreakerCore) -> tuple[int, int]:
    """Return the successes and rejections counted on the lock-free paths (under the lock).

    ``next()`` on a counter returns how often it was ticked before: by the fast path and
    by the earlier reads, which are serialised by the lock and subtracted.
    """
    successes = next(core._fast_successes) - core._fast_success_reads
    core._fast_success_reads += 1
    rejections = 0
    if core._fast_rejections is not None:
        rejections = next(core._fast_rejections) - core._fast_rejection_reads
        core._fast_rejection_reads += 1
    return successes, rejections


def take_snapshot(core: BreakerCore, now: float) -> BreakerSnapshot:
    """Return every counter of ``core`` at ``now``, read consistently under its lock.

    Args:
        core: the breaker's state machine.
        now: monotonic seconds, used for ``state`` (as ``state_at``), the time window's
            totals and ``retry_after``.
    """
    with core._lock:
        fast_successes, fast_rejections = _fast_totals(core)
        successes = core._successes + fast_successes
        window = (0, 0, 0) if core._window is None else core._window.totals(now)
        is_open = core._state is _OPEN
        return BreakerSnapshot(
            state=core._state_at_locked(now),
            forced_open=core._forced,
            calls=successes + core._failures,
            successes=successes,
            failures=core._failures,
            slow_calls=core._slow_calls,
            rejections=core._rejections + fast_rejections,
            opened_count=core._opened_count,
            consecutive_failures=core._consecutive_failures,
            window_calls=window[0],
            window_failures=window[1],
            window_slow_calls=window[2],
            half_open_in_flight=core._half_open_in_flight,
            last_state_change=core._last_change,
            retry_after=max(0.0, core._wait(now)) if is_open else None,
        )


@dataclass(frozen=True, slots=True)
class CircuitBreakerMetrics:
    """A snapshot of one circuit breaker, from ``CircuitBreaker.metrics()``.

    Counters are cumulative since the breaker was created or last ``reset()``.

    Attributes:
        state: the state a call would meet now (``HALF_OPEN`` once ``reset_timeout``
            has passed on an open breaker, even before a probe was let through).
        forced_open: held open by ``force_open()`` until ``reset()``.
        calls: recorded outcomes, ``successes + failures`` (rejected calls, ignored
            exceptions and cancelled calls are not counted).
        successes: calls that returned, or raised an exception that is not a failure.
        failures: calls that raised an exception matching ``failure_on``.
        slow_calls: calls that lasted ``slow_call_duration`` or more (0 unless the
            slow-call mode is on).
        rejections: calls refused with ``CircuitOpenError``.
        opened_count: times the breaker opened.
        consecutive_failures: failures in a row while closed.
        failure_rate: ``window_failures / window_calls`` when the breaker keeps a window,
            else ``failures / calls`` since creation or ``reset()``; 0.0 with no call.
        slow_call_rate: the same for slow calls.
        window_calls, window_failures, window_slow_calls: what the sliding window holds
            now (0 without a window; emptied when the breaker closes).
        half_open_in_flight: probes running now.
        retry_after: seconds until a probe may go through: 0.0 unless open, ``inf``
            when forced open.
        last_state_change: monotonic seconds of the last transition (None before one).
    """

    state: CircuitState
    forced_open: bool
    calls: int
    successes: int
    failures: int
    slow_calls: int
    rejections: int
    opened_count: int
    consecutive_failures: int
    failure_rate: float
    slow_call_rate: float
    window_calls: int
    window_failures: int
    window_slow_calls: int
    half_open_in_flight: int
    retry_after: float
    last_state_change: float | None


def metrics_from(snap: BreakerSnapshot, has_window: bool) -> CircuitBreakerMetrics:
    """Turn a raw snapshot into ``CircuitBreakerMetrics`` (rates over the window if any)."""
    if has_window:
        calls, failures, slow = snap.window_calls, snap.window_failures, snap.window_slow_calls
    else:
        calls, failures, slow = snap.calls, snap.failures, snap.slow_calls
    return CircuitBreakerMetrics(
        state=snap.state,
        forced_open=snap.forced_open,
        calls=snap.calls,
        successes=snap.successes,
        failures=snap.failures,
        slow_calls=snap.slow_calls,
        rejections=snap.rejections,
        opened_count=snap.opened_count,
        consecutive_failures=snap.consecutive_failures,
        failure_rate=failures / calls if calls else 0.0,
        slow_call_rate=slow / calls if calls else 0.0,
        window_calls=snap.window_calls,
        window_failures=snap.window_failures,
        window_slow_calls=snap.window_slow_calls,
        half_open_in_flight=snap.half_open_in_flight,
        retry_after=0.0 if snap.retry_after is None else snap.retry_after,
        last_state_change=snap.last_state_change,
    )
