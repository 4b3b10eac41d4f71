"""Token-bucket arithmetic: no lock, no clock, no sleeping."""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]

_EPSILON = 1e-9
"""Tokens short of a whole one that still count as one: float time steps are inexact
(at 10/s, the step from t=0.3 to t=0.4 earns 0.9999999999999998 tokens), and a token
that is due must not be refused for it."""


class TokenBucket:
    """Token-bucket arithmetic: a bucket of ``capacity`` tokens refilled at ``per_second``.

    ``tokens`` may go below zero: a token taken ahead of time (a reservation) is owed
    back by the refill. No lock, no clock: the caller passes ``now`` and serialises calls.

    Args:
        capacity: the most tokens the bucket holds (the burst); it starts full.
        per_second: tokens added per second.
    """

    __slots__ = ("capacity", "per_second", "tokens", "updated")

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = float(capacity)
        self.per_second = per_second
        self.tokens = float(capacity)
        self.updated = -math.inf  # the first refill sets the time base

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill, up to ``capacity``.

        Time that runs backwards (another clock swapped in) earns nothing and becomes the
        new time base.
        """
        elapsed = now - self.updated
        if elapsed > 0.0:
            tokens = self.tokens + elapsed * self.per_second
            self.tokens = tokens if tokens < self.capacity else self.capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Refill, then return the seconds until one whole token is there (0.0: now)."""
        elapsed = now - self.updated  # refill(), inlined: this is every call's path
        if elapsed > 0.0:
            tokens = self.tokens + elapsed * self.per_second
            self.tokens = tokens if tokens < self.capacity else self.capacity
        self.updated = now
        missing = 1.0 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.per_second

    def take(self) -> None:
        """Take one token (below zero: reserved ahead of time)."""
        self.tokens -= 1.0

    def refund(self) -> None:
        """Give back one token taken but not used."""
        self.tokens = min(self.capacity, self.tokens + 1.0)
