"""``resiliency.presets``: the five bundles, their numbers, overrides, and use with ``@resilient``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from resiliency import (
    BulkheadFullError,
    BulkheadPolicy,
    CircuitBreakerPolicy,
    Registry,
    ResiliencePolicy,
    RetryPolicy,
    TimeoutPolicy,
    presets,
    resilient,
)
from resiliency.testing import describe

# preset: (breaker (failures, reset s) or None, retry attempts, timeout s, bulkhead (running, queued))
EXPECTED: dict[str, tuple[tuple[int, float] | None, int, float, tuple[int, int]]] = {
    "api": ((5, 60.0), 3, 30.0, (50, 100)),
    "ai": ((3, 120.0), 3, 120.0, (10, 50)),
    "database": ((10, 30.0), 3, 30.0, (100, 200)),
    "external": ((5, 60.0), 4, 15.0, (20, 50)),
    "critical": (None, 5, 60.0, (5, 10)),
}


def preset(name: str) -> Callable[..., ResiliencePolicy]:
    fn: Callable[..., ResiliencePolicy] = getattr(presets, name)
    return fn


def test_the_module_lists_exactly_the_five() -> None:
    assert sorted(presets.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert preset(name).__doc__


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_numbers(name: str) -> None:
    breaker, attempts, seconds, (running, queued) = EXPECTED[name]
    policy = preset(name)()
    assert isinstance(policy, ResiliencePolicy)
    if breaker is None:
        assert policy.circuit_breaker is None
    else:
        assert policy.circuit_breaker == CircuitBreakerPolicy(
            failure_threshold=breaker[0], reset_timeout=breaker[1], ignore_on=(BulkheadFullError,)
        )
    assert isinstance(policy.retry, RetryPolicy)
    assert policy.retry.max_attempts == attempts
    assert policy.timeout == TimeoutPolicy(seconds)
    assert policy.bulkhead == BulkheadPolicy(max_concurrent=running, max_queue=queued, queue_timeout=seconds)
    assert policy.fallback is None
    assert preset(name)() == policy  # the same bundle every time: safe to declare twice


def test_the_retry_kinds() -> None:
    assert presets.api().retry == RetryPolicy.exponential(max_attempts=3)
    assert presets.database().retry == RetryPolicy.exponential(max_attempts=3)
    assert presets.critical().retry == RetryPolicy.exponential(max_attempts=5)
    assert presets.ai().retry == RetryPolicy.api_rate_limit(max_attempts=3)
    assert presets.external().retry == RetryPolicy.network()


def test_network_and_rate_limit_retries_decide_as_documented() -> None:
    network = presets.external().retry
    ai = presets.ai().retry
    assert network is not None
    assert ai is not None

    def decides(policy: RetryPolicy, error: BaseException) -> bool:
        return policy.next_delay(1, error, None, 0.0, 0.0, None) is not None

    assert decides(network, ConnectionError())
    assert decides(network, TimeoutError())
    assert not decides(network, ValueError())

    class TooMany(Exception):
        status_code = 429

    assert decides(ai, TooMany())
    assert not decides(ai, ValueError())


def test_overrides_replace_parts() -> None:
    policy = presets.api(timeout=10, bulkhead=None)
    assert policy.timeout == TimeoutPolicy(10.0)
    assert policy.bulkhead is None
    assert policy.circuit_breaker == presets.api().circuit_breaker
    with pytest.raises(TypeError, match="retry"):
        presets.database(retry=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_preset_decorates(name: str, registry: Registry) -> None:
    @resilient(name, policy=preset(name)(), registry=registry)
    def call(x: int) -> int:
        return x + 1

    kinds = [s.kind for s in describe(call)]
    expected = ["retry", "circuit_breaker", "bulkhead", "timeout"]
    if name == "critical":
        expected.remove("circuit_breaker")
    assert kinds == expected
    assert call(1) == 2
    assert registry.policy(name) == preset(name)()


def test_a_preset_declared_twice_under_one_name_is_the_same_bundle(registry: Registry) -> None:
    first: Any = resilient("db", policy=presets.database(), registry=registry)
    second: Any = resilient("db", policy=presets.database(), registry=registry)
    assert describe(first(lambda: 1))[1] is describe(second(lambda: 2))[1]
    with pytest.raises(ValueError, match="db"):
        resilient("db", policy=presets.api(), registry=registry)
