"""resiliency: retry, circuit breaker, bulkhead, timeout, fallback and failover.

Decorators for sync and async (asyncio and trio) code that stack into one pipeline.
"""

from ._clock import Clock as Clock
from ._clock import SystemClock as SystemClock
from ._deadline import remaining as remaining
from ._errors import AllProvidersFailedError as AllProvidersFailedError
from ._errors import BulkheadFullError as BulkheadFullError
from ._errors import CircuitOpenError as CircuitOpenError
from ._errors import NoProviderError as NoProviderError
from ._errors import ProviderAttemptError as ProviderAttemptError
from ._errors import RateLimitedError as RateLimitedError
from ._errors import ResiliencyError as ResiliencyError
from ._errors import ResiliencyTimeoutError as ResiliencyTimeoutError
from ._fallback import FallbackPolicy as FallbackPolicy
from ._fallback import fallback as fallback
from ._registry import Registry as Registry
from ._registry import default_registry as registry
from ._retry import RetryResult as RetryResult
from ._retry import retry as retry
from ._retry_policy import RetryPolicy as RetryPolicy
from ._timeout import TimeoutPolicy as TimeoutPolicy
from ._timeout import timeout as timeout

__version__ = "0.1.0"

__all__ = [
    "AllProvidersFailedError",
    "BulkheadFullError",
    "CircuitOpenError",
    "Clock",
    "FallbackPolicy",
    "NoProviderError",
    "ProviderAttemptError",
    "RateLimitedError",
    "Registry",
    "ResiliencyError",
    "ResiliencyTimeoutError",
    "RetryPolicy",
    "RetryResult",
    "SystemClock",
    "TimeoutPolicy",
    "fallback",
    "registry",
    "remaining",
    "retry",
    "timeout",
]

# Tracebacks and reprs name the public path, not the private module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__module__")):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
