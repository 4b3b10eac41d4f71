"""``CircuitBreakerPolicy``: what opens a circuit breaker, and what closes it again."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._engine import CallablePolicy
from .._validate import (
    check_count,
    check_duration,
    check_exception_filter,
    check_rate,
    init_fields,
    message,
    rebuild,
)

if TYPE_CHECKING:
    from ._breaker import CircuitBreaker

__all__ = ["DEFAULT_MINIMUM_CALLS", "DEFAULT_WINDOW_SIZE", "CircuitBreakerPolicy"]

DEFAULT_WINDOW_SIZE = 100
"""Calls in the count window when a rate threshold is set and no window is given."""

DEFAULT_MINIMUM_CALLS = 10
"""Calls in the window before a rate may trip the breaker, unless the count window is smaller."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerPolicy(CallablePolicy):
    """How a circuit breaker decides: its trip conditions, reset timeout and probes.

    ===========================  ==========  ==============================================
    field                        default     meaning
    ===========================  ==========  ==============================================
    ``failure_threshold``        5           consecutive failures that open it (None: off)
    ``failure_rate_threshold``   None        failure rate in (0, 1] over the window
    ``window_size``              None        count window: the last N calls (100 when a
                                             rate threshold is set and no window is given)
    ``window_duration``          None        time window: the calls of the last N seconds
    ``minimum_calls``            10          calls in the window before a rate may trip it
                                             (``window_size`` when that is smaller)
    ``slow_call_duration``       None        seconds from which a call counts as slow
    ``slow_call_rate_threshold`` None        slow-call rate in (0, 1] over the window
    ``reset_timeout``            30.0        seconds open before a probe is let through
    ``half_open_max_calls``      1           probes in flight at once while half-open
    ``success_threshold``        1           probe successes in a row that close it
    ``failure_on``               Exception   exception types or predicate: a failure
    ``ignore_on``                ()          types or predicate: neither success nor failure
    ===========================  ==========  ==============================================

    Durations are seconds, float or ``datetime.timedelta`` (stored as float). The trip
    conditions combine: any one that holds opens the breaker, so a rate-only breaker
    needs ``failure_threshold=None`` (the consecutive default of 5 stays on otherwise).

    Transitions:

    - closed -> open: ``consecutive_failures >= failure_threshold``; or, once the window
      holds ``calls >= minimum_calls``, ``failures / calls >= failure_rate_threshold`` or
      ``slow_calls / calls >= slow_call_rate_threshold``.
    - open -> half-open: ``reset_timeout`` seconds after it opened, on the next call,
      which goes through as a probe (at most ``half_open_max_calls`` probes at once;
      other calls are rejected).
    - half-open -> closed: ``success_threshold`` successful probes; the window and the
      consecutive count start afresh.
    - half-open -> open: a failed probe (or a slow one, when ``slow_call_rate_threshold``
      is set); the reset timeout starts again.

    An exception is a failure when it matches ``failure_on`` and not ``ignore_on``; an
    ignored one counts for nothing; any other exception counts as a success (as a
    returned value does). A predicate given as a filter may be ``async def`` for an
    async callable, where it is awaited; on a sync callable that is a ``TypeError``.

    Raises:
        TypeError: a number is a bool, a string or another non-number; a filter is
            neither exception types nor a callable.
        ValueError: a count below 1, a rate outside (0, 1], a duration <= 0 or NaN;
            both windows set; only one of the two slow-call fields set;
            ``minimum_calls`` (other than the default) larger than ``window_size``; no
            trip condition at all.
    """

    failure_threshold: int | None = 5
    failure_rate_threshold: float | None = None
    window_size: int | None = None
    window_duration: float | None = None
    minimum_calls: int = DEFAULT_MINIMUM_CALLS
    slow_call_duration: float | None = None
    slow_call_rate_threshold: float | None = None
    reset_timeout: float = 30.0
    half_open_max_calls: int = 1
    success_threshold: int = 1
    failure_on: object = Exception
    ignore_on: object = ()
    _failure_filter: Callable[[BaseException], bool] = field(init=False, repr=False, compare=False)
    _ignore_filter: Callable[[BaseException], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "failure_threshold", check_count("failure_threshold", self.failure_threshold, allow_none=True))
        put(
            self,
            "failure_rate_threshold",
            check_rate("failure_rate_threshold", self.failure_rate_threshold, allow_none=True),
        )
        put(self, "window_size", check_count("window_size", self.window_size, allow_none=True))
        put(
            self,
            "window_duration",
            check_duration("window_duration", self.window_duration, allow_zero=False, allow_none=True),
        )
        put(self, "minimum_calls", check_count("minimum_calls", self.minimum_calls))
        put(
            self,
            "slow_call_duration",
            check_duration("slow_call_duration", self.slow_call_duration, allow_zero=False, allow_none=True),
        )
        put(
            self,
            "slow_call_rate_threshold",
            check_rate("slow_call_rate_threshold", self.slow_call_rate_threshold, allow_none=True),
        )
        put(self, "reset_timeout", check_duration("reset_timeout", self.reset_timeout, allow_zero=False))
        put(self, "half_open_max_calls", check_count("half_open_max_calls", self.half_open_max_calls))
        put(self, "success_threshold", check_count("success_threshold", self.success_threshold))
        put(self, "_failure_filter", check_exception_filter("failure_on", self.failure_on))
        put(self, "_ignore_filter", check_exception_filter("ignore_on", self.ignore_on))
        # A list is accepted like a tuple; storing the tuple keeps the policy hashable.
        if isinstance(self.failure_on, list):
            put(self, "failure_on", tuple(self.failure_on))
        if isinstance(self.ignore_on, list):
            put(self, "ignore_on", tuple(self.ignore_on))
        self._check_combinations()

    def _check_combinations(self) -> None:
        """Refuse settings that are each valid but do not fit together."""
        if self.window_size is not None and self.window_duration is not None:
            raise ValueError(
                message(
                    "window_duration",
                    f"None when window_size is set (window_size={self.window_size})",
                    self.window_duration,
                )
            )
        if self.slow_call_rate_threshold is not None and self.slow_call_duration is None:
            raise ValueError(
                message(
                    "slow_call_duration",
                    "set (seconds > 0) when slow_call_rate_threshold is set",
                    self.slow_call_duration,
                )
            )
        if self.slow_call_duration is not None and self.slow_call_rate_threshold is None:
            raise ValueError(
                message(
                    "slow_call_rate_threshold",
                    "set (a rate in (0, 1]) when slow_call_duration is set",
                    self.slow_call_rate_threshold,
                )
            )
        if self.failure_threshold is None and not self.uses_window:
            raise ValueError(
                "at least one of failure_threshold, failure_rate_threshold, slow_call_rate_threshold "
                "must be set (got all None)"
            )
        if self.uses_window and self.window_size is None and self.window_duration is None:
            object.__setattr__(self, "window_size", DEFAULT_WINDOW_SIZE)
        if self.uses_window and self.window_size is not None and self.minimum_calls > self.window_size:
            if self.minimum_calls == DEFAULT_MINIMUM_CALLS:
                # The default, never chosen for this window: take the window (resilience4j does).
                object.__setattr__(self, "minimum_calls", self.window_size)
                return
            raise ValueError(
                message("minimum_calls", f"an int between 1 and window_size={self.window_size}", self.minimum_calls)
            )

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its fields; the cached exception filters are rebuilt.
        return (rebuild, (CircuitBreakerPolicy, init_fields(self)))

    @property
    def uses_window(self) -> bool:
        """Whether a rate threshold is set, so the breaker keeps a sliding window."""
        return self.failure_rate_threshold is not None or self.slow_call_rate_threshold is not None

    def is_ignored(self, exc: BaseException) -> bool:
        """Return whether ``exc`` matches ``ignore_on`` (counted neither way)."""
        return self._ignore_filter(exc)

    def is_failure(self, exc: BaseException) -> bool:
        """Return whether ``exc`` counts as a failure: it matches ``failure_on``, not ``ignore_on``."""
        return self._failure_filter(exc) and not self._ignore_filter(exc)

    def _async_filters(self) -> tuple[str, ...]:
        """The filters (``"failure_on"``, ``"ignore_on"``) that are ``async def`` predicates."""
        from .._decorators import is_async_callable

        given = (("failure_on", self.failure_on), ("ignore_on", self.ignore_on))
        return tuple(p for p, f in given if not isinstance(f, (type, tuple)) and is_async_callable(f))

    async def _aclassify(self, exc: BaseException) -> bool | None:
        """Return whether ``exc`` is a failure, or None when it is ignored, awaiting async filters."""
        ignored: Any = self._ignore_filter(exc)
        if inspect.isawaitable(ignored):
            ignored = await ignored
        if ignored:
            return None
        failed: Any = self._failure_filter(exc)
        if inspect.isawaitable(failed):
            failed = await failed
        return bool(failed)

    def to_strategy(self) -> CircuitBreaker:
        """Return a new private (unnamed) ``CircuitBreaker`` applying this policy.

        ``policy.call(fn, *args)`` runs ``fn`` through such a fresh breaker, which sees
        that one call only: share a ``CircuitBreaker`` to protect repeated calls.
        """
        from ._breaker import CircuitBreaker

        return CircuitBreaker(policy=self)
