"""``RetryPolicy``: the retry configuration and its pure decision, ``next_delay``.

The policy remembers which fields were given, so policies merge field by field
(``base.merged(over)``: what ``over`` sets wins), as failover's precedence needs.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar

from typing_extensions import Unpack

from . import _backoff
from ._classify import is_transient
from ._retry_after import retry_after_from
from ._retry_decision import Decider, async_predicates, make_decider
from ._validate import (
    check_bool,
    check_callable,
    check_count,
    check_duration,
    check_exception_filter,
    check_number,
    message,
    rebuild,
)

if TYPE_CHECKING:
    from ._retry import RetryResult

__all__ = ["RetryFields", "RetryPolicy", "retry_transient"]

T = TypeVar("T")

BackoffFn = Callable[[int, float], float]


class RetryFields(TypedDict, total=False):
    """The fields of ``RetryPolicy``, all optional, as keywords."""

    max_attempts: int | None
    backoff: str | BackoffFn | Sequence[float]
    base_delay: float
    max_delay: float
    min_delay: float
    multiplier: float
    retry_on: Any
    retry_if_result: Callable[[Any], bool | Awaitable[bool]] | None
    respect_retry_after: bool
    max_retry_after: float
    max_total_time: float | None
    on_retry: Callable[[Any], object] | None
    rng: random.Random | None
    budget: Any


_DEFAULTS: dict[str, Any] = {
    "max_attempts": 3,
    "backoff": "exponential",
    "base_delay": 0.1,
    "max_delay": 30.0,
    "min_delay": 0.0,
    "multiplier": 2.0,
    "retry_on": Exception,
    "retry_if_result": None,
    "respect_retry_after": True,
    "max_retry_after": 60.0,
    "max_total_time": None,
    "on_retry": None,
    "rng": None,
    "budget": None,
}


@dataclass(frozen=True, init=False)
class RetryPolicy:
    """How to retry: attempts, backoff, what to retry on, Retry-After, budget.

    Args:
        max_attempts: total attempts, the first included (int >= 1; default 3), or
            None: as many as ``max_total_time`` (then required) allows.
        backoff: "none", "constant", "linear", "exponential" (default), "full_jitter",
            "equal_jitter", "decorrelated_jitter", "fibonacci", "random", a callable
            ``(attempt, previous_delay) -> seconds``, or a sequence of seconds (chained
            waits: the n-th retry waits the n-th, the last repeats). Formulas (``exp`` =
            ``base_delay * multiplier ** (attempt - 1)``), all capped by ``max_delay``:
            none 0; constant base; linear base*attempt; exponential exp; full_jitter
            uniform(0, exp); equal_jitter exp/2 + uniform(0, exp/2); decorrelated_jitter
            uniform(base, previous*3); fibonacci base*fib(attempt); random
            uniform(base, max_delay).
        base_delay: seconds, float or timedelta, >= 0 (default 0.1).
        max_delay: seconds, >= base_delay (default 30).
        min_delay: a floor on every computed delay, seconds <= max_delay (default 0);
            a Retry-After hint is not floored.
        multiplier: exponential growth factor, >= 1 (default 2).
        retry_on: exception types or a predicate ``(exc) -> bool`` (default
            ``Exception``, except that ``CircuitOpenError`` and ``BulkheadFullError`` are
            not retried unless named). The predicate may be ``async def`` for an async
            callable (it is awaited); on a sync callable that is a ``TypeError``.
        retry_if_result: predicate on a result that asks for another attempt (``async
            def`` allowed as for ``retry_on``).
        respect_retry_after: use an error's Retry-After hint instead of the computed
            delay (default True).
        max_retry_after: a longer hint is not slept; the error is re-raised (default 60).
        max_total_time: seconds budget for all attempts and sleeps (default None).
        on_retry: called with a ``RetryScheduled`` event before each sleep.
        rng: the ``random.Random`` for jitter (default: the ``random`` module's).
        budget: a ``RetryBudget`` each call deposits into and each retry withdraws
            from; when it is spent the error is raised at once (default None).

    Raises:
        ValueError, TypeError: a field out of range or of the wrong type.
    """

    max_attempts: int | None
    backoff: str | BackoffFn | tuple[float, ...]
    base_delay: float
    max_delay: float
    min_delay: float
    multiplier: float
    retry_on: Any
    retry_if_result: Callable[[Any], bool | Awaitable[bool]] | None
    respect_retry_after: bool
    max_retry_after: float
    max_total_time: float | None
    on_retry: Callable[[Any], object] | None
    rng: random.Random | None = field(compare=False)
    budget: Any = field(compare=False)
    fields_set: frozenset[str] = field(repr=False)
    _should_retry: Callable[[BaseException], bool] = field(repr=False, compare=False)
    _delay: Callable[..., float] | None = field(repr=False, compare=False)
    _decider: Decider = field(repr=False, compare=False)
    _async_predicates: tuple[Any, Any] = field(repr=False, compare=False)

    def __init__(self, **fields: Unpack[RetryFields]) -> None:
        unknown = set(fields) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown RetryPolicy field(s): {', '.join(sorted(unknown))}")
        values = {**_DEFAULTS, **fields}
        put = object.__setattr__
        put(self, "max_attempts", check_count("max_attempts", values["max_attempts"], allow_none=True))
        backoff = values["backoff"]
        if isinstance(backoff, (list, tuple)):
            if not backoff:
                raise ValueError(message("backoff", "a non-empty sequence of seconds", backoff))
            backoff = tuple(check_duration("backoff", delay) for delay in backoff)
            put(self, "_delay", None)
        elif isinstance(backoff, str):
            if backoff not in _backoff.BACKOFF_KINDS:
                accepted = "one of " + ", ".join(repr(k) for k in _backoff.BACKOFF_KINDS) + " or a callable"
                raise ValueError(message("backoff", accepted, backoff))
            put(self, "_delay", _backoff.formula(backoff))
        elif callable(backoff):
            put(self, "_delay", None)
        else:
            raise TypeError(
                message("backoff", "a backoff name, a callable (attempt, previous) -> seconds or seconds", backoff)
            )
        put(self, "backoff", backoff)
        base = check_duration("base_delay", values["base_delay"])
        cap = check_duration("max_delay", values["max_delay"])
        if cap < base:
            raise ValueError(message("max_delay", f">= base_delay ({base!r})", values["max_delay"]))
        put(self, "base_delay", base)
        put(self, "max_delay", cap)
        floor = check_duration("min_delay", values["min_delay"])
        if floor > cap:
            raise ValueError(message("min_delay", f"<= max_delay ({cap!r})", values["min_delay"]))
        put(self, "min_delay", floor)
        multiplier = check_number("multiplier", values["multiplier"], "a number >= 1")
        if not 1 <= multiplier < float("inf"):
            raise ValueError(message("multiplier", "a finite number >= 1", values["multiplier"]))
        put(self, "multiplier", multiplier)
        retry_on = values["retry_on"]
        predicate = check_exception_filter("retry_on", retry_on)
        put(self, "_should_retry", predicate)
        put(self, "retry_on", retry_on)
        put(self, "retry_if_result", check_callable("retry_if_result", values["retry_if_result"], allow_none=True))
        put(self, "respect_retry_after", check_bool("respect_retry_after", values["respect_retry_after"]))
        put(self, "max_retry_after", check_duration("max_retry_after", values["max_retry_after"]))
        put(
            self,
            "max_total_time",
            check_duration("max_total_time", values["max_total_time"], allow_zero=False, allow_none=True),
        )
        put(self, "on_retry", check_callable("on_retry", values["on_retry"], allow_none=True))
        rng = values["rng"]
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(message("rng", "a random.Random or None", rng))
        put(self, "rng", rng)
        if self.max_attempts is None and self.max_total_time is None:
            raise ValueError(message("max_attempts", "an int >= 1, or None with max_total_time set", None))
        budget = values["budget"]
        if budget is not None:
            from ._retry_budget import RetryBudget

            if not isinstance(budget, RetryBudget):
                raise TypeError(message("budget", "a RetryBudget or None", budget))
        put(self, "budget", budget)
        put(self, "fields_set", frozenset(fields))
        put(self, "_async_predicates", async_predicates(self))
        put(self, "_decider", make_decider(self))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as the fields given; the cached predicate and decider are rebuilt.
        return (rebuild, (RetryPolicy, dict(self.fields())))

    # -- merging and presets -----------------------------------------------------------

    def fields(self) -> RetryFields:
        """Return the fields that were given explicitly, as keywords."""
        given: dict[str, Any] = {name: getattr(self, name) for name in self.fields_set}
        return given  # type: ignore[return-value]

    def merged(self, over: RetryPolicy | None) -> RetryPolicy:
        """Return this policy with every field ``over`` set explicitly taking precedence."""
        if over is None or not over.fields_set:
            return self
        merged: dict[str, Any] = {**self.fields(), **over.fields()}
        return RetryPolicy(**merged)

    def replace(self, **fields: Unpack[RetryFields]) -> RetryPolicy:
        """Return a copy with ``fields`` changed."""
        merged: dict[str, Any] = {**self.fields(), **fields}
        return RetryPolicy(**merged)

    @classmethod
    def fixed(cls, delay: float = 1.0, **fields: Unpack[RetryFields]) -> Self:
        """A constant ``delay`` between attempts (default 3 attempts, 1 s apart)."""
        delay = check_duration("delay", delay)
        defaults: dict[str, Any] = {"backoff": "constant", "base_delay": delay, "max_delay": max(delay, 30.0)}
        return cls(**{**defaults, **fields})

    @classmethod
    def exponential(cls, **fields: Unpack[RetryFields]) -> Self:
        """Exponential backoff: 5 attempts, 0.1 s doubling up to 30 s, full jitter."""
        defaults: dict[str, Any] = {"max_attempts": 5, "backoff": "full_jitter", "base_delay": 0.1, "max_delay": 30.0}
        return cls(**{**defaults, **fields})

    @classmethod
    def api_rate_limit(cls, **fields: Unpack[RetryFields]) -> Self:
        """For rate-limited APIs: 5 attempts, honours Retry-After up to 120 s.

        Retries errors that carry a Retry-After hint, a ``RateLimitedError``, or an HTTP
        status 429, 502, 503 or 504 (``exc.status_code`` or ``exc.response.status_code``).
        """
        defaults: dict[str, Any] = {
            "max_attempts": 5,
            "backoff": "equal_jitter",
            "base_delay": 1.0,
            "max_delay": 60.0,
            "retry_on": _is_rate_limit_error,
            "max_retry_after": 120.0,
        }
        return cls(**{**defaults, **fields})

    @classmethod
    def network(cls, **fields: Unpack[RetryFields]) -> Self:
        """For flaky networks: 4 attempts, decorrelated jitter from 0.2 s up to 10 s.

        Retries what ``resiliency.is_transient`` calls transient or throttled
        (connection errors, timeouts, httpx/requests/aiohttp/redis-py network errors,
        HTTP 408/429/500/502/503/504), honouring Retry-After; never the library's own
        ``CircuitOpenError`` or ``BulkheadFullError``.
        """
        defaults: dict[str, Any] = {
            "max_attempts": 4,
            "backoff": "decorrelated_jitter",
            "base_delay": 0.2,
            "max_delay": 10.0,
            "retry_on": retry_transient,
        }
        return cls(**{**defaults, **fields})

    @classmethod
    def http(cls, **fields: Unpack[RetryFields]) -> Self:
        """For HTTP calls: 4 attempts, full jitter from 0.25 s up to 10 s, Retry-After up to 60 s.

        Retries on ``resiliency.is_transient`` as ``network()`` does; the httpx
        transports of ``resiliency.contrib.httpx`` use it by default.
        """
        defaults: dict[str, Any] = {
            "max_attempts": 4,
            "backoff": "full_jitter",
            "base_delay": 0.25,
            "max_delay": 10.0,
            "retry_on": retry_transient,
        }
        return cls(**{**defaults, **fields})

    # -- one-off calls -------------------------------------------------------------------

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` under this policy; return its value or raise."""
        return self.call_with_stats(fn, *args, **kwargs).value

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` under this policy; return its value or raise."""
        return (await self.acall_with_stats(fn, *args, **kwargs)).value

    def call_with_stats(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> RetryResult[T]:
        """Call ``fn`` under this policy; return ``RetryResult(value, attempts, total_delay)``.

        Raises:
            Exception: the last attempt's exception, unchanged, when attempts run out.
        """
        from ._retry import call_with_stats

        return call_with_stats(self, fn, args, kwargs)

    async def acall_with_stats(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> RetryResult[T]:
        """Await ``fn`` under this policy; return ``RetryResult(value, attempts, total_delay)``."""
        from ._retry import acall_with_stats

        return await acall_with_stats(self, fn, args, kwargs)

    # -- the decision ----------------------------------------------------------------

    def next_delay(
        self,
        attempt: int,
        error: BaseException | None,
        result: Any,
        previous: float,
        elapsed: float,
        remaining: float | None,
    ) -> float | None:
        """Decide after ``attempt`` ended: seconds to wait before the next, or None to stop.

        Args:
            attempt: the 1-based attempt that just ended.
            error: its exception, or None when it returned ``result``.
            result: its result (ignored when ``error`` is set).
            previous: the delay slept before ``attempt`` (0.0 before the second).
            elapsed: seconds since the first attempt started (used by max_total_time).
            remaining: seconds left before the caller's deadline, or None.
        """
        return self._decider(attempt, error, result, previous, elapsed, remaining)


def retry_transient(exc: BaseException) -> bool:
    """``is_transient``, minus the library's own rejections (a retry would only prolong them)."""
    from ._errors import BulkheadFullError, CircuitOpenError

    return not isinstance(exc, (CircuitOpenError, BulkheadFullError)) and is_transient(exc)


def _is_rate_limit_error(exc: BaseException) -> bool:
    from ._errors import RateLimitedError

    if isinstance(exc, RateLimitedError) or retry_after_from(exc) is not None:
        return True
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status in (429, 502, 503, 504)
