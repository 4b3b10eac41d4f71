"""``RateLimitPolicy`` (the bucket's settings) and ``RateLimiterMetrics`` (a snapshot)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._engine import CallablePolicy
from .._validate import check_count, check_duration, check_number, message

if TYPE_CHECKING:
    from ._limiter import RateLimiter

__all__ = ["RateLimitPolicy", "RateLimiterMetrics"]


@dataclass(frozen=True, slots=True)
class RateLimitPolicy(CallablePolicy):
    """A token bucket: ``rate`` tokens per ``period``, ``burst`` at most, one per call.

    ==============  ==================  ===============================================
    field           default             meaning
    ==============  ==================  ===============================================
    ``rate``        (required)          tokens added per ``period`` (number > 0)
    ``period``      1.0                 seconds (float or timedelta > 0)
    ``burst``       max(1, ceil(rate))  bucket capacity, int >= 1 (it starts full)
    ``max_wait``    0.0                 seconds a caller may wait for a token (float
                                        or timedelta >= 0; 0: refuse at once; inf: as
                                        long as it takes)
    ==============  ==================  ===============================================

    A caller with no token within ``max_wait`` (or before its deadline,
    ``resiliency.remaining()``, whichever is first) gets ``RateLimitedError`` with
    ``retry_after``: the seconds until a token will be there.

    Raises:
        TypeError: a bool, a string or another non-number.
        ValueError: ``rate`` <= 0, NaN or infinite; ``period`` <= 0; ``burst`` < 1;
            ``max_wait`` < 0 or NaN.
    """

    rate: float
    period: float = 1.0
    burst: int | None = None
    max_wait: float = 0.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        accepted = "a finite number > 0 (tokens per period)"
        rate = check_number("rate", self.rate, accepted)
        if not 0.0 < rate < math.inf:
            raise ValueError(message("rate", accepted, self.rate))
        put(self, "rate", rate)
        put(self, "period", check_duration("period", self.period, allow_zero=False))
        burst = check_count("burst", self.burst, allow_none=True)
        put(self, "burst", max(1, math.ceil(rate)) if burst is None else burst)
        put(self, "max_wait", check_duration("max_wait", self.max_wait, allow_inf=True))

    @property
    def per_second(self) -> float:
        """Tokens added per second (``rate / period``)."""
        return self.rate / self.period

    def to_strategy(self) -> RateLimiter:
        """Return a new private (unnamed) ``RateLimiter`` applying this policy."""
        from ._limiter import RateLimiter

        return RateLimiter(policy=self)


@dataclass(frozen=True, slots=True)
class RateLimiterMetrics:
    """A snapshot of a rate limiter, from ``RateLimiter.metrics()``.

    Attributes:
        available: tokens in the bucket now (fractional; 0.0 while tokens are owed).
        allowed: calls (and ``try_acquire`` successes) that got a token.
        rejected: calls (and ``try_acquire`` failures) refused.
    """

    available: float
    allowed: int
    rejected: int
