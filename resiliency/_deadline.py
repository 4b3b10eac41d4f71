"""The caller's deadline, carried in a context variable.

A timeout sets a deadline for everything it runs; nested timeouts keep the earlier one.
Retries never sleep past it and failover starts no provider after it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from ._clock import Clock

__all__ = ["push_deadline", "remaining", "reset_deadline"]

# (absolute deadline on `clock`, clock) or None outside any timeout.
_deadline: ContextVar[tuple[float, Clock] | None] = ContextVar("resiliency_deadline", default=None)


def remaining() -> float | None:
    """Return the seconds left before the current deadline, or ``None`` without one.

    Never negative: a passed deadline gives ``0.0``.
    """
    current = _deadline.get()
    if current is None:
        return None
    left = current[0] - current[1].monotonic()
    return left if left > 0.0 else 0.0


def push_deadline(seconds: float, clock: Clock, now: float) -> Token[tuple[float, Clock] | None]:
    """Set the deadline to ``now + seconds`` unless an earlier one is already set."""
    current = _deadline.get()
    deadline = now + seconds
    if current is not None:
        outer_left = current[0] - current[1].monotonic()
        if outer_left <= seconds:
            deadline = now + max(outer_left, 0.0)
    return _deadline.set((deadline, clock))


def reset_deadline(token: Token[tuple[float, Clock] | None]) -> None:
    """Restore the deadline that was in force before ``push_deadline``."""
    _deadline.reset(token)
