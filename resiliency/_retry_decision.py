"""The retry decision: after an attempt, wait how long, or stop. Pure: no sleeping, no I/O.

``make_decider(policy)`` reads a ``RetryPolicy``'s fields once and returns a closure, so
the per-failure path reads cells instead of attributes. The sync and async retry loops
both call it; the process-wide test switches (``resiliency.testing.instant`` and
``disabled``) are read here.

An ``async def`` predicate (``retry_on``, ``retry_if_result``) cannot be called here:
the async loop awaits it and hands the decider its answer as ``matched``; called
without one (a sync loop), such a predicate raises ``TypeError``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _backoff, _retry_after
from ._classify import is_call_error
from ._decorators import is_async_callable
from ._errors import BulkheadFullError, CircuitOpenError
from ._retry_after import retry_after_from

if TYPE_CHECKING:
    from ._retry_policy import RetryPolicy

__all__ = ["Decider", "async_predicates", "make_decider", "refuse_async", "testing_switch"]

# (attempt, error, result, previous, elapsed, remaining[, matched]) -> seconds or None
Decider = Callable[..., float | None]
_RANDOM = random.Random()
_NOT_RETRIED_BY_DEFAULT = (CircuitOpenError, BulkheadFullError)


class _TestingSwitch:
    """Process-wide test switches (``resiliency.testing.instant`` / ``disabled``)."""

    __slots__ = ("disabled", "instant", "lock")

    def __init__(self) -> None:
        self.instant = False
        self.disabled = False
        self.lock = threading.Lock()


testing_switch = _TestingSwitch()


def async_predicates(policy: RetryPolicy) -> tuple[Any, Any]:
    """Return ``(retry_on, retry_if_result)``, each the policy's predicate if it is async, else None."""
    retry_on = policy.retry_on
    on_error = retry_on if callable(retry_on) and not isinstance(retry_on, type) else None
    return (
        on_error if is_async_callable(on_error) else None,
        policy.retry_if_result if is_async_callable(policy.retry_if_result) else None,
    )


def refuse_async(param: str, predicate: object) -> Callable[[Any], bool]:
    """A stand-in for an async predicate where it cannot be awaited: it raises ``TypeError``."""

    def refuse(_: Any) -> bool:
        raise TypeError(
            f"{param} is an async predicate ({predicate!r}); it can only be awaited around an async "
            "callable: give a plain function for a sync one"
        )

    return refuse


def make_decider(policy: RetryPolicy) -> Decider:
    """Build ``next_delay`` as a closure over the policy's fields (read once, here)."""
    switch = testing_switch
    # Exception types are matched inline (no predicate call); the default excludes the
    # rejections of breakers and bulkheads, which retrying would only prolong.
    retry_on = policy.retry_on
    should_retry: Any = None
    retry_types: Any = ()
    if isinstance(retry_on, type):
        retry_types = retry_on
    elif isinstance(retry_on, (tuple, list, set, frozenset)):
        retry_types = tuple(retry_on)
    else:
        should_retry = policy._should_retry
    excluded = _NOT_RETRIED_BY_DEFAULT if "retry_on" not in policy.fields_set else ()
    verdicts: dict[type, bool] = {}
    retry_if_result = policy.retry_if_result
    async_on_error, async_on_result = async_predicates(policy)
    if async_on_error is not None:
        should_retry = refuse_async("retry_on", async_on_error)
    if async_on_result is not None:
        retry_if_result = refuse_async("retry_if_result", async_on_result)
    max_attempts: float = policy.max_attempts if policy.max_attempts is not None else float("inf")
    formula = policy._delay
    user_backoff: Any = None if formula is not None else policy.backoff
    if isinstance(user_backoff, tuple):
        user_backoff = _backoff.chained(user_backoff)
    floor = policy.min_delay
    base, cap, multiplier = policy.base_delay, policy.max_delay, policy.multiplier
    rng = policy.rng or _RANDOM
    respect_retry_after, max_retry_after = policy.respect_retry_after, policy.max_retry_after
    max_total_time = policy.max_total_time
    budget = policy.budget
    clamp = _backoff.clamp_delay
    hint_of = retry_after_from
    # base 0 gives 0 for every kind but "random", which draws from [0, max_delay].
    zero_delay = formula is not None and (policy.backoff == "none" or (base == 0.0 and policy.backoff != "random"))
    plain_types = _retry_after.PLAIN_TYPES  # error classes known to carry no hint

    def decide(
        attempt: int,
        error: BaseException | None,
        result: Any,
        previous: float,
        elapsed: float,
        remaining: float | None,
        matched: bool | None = None,
    ) -> float | None:
        if matched is not None:  # an async predicate's answer, awaited by the caller
            if not matched:
                return None
        elif error is not None:
            if should_retry is not None:
                if not should_retry(error):
                    return None
            else:
                # Per error class, cached: whether retry_on takes it (isinstance against a
                # tuple costs ~100 ns; a dict hit ~20 ns). Bounded for generated classes.
                cls = type(error)
                allowed = verdicts.get(cls)
                if allowed is None:
                    allowed = issubclass(cls, retry_types) and not (excluded and issubclass(cls, excluded))
                    if len(verdicts) < 256:
                        verdicts[cls] = allowed
                if not allowed:
                    return None
                # Wrong arguments (a TypeError from the call itself) fail the same way
                # every time: the default filter never retries them.
                if excluded and cls is TypeError and is_call_error(error):
                    return None
        elif retry_if_result is None or not retry_if_result(result):
            return None
        if attempt >= max_attempts or switch.disabled:
            return None
        if zero_delay:
            delay = 0.0
        elif formula is not None:
            delay = formula(attempt, previous, base, cap, multiplier, rng)
            if delay > cap:  # noqa: PLR1730 - a branch is cheaper than min() here
                delay = cap
        else:
            delay = clamp(user_backoff(attempt, previous), cap)
        if delay < floor:  # noqa: PLR1730 - a branch is cheaper than max() here
            delay = floor
        if error is not None and respect_retry_after and not (type(error) in plain_types and not error.__dict__):
            hint = hint_of(error)
            if hint is not None:
                if hint > max_retry_after:
                    return None
                delay = hint
        if switch.instant:
            return 0.0 if budget is None or budget.try_withdraw(attempt, error) else None
        if max_total_time is not None and elapsed + delay > max_total_time:
            return None
        if remaining is not None and delay >= remaining:
            return None
        if budget is not None and not budget.try_withdraw(attempt, error):
            return None
        return delay

    return decide
