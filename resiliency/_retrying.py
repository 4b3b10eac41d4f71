"""``retrying(...)``: retry a block of code, sync (``for``) or async (``async for``).

::

    for attempt in retrying(max_attempts=3):
        with attempt:
            do_something()

The decision after each attempt is the retry strategy's own (``RetryStrategy._decide``,
the one the decorator's loops call); this module only iterates and sleeps. The decision
is taken when the ``with`` block ends: an error that will not be retried (a permanent
error, or the last attempt's) leaves the ``with`` block unchanged, traceback intact.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from typing_extensions import Unpack

from . import _clock as _clock_module
from ._clock import Clock
from ._outcome import Failure
from ._registry import Registry
from ._retry import RetryStrategy
from ._retry_policy import RetryFields, RetryPolicy

__all__ = ["Attempt", "Retrying", "retrying"]

logger = logging.getLogger("resiliency")
_NO_RESULT: Any = object()


class Attempt:
    """One attempt of a ``retrying`` block; use it as ``with attempt:``.

    Attributes:
        number: the 1-based attempt number.
    """

    __slots__ = ("_owner", "_result", "number")

    def __init__(self, owner: _Run, number: int) -> None:
        self._owner = owner
        self.number = number
        self._result: Any = _NO_RESULT

    def set_result(self, value: Any) -> None:
        """Hand the block's result to ``retry_if_result`` (which may ask for another attempt)."""
        self._result = value

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        if error is not None and not isinstance(error, Exception):
            return False  # cancellation, KeyboardInterrupt: never retried, never held
        outcome: Any = Failure(error) if error is not None else self._result
        return self._owner._after(self.number, outcome)

    def __repr__(self) -> str:
        return f"<Attempt {self.number}>"


class Retrying:
    """The iterator ``retrying(...)`` returns: yields ``Attempt``s until one succeeds.

    Iterate it with ``for`` in sync code and ``async for`` in async code (the sleeps
    then go through the clock's ``asleep``, so they are cancellable). Each iteration
    starts afresh: one ``Retrying`` may be iterated many times.
    """

    def __init__(self, strategy: RetryStrategy, clock: Clock | None) -> None:
        self._strategy = strategy
        self._clock = clock

    def _begin(self) -> _Run:
        clock = self._clock or _clock_module._current
        return _Run(self._strategy, clock)

    def __iter__(self) -> Iterator[Attempt]:
        hook = self._strategy.policy.on_retry
        if inspect.iscoroutinefunction(hook):
            raise TypeError(f"on_retry must be a plain function under a sync `for` (got async {hook!r})")
        run = self._begin()
        while True:
            attempt = Attempt(run, run.number)
            yield attempt
            delay = run.pending
            if delay is None:
                return
            run.announce(attempt.number)
            if delay > 0.0:
                run.clock.sleep(delay)
            run.advance(delay)

    def __aiter__(self) -> _AsyncAttempts:
        # An iterator object, not an async generator: a block that raises out of
        # ``async for`` leaves no generator for the GC to finalize outside the loop.
        return _AsyncAttempts(self._begin())


class _AsyncAttempts:
    """The ``async for`` side of ``Retrying``: sleeps between attempts through ``asleep``."""

    __slots__ = ("_last", "_run")

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._last: Attempt | None = None

    def __aiter__(self) -> _AsyncAttempts:
        return self

    async def __anext__(self) -> Attempt:
        run = self._run
        if self._last is not None:
            delay = run.pending
            if delay is None:
                raise StopAsyncIteration
            pending = run.announce(self._last.number)
            if pending is not None and inspect.isawaitable(pending):
                try:
                    await pending
                except Exception:
                    logger.exception("on_retry hook %r raised", run.strategy.policy.on_retry)
            if delay > 0.0:
                await run.clock.asleep(delay)
            run.advance(delay)
        self._last = Attempt(run, run.number)
        return self._last


class _Run:
    """The state of one iteration: attempt number, previous delay, start time."""

    __slots__ = ("clock", "number", "outcome", "pending", "previous", "started", "strategy")

    def __init__(self, strategy: RetryStrategy, clock: Clock) -> None:
        self.strategy = strategy
        self.clock = clock
        self.number = 1
        self.previous = 0.0
        self.pending: float | None = None
        self.outcome: Any = None
        self.started = clock.monotonic() if strategy.policy.max_total_time is not None else None

    def _after(self, number: int, outcome: Any) -> bool:
        """Decide after attempt ``number``; return True to swallow its error (a retry follows)."""
        if outcome is _NO_RESULT:  # a success with no result handed over: nothing to check
            self.pending = None
            return False
        self.pending = self.strategy._decide(number, outcome, self.previous, self.clock, self.started)
        self.outcome = outcome
        if self.pending is None:
            self.outcome = None
            return False  # done: a success, or an error re-raised as it is
        return True

    def announce(self, number: int) -> Any:
        outcome, self.outcome = self.outcome, None
        strategy = self.strategy
        if strategy.policy.on_retry is None and not strategy.registry.listeners:
            return None
        return strategy._announce(number, outcome, self.pending or 0.0)

    def advance(self, delay: float) -> None:
        self.previous = delay
        self.number += 1
        self.pending = None


def retrying(
    policy: RetryPolicy | None = None,
    *,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
    **fields: Unpack[RetryFields],
) -> Retrying:
    """Retry a block of code: ``for attempt in retrying(...): with attempt: ...``.

    Async code writes ``async for attempt in retrying(...): with attempt: ...``. The
    block runs again while the policy says so (the same decision as ``@retry``: what to
    retry on, backoff, Retry-After, ``max_total_time``, the caller's deadline); when it
    says stop, the last error leaves the ``with`` block unchanged. For
    ``retry_if_result``, hand the block's value over with ``attempt.set_result(value)``.

    Args:
        policy: a ``RetryPolicy`` (default: the library defaults).
        clock: the ``Clock`` slept on (default: the process clock, read per iteration).
        registry: where ``RetryScheduled`` events go (default ``resiliency.registry``).
        name: a label for events.
        **fields: ``RetryPolicy`` fields; beside ``policy`` they override it.

    Returns:
        A ``Retrying`` to iterate with ``for`` or ``async for``.

    Raises:
        TypeError, ValueError: a bad field or policy.
    """
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise TypeError(f"policy must be a RetryPolicy (got {policy!r})")
    effective = policy or RetryPolicy()
    if fields:
        effective = effective.merged(RetryPolicy(**fields))
    return Retrying(RetryStrategy(effective, clock=clock, registry=registry, name=name), clock)
