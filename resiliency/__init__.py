"""resiliency: retry, circuit breaker, bulkhead, timeout, fallback, rate limit and failover.

Decorators for sync and async (asyncio and trio) code that stack into one pipeline, and
failover groups that run one operation across several providers.
"""

from . import presets as presets
from ._batch import amap_concurrent as amap_concurrent
from ._batch import map_concurrent as map_concurrent
from ._bulkhead import Bulkhead as Bulkhead
from ._bulkhead import BulkheadMetrics as BulkheadMetrics
from ._bulkhead import BulkheadPolicy as BulkheadPolicy
from ._bulkhead import bulkhead as bulkhead
from ._cache_fallback import MemoryCache as MemoryCache
from ._cache_fallback import cache_fallback as cache_fallback
from ._chaos import chaos as chaos
from ._circuit_breaker import CircuitBreaker as CircuitBreaker
from ._circuit_breaker import CircuitBreakerMetrics as CircuitBreakerMetrics
from ._circuit_breaker import CircuitBreakerPolicy as CircuitBreakerPolicy
from ._circuit_breaker import CircuitState as CircuitState
from ._circuit_breaker import circuit_breaker as circuit_breaker
from ._classify import classify as classify
from ._classify import is_transient as is_transient
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
from ._errors import WorkerLimitError as WorkerLimitError
from ._errors import WriteDeferredError as WriteDeferredError
from ._events import AllProvidersFailed as AllProvidersFailed
from ._events import BulkheadAdmitted as BulkheadAdmitted
from ._events import BulkheadRejected as BulkheadRejected
from ._events import CallIgnored as CallIgnored
from ._events import CallRecorded as CallRecorded
from ._events import CallRejected as CallRejected
from ._events import CircuitStateChanged as CircuitStateChanged
from ._events import Event as Event
from ._events import FailoverFinished as FailoverFinished
from ._events import FailoverStarted as FailoverStarted
from ._events import ProviderFailed as ProviderFailed
from ._events import ProviderSucceeded as ProviderSucceeded
from ._events import RateLimited as RateLimited

# Shared state (resiliency.stores): the retry budget and the store events.
from ._events import RetryBudgetExhausted as RetryBudgetExhausted
from ._events import RetryScheduled as RetryScheduled
from ._events import ServedStale as ServedStale
from ._events import StoreRecovered as StoreRecovered
from ._events import StoreUnavailable as StoreUnavailable
from ._events import TimeoutOccurred as TimeoutOccurred
from ._failover import CallableProvider as CallableProvider
from ._failover import ErrorSummary as ErrorSummary
from ._failover import FailoverGroup as FailoverGroup
from ._failover import FailoverGroupView as FailoverGroupView
from ._failover import GroupStats as GroupStats
from ._failover import Hooks as Hooks
from ._failover import Outcome as Outcome
from ._failover import PolicyConfig as PolicyConfig
from ._failover import ProviderContext as ProviderContext
from ._failover import ProviderStats as ProviderStats
from ._failover import failover_group as failover_group
from ._failover import provider as provider
from ._failover import provider_from_callable as provider_from_callable
from ._fallback import FallbackPolicy as FallbackPolicy
from ._fallback import fallback as fallback
from ._health import HealthReport as HealthReport
from ._idempotent import idempotent as idempotent
from ._outbox import JsonSerializer as JsonSerializer
from ._outbox import Outbox as Outbox
from ._outbox import OutboxItem as OutboxItem
from ._outbox import OutboxStats as OutboxStats
from ._outbox import OutboxWorker as OutboxWorker
from ._outbox import PickleSerializer as PickleSerializer
from ._outbox import SqliteOutbox as SqliteOutbox
from ._outbox import idempotency_key as idempotency_key
from ._pool import CallableHealthCheck as CallableHealthCheck
from ._pool import DnsSrvDiscovery as DnsSrvDiscovery
from ._pool import Endpoint as Endpoint
from ._pool import EndpointDeregistered as EndpointDeregistered
from ._pool import EndpointHealthChanged as EndpointHealthChanged
from ._pool import EndpointPool as EndpointPool
from ._pool import EndpointRegistered as EndpointRegistered
from ._pool import EndpointStats as EndpointStats
from ._pool import HealthStatus as HealthStatus
from ._pool import HttpHealthCheck as HttpHealthCheck
from ._pool import NoEndpointError as NoEndpointError
from ._pool import PoolStats as PoolStats
from ._pool import StaticDiscovery as StaticDiscovery
from ._pool import TcpHealthCheck as TcpHealthCheck
from ._rate_limit import RateLimiter as RateLimiter
from ._rate_limit import RateLimiterMetrics as RateLimiterMetrics
from ._rate_limit import RateLimitPolicy as RateLimitPolicy
from ._rate_limit import rate_limit as rate_limit
from ._registry import Registry as Registry
from ._registry import default_registry as registry
from ._resilient import ResiliencePolicy as ResiliencePolicy
from ._resilient import execute as execute
from ._resilient import resilient as resilient
from ._retry import RetryResult as RetryResult
from ._retry import retry as retry
from ._retry_budget import RetryBudget as RetryBudget
from ._retry_budget import RetryBudgetMetrics as RetryBudgetMetrics
from ._retry_policy import RetryPolicy as RetryPolicy
from ._retrying import Attempt as Attempt
from ._retrying import Retrying as Retrying
from ._retrying import retrying as retrying
from ._timeout import TimeoutPolicy as TimeoutPolicy
from ._timeout import timeout as timeout

