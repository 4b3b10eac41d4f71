"""The rate limit strategy: a thread-safe token bucket, as a decorator and a strategy."""

from __future__ import annotations

from ._bucket import TokenBucket as TokenBucket
from ._limiter import RateLimiter as RateLimiter
from ._limiter import rate_limit as rate_limit
from ._policy import RateLimiterMetrics as RateLimiterMetrics
from ._policy import RateLimitPolicy as RateLimitPolicy

__all__ = ["RateLimitPolicy", "RateLimiter", "RateLimiterMetrics", "TokenBucket", "rate_limit"]
