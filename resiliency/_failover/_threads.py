"""Parallel failover for sync providers: ``any`` and ``all`` on the failover thread pool.

The decisions are the race core's (``_race``); this runner starts providers on reused
pool threads (``_pool``), at most ``MAX_WORKERS`` of one call at once, and waits on a
condition. Python cannot stop a thread: once the race is decided (a winner, a provider's
``BaseException``, the caller interrupted, the group deadline) a provider still running
is abandoned, its result discarded, and it starts no further retry attempt (its retry
loop ends with ``Abandoned`` at the next attempt). Each provider runs in a copy of the
caller's context, so the caller's deadline reaches it.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock, get_clock
from .._deadline import push_deadline, reset_deadline
from .._errors import ResiliencyTimeoutError
from .._events import TimeoutOccurred
from ._binding import Abandoned, Binding
from ._hooks import Notifier, discard
from ._parallel import hedge_allowed
from ._pool import pool
from ._race import UNFINISHED, Race, skipped_outcome
from ._sequential import all_failed, deadline_passed, start_time

__all__ = ["MAX_WORKERS", "CallThreads", "all_sync", "any_sync"]

logger = logging.getLogger("resiliency")

MAX_WORKERS = 32
"""Most providers one parallel sync call runs at once."""


class CallThreads:
    """The provider jobs of one call: at most ``limit`` at once on the pool, the rest queued."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, min(limit, MAX_WORKERS))
        self._lock = threading.Lock()
        self._queue: deque[tuple[contextvars.Context, Callable[[], None]]] = deque()
        self._active = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on a pool thread, in a copy of the caller's context."""
        item = (contextvars.copy_context(), job)
        with self._lock:
            if self._active >= self.limit:
                self._queue.append(item)
                return
            self._active += 1
        pool.submit(functools.partial(self._work, item))

    def _work(self, item: tuple[contextvars.Context, Callable[[], None]]) -> None:
        while True:
            context, job = item
            context.run(job)
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


def _run_one(
    race: Race, cond: threading.Condition, index: int, binding: Binding, args: Any, kwargs: Any, now: Any
) -> None:
    """Run provider ``index`` and tell the race how it ended."""
    start = now()
    try:
        out = binding.srun(args, kwargs, race.attempts, race)
    except Abandoned:
        with cond:
            race.cancelled(index, now() - start)
            cond.notify_all()
    except BaseException as exc:  # a provider's KeyboardInterrupt, SystemExit...: the caller's
        with cond:
            taken = race.crashed(index, exc, now() - start)
            cond.notify_all()
        if not taken:  # the caller is gone: the log is all that is left
            logger.error("failover provider %r raised after the call ended", binding.provider, exc_info=exc)
        del exc
    else:
        with cond:
            race.end(index, out, now() - start)
            cond.notify_all()


def _wait(cond: threading.Condition, until: Callable[[], bool], deadline: float | None, clock: Clock) -> bool:
    """Wait under ``cond`` until ``until()`` or ``deadline`` on ``clock``; ``False``: deadline.

    A ``FakeClock`` wakes the wait through its ``call_at``; the system clock by timeout.
    """
    if deadline is None:
        while not until():
            cond.wait()
        return True
    call_at = getattr(clock, "call_at", None)
    if clock is SYSTEM_CLOCK or call_at is None:
        while not until():
            left = deadline - clock.monotonic()
            if left <= 0.0:
                return False
            cond.wait(left)
        return True

    def fire() -> None:
        with cond:
            cond.notify_all()

    cond.release()  # call_at may fire at once, and fire() takes the lock
    try:
        handle = call_at(deadline, fire)
    finally:
        cond.acquire()
    try:
        while not until():
            if clock.monotonic() >= deadline:
                return False
            cond.wait()
        return True
    finally:
        handle.cancel()


def _ended(race: Race, index: int) -> bool:
    """Whether provider ``index`` has ended or the race is decided (a hedge stops waiting)."""
    return race.outs[index] is not UNFINISHED or race.decided


