"""``@timeout``: give up on a call at a deadline, and carry that deadline inward.

Async calls are cancelled through anyio's semantics: an anyio cancel scope (trio, and
virtual clocks), or on asyncio with the system clock a cheaper loop timer that cancels
the task but respects anyio's shielded scopes (``_alarm``). Sync calls run in a worker
thread and the caller stops waiting at the deadline: Python cannot stop a thread, so
the worker is abandoned and runs on, its result discarded; it still counts against the
worker limit (``_workers``) and keeps the slot of a bulkhead above it (``_holds``).
``mode="cooperative"`` runs the call in the caller's thread; the function checks
``resiliency.remaining()`` itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, overload

import anyio

from ._alarm import AVAILABLE as ALARM_AVAILABLE
from ._alarm import Alarm
from ._clock import SYSTEM_CLOCK, Clock, get_clock
from ._deadline import push_deadline, reset_deadline
from ._decorators import Decorator, Target, apply_strategy
from ._engine import AsyncLayer, CallablePolicy, Strategy, SyncLayer
from ._errors import ResiliencyTimeoutError, WorkerLimitError
from ._events import TimeoutOccurred
from ._holds import mark_leaves_work
from ._outcome import Failure
from ._registry import Registry, default_registry
from ._validate import check_count, check_duration, message
from ._workers import Deadline, WorkerPool, workers

__all__ = ["TimeoutPolicy", "TimeoutStrategy", "timeout"]

_MODES = ("thread", "cooperative")
_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio
_current_task = asyncio.current_task

@dataclass(frozen=True, slots=True)
class TimeoutPolicy(CallablePolicy):
    """A time limit per call.

    Args:
        seconds: the limit, float or timedelta, > 0 (default 30).
        mode: for sync calls, "thread" (default: run in a worker thread, stop waiting at
            the deadline) or "cooperative" (run in the caller's thread; the call checks
            ``resiliency.remaining()``, and a late result is refused with the timeout
            error). Async calls are always cancelled.
        max_workers: thread mode: the most worker threads this policy's calls may run at
            once, abandoned ones included, int >= 1 (default None: share the process-wide
            pool of 64 with every other timeout). Give each dependency its own limit so
            one that hangs cannot starve the others of workers. A call that finds no
            free worker before its deadline fails with ``WorkerLimitError``.

    Raises:
        ValueError, TypeError: ``seconds`` <= 0, NaN or not a number; unknown ``mode``;
            ``max_workers`` < 1 or not an int.
    """

    seconds: float = 30.0
    mode: Literal["thread", "cooperative"] = "thread"
    max_workers: int | None = None
    # The policy's own workers (with max_workers): shared by every call site and every
    # strategy built from this policy object (e.g. each resiliency.execute() call).
    _pool: WorkerPool = field(default=workers, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", check_duration("seconds", self.seconds, allow_zero=False))
        if self.mode not in _MODES:
            raise ValueError(message("mode", "'thread' or 'cooperative'", self.mode))
        limit = check_count("max_workers", self.max_workers, allow_none=True)
        if limit is not None:
            object.__setattr__(self, "_pool", WorkerPool(limit))

    def to_strategy(self) -> TimeoutStrategy:
        """Return a strategy applying this policy."""
        return TimeoutStrategy(self)


class TimeoutStrategy(Strategy):
    """The timeout strategy in a pipeline."""

    __slots__ = ("_clock", "_policy", "label", "name", "registry")
    kind = "timeout"

    def __init__(
        self,
        policy: TimeoutPolicy,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        name: str | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self.registry = registry if registry is not None else default_registry
        self.name = name
        self.label = name

    @property
    def policy(self) -> TimeoutPolicy:
        """The ``TimeoutPolicy`` this strategy applies."""
        return self._policy

    def _timed_out(self, clock: Clock, start: float) -> Failure:
        seconds = self._policy.seconds
        elapsed = clock.monotonic() - start
        if self.registry.listeners:
            self.registry.emit(TimeoutOccurred(self.label, seconds, elapsed))
        return Failure(ResiliencyTimeoutError(seconds, elapsed, self.label))

    def _no_worker(self, clock: Clock, start: float, pool: WorkerPool) -> Failure:
        waited = clock.monotonic() - start
        return Failure(WorkerLimitError(self.name, pool.limit, pool.abandoned, waited))

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Thread or cooperative layer, as the policy's mode says."""
        seconds = self._policy.seconds
        cooperative = self._policy.mode == "cooperative"
        pool = self._policy._pool

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            start = clock.monotonic()
            token = push_deadline(seconds, clock, start)
            try:
                if cooperative:
                    outcome = inner(args, kwargs)
                    if clock.monotonic() - start > seconds:
                        return self._timed_out(clock, start)
                    return outcome
                context = contextvars.copy_context()
            finally:
                reset_deadline(token)
            until = Deadline(clock, start, seconds, pool)
            try:
                future = pool.start(context.run, (inner, args, kwargs), until)
                if future is None:
                    return self._no_worker(clock, start, pool)
                if not until.wait_for(future):
                    pool.abandon(future)
                    return self._timed_out(clock, start)
            finally:
                until.cancel()
            outcome = future.result()
            if clock is not SYSTEM_CLOCK and clock.monotonic() - start > seconds:
                return self._timed_out(clock, start)
            return outcome

        if not cooperative:
            mark_leaves_work(layer)  # an abandoned worker runs on: a bulkhead above waits for it
        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Cancelling layer: an anyio cancel scope, or the asyncio alarm (shield-aware)."""
        seconds = self._policy.seconds

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            start = clock.monotonic()
            token = push_deadline(seconds, clock, start)
            try:
                if clock is SYSTEM_CLOCK:
                    loop = _running_loop() if ALARM_AVAILABLE else None
                    if loop is not None:
                        # A loop timer that cancels this task unless it is shielded,
                        # told apart from other cancellations by the task's cancel
                        # count (as asyncio.timeout does), at a third of a cancel
                        # scope's cost (see _alarm).
                        task = _current_task(loop)
                        if task is None:
                            raise RuntimeError("@timeout needs to run inside an asyncio task")
                        alarm = Alarm(loop, task, seconds)
                        try:
                            return await inner(args, kwargs)
                        except asyncio.CancelledError:
                            if not alarm.fired:
                                raise
                            alarm.fired = False
                            if task.uncancel() > alarm.cancelling:  # someone else cancelled too
                                raise
                        finally:
                            alarm.handle.cancel()
                            if alarm.fired:  # fired, but the call swallowed the cancellation
                                task.uncancel()
                    else:
                        with anyio.move_on_after(seconds):
                            return await inner(args, kwargs)
                else:
                    call_at = getattr(clock, "call_at", None)
                    if call_at is None:  # a custom clock that cannot wake us: real time
                        with anyio.move_on_after(seconds):
                            return await inner(args, kwargs)
                    else:
                        with anyio.CancelScope() as scope:
                            handle = call_at(start + seconds, scope.cancel)
                            try:
                                return await inner(args, kwargs)
                            finally:
                                handle.cancel()
            finally:
                reset_deadline(token)
            return self._timed_out(clock, start)

        return layer


@overload
def timeout(fn: Target, /) -> Target: ...
@overload
def timeout(
    seconds: float | timedelta = ...,
    /,
    *,
    mode: Literal["thread", "cooperative"] = "thread",
    max_workers: int | None = None,
    policy: TimeoutPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
) -> Decorator: ...
def timeout(
    seconds: Any = None,
    /,
    *,
    mode: Literal["thread", "cooperative"] = "thread",
    max_workers: int | None = None,
    policy: TimeoutPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
) -> Any:
    """Limit each call of the decorated callable to ``seconds``.

    ``@timeout(2.0)``, ``@timeout(timedelta(seconds=2))``, ``@timeout(policy=...)``, or
    bare ``@timeout`` (30 s). The deadline is visible inside the call through
    ``resiliency.remaining()``; nested timeouts keep the earlier deadline. Fields are
    ``TimeoutPolicy``'s: ``mode`` ("thread" or "cooperative", for sync calls) and
    ``max_workers`` (thread mode: a worker limit of this decorator's own; default: the
    process-wide pool of 64).

    Raises:
        ResiliencyTimeoutError: (at call time) the call passed its deadline.
        WorkerLimitError: (at call time, thread mode) no worker thread was free before
            the deadline; the call never ran.
        ValueError, TypeError: (at decoration) bad ``seconds``, ``mode`` or ``max_workers``.
    """
    fn = None
    if callable(seconds) or isinstance(seconds, (classmethod, staticmethod)):
        fn, seconds = seconds, None
    if policy is not None:
        if not isinstance(policy, TimeoutPolicy):
            raise TypeError(message("policy", "a TimeoutPolicy", policy))
        if seconds is not None or max_workers is not None:
            raise TypeError("timeout() takes seconds and max_workers, or policy=, not both")
    else:
        policy = TimeoutPolicy(30.0 if seconds is None else seconds, mode, max_workers)
    strategy = TimeoutStrategy(policy, clock=clock, registry=registry, name=name)
    if fn is not None:
        return apply_strategy(fn, strategy)
    return lambda target: apply_strategy(target, strategy)
