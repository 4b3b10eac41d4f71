"""``FakeClock``: virtual time for tests, shared by any number of sleeping tasks.

Three things move virtual time forward, never back:

- ``advance(s)`` by hand, and a thread's ``sleep(s)``, which advances at once;
- *autojump*: a task in ``await asleep(s)`` waits until every other task of its event
  loop is blocked, then, if no one sleeps on an earlier deadline, moves time to its
  own deadline (stopping at each ``call_at`` timer on the way, so a timer that cancels
  the sleep stops it at the timer's time).

A task asleep wakes when time reaches its deadline, whoever moved it. Timers run in the
thread that moves time past them.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import TracebackType

import anyio
import anyio.lowlevel

from .._clock import Clock, set_clock
from .._validate import check_bool, check_duration, check_number
from ._settle import Timer, Waiter, settle

__all__ = ["FakeClock", "use_clock"]


class FakeClock:
    """Virtual monotonic time starting at ``start`` (0.0), for sync and async tests.

    ``sleep(s)`` advances the time by ``s`` at once. ``await asleep(s)`` returns at
    virtual time ``now + s``: with ``autojump`` (the default), as soon as every other
    task is blocked and no task sleeps on an earlier deadline, time jumps there, so
    tasks asleep on one clock wake in deadline order (one sleeping 10 s and one
    sleeping 1 s, both from 0, wake at 1 and at 10). Without ``autojump``, sleepers wait
    for ``advance()``. Timers set with ``call_at`` (a timeout's deadline) fire as time
    passes them, so a ``@timeout(1, clock=clock)`` around ``await clock.asleep(5)``
    times out at virtual second 1; a sync thread-mode ``@timeout(1, clock=clock)``
    stops waiting when the clock passes second 1, whichever thread moves it
    (``advance()`` from a test thread, ``sleep()`` inside the call).

    ``with FakeClock() as clock:`` makes it the process-wide clock for the block.

    Args:
        start: the first reading of ``monotonic()``, seconds.
        autojump: whether sleeping tasks move time themselves (default True).

    Attributes:
        sleeps: every duration passed to ``sleep`` or ``asleep``, in call order.
    """

    def __init__(self, start: float = 0.0, *, autojump: bool = True) -> None:
        self._now = check_number("start", start)
        self._autojump = check_bool("autojump", autojump)
        self._lock = threading.RLock()
        self._timers: list[tuple[float, int, Timer]] = []
        self._waiters: list[tuple[float, int, Waiter]] = []
        self._seq = itertools.count()
        self._epoch = 0  # bumped by every change a sleeper about to jump must look at again
        self._waking = 0  # sleepers woken that have not resumed yet: no jump until they have
        self._installed: list[Clock] = []
        self.sleeps: list[float] = []

    # -- reading -----------------------------------------------------------------------

    def monotonic(self) -> float:
        """Return the virtual time, seconds."""
        return self._now

    def time(self) -> float:
        """Alias of ``monotonic()``."""
        return self._now

    @property
    def sleeping(self) -> tuple[float, ...]:
        """The deadlines of the tasks asleep in ``asleep`` now, earliest first."""
        with self._lock:
            return tuple(sorted(w.deadline for _, _, w in self._waiters if not w.gone))

    # -- timers ------------------------------------------------------------------------

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` once virtual time reaches ``when``.

        A ``when`` already passed fires at once. The callback runs in the thread that
        moves time past ``when``.

        Returns:
            A handle whose ``cancel()`` stops the callback from running.
        """
        timer = Timer(when, callback)
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._seq), timer))
            self._epoch += 1
            self._prod_earliest()  # a sleeper with a later deadline must stop at this timer
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

    def _next_timer(self) -> float | None:
        with self._lock:
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0][0] if self._timers else None

    # -- moving time -------------------------------------------------------------------

    def _move_to(self, target: float) -> bool:
        """Move time to ``target`` (never back), firing timers and waking sleepers on the way.

        Returns:
            Whether a timer fired.
        """
        fired = False
        while (when := self._next_timer()) is not None and when <= target:
            with self._lock:
                self._now = max(self._now, when)
                self._wake_due()
            fired = self._fire_due() or fired
        with self._lock:
            self._now = max(self._now, target)
            self._epoch += 1
            self._wake_due()
            self._prod_earliest()
        return fired

    def _wake_due(self) -> None:
        """Wake the sleepers whose deadline has come (the lock is held)."""
        waiters = self._waiters
        while waiters and waiters[0][0] <= self._now:
            _, _, waiter = heapq.heappop(waiters)
            if not waiter.gone:
                waiter.gone = waiter.woken = True
                self._waking += 1
                waiter.notify()

    def _earliest(self) -> Waiter | None:
        """Return the live sleeper with the earliest deadline (the lock is held)."""
        waiters = self._waiters
        while waiters and waiters[0][2].gone:
            heapq.heappop(waiters)
        return waiters[0][2] if waiters else None

    def _prod_earliest(self) -> None:
        """Tell the earliest sleeper to look again whether it may jump (the lock is held)."""
        if self._autojump and (waiter := self._earliest()) is not None:
            waiter.notify()

    def advance(self, seconds: float | timedelta) -> None:
        """Move virtual time forward by hand, firing timers and waking sleepers on the way.

        Args:
            seconds: how far, >= 0, float or timedelta.

        Raises:
            TypeError: not a number or timedelta.
            ValueError: negative, NaN or infinite.
        """
        step: float = check_duration("seconds", seconds)
        self._move_to(self._now + step)

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` at once (recorded in ``sleeps``).

        A thread's sleep does not wait for anyone: it moves the shared time, waking the
        tasks whose deadlines it passes.
        """
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task until virtual time reaches ``now + seconds``.

        With autojump, time jumps to the deadline once every other task is blocked and
        no earlier sleeper is left; ``math.inf`` sleeps until cancelled (a hang). A timer
        that cancels the task (``@timeout``) stops the sleep at the timer's time.
        """
        self.sleeps.append(seconds)
        if not seconds > 0:
            await anyio.lowlevel.checkpoint()
            return
        waiter = Waiter(self._now + seconds)
        with self._lock:
            heapq.heappush(self._waiters, (waiter.deadline, next(self._seq), waiter))
            self._epoch += 1
        fired = False
        try:
            fired = await self._wait(waiter)
        finally:
            with self._lock:
                self._epoch += 1
                if waiter.woken:  # resumed: the sleepers waiting for that may look again
                    self._waking -= 1
                    if not self._waking:
                        self._prod_earliest()
                elif not waiter.gone:  # cancelled: leave, and let the next sleeper go on
                    waiter.gone = True
                    self._prod_earliest()
        if fired:
            await anyio.lowlevel.checkpoint()  # deliver a cancellation a timer just made
        else:
            await anyio.lowlevel.checkpoint_if_cancelled()

    async def _wait(self, waiter: Waiter) -> bool:
        """Wait until ``waiter`` is woken; return whether its own final jump fired a timer."""
        while True:
            if self._autojump:
                await self._settle_quiet()
            with self._lock:
                if waiter.gone:
                    return False
                target = self._jump_target(waiter) if self._autojump else None
                event = waiter.event
            if target is not None:
                fired = self._move_to(target)
                if waiter.gone:
                    return fired
                continue  # stopped at a timer: let its effect (a cancellation) land first
            await event.wait()
            with self._lock:
                if waiter.gone:
                    return False
                waiter.event = anyio.Event()  # prodded: look again

    async def _settle_quiet(self) -> None:
        """Settle until no one changed this clock meanwhile.

        trio wakes all the tasks waiting for idleness in one batch; one of them may jump
        and wake others before the next looks, so the next settles again.
        """
        while True:
            epoch = self._epoch
            await settle()
            if self._epoch == epoch:
                return

    def _jump_target(self, waiter: Waiter) -> float | None:
        """Where ``waiter`` may move time now, or None (the lock is held)."""
        if self._waking:  # a task woken a moment ago may yet sleep on an earlier deadline
            return None
        earliest = self._earliest()
        if earliest is None or earliest.deadline < waiter.deadline:
            return None
        timer = self._next_timer()
        if timer is not None and timer <= waiter.deadline:
            return timer
        return None if math.isinf(waiter.deadline) else waiter.deadline

    async def settle(self) -> None:
        """Return once every other task of this event loop is blocked.

        Useful with ``autojump=False``: start tasks, ``await clock.settle()`` so they reach
        their sleeps, then ``advance()`` by hand.
        """
        await settle()

    # -- process-wide --------------------------------------------------------------------

    def __enter__(self) -> FakeClock:
        """Make this the process-wide clock until the block ends."""
        self._installed.append(set_clock(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the clock that was process-wide before."""
        set_clock(self._installed.pop())

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the process-wide clock (what strategies without ``clock=`` read) in the block.

    Args:
        clock: any ``Clock``; a ``FakeClock`` for virtual time.

    Yields:
        ``clock``.

    Raises:
        TypeError: ``clock`` lacks ``monotonic``, ``sleep`` or ``asleep``.
    """
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
