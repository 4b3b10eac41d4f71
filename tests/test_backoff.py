"""Backoff delay math: exact values per kind, jitter ranges, and no overflow ever."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resiliency._backoff import BACKOFF_KINDS, clamp_delay, compute_delay


def delays(kind: str, attempts: int, *, base: float = 1.0, max_delay: float = 1e9,
           multiplier: float = 2.0, seed: int = 7) -> list[float]:
    """Run ``kind`` for ``attempts`` failures, feeding each delay back as ``previous``."""
    rng = random.Random(seed)
    previous, out = 0.0, []
    for attempt in range(1, attempts + 1):
        previous = compute_delay(kind, attempt, previous, base=base, max_delay=max_delay,
                                 multiplier=multiplier, rng=rng)
        out.append(previous)
    return out


def test_kinds_are_the_documented_ones() -> None:
    assert BACKOFF_KINDS == ("none", "constant", "linear", "exponential", "full_jitter",
                             "equal_jitter", "decorrelated_jitter", "fibonacci", "random")


def test_none_is_always_zero() -> None:
    assert delays("none", 5, base=3.0) == [0.0] * 5


def test_constant_is_base_capped() -> None:
    assert delays("constant", 3, base=1.5) == [1.5, 1.5, 1.5]
    assert delays("constant", 2, base=1.5, max_delay=1.5) == [1.5, 1.5]


def test_linear_grows_by_base_and_is_capped() -> None:
    assert delays("linear", 5, base=0.5) == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert delays("linear", 5, base=2.0, max_delay=5.0) == [2.0, 4.0, 5.0, 5.0, 5.0]


def test_exponential_doubles_then_stops_at_max_delay() -> None:
    assert delays("exponential", 7, base=1.0, multiplier=2.0, max_delay=30.0) == [
        1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert delays("exponential", 4, base=0.1, multiplier=3.0) == pytest.approx(
        [0.1, 0.3, 0.9, 2.7])


def test_exponential_with_multiplier_one_is_constant() -> None:
    assert delays("exponential", 4, base=2.5, multiplier=1.0) == [2.5] * 4


def test_fibonacci_sequence_times_base() -> None:
    assert delays("fibonacci", 8, base=1.0) == [1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0]
    assert delays("fibonacci", 6, base=0.5, max_delay=2.0) == [0.5, 0.5, 1.0, 1.5, 2.0, 2.0]


def test_full_jitter_draws_uniform_zero_to_capped_exponential() -> None:
    expected_rng = random.Random(7)
    caps = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    expected = [expected_rng.uniform(0.0, cap) for cap in caps]
    got = delays("full_jitter", 6, base=1.0, max_delay=10.0)
    assert got == expected
    assert all(0.0 <= value <= cap for value, cap in zip(got, caps, strict=True))


def test_equal_jitter_keeps_half_of_capped_exponential() -> None:
    expected_rng = random.Random(7)
    caps = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    expected = [cap / 2 + expected_rng.uniform(0.0, cap / 2) for cap in caps]
    got = delays("equal_jitter", 6, base=1.0, max_delay=10.0)
    assert got == expected
    assert all(cap / 2 <= value <= cap for value, cap in zip(got, caps, strict=True))


def test_decorrelated_jitter_draws_from_base_to_three_times_previous() -> None:
    got = delays("decorrelated_jitter", 20, base=1.0, max_delay=10.0)
    expected_rng, previous = random.Random(7), 1.0  # previous = 0 counts as base
    for value in got:
        assert value == expected_rng.uniform(1.0, min(3.0 * previous, 10.0))
        assert 1.0 <= value <= min(3.0 * previous, 10.0)
        previous = value


@pytest.mark.parametrize("kind", ["full_jitter", "equal_jitter", "decorrelated_jitter"])
def test_jitter_is_reproducible_with_a_seed_and_varies_without(kind: str) -> None:
    assert delays(kind, 10, seed=42) == delays(kind, 10, seed=42)
    assert delays(kind, 10, seed=42) != delays(kind, 10, seed=43)


@pytest.mark.parametrize("kind", [k for k in BACKOFF_KINDS if k != "random"])
def test_base_zero_gives_zero_for_every_kind(kind: str) -> None:
    assert delays(kind, 6, base=0.0, max_delay=10.0, multiplier=5.0) == [0.0] * 6


def test_random_draws_between_base_and_max_delay_even_from_zero() -> None:
    drawn = delays("random", 200, base=0.0, max_delay=2.0, seed=1)
    assert all(0.0 <= d <= 2.0 for d in drawn)
    assert max(drawn) > 1.0
    assert all(1.0 <= d <= 3.0 for d in delays("random", 200, base=1.0, max_delay=3.0, seed=2))


@pytest.mark.parametrize("kind", BACKOFF_KINDS)
def test_huge_attempt_is_capped_not_overflowing(kind: str) -> None:
    value = compute_delay(kind, 10**6, 50.0, base=1.0, max_delay=50.0, multiplier=1e3,
                          rng=random.Random(0))
    if kind == "none":
        assert value == 0.0
    elif kind == "constant":
        assert value == 1.0
    elif kind in ("linear", "exponential", "fibonacci"):
        assert value == 50.0
    else:
        assert 0.0 <= value <= 50.0


def test_unknown_kind_and_bad_attempt_are_value_errors() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError, match=r"^backoff must be one of none, .* \(got 'cubic'\)$"):
        compute_delay("cubic", 1, 0.0, base=1.0, max_delay=2.0, multiplier=2.0, rng=rng)
    with pytest.raises(ValueError, match=r"^attempt must be an int >= 1 \(got 0\)$"):
        compute_delay("constant", 0, 0.0, base=1.0, max_delay=2.0, multiplier=2.0, rng=rng)


@given(
    kind=st.sampled_from(BACKOFF_KINDS),
    attempt=st.integers(1, 10**6),
    base=st.floats(0.0, 1e6),
    multiplier=st.floats(1.0, 1e3),
    extra=st.floats(0.0, 1e9),
    previous_share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_delay_is_always_finite_and_within_zero_and_max_delay(
    kind: str, attempt: int, base: float, multiplier: float, extra: float,
    previous_share: float, seed: int,
) -> None:
    max_delay = min(base + extra, 1e9)  # >= base, as base <= 1e6
    previous = previous_share * max_delay
    value = compute_delay(kind, attempt, previous, base=base, max_delay=max_delay,
                          multiplier=multiplier, rng=random.Random(seed))
    assert isinstance(value, float)
    assert math.isfinite(value)
    assert 0.0 <= value <= max_delay
    if base == 0.0 and kind != "random":
        assert value == 0.0


@given(value=st.floats(0.0, 1e12) | st.integers(0, 10**12), max_delay=st.floats(0.0, 1e9))
def test_clamp_delay_caps_valid_values(value: float, max_delay: float) -> None:
    result = clamp_delay(value, max_delay)
    assert type(result) is float
    assert result == min(float(value), max_delay)


def test_clamp_delay_passes_small_values_and_caps_huge_ones() -> None:
    assert clamp_delay(3, 10.0) == 3.0
    assert clamp_delay(0.25, 10.0) == 0.25
    assert clamp_delay(0, 10.0) == 0.0
    assert clamp_delay(math.inf, 10.0) == 10.0
    assert clamp_delay(10**400, 10.0) == 10.0  # beyond the float range: no OverflowError


@pytest.mark.parametrize("bad", [math.nan, -0.5, -1, "1.0", None, True, [1.0]])
def test_clamp_delay_refuses_bad_results_naming_backoff(bad: object) -> None:
    expected = f"backoff must be a callable returning seconds >= 0 (got {bad!r})"
    with pytest.raises(ValueError) as info:
        clamp_delay(bad, 10.0)  # type: ignore[arg-type]
    assert str(info.value) == expected