def any_sync(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    hedge_delay: float | None,
) -> Any:
    """Run sync providers concurrently on threads; first success, a ``Failure``, or raise."""
    clock = plan[0].clock or get_clock()
    now = time.monotonic if clock is SYSTEM_CLOCK else clock.monotonic
    started = start_time(notifier, clock)
    race = Race(len(plan), True)
    cond = threading.Condition(threading.Lock())
    threads = CallThreads(len(plan))
    skipped: list[str] = []
    last = len(plan) - 1
    try:
        for index, binding in enumerate(plan):
            if deadline_passed():
                skipped.extend(b.provider for b in plan[index:])
                break
            with cond:
                if not race.start():
                    break
            threads.submit(functools.partial(_run_one, race, cond, index, binding, args, kwargs, now))
            if hedge_delay and index < last:
                with cond:
                    ended = functools.partial(_ended, race, index)
                    answered = _wait(cond, ended, clock.monotonic() + hedge_delay, clock)
                    if not answered and not race.decided and not hedge_allowed(plan[index + 1]):
                        _wait(cond, ended, None, clock)  # no budget for a hedge: fail over as sequential does
        with cond:
            _wait(cond, lambda: race.over, None, clock)
            crash = race.close()
    except BaseException as exc:  # the caller was interrupted: every provider stops
        with cond:
            error = race.interrupted(exc)
            race.close()
        threads.close()
        if error is exc:
            raise
        raise error from None
    threads.close()
    if crash is not None:
        return crash
    if race.won:
        return race.value
    failure, pending = all_failed(notifier, ring, op, list(race.attempts), started, args, kwargs, skipped, clock)
    discard(pending)
    return failure


def all_sync(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None = None,
) -> Any:
    """Run every sync provider concurrently; one ``Outcome`` each, in order (or a ``Failure``).

    Every provider runs on a pool thread, so the caller stays free to raise a provider's
    ``BaseException`` (or its own interruption) at once. With ``timeout`` (the group
    deadline, seconds) the providers unfinished at the deadline are abandoned and get an
    ``Outcome`` with a ``ResiliencyTimeoutError``.
    """
    if deadline_passed():
        return [skipped_outcome(b) for b in plan]
    clock = plan[0].clock or get_clock()
    now = time.monotonic if clock is SYSTEM_CLOCK else clock.monotonic
    started = start_time(notifier, clock)
    begin = clock.monotonic()
    race = Race(len(plan), False)
    cond = threading.Condition(threading.Lock())
    threads = CallThreads(len(plan))
    try:
        token = None if timeout is None else push_deadline(timeout, clock, begin)
        try:
            for index, binding in enumerate(plan):
                race.start()
                threads.submit(functools.partial(_run_one, race, cond, index, binding, args, kwargs, now))
        finally:
            if token is not None:
                reset_deadline(token)
        with cond:
            finished = _wait(cond, lambda: race.over, None if timeout is None else begin + timeout, clock)
            crash = race.close()
    except BaseException as exc:  # the caller was interrupted: every provider stops
        with cond:
            error = race.interrupted(exc)
            race.close()
        threads.close()
        if error is exc:
            raise
        raise error from None
    threads.close()
    if crash is not None:
        return crash
    if not finished and timeout is not None:
        return race.outcomes(plan, _deadline_error(notifier, timeout, clock.monotonic() - begin))
    outcomes = race.outcomes(plan)
    if not any(o.ok for o in outcomes):
        _, pending = all_failed(notifier, ring, op, list(race.attempts), started, args, kwargs, (), clock)
        discard(pending)
    return outcomes


def _deadline_error(notifier: Notifier, timeout: float, elapsed: float) -> ResiliencyTimeoutError:
    """The group deadline's error (and its ``TimeoutOccurred`` event, as ``@timeout`` emits)."""
    if notifier.registry.listeners:
        notifier.registry.emit(TimeoutOccurred(notifier.group, timeout, elapsed))
    return ResiliencyTimeoutError(timeout, elapsed, notifier.group)
