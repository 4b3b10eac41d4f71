"""``@timeout``: give up on a call at a deadline, and carry that deadline inward.

Async calls are cancelled through the event loop (``asyncio.timeout`` when asyncio runs
with the system clock, the cheaper native primitive; an anyio cancel scope otherwise, so
trio works too). Sync calls run in a worker thread and the caller stops waiting at the
deadline: Python cannot stop a thread, so the worker is abandoned and runs on (at most
64 at once, see ``_workers``), its result discarded. ``mode="cooperative"`` runs the call
in the caller's thread; the function checks ``resiliency.remaining()`` itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, overload

import anyio

from ._clock import SYSTEM_CLOCK, Clock, get_clock
from ._deadline import push_deadline, reset_deadline
from ._decorators import Decorator, Target, apply_strategy
from ._engine import AsyncLayer, CallablePolicy, Strategy, SyncLayer
from ._errors import ResiliencyTimeoutError
from ._events import TimeoutOccurred
from ._outcome import Failure
from ._registry import Registry, default_registry
from ._validate import check_duration, message
from ._workers import workers

__all__ = ["TimeoutPolicy", "TimeoutStrategy", "timeout"]

_MODES = ("thread", "cooperative")
_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio
_current_task = asyncio.current_task


class _Alarm:
    """The timer callback of one asyncio timeout: cancels the task, remembers it did."""

    __slots__ = ("cancelling", "fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.cancelling = task.cancelling()
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


@dataclass(frozen=True, slots=True)
class TimeoutPolicy(CallablePolicy):
    """A time limit per call.

    Args:
        seconds: the limit, float or timedelta, > 0 (default 30).
        mode: for sync calls, "thread" (default: run in a worker thread, stop waiting at
            the deadline) or "cooperative" (run in the caller's thread; the call checks
            ``resiliency.remaining()``, and a late result is refused with the timeout
            error). Async calls are always cancelled.

    Raises:
        ValueError, TypeError: ``seconds`` <= 0, NaN or not a number; unknown ``mode``.
    """

    seconds: float = 30.0
    mode: Literal["thread", "cooperative"] = "thread"

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", check_duration("seconds", self.seconds, allow_zero=False))
        if self.mode not in _MODES:
            raise ValueError(message("mode", "'thread' or 'cooperative'", self.mode))

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

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Thread or cooperative layer, as the policy's mode says."""
        seconds = self._policy.seconds
        cooperative = self._policy.mode == "cooperative"

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
            future = workers.submit(context.run, (inner, args, kwargs), seconds)
            if future is None:
                return self._timed_out(clock, start)
            try:
                outcome = future.result(timeout=max(seconds - (clock.monotonic() - start), 0.0))
            except FutureTimeout:
                workers.abandon(future)
                return self._timed_out(clock, start)
            if clock is not SYSTEM_CLOCK and clock.monotonic() - start > seconds:
                return self._timed_out(clock, start)
            return outcome

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Cancelling layer: asyncio.timeout, or an anyio cancel scope."""
        seconds = self._policy.seconds

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            start = clock.monotonic()
            token = push_deadline(seconds, clock, start)
            try:
                if clock is SYSTEM_CLOCK:
                    loop = _running_loop()
                    if loop is not None:
                        # asyncio's own primitive, pared down: a timer that cancels this
                        # task, told apart from other cancellations by the task's
                        # cancel count (as asyncio.timeout does), at half its cost.
                        task = _current_task(loop)
                        if task is None:
                            raise RuntimeError("@timeout needs to run inside an asyncio task")
                        alarm = _Alarm(task)
                        handle = loop.call_at(loop.time() + seconds, alarm.fire)
                        try:
                            return await inner(args, kwargs)
                        except asyncio.CancelledError:
                            if not alarm.fired:
                                raise
                            alarm.fired = False
                            if task.uncancel() > alarm.cancelling:  # someone else cancelled too
                                raise
                        finally:
                            handle.cancel()
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
    policy: TimeoutPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
) -> Any:
    """Limit each call of the decorated callable to ``seconds``.

    ``@timeout(2.0)``, ``@timeout(timedelta(seconds=2))``, ``@timeout(policy=...)``, or
    bare ``@timeout`` (30 s). The deadline is visible inside the call through
    ``resiliency.remaining()``; nested timeouts keep the earlier deadline.

    Raises:
        ResiliencyTimeoutError: (at call time) the call passed its deadline.
        ValueError, TypeError: (at decoration) bad ``seconds`` or ``mode``.
    """
    fn = None
    if callable(seconds) or isinstance(seconds, (classmethod, staticmethod)):
        fn, seconds = seconds, None
    if policy is not None:
        if not isinstance(policy, TimeoutPolicy):
            raise TypeError(message("policy", "a TimeoutPolicy", policy))
        if seconds is not None:
            raise TypeError("timeout() takes seconds or policy=, not both")
    else:
        policy = TimeoutPolicy(30.0 if seconds is None else seconds, mode)
    strategy = TimeoutStrategy(policy, clock=clock, registry=registry, name=name)
    if fn is not None:
        return apply_strategy(fn, strategy)
    return lambda target: apply_strategy(target, strategy)
