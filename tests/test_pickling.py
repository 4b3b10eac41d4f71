"""Errors and policies cross process boundaries: pickle, deepcopy, a real ProcessPoolExecutor.

Issue 9 item 11: a rejection held its live breaker (and its lock), and policies held
cached lambdas, so neither pickled nor deep-copied.
"""

from __future__ import annotations

import copy
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from resiliency import (
    AllProvidersFailedError,
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitBreakerPolicy,
    CircuitOpenError,
    FallbackPolicy,
    ProviderAttemptError,
    RateLimitedError,
    RateLimiter,
    Registry,
    RetryPolicy,
)
from resiliency._errors import DetachedSource


def _rejections(registry: Registry) -> list[Exception]:
    breaker = CircuitBreaker("payments", failure_threshold=1, registry=registry)
    bulkhead = Bulkhead("exports", max_concurrent=1, registry=registry)
    limiter = RateLimiter("api", rate=1, registry=registry)
    return [
        CircuitOpenError(breaker, 12.5),
        BulkheadFullError(bulkhead, "queue_timeout"),
        RateLimitedError(limiter, 0.25),
    ]


def test_rejections_pickle_keeping_the_name_and_figures(registry: Registry) -> None:
    for error in _rejections(registry):
        error.add_note("from the test")
        clone = pickle.loads(pickle.dumps(error))
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert clone.__notes__ == ["from the test"]
        source = clone.args[0]
        assert isinstance(source, DetachedSource)
        assert source.name == error.args[0].name
        assert source.kind == type(error.args[0]).__name__
        assert clone.args[1:] == error.args[1:]
    breaker_error, bulkhead_error, limiter_error = (pickle.loads(pickle.dumps(e)) for e in _rejections(Registry()))
    assert breaker_error.retry_after == 12.5
    assert breaker_error.breaker.name == "payments"
    assert bulkhead_error.reason == "queue_timeout"
    assert limiter_error.retry_after == 0.25


def test_rejections_deepcopy_and_copy_keep_the_live_object(registry: Registry) -> None:
    for error in _rejections(registry):
        for clone in (copy.deepcopy(error), copy.copy(error)):
            assert type(clone) is type(error)
            assert clone is not error
            assert clone.args[0] is error.args[0]
            assert str(clone) == str(error)


def test_all_providers_failed_holding_a_rejection_pickles(registry: Registry) -> None:
    rejection = _rejections(registry)[0]
    error = AllProvidersFailedError("upload", [ProviderAttemptError("s3", "upload", 1, rejection)])
    clone = pickle.loads(pickle.dumps(error))
    assert clone.op == "upload"
    assert [a.provider for a in clone.attempts] == ["s3"]
    assert isinstance(clone.exceptions[0], CircuitOpenError)
    assert clone.exceptions[0].breaker.name == "payments"
    twin = copy.deepcopy(error)
    assert twin.exceptions[0].breaker is rejection.breaker


POLICIES = [
    pytest.param(RetryPolicy(max_attempts=3), id="RetryPolicy"),
    pytest.param(RetryPolicy(retry_on=(KeyError, OSError), backoff="full_jitter"), id="RetryPolicy-types"),
    pytest.param(RetryPolicy.network(), id="RetryPolicy.network"),
    pytest.param(CircuitBreakerPolicy(), id="CircuitBreakerPolicy"),
    pytest.param(
        CircuitBreakerPolicy(failure_threshold=None, failure_rate_threshold=0.5, window_size=20, ignore_on=KeyError),
        id="CircuitBreakerPolicy-window",
    ),
    pytest.param(FallbackPolicy(value=None), id="FallbackPolicy"),
    pytest.param(FallbackPolicy(value=[], on=(KeyError,)), id="FallbackPolicy-on"),
]


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_from_plain_values_pickle_and_deepcopy(policy: Any) -> None:
    for clone in (pickle.loads(pickle.dumps(policy)), copy.deepcopy(policy)):
        assert type(clone) is type(policy)
        assert clone == policy
        assert repr(clone) == repr(policy)


def test_an_unpickled_policy_still_decides() -> None:
    retry = pickle.loads(pickle.dumps(RetryPolicy(max_attempts=2, base_delay=0, retry_on=KeyError)))
    assert retry.next_delay(1, KeyError(), None, 0.0, 0.0, None) == 0.0
    assert retry.next_delay(1, OSError(), None, 0.0, 0.0, None) is None
    breaker = pickle.loads(pickle.dumps(CircuitBreakerPolicy(failure_on=OSError, ignore_on=KeyError)))
    assert breaker.is_failure(OSError())
    assert not breaker.is_failure(KeyError())
    fallback = pickle.loads(pickle.dumps(FallbackPolicy(value=None)))
    assert fallback.call(lambda: 1 / 0) is None


# -- through a real process pool -----------------------------------------------------------


def _rejected_in_child(kind: str) -> None:
    """Run in a child process: raise a rejection holding a live object of that process."""
    registry = Registry()
    if kind == "breaker":
        breaker = CircuitBreaker("payments", failure_threshold=1, registry=registry)
        breaker.force_open()
        breaker(lambda: None)()
    elif kind == "bulkhead":
        raise BulkheadFullError(Bulkhead("exports", registry=registry), "full")
    else:
        rejection = CircuitOpenError(CircuitBreaker("payments", registry=registry), 3.0)
        raise AllProvidersFailedError("upload", [ProviderAttemptError("s3", "upload", 1, rejection)])


def _policy_round_trip(policy: Any) -> Any:
    return policy


@pytest.mark.timeout(60)
def test_errors_and_policies_cross_a_process_pool() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        with pytest.raises(CircuitOpenError) as opened:
            pool.submit(_rejected_in_child, "breaker").result(timeout=30)
        assert opened.value.breaker.name == "payments"
        assert opened.value.retry_after == float("inf")
        with pytest.raises(BulkheadFullError) as full:
            pool.submit(_rejected_in_child, "bulkhead").result(timeout=30)
        assert full.value.bulkhead.name == "exports"
        with pytest.raises(AllProvidersFailedError) as failed:
            pool.submit(_rejected_in_child, "group").result(timeout=30)
        assert failed.value.attempts[0].error.breaker.name == "payments"
        for param in POLICIES:
            policy = param.values[0]
            assert pool.submit(_policy_round_trip, policy).result(timeout=30) == policy
