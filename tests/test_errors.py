"""The error tree: codes, builtin bases, attributes, ``except*`` on the group, pickling."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import resiliency
from resiliency import (
    AllProvidersFailedError,
    BulkheadFullError,
    CircuitOpenError,
    NoEndpointError,
    NoProviderError,
    ProviderAttemptError,
    RateLimitedError,
    ResiliencyError,
    ResiliencyTimeoutError,
    WorkerLimitError,
    WriteDeferredError,
)

CODES = {
    ResiliencyError: "RESILIENCY_ERROR",
    CircuitOpenError: "CIRCUIT_OPEN",
    BulkheadFullError: "BULKHEAD_FULL",
    ResiliencyTimeoutError: "TIMEOUT",
    RateLimitedError: "RATE_LIMITED",
    ProviderAttemptError: "PROVIDER_ATTEMPT_FAILED",
    NoProviderError: "NO_PROVIDER",
    NoEndpointError: "NO_ENDPOINT",
    AllProvidersFailedError: "ALL_PROVIDERS_FAILED",
    WriteDeferredError: "DEFERRED",
    WorkerLimitError: "WORKER_LIMIT",
}


class Named:
    name = "payments"


def attempts() -> list[ProviderAttemptError]:
    return [
        ProviderAttemptError("s3", "upload", 1, ConnectionError("s3 down")),
        ProviderAttemptError("r2", "upload", 1, ValueError("bad key")),
        ProviderAttemptError("gcs", "upload", 2, ConnectionError("gcs down")),
    ]


@pytest.mark.parametrize(("cls", "code"), list(CODES.items()), ids=lambda x: getattr(x, "__name__", x))
def test_every_error_has_its_code(cls: type[ResiliencyError], code: str) -> None:
    assert cls.code == code
    assert issubclass(cls, ResiliencyError)
    assert issubclass(cls, Exception)


def test_every_public_error_is_listed_here() -> None:
    public = {
        obj
        for name in resiliency.__all__
        if isinstance(obj := getattr(resiliency, name), type) and issubclass(obj, ResiliencyError)
    }
    assert public == set(CODES)


def test_timeout_error_is_a_builtin_timeout_error() -> None:
    error = ResiliencyTimeoutError(2.0, 2.5, "charge")
    assert isinstance(error, TimeoutError)
    assert isinstance(error, OSError)
    assert (error.timeout, error.elapsed) == (2.0, 2.5)
    assert str(error) == "call 'charge' timed out after 2.500s (timeout 2s)"
    assert str(ResiliencyTimeoutError(0.5, 0.5)) == "call timed out after 0.500s (timeout 0.5s)"
    with pytest.raises(TimeoutError):
        raise error


def test_circuit_open_error() -> None:
    breaker = Named()
    error = CircuitOpenError(breaker, 12.5)
    assert error.breaker is breaker
    assert error.retry_after == 12.5
    assert str(error) == "circuit 'payments' is open; retry after 12.500s"
    assert str(CircuitOpenError(None, 1.0)) == "circuit is open; retry after 1.000s"


def test_bulkhead_full_error() -> None:
    bulkhead = Named()
    error = BulkheadFullError(bulkhead, "queue_timeout")
    assert error.bulkhead is bulkhead
    assert str(error) == "bulkhead 'payments' rejected the call: queue_timeout"
    assert str(BulkheadFullError(None)) == "bulkhead rejected the call: full"


def test_rate_limited_error() -> None:
    limiter = Named()
    error = RateLimitedError(limiter, 0.25)
    assert (error.limiter, error.retry_after) == (limiter, 0.25)
    assert str(error) == "rate limiter 'payments' has no token; retry after 0.250s"


def test_provider_attempt_error() -> None:
    cause = ConnectionError("down")
    error = ProviderAttemptError("s3", "upload", 2, cause)
    assert (error.provider, error.op, error.attempt, error.error) == ("s3", "upload", 2, cause)
    assert str(error) == "s3.upload attempt 2: ConnectionError('down')"


def test_no_provider_error_is_a_lookup_error() -> None:
    assert isinstance(NoProviderError("none"), LookupError)


def test_all_providers_failed_is_an_exception_group() -> None:
    tried = attempts()
    error = AllProvidersFailedError("upload", tried)
    assert isinstance(error, ExceptionGroup)
    assert error.op == "upload"
    assert error.attempts == tried
    assert list(error.exceptions) == [a.error for a in tried]
    assert error.message == "all providers failed op 'upload' (tried: s3, r2, gcs)"


def test_all_providers_failed_with_no_attempt() -> None:
    error = AllProvidersFailedError("upload", [])
    assert error.attempts == []
    [only] = error.exceptions
    assert isinstance(only, NoProviderError)
    assert "tried: none" in str(error)


def test_all_providers_failed_lists_each_provider_once() -> None:
    error = AllProvidersFailedError("op", [ProviderAttemptError("a", "op", n, ValueError(n)) for n in (1, 2, 3)])
    assert error.message == "all providers failed op 'op' (tried: a)"
    assert len(error.exceptions) == 3


def test_all_providers_failed_keeps_a_base_exception_as_its_attempt() -> None:
    attempt = ProviderAttemptError("p", "op", 1, KeyboardInterrupt())
    error = AllProvidersFailedError("op", [attempt])
    assert list(error.exceptions) == [attempt]


def test_except_star_splits_and_keeps_op_and_attempts() -> None:
    tried = attempts()
    caught: dict[str, Any] = {}
    try:
        raise AllProvidersFailedError("upload", tried)
    except* ConnectionError as group:
        caught["connection"] = group
    except* ValueError as group:
        caught["value"] = group
    connection, value = caught["connection"], caught["value"]
    assert type(connection) is AllProvidersFailedError
    assert connection.op == "upload"
    assert connection.attempts == [tried[0], tried[2]]
    assert list(connection.exceptions) == [tried[0].error, tried[2].error]
    assert connection.code == "ALL_PROVIDERS_FAILED"
    assert type(value) is AllProvidersFailedError
    assert value.op == "upload"
    assert value.attempts == [tried[1]]


def test_except_star_reraises_the_rest_with_op_and_attempts() -> None:
    tried = attempts()
    with pytest.raises(AllProvidersFailedError) as excinfo:
        try:
            raise AllProvidersFailedError("upload", tried)
        except* ConnectionError:
            pass
    rest = excinfo.value
    assert rest.op == "upload"
    assert rest.attempts == [tried[1]]
    assert list(rest.exceptions) == [tried[1].error]


def test_split_and_subgroup() -> None:
    tried = attempts()
    match, rest = AllProvidersFailedError("upload", tried).split(ValueError)
    assert match is not None
    assert rest is not None
    assert (match.attempts, rest.attempts) == ([tried[1]], [tried[0], tried[2]])
    sub = AllProvidersFailedError("upload", tried).subgroup(
        lambda e: isinstance(e, ConnectionError) and "gcs" in str(e)
    )
    assert sub is not None
    assert sub.attempts == [tried[2]]


def test_catching_as_resiliency_error() -> None:
    with pytest.raises(ResiliencyError) as excinfo:
        raise AllProvidersFailedError("upload", attempts())
    assert excinfo.value.code == "ALL_PROVIDERS_FAILED"


# -- copy and pickle (process pools, task queues) -----------------------------------------------


ROUND_TRIP = [
    pytest.param(ResiliencyError("x"), {}, id="ResiliencyError"),
    pytest.param(BulkheadFullError(None, "full"), {"bulkhead": None}, id="BulkheadFullError"),
    pytest.param(NoProviderError("none"), {}, id="NoProviderError"),
    pytest.param(
        ResiliencyTimeoutError(1.0, 2.0, "n"),
        {"timeout": 1.0, "elapsed": 2.0},
        id="ResiliencyTimeoutError",
    ),
    pytest.param(
        CircuitOpenError(None, 1.5),
        {"breaker": None, "retry_after": 1.5},
        id="CircuitOpenError",
    ),
    pytest.param(
        RateLimitedError(None, 0.5),
        {"limiter": None, "retry_after": 0.5},
        id="RateLimitedError",
    ),
    pytest.param(
        ProviderAttemptError("p", "op", 2, ValueError("v")),
        {"provider": "p", "op": "op", "attempt": 2},
        id="ProviderAttemptError",
    ),
    pytest.param(
        AllProvidersFailedError("op", [ProviderAttemptError("p", "op", 1, ValueError("v"))]),
        {"op": "op"},
        id="AllProvidersFailedError",
    ),
]


@pytest.mark.parametrize(("error", "attributes"), ROUND_TRIP)
@pytest.mark.parametrize("how", ["pickle", "copy"])
def test_errors_survive_pickle_and_copy(error: Exception, attributes: dict[str, Any], how: str) -> None:
    clone = pickle.loads(pickle.dumps(error)) if how == "pickle" else copy.copy(error)
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    for name, value in attributes.items():
        assert getattr(clone, name) == value


def test_circuit_open_error_repr_is_short() -> None:
    # Issue 9 item 12: the repr carried the breaker's repr, its whole policy included.
    breaker = resiliency.CircuitBreaker("payments", registry=resiliency.Registry())
    error = CircuitOpenError(breaker, 1.5)
    assert repr(error) == "CircuitOpenError(breaker='payments', retry_after=1.5)"
    assert "Policy" not in repr(CircuitOpenError(resiliency.CircuitBreaker(), 2.0))
