"""The circuit breaker: a pure state machine (``_state``), windows, and its runtime."""

from __future__ import annotations

from ._breaker import CircuitBreaker as CircuitBreaker
from ._decorator import circuit_breaker as circuit_breaker
from ._metrics import CircuitBreakerMetrics as CircuitBreakerMetrics
from ._policy import CircuitBreakerPolicy as CircuitBreakerPolicy
from ._state import CircuitState as CircuitState

__all__ = ["CircuitBreaker", "CircuitBreakerMetrics", "CircuitBreakerPolicy", "CircuitState", "circuit_breaker"]
