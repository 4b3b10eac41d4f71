"""Huge numbers are refused at construction with a ValueError naming the field (issue 9 item 9).

Before: ``10**400`` raised ``OverflowError`` (or was accepted and failed later), and a
duration above ``threading.TIMEOUT_MAX`` was accepted and then made every sync call
raise ``OverflowError`` after the function had started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from resiliency import (
    BulkheadPolicy,
    CircuitBreakerPolicy,
    FailoverGroup,
    RateLimitPolicy,
    Registry,
    RetryPolicy,
    TimeoutPolicy,
    bulkhead,
    timeout,
)
from resiliency._validate import check_count, check_duration, check_number, message

HUGE = 10**400
BEYOND = threading.TIMEOUT_MAX * 2  # finite, but longer than any lock or sleep accepts

HUGE_CASES: list[tuple[str, Callable[[Any], object]]] = [
    ("seconds", TimeoutPolicy),
    ("base_delay", lambda v: RetryPolicy(base_delay=v)),
    ("max_delay", lambda v: RetryPolicy(max_delay=v)),
    ("multiplier", lambda v: RetryPolicy(multiplier=v)),
    ("max_total_time", lambda v: RetryPolicy(max_total_time=v)),
    ("max_attempts", lambda v: RetryPolicy(max_attempts=v)),
    ("rate", lambda v: RateLimitPolicy(rate=v)),
    ("period", lambda v: RateLimitPolicy(rate=1, period=v)),
    ("burst", lambda v: RateLimitPolicy(rate=1, burst=v)),
    ("max_wait", lambda v: RateLimitPolicy(rate=1, max_wait=v)),
    ("queue_timeout", lambda v: BulkheadPolicy(queue_timeout=v)),
    ("max_concurrent", lambda v: BulkheadPolicy(max_concurrent=v)),
    ("reset_timeout", lambda v: CircuitBreakerPolicy(reset_timeout=v)),
    ("failure_threshold", lambda v: CircuitBreakerPolicy(failure_threshold=v)),
]


@pytest.mark.parametrize(("field", "build"), HUGE_CASES, ids=[c[0] for c in HUGE_CASES])
def test_a_huge_number_is_a_value_error_naming_the_field(field: str, build: Callable[[Any], object]) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be .*\(got 1000000000"):
        build(HUGE)


DURATIONS: list[tuple[str, Callable[[Any], object]]] = [
    ("seconds", timeout),
    ("queue_timeout", lambda v: bulkhead(max_concurrent=1, queue_timeout=v)),
    ("max_delay", lambda v: RetryPolicy(max_delay=v)),
    ("reset_timeout", lambda v: CircuitBreakerPolicy(reset_timeout=v)),
    ("max_wait", lambda v: RateLimitPolicy(rate=1, max_wait=v)),
    ("hedge_delay", lambda v: FailoverGroup("g", registry=Registry()).with_options(hedge_delay=v)),
    ("timeout", lambda v: FailoverGroup("g", registry=Registry()).with_options(timeout=v)),
]


@pytest.mark.parametrize(("field", "build"), DURATIONS, ids=[c[0] for c in DURATIONS])
def test_a_duration_beyond_timeout_max_is_refused_at_construction(field: str, build: Callable[[Any], object]) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be at most threading.TIMEOUT_MAX"):
        build(BEYOND)
    build(threading.TIMEOUT_MAX)  # the longest wait there is, still accepted


def test_a_huge_timeout_no_longer_fails_inside_the_call() -> None:
    started: list[int] = []
    with pytest.raises(ValueError, match="seconds"):

        @timeout(1e10)
        def work() -> int:
            started.append(1)
            return 1

    assert started == []


def test_infinity_stays_allowed_where_it_means_forever() -> None:
    assert RateLimitPolicy(rate=1, max_wait=float("inf")).max_wait == float("inf")
    with pytest.raises(ValueError, match=r"max_wait must be at most threading\.TIMEOUT_MAX .* or inf"):
        RateLimitPolicy(rate=1, max_wait=BEYOND)


def test_the_checks_directly() -> None:
    with pytest.raises(ValueError, match="within a float's range"):
        check_number("x", HUGE)
    with pytest.raises(ValueError, match=r"x must be an int between 1 and sys.maxsize"):
        check_count("x", HUGE)
    assert check_duration("x", threading.TIMEOUT_MAX) == threading.TIMEOUT_MAX


def test_a_long_value_is_cut_in_the_message() -> None:
    text = message("burst", "an int", HUGE)
    assert len(text) < 120
    assert "(401 characters)" in text
    assert message("burst", "an int", 5) == "burst must be an int (got 5)"
