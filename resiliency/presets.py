"""Ready-made ``ResiliencePolicy`` bundles for common kinds of dependency.

=============  =================  ============================  =======  ======================
preset         circuit breaker    retry                         timeout  bulkhead (running +
                                                                         queued, queue wait)
=============  =================  ============================  =======  ======================
``api``        5 failures / 60 s  exponential, 3 attempts       30 s     50 + 100, 30 s
``ai``         3 failures / 120 s rate-limit aware, 3 attempts  120 s    10 + 50, 120 s
``database``   10 failures / 30 s exponential, 3 attempts       30 s     100 + 200, 30 s
``external``   5 failures / 60 s  network errors, 4 attempts    15 s     20 + 50, 15 s
``critical``   none               exponential, 5 attempts       60 s     5 + 10, 60 s
=============  =================  ============================  =======  ======================

"N failures / S s": the breaker opens after N consecutive failures and lets a probe
through after S seconds. Each breaker ignores ``BulkheadFullError``: a full bulkhead is
this process's own load, not the dependency failing. A queued caller waits at most as
long as the timeout. The retry policies are ``RetryPolicy.exponential``,
``RetryPolicy.api_rate_limit`` and ``RetryPolicy.network``.

Every preset takes ``ResiliencePolicy`` fields as keywords to replace parts of it, e.g.
``presets.api(timeout=10)`` or ``presets.database(bulkhead=None)``.
"""

from __future__ import annotations

import dataclasses

from typing_extensions import Unpack

from ._bulkhead import BulkheadPolicy
from ._circuit_breaker._policy import CircuitBreakerPolicy
from ._errors import BulkheadFullError
from ._resilient import ResilienceFields, ResiliencePolicy
from ._retry_policy import RetryPolicy
from ._timeout import TimeoutPolicy

__all__ = ["ai", "api", "critical", "database", "external"]


def _bundle(
    breaker: tuple[int, float] | None,
    retry: RetryPolicy,
    seconds: float,
    bulkhead: tuple[int, int],
    changes: ResilienceFields,
) -> ResiliencePolicy:
    policy = ResiliencePolicy(
        retry=retry,
        circuit_breaker=None
        if breaker is None
        else CircuitBreakerPolicy(
            failure_threshold=breaker[0], reset_timeout=breaker[1], ignore_on=(BulkheadFullError,)
        ),
        timeout=TimeoutPolicy(seconds),
        bulkhead=BulkheadPolicy(max_concurrent=bulkhead[0], max_queue=bulkhead[1], queue_timeout=seconds),
    )
    return dataclasses.replace(policy, **changes) if changes else policy


def api(**changes: Unpack[ResilienceFields]) -> ResiliencePolicy:
    """An HTTP API: breaker 5 failures / 60 s, exponential retry (3 attempts), 30 s timeout, bulkhead 50 + 100.

    Args:
        **changes: ``ResiliencePolicy`` fields replacing the preset's.
    """
    return _bundle((5, 60.0), RetryPolicy.exponential(max_attempts=3), 30.0, (50, 100), changes)


def ai(**changes: Unpack[ResilienceFields]) -> ResiliencePolicy:
    """A model API: breaker 3 / 120 s, rate-limit-aware retry (3 attempts), 120 s timeout, bulkhead 10 + 50.

    The retry is ``RetryPolicy.api_rate_limit``: it retries rate limiting and overload
    (429, 502-504, Retry-After hints) and waits as the server asks, up to 120 s.

    Args:
        **changes: ``ResiliencePolicy`` fields replacing the preset's.
    """
    return _bundle((3, 120.0), RetryPolicy.api_rate_limit(max_attempts=3), 120.0, (10, 50), changes)


def database(**changes: Unpack[ResilienceFields]) -> ResiliencePolicy:
    """A database: breaker 10 / 30 s, exponential retry (3 attempts), 30 s timeout, bulkhead 100 + 200.

    Args:
        **changes: ``ResiliencePolicy`` fields replacing the preset's.
    """
    return _bundle((10, 30.0), RetryPolicy.exponential(max_attempts=3), 30.0, (100, 200), changes)


def external(**changes: Unpack[ResilienceFields]) -> ResiliencePolicy:
    """A third-party service: breaker 5 / 60 s, network-error retry (4 attempts), 15 s timeout, bulkhead 20 + 50.

    The retry is ``RetryPolicy.network``: ``ConnectionError``, ``TimeoutError`` (a
    timed-out attempt included) and other ``OSError``, with decorrelated jitter.

    Args:
        **changes: ``ResiliencePolicy`` fields replacing the preset's.
    """
    return _bundle((5, 60.0), RetryPolicy.network(), 15.0, (20, 50), changes)


def critical(**changes: Unpack[ResilienceFields]) -> ResiliencePolicy:
    """A call that must not be cut off: no breaker, exponential retry (5 attempts), 60 s timeout, bulkhead 5 + 10.

    Args:
        **changes: ``ResiliencePolicy`` fields replacing the preset's.
    """
    return _bundle(None, RetryPolicy.exponential(max_attempts=5), 60.0, (5, 10), changes)
