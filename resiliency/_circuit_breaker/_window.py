"""Sliding windows of call outcomes, in memory that does not grow with the call count.

Both windows share one interface: ``record(now, failed, slow)``, ``totals(now) ->
(calls, failures, slow_calls)`` and ``reset()``. They hold no lock: the breaker calls
them under its own.
"""

from __future__ import annotations

import math
from array import array

__all__ = ["CountWindow", "TimeWindow"]

_FAILED = 1
_SLOW = 2


class CountWindow:
    """The outcomes of the last ``size`` calls, in a ring of one byte per call.

    Each byte holds two flags (failed, slow); running totals are updated as a call
    enters and the oldest one leaves, so ``record`` and ``totals`` are O(1).
    A ``CountWindow(100)`` takes about 250 bytes with its buffer.

    Args:
        size: calls the window holds, int >= 1.
    """

    __slots__ = ("_calls", "_failures", "_next", "_ring", "_size", "_slow")

    def __init__(self, size: int) -> None:
        self._size = size
        self._ring = bytearray(size)
        self._next = 0  # the slot the next call goes into (the oldest once full)
        self._calls = 0
        self._failures = 0
        self._slow = 0

    def record(self, now: float, failed: bool, slow: bool) -> None:
        """Add one call's outcome, evicting the oldest when the window is full.

        Args:
            now: monotonic seconds (unused: a count window ignores time).
            failed: the call counted as a failure.
            slow: the call lasted at least the slow-call duration.
        """
        if self._calls == self._size:
            old = self._ring[self._next]
            self._failures -= old & _FAILED
            self._slow -= (old & _SLOW) >> 1
        else:
            self._calls += 1
        self._ring[self._next] = (_FAILED if failed else 0) | (_SLOW if slow else 0)
        self._failures += failed
        self._slow += slow
        self._next = (self._next + 1) % self._size

    def totals(self, now: float) -> tuple[int, int, int]:
        """Return ``(calls, failures, slow_calls)`` in the window (``now`` is unused)."""
        return self._calls, self._failures, self._slow

    def reset(self) -> None:
        """Forget every call."""
        self._ring = bytearray(self._size)
        self._next = self._calls = self._failures = self._slow = 0

    def __repr__(self) -> str:
        return f"CountWindow(size={self._size}, totals={self.totals(0.0)})"


class TimeWindow:
    """The outcomes of the calls of the last ``duration`` seconds, in ``buckets`` buckets.

    Time is cut into buckets of ``width = duration / buckets`` seconds; bucket number
    ``floor(now * buckets / duration)`` takes a call. The window is the current bucket
    and the ``buckets - 1`` before it, so a call leaves it between ``duration - width``
    and ``duration`` seconds after it was recorded. Memory is three arrays of
    ``buckets`` counters, whatever the call rate; ``record`` and ``totals`` cost at
    most ``buckets`` steps to expire old buckets, O(1) when calls are frequent.

    A ``now`` earlier than the newest bucket seen (threads read the clock before taking
    the breaker's lock) is counted in the newest bucket.

    Args:
        duration: seconds the window spans, > 0.
        buckets: how many buckets, int >= 1 (default 10).
    """

    __slots__ = ("_buckets", "_calls", "_duration", "_failures", "_head", "_slow", "_totals")

    def __init__(self, duration: float, buckets: int = 10) -> None:
        self._duration = duration
        self._buckets = buckets
        self._calls = array("q", bytes(8 * buckets))
        self._failures = array("q", bytes(8 * buckets))
        self._slow = array("q", bytes(8 * buckets))
        self._head: int | None = None  # newest bucket number seen
        self._totals = [0, 0, 0]

    def _advance(self, now: float) -> int:
        """Move the head to ``now``'s bucket, emptying the slots that fall out; return its slot."""
        current = math.floor(now * self._buckets / self._duration)
        if self._head is None:
            self._head = current
        elif current > self._head:
            steps = min(current - self._head, self._buckets)
            for number in range(current - steps + 1, current + 1):
                self._clear(number % self._buckets)
            self._head = current
        return self._head % self._buckets

    def _clear(self, slot: int) -> None:
        totals = self._totals
        totals[0] -= self._calls[slot]
        totals[1] -= self._failures[slot]
        totals[2] -= self._slow[slot]
        self._calls[slot] = self._failures[slot] = self._slow[slot] = 0

    def record(self, now: float, failed: bool, slow: bool) -> None:
        """Add one call's outcome to the bucket of ``now``.

        Args:
            now: monotonic seconds when the call ended.
            failed: the call counted as a failure.
            slow: the call lasted at least the slow-call duration.
        """
        slot = self._advance(now)
        self._calls[slot] += 1
        self._failures[slot] += failed
        self._slow[slot] += slow
        totals = self._totals
        totals[0] += 1
        totals[1] += failed
        totals[2] += slow

    def totals(self, now: float) -> tuple[int, int, int]:
        """Return ``(calls, failures, slow_calls)`` of the window ending at ``now``."""
        self._advance(now)
        calls, failures, slow = self._totals
        return calls, failures, slow

    def reset(self) -> None:
        """Forget every call."""
        for slot in range(self._buckets):
            self._clear(slot)
        self._head = None

    def __repr__(self) -> str:
        calls, failures, slow = self._totals
        return f"TimeWindow(duration={self._duration}, buckets={self._buckets}, totals={(calls, failures, slow)})"
