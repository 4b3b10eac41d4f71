"""``FakeClock``: virtual time for tests; sleeps return at once and move it on."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import timedelta

import anyio.lowlevel

from .._validate import check_duration

__all__ = ["FakeClock"]


class _Timer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Virtual monotonic time starting at ``start`` (0.0).

    ``sleep(s)`` and ``await asleep(s)`` return at once and advance the time by ``s``;
    ``advance(s)`` moves it by hand. Timers set with ``call_at`` (a timeout's deadline)
    fire as time passes them, so a ``@timeout(1, clock=clock)`` around
    ``await clock.asleep(5)`` times out at virtual second 1.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.RLock()
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the virtual time."""
        return self._now

    def time(self) -> float:
        """Alias of ``monotonic()``."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> _Timer:
        """Run ``callback()`` once virtual time reaches ``when``; return a cancellable handle."""
        timer = _Timer(when, callback)
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._seq), timer))
        if when <= self._now:
            self._fire_due()
        return timer

    def _fire_due(self) -> bool:
        fired = False
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > self._now:
                    return fired
                _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.callback()
                fired = True

    def _next_timer(self, limit: float) -> float | None:
        with self._lock:
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            if self._timers and self._timers[0][0] <= limit:
                return self._timers[0][0]
            return None

    def advance(self, seconds: float | timedelta) -> None:
        """Move virtual time forward by ``seconds`` (>= 0), firing timers on the way."""
        step: float = check_duration("seconds", seconds)
        target = self._now + step
        while (when := self._next_timer(target)) is not None:
            self._now = max(self._now, when)
            self._fire_due()
        self._now = target

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` at once (recorded in ``sleeps``)."""
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))

    async def asleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds``; stop early if a timer cancels this task."""
        self.sleeps.append(seconds)
        target = self._now + max(seconds, 0.0)
        while (when := self._next_timer(target)) is not None:
            self._now = max(self._now, when)
            if self._fire_due():
                await anyio.lowlevel.checkpoint()
        self._now = target
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"
