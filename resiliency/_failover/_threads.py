"""Parallel failover for sync providers: ``any`` and ``all`` on a bounded set of threads.

Each call starts its own daemon worker threads, at most one per provider and at most
``MAX_WORKERS``; a thread ends as soon as no work is queued for it, so nothing lingers
after a call but the losers of an ``any`` race that are still running. Python cannot stop
a thread: a loser is abandoned, its result discarded, and it starts no further retry
attempt once the race is decided (its retry loop ends with ``Abandoned`` at the next
attempt). Each worker runs in a copy of the caller's context, so the caller's deadline
reaches the providers.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock, get_clock
from .._errors import ProviderAttemptError
from .._outcome import Failure
from ._binding import Abandoned, Binding
from ._hooks import Notifier, discard
from ._parallel import collect_outcomes, hedge_allowed, skipped_outcome
from ._sequential import all_failed, deadline_passed, start_time
from ._stats import Outcome

__all__ = ["MAX_WORKERS", "CallThreads", "all_sync", "any_sync"]

logger = logging.getLogger("resiliency")

MAX_WORKERS = 32
"""Most threads one parallel sync call uses at once."""


class CallThreads:
    """The worker threads of one call: started on demand, gone when the queue is empty."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, min(limit, MAX_WORKERS))
        self._lock = threading.Lock()
        self._queue: deque[tuple[contextvars.Context, Callable[[], None]]] = deque()
        self._active = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on a worker, in a copy of the caller's context."""
        item = (contextvars.copy_context(), job)
        with self._lock:
            if self._active >= self.limit:
                self._queue.append(item)
                return
            self._active += 1
        threading.Thread(target=self._work, args=(item,), name="resiliency-failover", daemon=True).start()

    def _work(self, item: tuple[contextvars.Context, Callable[[], None]]) -> None:
        while True:
            context, job = item
            try:
                context.run(job)
            except BaseException:  # a worker must go on serving the queue
                logger.exception("failover worker job raised")
            with self._lock:
                if self._closed or not self._queue:
                    self._active -= 1
                    return
                item = self._queue.popleft()

    def close(self) -> None:
        """Drop the jobs not started yet."""
        with self._lock:
            self._closed = True
            self._queue.clear()


class _SyncRace:
    __slots__ = ("cond", "decided", "done", "finished", "value", "won")

    def __init__(self, size: int) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.decided = False
        self.won = False
        self.value: Any = None
        self.finished = 0
        self.done = [False] * size

    def run(self, index: int, binding: Binding, args: Any, kwargs: Any, attempts: list[Any]) -> None:
        out: Any = Failure(Abandoned())
        try:
            out = binding.srun(args, kwargs, attempts, self)
        except Abandoned:
            pass
        finally:
            with self.cond:
                self.finished += 1
                self.done[index] = True
                if type(out) is not Failure and not self.decided:
                    self.won = self.decided = True
                    self.value = out
                self.cond.notify_all()

    def hedge_wait(self, index: int, delay: float, clock: Clock | None) -> None:
        """Wait until provider ``index`` has ended, the race is decided, or ``delay`` passed."""
        clock = clock or get_clock()
        call_at = getattr(clock, "call_at", None)
        cond = self.cond
        if clock is SYSTEM_CLOCK or call_at is None:
            until = time.monotonic() + delay
            with cond:
                while not (self.done[index] or self.decided):
                    left = until - time.monotonic()
                    if left <= 0.0:
                        return
                    cond.wait(left)
            return
        fired = [False]

        def fire() -> None:
            with cond:
                fired[0] = True
                cond.notify_all()

        handle = call_at(clock.monotonic() + delay, fire)
        try:
            with cond:
                while not (self.done[index] or self.decided or fired[0]):
                    cond.wait()
        finally:
            handle.cancel()


def any_sync(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    hedge_delay: float | None,
) -> Any:
    """Run sync providers concurrently on threads; first success or ``Failure``."""
    clock = plan[0].clock
    started = start_time(notifier, clock)
    attempts: list[ProviderAttemptError] = []
    race = _SyncRace(len(plan))
    threads = CallThreads(len(plan))
    skipped: list[str] = []
    submitted = 0
    last = len(plan) - 1
    for index, binding in enumerate(plan):
        with race.cond:
            if race.decided:
                break
        if deadline_passed():
            skipped.extend(b.provider for b in plan[index:])
            break
        threads.submit(lambda i=index, b=binding: race.run(i, b, args, kwargs, attempts))  # type: ignore[misc]
        submitted += 1
        if hedge_delay and index < last:
            race.hedge_wait(index, hedge_delay, clock)
            with race.cond:
                hedging = not (race.done[index] or race.decided)
            if hedging and not hedge_allowed(plan[index + 1]):
                with race.cond:  # no budget for a hedge: fail over as sequential does
                    while not (race.done[index] or race.decided):
                        race.cond.wait()
    with race.cond:
        while not race.won and race.finished < submitted:
            race.cond.wait()
        race.decided = True
    threads.close()
    if race.won:
        return race.value
    failure, pending = all_failed(notifier, ring, op, list(attempts), started, args, kwargs, skipped, clock)
    discard(pending)
    return failure


def all_sync(
    notifier: Notifier, ring: Any, op: str, plan: Sequence[Binding], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[Outcome]:
    """Run every sync provider concurrently; one ``Outcome`` each, in order.

    The first provider runs in the caller's thread, the others on worker threads.
    """
    if deadline_passed():
        return [skipped_outcome(b) for b in plan]
    clock = plan[0].clock or get_clock()
    started = start_time(notifier, clock)
    attempts: list[ProviderAttemptError] = []
    outs: list[Any] = [None] * len(plan)
    durations = [0.0] * len(plan)
    cond = threading.Condition(threading.Lock())
    finished = [0]

    def collect(index: int, binding: Binding) -> None:
        start = clock.monotonic()
        try:
            outs[index] = binding.srun(args, kwargs, attempts)
        except BaseException as exc:  # reported as the provider's outcome, never lost
            outs[index] = Failure(exc)
            raise
        finally:
            durations[index] = clock.monotonic() - start
            with cond:
                finished[0] += 1
                cond.notify_all()

    threads = CallThreads(len(plan) - 1)
    for index, binding in enumerate(plan):
        if index:
            threads.submit(lambda i=index, b=binding: collect(i, b))  # type: ignore[misc]
    collect(0, plan[0])  # the first provider runs in the caller's thread: one thread less
    with cond:
        while finished[0] < len(plan):
            cond.wait()
    threads.close()
    outcomes = collect_outcomes(plan, outs, durations, attempts)
    if not any(o.ok for o in outcomes):
        _, pending = all_failed(notifier, ring, op, list(attempts), started, args, kwargs, (), clock)
        discard(pending)
    return outcomes
