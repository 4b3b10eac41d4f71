"""The circuit breaker's state machine: which calls go ahead, and what their outcomes do.

Pure decision logic: no clock, no sleeping, no sync/async. The runtime reads the clock,
calls ``admit(now)`` before a call and ``record(...)`` or ``release(...)`` after it.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import Final

from ._metrics import _CLOSED, _HALF_OPEN, _OPEN, BreakerSnapshot, CircuitState, take_snapshot
from ._policy import CircuitBreakerPolicy
from ._window import CountWindow, TimeWindow

__all__ = ["BreakerCore", "BreakerSnapshot", "CircuitState"]

Transition = tuple["CircuitState", "CircuitState"]


# A pool of locks shared by all breakers (a Lock is ~88 bytes): a lock is held only inside
# one breaker's short methods, never while taking another, so sharing cannot deadlock.
_LOCKS: Final = tuple(threading.Lock() for _ in range(64))
_next_lock = itertools.count()


class BreakerCore:
    """The state machine of one circuit breaker, built from a ``CircuitBreakerPolicy``.

    The transitions and their formulas are in ``CircuitBreakerPolicy``'s docstring.
    Time is passed in as ``now`` (monotonic seconds). An internal lock is held only
    inside these short methods, never while the protected call runs.

    Closed-state fast path: ``admit`` reads the state without the lock, and, when the
    policy has no rate threshold, a success stores 0 into the consecutive-failure count
    without the lock. A success racing a failure may then be lost from that count, which
    errs towards opening; the success itself is still counted in the metrics.
    Open-state fast path: while the reset timeout clearly runs, ``admit`` rejects
    without the lock, counting the rejection on a lock-free counter made at the first
    opening (``_open`` stores the time before the state, so a reader that sees OPEN sees
    its time).

    Half-open rounds: each turn to half-open starts a new round, and its probes carry
    the round's ticket (the negative float ``admit`` returns). A probe holds one of the
    ``half_open_max_calls`` slots until it ends, whatever happened meanwhile, so no
    more than that many probes ever run at once; only a probe of the current round
    decides it: one left over from an earlier round (or from before ``reset()``) is
    counted in the metrics and decides nothing.

    Attributes:
        on_transition: called as ``on_transition(old, new)`` after each state change,
            outside the lock, by the thread whose call caused it (None: nothing is
            called). Calls from different threads may arrive out of order.
    """

    __slots__ = (
        "_consecutive_failures",
        "_failures",
        "_fast_rejection_reads",
        "_fast_rejections",
        "_fast_success_reads",
        "_fast_successes",
        "_forced",
        "_half_open_in_flight",
        "_half_open_successes",
        "_last_change",
        "_lock",
        "_opened_at",
        "_opened_count",
        "_policy",
        "_rejections",
        "_slow_calls",
        "_state",
        "_successes",
        "_ticket",
        "_window",
        "on_transition",
    )

    def __init__(
        self,
        policy: CircuitBreakerPolicy,
        on_transition: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        self._policy = policy
        self.on_transition = on_transition
        self._lock = _LOCKS[next(_next_lock) % len(_LOCKS)]
        self._window: CountWindow | TimeWindow | None = None
        if policy.uses_window and policy.window_duration is not None:
            self._window = TimeWindow(policy.window_duration)
        elif policy.uses_window and policy.window_size is not None:
            self._window = CountWindow(policy.window_size)
        # The current half-open round's ticket: -1.0, -2.0, ... Never reset, not even by
        # reset(), so a probe from before a reset never matches a later round.
        # An int: the first rounds' tickets are CPython's cached small ints, no allocation.
        self._ticket: float = 0
        # Probes running now, of any round; not cleared by reset(): they still run.
        self._half_open_in_flight = 0
        self._clear()

    def _clear(self) -> None:
        """Put every field back as new (called from ``__init__`` or under the lock)."""
        self._state = _CLOSED
        self._forced = False
        self._opened_at = 0.0
        self._last_change: float | None = None
        self._consecutive_failures = 0
        self._half_open_successes = 0
        self._successes = 0
        self._failures = 0
        self._slow_calls = 0
        self._rejections = 0
        self._opened_count = 0
        # next() on an itertools.count is one C call, so atomic under the GIL: the
        # lock-free success path counts with it. Each read ticks it too; see _fast_total.
        self._fast_successes = itertools.count()
        self._fast_success_reads = 0
        self._fast_rejections: itertools.count[int] | None = None  # made by _open
        self._fast_rejection_reads = 0
        if self._window is not None:
            self._window.reset()

    @property
    def policy(self) -> CircuitBreakerPolicy:
        """The policy this breaker was built from."""
        return self._policy

    @property
    def state(self) -> CircuitState:
        """The stored state: it stays OPEN after ``reset_timeout`` until ``admit`` moves it."""
        return self._state

    def state_at(self, now: float) -> CircuitState:
        """Return the state as a caller at ``now`` would meet it, changing nothing.

        Returns:
            HALF_OPEN when the breaker is open (not forced) and ``reset_timeout`` has
            passed, since the next call would be a probe; the stored state otherwise.
        """
        if self._state is _CLOSED:
            return _CLOSED
        with self._lock:
            return self._state_at_locked(now)

    def _state_at_locked(self, now: float) -> CircuitState:
        if self._state is _OPEN and self._wait(now) <= 0:
            return _HALF_OPEN
        return self._state

    def _wait(self, now: float) -> float:
        """Seconds left before an open breaker lets a probe through."""
        return math.inf if self._forced else self._opened_at + self._policy.reset_timeout - now

    def admit(self, now: float) -> float | None:
        """Decide whether a call starting at ``now`` may go ahead.

        Open for ``reset_timeout`` seconds or more, the breaker turns half-open and this
        call is its probe. Half-open, at most ``half_open_max_calls`` probes run at once.

        Returns:
            None: go ahead (closed). A negative float: go ahead as a probe; it is the
            round's ticket, pass it as ``probe=`` to ``record`` or ``release``. A
            float >= 0: rejected; the
            seconds until a probe may go through (``opened_at + reset_timeout - now``;
            0.0 when half-open with every probe slot taken; ``inf`` when forced open).
        """
        state = self._state
        if state is _CLOSED:
            return None
        if state is _OPEN:
            counter = self._fast_rejections
            wait = self._wait(now)
            if wait > 0 and counter is not None:
                next(counter)
                return wait
        with self._lock:
            verdict, started_half_open = self._admit_locked(now)
        if started_half_open:
            self._notify((_OPEN, _HALF_OPEN))
        return verdict

    def _admit_locked(self, now: float) -> tuple[float | None, bool]:
        """Return the verdict and whether this call turned the breaker half-open."""
        state = self._state
        if state is _CLOSED:
            return None, False
        started = False
        if state is _OPEN:
            wait = self._wait(now)
            if wait > 0:
                self._rejections += 1
                return wait, False
            self._state = _HALF_OPEN
            self._last_change = now
            self._ticket -= 1  # a new round
            self._half_open_successes = 0
            started = True
        # Probes of earlier rounds still running hold their slots (never more at once).
        if self._half_open_in_flight < self._policy.half_open_max_calls:
            self._half_open_in_flight += 1
            return self._ticket, started
        self._rejections += 1
        return 0.0, started

    def record(self, now: float, failed: bool, duration: float, probe: float) -> None:
        """Count the outcome of an admitted call and make the transition it causes.

        Closed: a failure adds 1 to the consecutive count, a success sets it to 0; the
        window (if any) takes the call; the breaker opens when a trip condition of the
        policy holds. Half-open, a probe of the current round: a failure or a slow
        call reopens it; the ``success_threshold``-th success closes it, with a fresh
        window. Outcomes of calls admitted before the breaker left closed, of probes
        of an earlier round, or arriving while open, are counted in the metrics and
        decide nothing.

        Args:
            now: monotonic seconds when the call ended.
            failed: the caller classified the outcome as a failure
                (``policy.is_failure``); ignored exceptions go to ``release`` instead.
            duration: seconds the call took; slow when ``>= slow_call_duration``.
            probe: the ticket ``admit`` returned for a probe (a negative float); 0.0
                for a call admitted while closed.
        """
        if not failed and not probe and self._window is None and self._state is _CLOSED:
            # The lock-free fast path (see the class docstring).
            self._consecutive_failures = 0
            next(self._fast_successes)
            return
        slow_duration = self._policy.slow_call_duration
        slow = slow_duration is not None and duration >= slow_duration
        with self._lock:
            transition = self._record_locked(now, failed, slow, probe)
        if transition is not None:
            self._notify(transition)

    def _record_locked(self, now: float, failed: bool, slow: bool, probe: float) -> Transition | None:
        if failed:
            self._failures += 1
        else:
            self._successes += 1
        if slow:
            self._slow_calls += 1
        if probe:
            self._half_open_in_flight -= 1  # its slot is free, whatever round it was of
        if self._state is _CLOSED:
            return self._record_closed(now, failed, slow)
        if self._state is _HALF_OPEN and probe == self._ticket:
            # slow is only ever True when slow_call_rate_threshold is set (the policy
            # requires both slow-call fields together).
            if failed or slow:
                return self._open(now)
            self._half_open_successes += 1
            if self._half_open_successes >= self._policy.success_threshold:
                return self._close(now)
        return None

    def _record_closed(self, now: float, failed: bool, slow: bool) -> Transition | None:
        policy = self._policy
        if failed:
            self._consecutive_failures += 1
        else:
            self._consecutive_failures = 0
        trip = policy.failure_threshold is not None and self._consecutive_failures >= policy.failure_threshold
        if self._window is not None:
            self._window.record(now, failed, slow)
            trip = trip or self._window_trips(now)
        return self._open(now) if trip else None

    def _window_trips(self, now: float) -> bool:
        """Whether a rate over the window trips it: ``calls >= minimum_calls`` and a rate is reached."""
        assert self._window is not None
        policy = self._policy
        calls, failures, slow = self._window.totals(now)
        if calls < policy.minimum_calls:
            return False
        if policy.failure_rate_threshold is not None and failures / calls >= policy.failure_rate_threshold:
            return True
        return policy.slow_call_rate_threshold is not None and slow / calls >= policy.slow_call_rate_threshold

    def release(self, probe: float) -> None:
        """End an admitted call that counts for nothing (an ignored exception, a cancellation).

        Nothing is counted; a probe of the current round frees its half-open slot.
        Every admitted call must end in exactly one ``record`` or ``release``, or
        half-open probe slots leak.

        Args:
            probe: the ticket ``admit`` returned for a probe; 0.0 for any other call.
        """
        if not probe:
            return
        with self._lock:
            self._half_open_in_flight -= 1

    def _open(self, now: float) -> Transition:
        old = self._state
        self._opened_at = now  # before the state: see the open-state fast path
        if self._fast_rejections is None:
            self._fast_rejections = itertools.count()
        self._state = _OPEN
        self._opened_count += 1
        self._last_change = now
        self._half_open_successes = 0
        return old, _OPEN

    def _close(self, now: float) -> Transition:
        old = self._state
        self._state = _CLOSED
        self._forced = False
        self._last_change = now
        self._consecutive_failures = 0
        self._half_open_successes = 0
        if self._window is not None:
            self._window.reset()
        return old, _CLOSED

    def _notify(self, transition: Transition) -> None:
        callback = self.on_transition
        if callback is not None:
            callback(*transition)

    def force_open(self, now: float) -> None:
        """Open the breaker and hold it open, rejecting every call, until ``reset()``.

        Args:
            now: monotonic seconds, recorded as the time of the change.
        """
        with self._lock:
            self._forced = True
            transition = None if self._state is _OPEN else self._open(now)
        if transition is not None:
            self._notify(transition)

    def reset(self, now: float | None = None) -> None:
        """Close the breaker and clear every counter, as if it were new.

        Args:
            now: monotonic seconds, recorded as the time of the change when the breaker
                was not closed (default None: no time recorded).
        """
        with self._lock:
            old = self._state
            self._clear()
            if old is not _CLOSED:
                self._last_change = now
        if old is not _CLOSED:
            self._notify((old, _CLOSED))

    def snapshot(self, now: float) -> BreakerSnapshot:
        """Return every counter at ``now``, read consistently (see ``_metrics.take_snapshot``)."""
        return take_snapshot(self, now)

    def __repr__(self) -> str:
        return f"<BreakerCore state={self._state.value} policy={self._policy!r}>"
