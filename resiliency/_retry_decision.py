"""The retry decision: after an attempt, wait how long, or stop. Pure: no sleeping, no I/O.

``make_decider(policy)`` reads a ``RetryPolicy``'s fields once and returns a closure, so
the per-failure path reads cells instead of attributes. The sync and async retry loops
both call it; the process-wide test switches (``resiliency.testing.instant`` and
``disabled``) are read here.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _backoff, _retry_after
from ._errors import BulkheadFullError, CircuitOpenError
from ._retry_after import retry_after_from

if TYPE_CHECKING:
    from ._retry_policy import RetryPolicy

__all__ = ["Decider", "make_decider", "testing_switch"]

Decider = Callable[[int, BaseException | None, Any, float, float, float | None], float | None]
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
    max_attempts = policy.max_attempts
    formula = policy._delay
    user_backoff: Any = None if formula is not None else policy.backoff
    base, cap, multiplier = policy.base_delay, policy.max_delay, policy.multiplier
    rng = policy.rng or _RANDOM
    respect_retry_after, max_retry_after = policy.respect_retry_after, policy.max_retry_after
    max_total_time = policy.max_total_time
    budget = policy.budget
    clamp = _backoff.clamp_delay
    hint_of = retry_after_from
    zero_delay = formula is not None and (base == 0.0 or policy.backoff == "none")
    plain_types = _retry_after.PLAIN_TYPES  # error classes known to carry no hint

    def decide(
        attempt: int,
        error: BaseException | None,
        result: Any,
        previous: float,
        elapsed: float,
        remaining: float | None,
    ) -> float | None:
        if error is not None:
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
