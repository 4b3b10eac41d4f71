"""The worker threads that run sync calls under ``@timeout`` (thread mode).

Each call gets a daemon thread of its own, so nothing lingers after the call ends and a
hung call never blocks interpreter exit. A ``WorkerPool`` caps how many run at once:
the process-wide ``workers`` (64) serves every timeout without ``max_workers``; a
``TimeoutPolicy(max_workers=N)`` has a pool of its own, so a hung dependency can only
exhaust its own workers. A worker is counted until its thread ends, so workers
abandoned at their caller's deadline (still running inside the dependency) count
against the limit. A call that finds no free worker waits for one until its deadline,
then fails with ``WorkerLimitError``: it never ran.

``Deadline`` is where a caller stops waiting: on the system clock, real seconds; on a
virtual clock with ``call_at`` (``FakeClock``), a timer at the virtual deadline wakes
it, whichever thread moves the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ._clock import SYSTEM_CLOCK, Clock
from ._holds import chain, keep_until_done

__all__ = ["Deadline", "WorkerPool", "workers"]


class WorkerPool:
    """At most ``limit`` daemon worker threads at once, one per call.

    Attributes:
        limit: the most workers running at once.
        running: workers running now (abandoned ones included).
        abandoned: workers still running after their caller stopped waiting.
        waiting: callers waiting for a free worker now.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self.running = 0
        self.abandoned = 0
        self.waiting = 0
        self.changed = threading.Condition(threading.Lock())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled or copied (with the policy holding it): the shared pool, or a fresh one."""
        if self is workers:
            return (_shared, ())
        return (WorkerPool, (self.limit,))

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...], until: Deadline) -> Future[Any] | None:
        """Run ``fn(*args)`` on a worker once one is free.

        The worker starts with the caller's chain of bulkhead holds (``_holds``), so
        work it leaves behind counts against the same bulkhead slots.

        Returns:
            The worker's future, or None when no worker freed up before ``until``.
        """
        with self.changed:
            self.waiting += 1
            try:
                while self.running >= self.limit:
                    if not until.wait_on(self.changed):
                        self.changed.notify()  # a wake-up meant for a waiter goes on to the next
                        return None
            finally:
                self.waiting -= 1
            self.running += 1
        future: Future[Any] = Future()
        holds = chain.top

        def run() -> None:
            chain.top = holds
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args))
                    except BaseException as exc:  # handed to the caller through the future
                        future.set_exception(exc)
            finally:
                chain.top = None
                with self.changed:
                    self.running -= 1
                    if getattr(future, "_resiliency_abandoned", False):
                        self.abandoned -= 1
                    self.changed.notify()

        threading.Thread(target=run, name="resiliency-timeout-worker", daemon=True).start()
        return future

    def abandon(self, future: Future[Any]) -> None:
        """The caller stopped waiting for ``future``: count it, keep the caller's holds until it ends."""
        if future.cancel():
            return
        with self.changed:
            if future.done():
                return
            future._resiliency_abandoned = True  # type: ignore[attr-defined]
            self.abandoned += 1
        keep_until_done(future)


class Deadline:
    """Where a thread-mode caller stops waiting: ``start + seconds`` on ``clock``.

    Call ``cancel()`` when done, to drop the virtual clock's timer.
    """

    __slots__ = ("_at", "_pool", "_timer", "event", "passed")

    def __init__(self, clock: Clock, start: float, seconds: float, pool: WorkerPool) -> None:
        self.event = threading.Event()
        self.passed = False
        self._pool = pool
        self._timer: Any = None
        self._at: float | None = None
        call_at = None if clock is SYSTEM_CLOCK else getattr(clock, "call_at", None)
        if call_at is None:  # real seconds (a custom clock without timers: as real ones)
            self._at = time.monotonic() + start + seconds - clock.monotonic()
        else:
            self._timer = call_at(start + seconds, self._expire)

    def _expire(self) -> None:
        """The virtual clock passed the deadline (run by whichever thread moved it)."""
        self.passed = True
        self.event.set()
        with self._pool.changed:
            self._pool.changed.notify_all()

    def _left(self) -> float | None:
        """Real seconds left, or None on a virtual clock."""
        return None if self._at is None else max(self._at - time.monotonic(), 0.0)

    def wait_on(self, condition: threading.Condition) -> bool:
        """Wait on ``condition`` (held) until notified or the deadline; False once it has passed."""
        left = self._left()
        if self.passed or left == 0.0:
            return False
        condition.wait(left)
        return True

    def wait_for(self, future: Future[Any]) -> bool:
        """Wait until ``future`` is done or the deadline passes; return whether it is done."""
        future.add_done_callback(lambda _: self.event.set())
        self.event.wait(self._left())
        return future.done()

    def cancel(self) -> None:
        """Drop the virtual clock's timer, if any."""
        if self._timer is not None:
            self._timer.cancel()


workers = WorkerPool()
"""The process-wide pool of 64 workers, for timeouts without ``max_workers``."""


def _shared() -> WorkerPool:
    """The process-wide pool (what a pickled reference to it becomes)."""
    return workers
