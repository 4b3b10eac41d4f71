"""``RetryPolicy``: validation, presets, field-by-field merging, and the pure decision."""

from __future__ import annotations

import dataclasses
import errno
import math
import random
from datetime import timedelta
from typing import Any

import pytest

from resiliency import BulkheadFullError, CircuitOpenError, RateLimitedError, RetryPolicy
from resiliency._retry_policy import retry_transient


class Status(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


class ResponseStatus(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.response = type("Response", (), {"status_code": status_code, "headers": {}})()


def decide(policy: RetryPolicy, attempt: int = 1, error: BaseException | None = None, **kw: Any) -> float | None:
    """``policy.next_delay`` with defaults for the arguments a test does not care about."""
    args: dict[str, Any] = {"result": None, "previous": 0.0, "elapsed": 0.0, "remaining": None, **kw}
    return policy.next_delay(attempt, error, args["result"], args["previous"], args["elapsed"], args["remaining"])


# -- defaults and validation -----------------------------------------------------------


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert policy.backoff == "exponential"
    assert policy.base_delay == 0.1
    assert policy.max_delay == 30.0
    assert policy.multiplier == 2.0
    assert policy.retry_on is Exception
    assert policy.retry_if_result is None
    assert policy.respect_retry_after is True
    assert policy.max_retry_after == 60.0
    assert policy.max_total_time is None
    assert policy.on_retry is None
    assert policy.rng is None
    assert policy.fields_set == frozenset()


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RetryPolicy().max_attempts = 5  # type: ignore[misc]


def test_durations_accept_timedelta() -> None:
    policy = RetryPolicy(
        base_delay=timedelta(milliseconds=250),  # type: ignore[typeddict-item]
        max_delay=timedelta(minutes=1),  # type: ignore[typeddict-item]
        max_total_time=timedelta(seconds=90),  # type: ignore[typeddict-item]
    )
    assert (policy.base_delay, policy.max_delay, policy.max_total_time) == (0.25, 60.0, 90.0)
    assert type(policy.base_delay) is float


@pytest.mark.parametrize(
    ("fields", "error", "pattern"),
    [
        ({"max_attempts": 0}, ValueError, r"max_attempts must be an int >= 1 \(got 0\)"),
        ({"max_attempts": -1}, ValueError, r"max_attempts must be an int >= 1 \(got -1\)"),
        ({"max_attempts": 2.0}, TypeError, r"max_attempts must be an int >= 1 \(got 2\.0\)"),
        ({"max_attempts": True}, TypeError, r"max_attempts must be .* \(got True\)"),
        ({"max_attempts": "3"}, TypeError, r"max_attempts must be .* \(got '3'\)"),
        ({"backoff": "quadratic"}, ValueError, r"backoff must be one of 'none', .* \(got 'quadratic'\)"),
        ({"backoff": 3}, TypeError, r"backoff must be .* \(got 3\)"),
        ({"base_delay": -0.1}, ValueError, r"base_delay must be >= 0 seconds \(got -0\.1\)"),
        ({"base_delay": math.nan}, ValueError, r"base_delay must be .* \(got nan\)"),
        ({"base_delay": "1"}, TypeError, r"base_delay must be .* \(got '1'\)"),
        ({"base_delay": True}, TypeError, r"base_delay must be .* \(got True\)"),
        ({"base_delay": 5.0, "max_delay": 1.0}, ValueError, r"max_delay must be >= base_delay \(5\.0\) \(got 1\.0\)"),
        ({"max_delay": math.inf}, ValueError, r"max_delay must be a finite number of seconds \(got inf\)"),
        ({"multiplier": 0.5}, ValueError, r"multiplier must be a finite number >= 1 \(got 0\.5\)"),
        ({"multiplier": math.nan}, ValueError, r"multiplier must be .* \(got nan\)"),
        ({"multiplier": "2"}, TypeError, r"multiplier must be .* \(got '2'\)"),
        ({"retry_on": "ValueError"}, TypeError, r"retry_on must be an exception type, .* \(got 'ValueError'\)"),
        ({"retry_on": int}, TypeError, r"retry_on must be .* \(got <class 'int'>\)"),
        ({"retry_on": (ValueError, 3)}, TypeError, r"retry_on must be .*"),
        ({"retry_if_result": 1}, TypeError, r"retry_if_result must be a callable \(got 1\)"),
        ({"respect_retry_after": 1}, TypeError, r"respect_retry_after must be True or False \(got 1\)"),
        ({"max_retry_after": -1}, ValueError, r"max_retry_after must be >= 0 seconds \(got -1\)"),
        ({"max_total_time": 0}, ValueError, r"max_total_time must be > 0 seconds \(got 0\)"),
        ({"on_retry": "print"}, TypeError, r"on_retry must be a callable \(got 'print'\)"),
        ({"rng": 42}, TypeError, r"rng must be a random.Random or None \(got 42\)"),
        ({"max_tries": 3}, TypeError, r"unknown RetryPolicy field\(s\): max_tries"),
    ],
)
def test_bad_fields_are_refused(fields: dict[str, Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        RetryPolicy(**fields)


# -- presets ---------------------------------------------------------------------------------


def test_fixed_preset() -> None:
    policy = RetryPolicy.fixed()
    assert (policy.max_attempts, policy.backoff, policy.base_delay, policy.max_delay) == (3, "constant", 1.0, 30.0)
    assert RetryPolicy.fixed(2.5).base_delay == 2.5
    big = RetryPolicy.fixed(45.0, max_attempts=2)
    assert (big.base_delay, big.max_delay, big.max_attempts) == (45.0, 45.0, 2)
    assert [decide(policy, n, ValueError()) for n in (1, 2, 3)] == [1.0, 1.0, None]


def test_fixed_preset_accepts_timedelta() -> None:
    policy = RetryPolicy.fixed(timedelta(seconds=2))  # type: ignore[arg-type]
    assert (policy.base_delay, policy.max_delay) == (2.0, 30.0)


def test_fixed_preset_refuses_a_bad_delay_naming_it() -> None:
    with pytest.raises((TypeError, ValueError), match="delay"):
        RetryPolicy.fixed(-1.0)


def test_exponential_preset() -> None:
    policy = RetryPolicy.exponential()
    assert (policy.max_attempts, policy.backoff, policy.base_delay, policy.max_delay) == (
        5,
        "full_jitter",
        0.1,
        30.0,
    )
    assert RetryPolicy.exponential(max_attempts=9).max_attempts == 9


def test_api_rate_limit_preset() -> None:
    policy = RetryPolicy.api_rate_limit()
    assert (policy.max_attempts, policy.backoff, policy.base_delay, policy.max_delay, policy.max_retry_after) == (
        5,
        "equal_jitter",
        1.0,
        60.0,
        120.0,
    )
    hinted = Exception("slow down")
    hinted.retry_after = 90  # type: ignore[attr-defined]
    assert decide(policy, error=hinted) == 90.0  # beyond the default 60 s cap, within 120 s
    assert decide(policy, error=RateLimitedError(None, 2.0)) is not None
    for status in (429, 502, 503, 504):
        assert decide(policy, error=Status(status)) is not None
        assert decide(policy, error=ResponseStatus(status)) is not None
    assert decide(policy, error=Status(400)) is None
    assert decide(policy, error=Status(500)) is None
    assert decide(policy, error=ValueError("no status")) is None


def test_network_preset() -> None:
    policy = RetryPolicy.network()
    assert (policy.max_attempts, policy.backoff, policy.base_delay, policy.max_delay) == (
        4,
        "decorrelated_jitter",
        0.2,
        10.0,
    )
    assert policy.retry_on is retry_transient
    for error in (ConnectionResetError(), TimeoutError(), OSError(errno.EHOSTUNREACH, "no route")):
        assert decide(policy, error=error) is not None
    for permanent in (ValueError(), FileNotFoundError(errno.ENOENT, "gone"), TypeError("bad argument")):
        assert decide(policy, error=permanent) is None


# -- merging -----------------------------------------------------------------------------------


def test_fields_set_records_explicit_fields_only() -> None:
    assert RetryPolicy(max_attempts=5, base_delay=2.0).fields_set == {"max_attempts", "base_delay"}
    assert RetryPolicy(max_attempts=5, base_delay=2.0).fields() == {"max_attempts": 5, "base_delay": 2.0}


def test_merged_takes_what_over_sets_and_keeps_the_rest() -> None:
    base = RetryPolicy(max_attempts=5, base_delay=2.0, backoff="constant")
    over = RetryPolicy(base_delay=3.0, backoff="linear")
    merged = base.merged(over)
    assert merged.max_attempts == 5  # only base sets it
    assert merged.base_delay == 3.0  # both set it: over wins
    assert merged.backoff == "linear"
    assert merged.max_delay == 30.0  # neither: library default
    assert merged.fields_set == {"max_attempts", "base_delay", "backoff"}


def test_merged_default_valued_field_set_explicitly_still_wins() -> None:
    base = RetryPolicy(max_attempts=7)
    over = RetryPolicy(max_attempts=3)  # 3 is the library default, but it was given
    assert base.merged(over).max_attempts == 3


def test_merged_with_nothing_set_is_the_same_policy() -> None:
    base = RetryPolicy(max_attempts=5)
    assert base.merged(None) is base
    assert base.merged(RetryPolicy()) is base


def test_merged_chain_follows_precedence_order() -> None:
    # default < inline < per_op < per_provider, as failover resolves it
    default = RetryPolicy(max_attempts=2, base_delay=1.0, max_delay=10.0, multiplier=3.0)
    inline = RetryPolicy(max_attempts=4, backoff="linear")
    per_op = RetryPolicy(base_delay=0.5)
    per_provider = RetryPolicy(max_attempts=6)
    effective = default.merged(inline).merged(per_op).merged(per_provider)
    assert (effective.max_attempts, effective.backoff, effective.base_delay, effective.max_delay) == (
        6,
        "linear",
        0.5,
        10.0,
    )
    assert effective.multiplier == 3.0


def test_merged_keeps_a_named_retry_on() -> None:
    named = RetryPolicy(retry_on=CircuitOpenError).merged(RetryPolicy(max_attempts=2))
    assert decide(named, error=CircuitOpenError(None, 1.0)) is not None


def test_replace_changes_fields() -> None:
    policy = RetryPolicy(max_attempts=5).replace(base_delay=1.0)
    assert (policy.max_attempts, policy.base_delay) == (5, 1.0)


# -- the decision ----------------------------------------------------------------------------


def test_next_delay_stops_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, backoff="constant", base_delay=1.0)
    assert [decide(policy, n, ValueError()) for n in (1, 2, 3, 4)] == [1.0, 1.0, None, None]


def test_next_delay_for_results() -> None:
    assert decide(RetryPolicy(), result="x") is None  # no retry_if_result: a result ends it
    policy = RetryPolicy(retry_if_result=lambda r: r == "again", backoff="constant", base_delay=1.0)
    assert decide(policy, result="again") == 1.0
    assert decide(policy, result="fine") is None


def test_next_delay_default_filter_skips_rejections() -> None:
    policy = RetryPolicy()
    assert decide(policy, error=CircuitOpenError(None, 1.0)) is None
    assert decide(policy, error=BulkheadFullError(None)) is None
    assert decide(policy, error=RateLimitedError(None, 1.0)) is not None
    assert decide(policy, error=ValueError()) is not None


def test_next_delay_max_total_time_and_remaining() -> None:
    policy = RetryPolicy(backoff="constant", base_delay=1.0, max_total_time=5.0)
    assert decide(policy, error=ValueError(), elapsed=4.0) == 1.0
    assert decide(policy, error=ValueError(), elapsed=4.5) is None
    plain = RetryPolicy(backoff="constant", base_delay=1.0)
    assert decide(plain, error=ValueError(), remaining=1.5) == 1.0
    assert decide(plain, error=ValueError(), remaining=1.0) is None
    assert decide(plain, error=ValueError(), remaining=0.0) is None


def test_next_delay_uses_the_given_rng() -> None:
    policy = RetryPolicy(backoff="full_jitter", base_delay=1.0, rng=random.Random(3))
    twin = random.Random(3)
    assert [decide(policy, n, ValueError()) for n in (1, 2)] == [twin.uniform(0, 1.0), twin.uniform(0, 2.0)]


def test_callable_backoff_bad_result_is_a_value_error() -> None:
    policy = RetryPolicy(backoff=lambda attempt, previous: -1.0)
    with pytest.raises(ValueError, match=r"backoff must be a callable returning seconds >= 0 \(got -1\.0\)"):
        decide(policy, error=ValueError())
