"""Sliding windows: exact eviction, time expiry, and memory that does not grow."""

from __future__ import annotations

import math
import sys
from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from resiliency._circuit_breaker._window import CountWindow, TimeWindow

outcomes = st.lists(st.tuples(st.booleans(), st.booleans()), max_size=300)


def test_count_window_starts_empty() -> None:
    assert CountWindow(5).totals(0.0) == (0, 0, 0)


def test_count_window_evicts_exactly_the_oldest() -> None:
    window = CountWindow(3)
    window.record(0.0, failed=True, slow=True)
    window.record(0.0, failed=True, slow=False)
    window.record(0.0, failed=False, slow=True)
    assert window.totals(0.0) == (3, 2, 2)
    window.record(0.0, failed=False, slow=False)  # evicts (failed, slow)
    assert window.totals(0.0) == (3, 1, 1)
    window.record(0.0, failed=False, slow=False)  # evicts (failed, not slow)
    assert window.totals(0.0) == (3, 0, 1)
    window.record(0.0, failed=False, slow=False)  # evicts (not failed, slow)
    assert window.totals(0.0) == (3, 0, 0)


def test_count_window_of_one() -> None:
    window = CountWindow(1)
    window.record(0.0, failed=True, slow=False)
    assert window.totals(0.0) == (1, 1, 0)
    window.record(0.0, failed=False, slow=True)
    assert window.totals(0.0) == (1, 0, 1)


@given(size=st.integers(1, 40), calls=outcomes)
def test_count_window_matches_a_deque(size: int, calls: list[tuple[bool, bool]]) -> None:
    window = CountWindow(size)
    model: deque[tuple[bool, bool]] = deque(maxlen=size)
    for failed, slow in calls:
        window.record(123.0, failed, slow)
        model.append((failed, slow))
        expected = (len(model), sum(f for f, _ in model), sum(s for _, s in model))
        assert window.totals(456.0) == expected


def test_count_window_reset() -> None:
    window = CountWindow(4)
    for _ in range(6):
        window.record(0.0, failed=True, slow=True)
    window.reset()
    assert window.totals(0.0) == (0, 0, 0)
    window.record(0.0, failed=False, slow=False)
    assert window.totals(0.0) == (1, 0, 0)


def test_count_window_memory_bound() -> None:
    window = CountWindow(100)
    for i in range(1000):
        window.record(0.0, failed=i % 3 == 0, slow=i % 5 == 0)
    size = sys.getsizeof(window) + sys.getsizeof(window._ring)
    assert size < 400


def test_time_window_expires_a_call_between_duration_minus_a_bucket_and_duration() -> None:
    window = TimeWindow(10.0, buckets=10)  # one-second buckets
    window.record(0.5, failed=True, slow=False)
    assert window.totals(0.5) == (1, 1, 0)
    assert window.totals(9.99) == (1, 1, 0)
    assert window.totals(10.0) == (0, 0, 0)  # bucket 0 leaves as bucket 10 starts


def test_time_window_keeps_the_last_buckets_only() -> None:
    window = TimeWindow(4.0, buckets=4)
    for second in range(8):
        window.record(second + 0.25, failed=second % 2 == 0, slow=second == 7)
    # buckets 4..7 remain: seconds 4, 5, 6, 7
    assert window.totals(7.5) == (4, 2, 1)
    assert window.totals(9.0) == (2, 1, 1)  # buckets 6 (failed) and 7 (slow)
    assert window.totals(11.0) == (0, 0, 0)


def test_time_window_a_long_gap_clears_everything() -> None:
    window = TimeWindow(2.0, buckets=8)
    for i in range(50):
        window.record(1.0 + i / 100, failed=True, slow=True)
    assert window.totals(1.5) == (50, 50, 50)
    assert window.totals(1_000_000.0) == (0, 0, 0)
    window.record(1_000_000.0, failed=False, slow=False)
    assert window.totals(1_000_000.0) == (1, 0, 0)


def test_time_window_counts_a_late_reading_in_the_newest_bucket() -> None:
    window = TimeWindow(10.0, buckets=10)
    window.record(5.5, failed=False, slow=False)
    window.record(3.0, failed=True, slow=False)  # a thread read the clock earlier
    assert window.totals(5.5) == (2, 1, 0)
    assert window.totals(14.99) == (2, 1, 0)  # both live in bucket 5
    assert window.totals(15.0) == (0, 0, 0)


def test_time_window_reset() -> None:
    window = TimeWindow(1.0)
    window.record(0.0, failed=True, slow=True)
    window.reset()
    assert window.totals(0.0) == (0, 0, 0)
    window.record(50.0, failed=True, slow=False)
    assert window.totals(50.0) == (1, 1, 0)


def test_time_window_memory_does_not_grow_with_calls() -> None:
    window = TimeWindow(60.0, buckets=10)

    def footprint() -> int:
        parts = (window, window._calls, window._failures, window._slow, window._totals)
        return sum(sys.getsizeof(part) for part in parts)

    before = footprint()
    for i in range(100_000):
        window.record(i * 0.001, failed=i % 2 == 0, slow=False)
    assert footprint() == before
    assert window.totals(99.999)[0] > 0


@given(
    duration=st.sampled_from([1.0, 2.0, 4.0, 10.0]),
    buckets=st.integers(1, 12),
    steps=st.lists(st.tuples(st.integers(0, 40), st.booleans(), st.booleans()), max_size=200),
)
def test_time_window_matches_a_bucketed_list(
    duration: float, buckets: int, steps: list[tuple[int, bool, bool]]
) -> None:
    """Against a plain list: a call stays while its bucket is one of the last ``buckets``."""
    window = TimeWindow(duration, buckets=buckets)
    model: list[tuple[int, bool, bool]] = []  # (bucket number, failed, slow)
    now = 0.0
    head = 0
    for advance, failed, slow in steps:
        now += advance / 8  # multiples of 1/8 s: exact in binary floating point
        head = max(head, math.floor(now * buckets / duration))
        window.record(now, failed, slow)
        model.append((head, failed, slow))
        live = [(f, s) for number, f, s in model if number > head - buckets]
        expected = (len(live), sum(f for f, _ in live), sum(s for _, s in live))
        assert window.totals(now) == expected
