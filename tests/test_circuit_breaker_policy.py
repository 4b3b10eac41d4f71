"""CircuitBreakerPolicy: defaults, durations as timedelta, filters, and every bad input."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from typing import Any

import pytest

from resiliency._circuit_breaker._policy import DEFAULT_WINDOW_SIZE, CircuitBreakerPolicy


def test_defaults() -> None:
    policy = CircuitBreakerPolicy()
    assert policy.failure_threshold == 5
    assert policy.failure_rate_threshold is None
    assert policy.window_size is None
    assert policy.window_duration is None
    assert policy.minimum_calls == 10
    assert policy.slow_call_duration is None
    assert policy.slow_call_rate_threshold is None
    assert policy.reset_timeout == 30.0
    assert policy.half_open_max_calls == 1
    assert policy.success_threshold == 1
    assert policy.failure_on is Exception
    assert policy.ignore_on == ()
    assert not policy.uses_window


def test_durations_accept_timedelta_and_store_floats() -> None:
    # The fields are typed as the stored float; a timedelta is accepted at run time.
    durations: dict[str, Any] = {
        "reset_timeout": timedelta(seconds=2, milliseconds=500),
        "window_duration": timedelta(minutes=1),
        "slow_call_duration": timedelta(milliseconds=250),
    }
    policy = CircuitBreakerPolicy(failure_rate_threshold=0.5, slow_call_rate_threshold=0.5, **durations)
    assert policy.reset_timeout == 2.5
    assert policy.window_duration == 60.0
    assert policy.slow_call_duration == 0.25
    assert all(type(v) is float for v in (policy.reset_timeout, policy.window_duration, policy.slow_call_duration))


def test_ints_are_accepted_for_durations_and_rates() -> None:
    policy = CircuitBreakerPolicy(reset_timeout=3, failure_rate_threshold=1)
    assert policy.reset_timeout == 3.0
    assert policy.failure_rate_threshold == 1.0


@pytest.mark.parametrize("field", ["failure_rate_threshold", "slow_call_rate_threshold"])
def test_a_rate_threshold_defaults_the_count_window(field: str) -> None:
    fields: dict[str, Any] = {field: 0.5}
    if field == "slow_call_rate_threshold":
        fields["slow_call_duration"] = 1.0
    policy = CircuitBreakerPolicy(**fields)
    assert policy.uses_window
    assert policy.window_size == DEFAULT_WINDOW_SIZE == 100
    assert policy.window_duration is None


def test_a_time_window_keeps_window_size_unset() -> None:
    policy = CircuitBreakerPolicy(failure_rate_threshold=0.5, window_duration=30)
    assert policy.window_size is None
    assert policy.window_duration == 30.0


def test_rate_only_mode() -> None:
    policy = CircuitBreakerPolicy(failure_threshold=None, failure_rate_threshold=0.25, window_size=20)
    assert policy.failure_threshold is None
    assert policy.window_size == 20


def test_the_default_window_is_part_of_equality() -> None:
    given_window = CircuitBreakerPolicy(failure_rate_threshold=0.5, window_size=100)
    assert CircuitBreakerPolicy(failure_rate_threshold=0.5) == given_window


def test_frozen_keyword_only_and_hashable() -> None:
    policy = CircuitBreakerPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.reset_timeout = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        CircuitBreakerPolicy(3)  # type: ignore[call-arg]
    assert hash(policy) == hash(CircuitBreakerPolicy())


def test_a_filter_list_is_stored_as_a_tuple() -> None:
    policy = CircuitBreakerPolicy(failure_on=[OSError, ValueError], ignore_on=[KeyError])
    assert policy.failure_on == (OSError, ValueError)
    assert policy.ignore_on == (KeyError,)
    hash(policy)


def test_replace_validates_again() -> None:
    policy = dataclasses.replace(CircuitBreakerPolicy(), reset_timeout=5)
    assert policy.reset_timeout == 5.0
    with pytest.raises(ValueError, match="reset_timeout"):
        dataclasses.replace(policy, reset_timeout=0)


def test_is_failure_and_is_ignored_with_types() -> None:
    policy = CircuitBreakerPolicy(failure_on=(OSError, ValueError), ignore_on=FileNotFoundError)
    assert policy.is_failure(ConnectionError())
    assert policy.is_failure(ValueError())
    assert not policy.is_failure(KeyError())
    assert not policy.is_failure(FileNotFoundError())  # ignored wins over failure_on
    assert policy.is_ignored(FileNotFoundError())
    assert not policy.is_ignored(OSError())


def test_is_failure_and_is_ignored_with_predicates() -> None:
    policy = CircuitBreakerPolicy(
        failure_on=lambda exc: "boom" in str(exc),
        ignore_on=lambda exc: isinstance(exc, LookupError),
    )
    assert policy.is_failure(RuntimeError("boom"))
    assert not policy.is_failure(RuntimeError("fine"))
    assert not policy.is_failure(KeyError("boom"))
    assert policy.is_ignored(KeyError("x"))


def test_the_default_filter_counts_exceptions_not_base_exceptions() -> None:
    policy = CircuitBreakerPolicy()
    assert policy.is_failure(RuntimeError())
    assert not policy.is_failure(KeyboardInterrupt())
    assert not policy.is_ignored(RuntimeError())


BAD_VALUES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"failure_threshold": 0}, ValueError, r"failure_threshold must be an int >= 1 \(got 0\)"),
    ({"failure_threshold": -3}, ValueError, r"failure_threshold must be an int >= 1 \(got -3\)"),
    ({"failure_threshold": True}, TypeError, r"failure_threshold must be an int >= 1 \(got True\)"),
    ({"failure_threshold": "5"}, TypeError, r"failure_threshold must be an int >= 1 \(got '5'\)"),
    ({"failure_threshold": 2.0}, TypeError, r"failure_threshold must be an int"),
    ({"failure_rate_threshold": 0}, ValueError, r"failure_rate_threshold must be a rate in \(0, 1\] \(got 0\)"),
    ({"failure_rate_threshold": 1.5}, ValueError, r"failure_rate_threshold must be a rate in \(0, 1\] \(got 1.5\)"),
    ({"failure_rate_threshold": -0.1}, ValueError, r"failure_rate_threshold must be a rate in \(0, 1\]"),
    (
        {"failure_rate_threshold": math.nan},
        ValueError,
        r"failure_rate_threshold must be a rate in \(0, 1\] \(got nan\)",
    ),
    ({"failure_rate_threshold": True}, TypeError, r"failure_rate_threshold must be a rate in \(0, 1\] \(got True\)"),
    ({"failure_rate_threshold": "0.5"}, TypeError, r"failure_rate_threshold must be a rate"),
    ({"failure_rate_threshold": 0.5, "window_size": 0}, ValueError, r"window_size must be an int >= 1 \(got 0\)"),
    ({"failure_rate_threshold": 0.5, "window_size": False}, TypeError, r"window_size must be an int >= 1"),
    ({"failure_rate_threshold": 0.5, "window_duration": 0}, ValueError, r"window_duration must be > 0 seconds"),
    ({"failure_rate_threshold": 0.5, "window_duration": -1}, ValueError, r"window_duration must be > 0 seconds"),
    ({"failure_rate_threshold": 0.5, "window_duration": math.nan}, ValueError, r"window_duration must be"),
    ({"failure_rate_threshold": 0.5, "window_duration": math.inf}, ValueError, r"window_duration must be a finite"),
    ({"failure_rate_threshold": 0.5, "window_duration": "60"}, TypeError, r"window_duration must be a duration"),
    ({"minimum_calls": 0}, ValueError, r"minimum_calls must be an int >= 1 \(got 0\)"),
    ({"minimum_calls": None}, TypeError, r"minimum_calls must be an int >= 1 \(got None\)"),
    ({"slow_call_duration": 0, "slow_call_rate_threshold": 0.5}, ValueError, r"slow_call_duration must be > 0"),
    ({"slow_call_duration": -2, "slow_call_rate_threshold": 0.5}, ValueError, r"slow_call_duration must be > 0"),
    ({"slow_call_duration": True, "slow_call_rate_threshold": 0.5}, TypeError, r"slow_call_duration must be"),
    ({"slow_call_duration": 1, "slow_call_rate_threshold": 0}, ValueError, r"slow_call_rate_threshold must be a rate"),
    ({"slow_call_duration": 1, "slow_call_rate_threshold": 2}, ValueError, r"slow_call_rate_threshold must be a rate"),
    ({"reset_timeout": 0}, ValueError, r"reset_timeout must be > 0 seconds \(got 0\)"),
    ({"reset_timeout": -1.0}, ValueError, r"reset_timeout must be > 0 seconds \(got -1.0\)"),
    ({"reset_timeout": timedelta(0)}, ValueError, r"reset_timeout must be > 0 seconds"),
    ({"reset_timeout": math.nan}, ValueError, r"reset_timeout must be a duration in seconds .* \(got nan\)"),
    ({"reset_timeout": math.inf}, ValueError, r"reset_timeout must be a finite number of seconds \(got inf\)"),
    ({"reset_timeout": None}, TypeError, r"reset_timeout must be a duration in seconds"),
    ({"reset_timeout": "30"}, TypeError, r"reset_timeout must be a duration in seconds .* \(got '30'\)"),
    ({"half_open_max_calls": 0}, ValueError, r"half_open_max_calls must be an int >= 1 \(got 0\)"),
    ({"half_open_max_calls": 1.5}, TypeError, r"half_open_max_calls must be an int >= 1"),
    ({"success_threshold": 0}, ValueError, r"success_threshold must be an int >= 1 \(got 0\)"),
    ({"success_threshold": True}, TypeError, r"success_threshold must be an int >= 1"),
    (
        {"failure_on": 42},
        TypeError,
        r"failure_on must be an exception type, a tuple of exception types, or a predicate",
    ),
    ({"failure_on": str}, TypeError, r"failure_on must be an exception type"),
    ({"failure_on": (ValueError, int)}, TypeError, r"failure_on must be an exception type"),
    ({"ignore_on": "KeyError"}, TypeError, r"ignore_on must be an exception type"),
    ({"ignore_on": [KeyError, 3]}, TypeError, r"ignore_on must be an exception type"),
]


@pytest.mark.parametrize(("kwargs", "error", "pattern"), BAD_VALUES)
def test_bad_values_name_the_parameter(kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        CircuitBreakerPolicy(**kwargs)


def test_both_windows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"window_duration must be None when window_size is set .*\(got 10.0\)"):
        CircuitBreakerPolicy(failure_rate_threshold=0.5, window_size=20, window_duration=10)


def test_slow_call_rate_without_duration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"slow_call_duration must be set .* when slow_call_rate_threshold is set"):
        CircuitBreakerPolicy(slow_call_rate_threshold=0.5)


def test_slow_call_duration_without_rate_is_refused() -> None:
    with pytest.raises(ValueError, match=r"slow_call_rate_threshold must be set .* when slow_call_duration is set"):
        CircuitBreakerPolicy(slow_call_duration=2.0)


def test_no_trip_condition_is_refused() -> None:
    pattern = "at least one of failure_threshold, failure_rate_threshold, slow_call_rate_threshold must be set"
    with pytest.raises(ValueError, match=pattern):
        CircuitBreakerPolicy(failure_threshold=None)


def test_minimum_calls_above_the_count_window_is_refused() -> None:
    with pytest.raises(ValueError, match=r"minimum_calls must be an int between 1 and window_size=5 \(got 11\)"):
        CircuitBreakerPolicy(failure_rate_threshold=0.5, window_size=5, minimum_calls=11)
    assert CircuitBreakerPolicy(failure_rate_threshold=0.5, window_size=5, minimum_calls=5).minimum_calls == 5


def test_unset_minimum_calls_takes_a_smaller_count_window() -> None:
    # Issue 9 item 5: the default of 10 was refused beside window_size=5, a value the user never set.
    policy = CircuitBreakerPolicy(failure_threshold=None, failure_rate_threshold=0.5, window_size=5)
    assert policy.minimum_calls == 5
    assert CircuitBreakerPolicy(failure_rate_threshold=0.5, window_size=50).minimum_calls == 10
    assert CircuitBreakerPolicy(slow_call_duration=1, slow_call_rate_threshold=0.5, window_size=3).minimum_calls == 3


def test_a_small_count_window_trips_at_its_size_when_minimum_calls_is_unset() -> None:
    from resiliency import CircuitBreaker, CircuitOpenError, Registry

    breaker = CircuitBreaker(
        failure_threshold=None, failure_rate_threshold=0.5, window_size=5, registry=Registry()
    )

    @breaker
    def fail() -> None:
        raise OSError("down")

    for _ in range(5):
        with pytest.raises(OSError):
            fail()
    with pytest.raises(CircuitOpenError):
        fail()


def test_minimum_calls_is_free_with_a_time_window_or_without_a_rate() -> None:
    assert CircuitBreakerPolicy(failure_rate_threshold=0.5, window_duration=1, minimum_calls=1000).minimum_calls == 1000
    assert CircuitBreakerPolicy(window_size=5).minimum_calls == 10  # no rate: the window is unused
