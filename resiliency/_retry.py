"""``@retry``: run again after a failure, with backoff, until the policy says stop.

The decision (retry or not, how long to wait) is ``RetryPolicy.next_delay``; the two
layers here only call, sleep through the clock and report. The success path of a call
reads no clock and builds nothing.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from typing_extensions import Unpack

from . import _clock as _clock_module
from ._clock import Clock
from ._deadline import _deadline as _deadline_var
from ._decorators import Decorator, Target, apply_strategy
from ._engine import AsyncLayer, Strategy, SyncLayer, async_leaf, raise_failure, sync_leaf
from ._events import RetryScheduled
from ._outcome import Failure
from ._registry import Registry, default_registry
from ._retry_policy import RetryFields, RetryPolicy

__all__ = ["RetryResult", "RetryStrategy", "acall_with_stats", "call_with_stats", "retry"]

logger = logging.getLogger("resiliency")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryResult(Generic[T]):
    """What ``call_with_stats`` returns: the value, the attempts made, the seconds slept."""

    value: T
    attempts: int
    total_delay: float


class _Stats:
    __slots__ = ("attempts", "total_delay")

    def __init__(self) -> None:
        self.attempts = 1
        self.total_delay = 0.0


_NOT_YET: Any = object()


class RetryStrategy(Strategy):
    """The retry strategy in a pipeline: one policy, a clock, a registry for events."""

    __slots__ = ("_clock", "_policy", "label", "name", "registry")
    kind = "retry"

    def __init__(
        self,
        policy: RetryPolicy,
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
    def policy(self) -> RetryPolicy:
        """The ``RetryPolicy`` this strategy applies."""
        return self._policy

    @property
    def passthrough(self) -> bool:
        """True unless results are checked, a total time needs a start time, or a budget counts calls."""
        p = self._policy
        return p.retry_if_result is None and p.max_total_time is None and p.budget is None

    def _announce(self, attempt: int, outcome: Any, delay: float) -> Any:
        hook = self._policy.on_retry
        registry = self.registry
        if hook is None and not registry.listeners:
            return None
        error = outcome.error if type(outcome) is Failure else None
        event = RetryScheduled(self.label, attempt, delay, error, None if error else outcome)
        registry.emit(event)
        if hook is None:
            return None
        try:
            return hook(event)
        except Exception:
            logger.exception("on_retry hook %r raised", hook)
            return None

    def _decide(
        self,
        attempt: int,
        outcome: Any,
        previous: float,
        clock: Clock,
        started: float | None,
        matched: bool | None = None,
    ) -> float | None:
        """The one decision both loops share: seconds to wait, or None to stop.

        ``matched``: an async predicate's answer, already awaited (see ``_adecide``).
        """
        policy = self._policy
        if type(outcome) is Failure:
            error, result = outcome.error, None
        elif policy.retry_if_result is not None:
            error, result = None, outcome
        else:
            return None  # a success no predicate refuses
        elapsed = clock.monotonic() - started if started is not None else 0.0
        deadline = _deadline_var.get()
        left = None if deadline is None else deadline[0] - deadline[1].monotonic()
        return policy._decider(attempt, error, result, previous, elapsed, left, matched)

    async def _adecide(
        self, attempt: int, outcome: Any, previous: float, clock: Clock, started: float | None
    ) -> float | None:
        """``_decide`` for a policy with an async predicate: await it, then decide on its answer."""
        on_error, on_result = self._policy._async_predicates
        failed = type(outcome) is Failure
        predicate = on_error if failed else on_result
        matched = None if predicate is None else bool(await predicate(outcome.error if failed else outcome))
        return self._decide(attempt, outcome, previous, clock, started, matched)

    def check_sync(self) -> None:
        """Refuse what only an async callable can use: async hooks and predicates.

        Raises:
            TypeError: an ``async def`` ``on_retry``, ``retry_on`` or ``retry_if_result``.
        """
        policy = self._policy
        if inspect.iscoroutinefunction(policy.on_retry):
            raise TypeError(f"on_retry must be a plain function for a sync callable (got async {policy.on_retry!r})")
        for param, predicate in zip(("retry_on", "retry_if_result"), policy._async_predicates, strict=True):
            if predicate is not None:
                raise TypeError(f"{param} must be a plain function for a sync callable (got async {predicate!r})")

    def run_sync(
        self,
        inner: SyncLayer,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        stats: _Stats | None = None,
        first: Any = _NOT_YET,
    ) -> Any:
        """Run the retry loop over ``inner`` (``first``: the first attempt's outcome if made)."""
        clock = self._clock or _clock_module._current
        started = clock.monotonic() if self._policy.max_total_time is not None else None
        if first is _NOT_YET:
            if self._policy.budget is not None:
                self._policy.budget.deposit()
            outcome = inner(args, kwargs)
        else:
            outcome = first
        attempt, previous, total = 1, 0.0, 0.0
        failure, check_results = Failure, self._policy.retry_if_result is not None
        while True:
            if type(outcome) is not failure and not check_results:
                break  # a success nothing refuses: no decision to make
            delay = self._decide(attempt, outcome, previous, clock, started)
            if delay is None:
                break
            if self._policy.on_retry is not None or self.registry.listeners:
                self._announce(attempt, outcome, delay)
            if delay > 0.0:
                clock.sleep(delay)
                total += delay
            previous = delay
            attempt += 1
            outcome = inner(args, kwargs)
        if stats is not None:
            stats.attempts, stats.total_delay = attempt, total
        return outcome

    async def run_async(
        self,
        inner: AsyncLayer,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        stats: _Stats | None = None,
        first: Any = _NOT_YET,
    ) -> Any:
        """Run the retry loop over async ``inner`` (``first``: the first outcome if made)."""
        clock = self._clock or _clock_module._current
        started = clock.monotonic() if self._policy.max_total_time is not None else None
        if first is _NOT_YET:
            if self._policy.budget is not None:
                self._policy.budget.deposit()
            outcome = await inner(args, kwargs)
        else:
            outcome = first
        attempt, previous, total = 1, 0.0, 0.0
        failure, check_results = Failure, self._policy.retry_if_result is not None
        awaits = self._policy._async_predicates != (None, None)
        while True:
            if type(outcome) is not failure and not check_results:
                break  # a success nothing refuses: no decision to make
            if awaits:
                delay = await self._adecide(attempt, outcome, previous, clock, started)
            else:
                delay = self._decide(attempt, outcome, previous, clock, started)
            if delay is None:
                break
            pending = None
            if self._policy.on_retry is not None or self.registry.listeners:
                pending = self._announce(attempt, outcome, delay)
            if pending is not None and inspect.isawaitable(pending):
                try:
                    await pending
                except Exception:
                    logger.exception("on_retry hook %r raised", self._policy.on_retry)
            if delay > 0.0:
                await clock.asleep(delay)
                total += delay
            previous = delay
            attempt += 1
            outcome = await inner(args, kwargs)
        if stats is not None:
            stats.attempts, stats.total_delay = attempt, total
        return outcome

    def resume_sync(self, inner: SyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Go on with the retry loop after a first attempt that returned ``first``."""
        if type(first) is not Failure:
            return first
        return self.run_sync(inner, args, kwargs, None, first)

    async def resume_async(self, inner: AsyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``resume_sync``."""
        if type(first) is not Failure:
            return first
        return await self.run_async(inner, args, kwargs, None, first)

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Retry layer: the first attempt inline; the loop only after a failure.

        Raises:
            TypeError: an ``async def`` ``on_retry`` hook or predicate on a sync callable.
        """
        self.check_sync()
        run = self.run_sync
        if self._policy.retry_if_result is not None or self._policy.max_total_time is not None:
            return lambda args, kwargs: run(inner, args, kwargs)
        failure = Failure
        if self._policy.budget is not None:
            deposit = self._policy.budget.deposit

            def budgeted(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                deposit()
                outcome = inner(args, kwargs)
                if type(outcome) is not failure:
                    return outcome
                return run(inner, args, kwargs, None, outcome)

            return budgeted

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            outcome = inner(args, kwargs)
            if type(outcome) is not failure:
                return outcome
            return run(inner, args, kwargs, None, outcome)

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async retry layer: the first attempt inline; the loop only after a failure."""
        run = self.run_async
        if self._policy.retry_if_result is not None or self._policy.max_total_time is not None:
            return lambda args, kwargs: run(inner, args, kwargs)
        failure = Failure
        if self._policy.budget is not None:
            deposit = self._policy.budget.deposit

            async def budgeted(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                deposit()
                outcome = await inner(args, kwargs)
                if type(outcome) is not failure:
                    return outcome
                return await run(inner, args, kwargs, None, outcome)

            return budgeted

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            outcome = await inner(args, kwargs)
            if type(outcome) is not failure:
                return outcome
            return await run(inner, args, kwargs, None, outcome)

        return layer


def call_with_stats(
    policy: RetryPolicy, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> RetryResult[Any]:
    """Run ``fn`` under ``policy``; return ``RetryResult`` or raise the last error."""
    stats = _Stats()
    strategy = RetryStrategy(policy)
    strategy.check_sync()
    outcome = strategy.run_sync(sync_leaf(fn), args, kwargs, stats)
    if type(outcome) is Failure:
        raise_failure(outcome)
    return RetryResult(outcome, stats.attempts, stats.total_delay)


async def acall_with_stats(
    policy: RetryPolicy, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> RetryResult[Any]:
    """Await ``fn`` under ``policy``; return ``RetryResult`` or raise the last error."""
    stats = _Stats()
    outcome = await RetryStrategy(policy).run_async(async_leaf(fn), args, kwargs, stats)
    if type(outcome) is Failure:
        raise_failure(outcome)
    return RetryResult(outcome, stats.attempts, stats.total_delay)


@overload
def retry(fn: Target, /) -> Target: ...
@overload
def retry(
    *,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
    **fields: Unpack[RetryFields],
) -> Decorator: ...
def retry(
    fn: Any = None,
    /,
    *,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
    **fields: Unpack[RetryFields],
) -> Any:
    """Retry the decorated callable (sync or async) as ``RetryPolicy`` describes.

    Use bare (``@retry``), with fields (``@retry(max_attempts=4, backoff="full_jitter")``)
    or with a policy (``@retry(policy=RetryPolicy.network())``); fields given beside a
    policy override it. When attempts run out the last exception is re-raised unchanged
    (or the last result returned).

    Args:
        policy: a ``RetryPolicy`` (default: the library defaults).
        clock: the ``Clock`` to sleep on (default: the process clock, read per call).
        registry: where ``RetryScheduled`` events go (default ``resiliency.registry``).
        name: a label for events.
        **fields: ``RetryPolicy`` fields.

    Raises:
        TypeError, ValueError: a bad field, or a generator function decorated.
    """
    if fn is not None and not callable(fn) and not isinstance(fn, (classmethod, staticmethod)):
        raise TypeError(f"retry() takes the function to decorate or keyword fields (got {fn!r})")
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise TypeError(f"policy must be a RetryPolicy (got {policy!r})")
    effective = (policy or RetryPolicy()).merged(RetryPolicy(**fields)) if fields else (policy or RetryPolicy())
    strategy = RetryStrategy(effective, clock=clock, registry=registry, name=name)
    if fn is not None:
        return apply_strategy(fn, strategy)
    return lambda target: apply_strategy(target, strategy)
