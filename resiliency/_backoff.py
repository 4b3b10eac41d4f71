"""Backoff delay math: how long a retry waits after a failed attempt. Pure, no I/O.

``attempt`` counts failures from 1 (the first failure); ``previous`` is the delay
returned for the previous failure (0.0 before the first); ``rng`` draws the jitter.
``exp`` below is ``base * multiplier ** (attempt - 1)``. Every result is capped at
``max_delay``; the jittered kinds draw inside the capped range (as AWS's "Exponential
Backoff And Jitter" and tenacity's ``wait_random_exponential`` do), so that many
clients past the cap keep spreading out instead of all waiting exactly ``max_delay``.

=====================  ==============================================================
kind                   delay
=====================  ==============================================================
none                   0
constant               base
linear                 base * attempt
exponential            min(exp, max_delay)
full_jitter            uniform(0, min(exp, max_delay))
equal_jitter           c / 2 + uniform(0, c / 2), with c = min(exp, max_delay)
decorrelated_jitter    uniform(base, min(max(base, 3 * previous), max_delay)),
                       previous = 0 counting as base
fibonacci              base * fib(attempt), fib = 1, 1, 2, 3, 5, 8, ...
random                 uniform(base, max_delay)
=====================  ==============================================================

``base = 0`` gives 0 for every kind but random (uniform(0, max_delay)). Huge attempts are safe: growth stops at
``max_delay`` without computing a huge power or Fibonacci number, and the result is
always a finite float in ``[0, max_delay]`` for ``base >= 0``, ``multiplier >= 1`` and
a finite ``max_delay >= base``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from resiliency._validate import message

__all__ = ["BACKOFF_KINDS", "clamp_delay", "compute_delay"]

BACKOFF_KINDS: tuple[str, ...] = (
    "none",
    "constant",
    "linear",
    "exponential",
    "full_jitter",
    "equal_jitter",
    "decorrelated_jitter",
    "fibonacci",
    "random",
)


def _fibonacci_table() -> tuple[float, ...]:
    # fib(1..1476) as floats: fib(1477) no longer fits in a float, so any attempt past
    # the table is far beyond any finite max_delay and is simply capped.
    values: list[float] = []
    a, b = 1, 1
    while True:
        try:
            values.append(float(a))
        except OverflowError:
            return tuple(values)
        a, b = b, a + b


_FIB = _fibonacci_table()

_Formula = Callable[[int, float, float, float, float, random.Random], float]


def _exp(attempt: int, base: float, max_delay: float, multiplier: float) -> float:
    """Return ``min(base * multiplier ** (attempt - 1), max_delay)`` without overflow."""
    try:
        value = base * multiplier ** (attempt - 1)
    except OverflowError:  # the power itself left the float range: far past the cap
        return max_delay
    return min(value, max_delay)  # also caps base * power == inf


def _decorrelated(n: int, p: float, b: float, cap: float, m: float, rng: random.Random) -> float:
    high = min(3.0 * (p if p > 0.0 else b), cap)
    return rng.uniform(b, max(high, b))


def _equal(n: int, p: float, b: float, cap: float, m: float, rng: random.Random) -> float:
    half = _exp(n, b, cap, m) / 2.0
    return half + rng.uniform(0.0, half)


# Arguments: (attempt, previous, base, max_delay, multiplier, rng), with attempt >= 1 and
# base > 0 already checked; a formula may exceed max_delay, compute_delay caps it.
_FORMULAS: dict[str, _Formula] = {
    "none": lambda n, p, b, cap, m, rng: 0.0,
    "constant": lambda n, p, b, cap, m, rng: b,
    "linear": lambda n, p, b, cap, m, rng: b * n,
    "exponential": lambda n, p, b, cap, m, rng: _exp(n, b, cap, m),
    "full_jitter": lambda n, p, b, cap, m, rng: rng.uniform(0.0, _exp(n, b, cap, m)),
    "equal_jitter": _equal,
    "decorrelated_jitter": _decorrelated,
    "fibonacci": lambda n, p, b, cap, m, rng: b * _FIB[n - 1] if n <= len(_FIB) else cap,
    "random": lambda n, p, b, cap, m, rng: rng.uniform(b, cap),
}


def compute_delay(
    kind: str,
    attempt: int,
    previous: float,
    *,
    base: float,
    max_delay: float,
    multiplier: float,
    rng: random.Random,
) -> float:
    """Return the seconds to wait after failed attempt ``attempt`` (see the module table).

    Args:
        kind: one of :data:`BACKOFF_KINDS`.
        attempt: the failed attempt's number, 1 for the first failure.
        previous: the delay returned for the previous failure, 0.0 before the first.
        base: base delay, seconds >= 0.
        max_delay: cap on the result, finite seconds >= ``base``.
        multiplier: growth factor of the exponential kinds, >= 1.
        rng: the random source of the jitter kinds.

    Returns:
        A finite delay in seconds, in ``[0, max_delay]``.

    Raises:
        ValueError: ``kind`` is unknown or ``attempt`` is below 1.
    """
    formula = _FORMULAS.get(kind)
    if formula is None:
        raise ValueError(message("backoff", f"one of {', '.join(BACKOFF_KINDS)}", kind))
    if attempt < 1:
        raise ValueError(message("attempt", "an int >= 1", attempt))
    if base <= 0.0 and kind != "random":
        return 0.0
    return min(formula(attempt, previous, base, max_delay, multiplier, rng), max_delay)


def formula(kind: str) -> Callable[[int, float, float, float, float, random.Random], float]:
    """Return the raw formula of ``kind`` as ``(attempt, previous, base, cap, multiplier, rng)``.

    The caller caps the result at ``max_delay`` and answers 0 when ``base`` is 0, as
    :func:`compute_delay` does; the retry loop uses this to skip the per-call checks.
    """
    return _FORMULAS[kind]


def chained(delays: tuple[float, ...]) -> Callable[[int, float], float]:
    """Return the backoff of chained waits: ``delays[attempt - 1]``, the last one repeating."""
    last = len(delays) - 1

    def delay(attempt: int, previous: float) -> float:
        return delays[min(attempt - 1, last)]

    return delay


def clamp_delay(value: float, max_delay: float) -> float:
    """Check a delay returned by a user's backoff callable and cap it at ``max_delay``.

    Args:
        value: the callable's result, seconds.
        max_delay: the cap, seconds.

    Returns:
        ``min(value, max_delay)`` as a float.

    Raises:
        ValueError: ``value`` is not a number (a bool counts as not one), is NaN or is
            negative; the message names ``backoff``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # ValueError, not TypeError: the configuration (a callable) was fine, its
        # result at run time is the bad value, reported like a NaN or negative one.
        raise ValueError(message("backoff", "a callable returning seconds >= 0", value))
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float: far past any cap
        return float(max_delay)
    if math.isnan(seconds) or seconds < 0.0:
        raise ValueError(message("backoff", "a callable returning seconds >= 0", value))
    return min(seconds, float(max_delay))