__version__ = "0.1.0"

__all__ = [
    "AllProvidersFailed",
    "AllProvidersFailedError",
    "Attempt",
    "Bulkhead",
    "BulkheadAdmitted",
    "BulkheadFullError",
    "BulkheadMetrics",
    "BulkheadPolicy",
    "BulkheadRejected",
    "CallIgnored",
    "CallRecorded",
    "CallRejected",
    "CallableHealthCheck",
    "CallableProvider",
    "CircuitBreaker",
    "CircuitBreakerMetrics",
    "CircuitBreakerPolicy",
    "CircuitOpenError",
    "CircuitState",
    "CircuitStateChanged",
    "Clock",
    "DnsSrvDiscovery",
    "Endpoint",
    "EndpointDeregistered",
    "EndpointHealthChanged",
    "EndpointPool",
    "EndpointRegistered",
    "EndpointStats",
    "ErrorSummary",
    "Event",
    "FailoverFinished",
    "FailoverGroup",
    "FailoverGroupView",
    "FailoverStarted",
    "FallbackPolicy",
    "GroupStats",
    "HealthReport",
    "HealthStatus",
    "Hooks",
    "HttpHealthCheck",
    "JsonSerializer",
    "MemoryCache",
    "NoEndpointError",
    "NoProviderError",
    "Outbox",
    "OutboxItem",
    "OutboxStats",
    "OutboxWorker",
    "Outcome",
    "PickleSerializer",
    "PolicyConfig",
    "PoolStats",
    "ProviderAttemptError",
    "ProviderContext",
    "ProviderFailed",
    "ProviderStats",
    "ProviderSucceeded",
    "RateLimitPolicy",
    "RateLimited",
    "RateLimitedError",
    "RateLimiter",
    "RateLimiterMetrics",
    "Registry",
    "ResiliencePolicy",
    "ResiliencyError",
    "ResiliencyTimeoutError",
    "RetryBudget",
    "RetryBudgetExhausted",
    "RetryBudgetMetrics",
    "RetryPolicy",
    "RetryResult",
    "RetryScheduled",
    "Retrying",
    "ServedStale",
    "SqliteOutbox",
    "StaticDiscovery",
    "StoreRecovered",
    "StoreUnavailable",
    "SystemClock",
    "TcpHealthCheck",
    "TimeoutOccurred",
    "TimeoutPolicy",
    "WorkerLimitError",
    "WriteDeferredError",
    "amap_concurrent",
    "bulkhead",
    "cache_fallback",
    "chaos",
    "circuit_breaker",
    "classify",
    "execute",
    "failover_group",
    "fallback",
    "idempotency_key",
    "idempotent",
    "is_transient",
    "map_concurrent",
    "provider",
    "provider_from_callable",
    "rate_limit",
    "registry",
    "remaining",
    "resilient",
    "retry",
    "retrying",
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
