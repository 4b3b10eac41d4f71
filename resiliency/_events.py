"""Typed events, handed to the listeners added with ``Registry.subscribe``.

Each event is a frozen dataclass. Strategies build one only when the registry has a
listener, so with none the emit path costs a single attribute test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AllProvidersFailed",
    "BulkheadRejected",
    "CallRecorded",
    "CircuitStateChanged",
    "Event",
    "ProviderFailed",
    "ProviderSucceeded",
    "RetryBudgetExhausted",
    "RetryScheduled",
    "StoreRecovered",
    "StoreUnavailable",
    "TimeoutOccurred",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; ``name`` is the strategy's or group's name (may be None)."""

    name: str | None


@dataclass(frozen=True, slots=True)
class RetryScheduled(Event):
    """A retry will run after ``delay`` seconds; ``attempt`` is the attempt that failed."""

    attempt: int
    delay: float
    error: BaseException | None
    result: Any = None


@dataclass(frozen=True, slots=True)
class CircuitStateChanged(Event):
    """A breaker moved from ``old`` to ``new`` (``CircuitState`` values)."""

    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class CallRecorded(Event):
    """A breaker recorded a call: ``success``, ``duration`` seconds, ``slow``."""

    success: bool
    duration: float
    slow: bool = False


@dataclass(frozen=True, slots=True)
class BulkheadRejected(Event):
    """A bulkhead rejected a call (``reason``: "full" or "queue_timeout")."""

    reason: str


@dataclass(frozen=True, slots=True)
class TimeoutOccurred(Event):
    """A call was given up after ``elapsed`` seconds against ``timeout``."""

    timeout: float
    elapsed: float


@dataclass(frozen=True, slots=True)
class ProviderSucceeded(Event):
    """A provider of group ``name`` succeeded at ``op`` on ``attempt``."""

    provider: str
    op: str
    attempt: int
    duration: float


@dataclass(frozen=True, slots=True)
class ProviderFailed(Event):
    """A provider of group ``name`` failed ``op`` on ``attempt`` with ``error``."""

    provider: str
    op: str
    attempt: int
    duration: float
    error: BaseException


@dataclass(frozen=True, slots=True)
class AllProvidersFailed(Event):
    """Every provider of group ``name`` failed ``op``; ``attempts`` lists them."""

    op: str
    attempts: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RetryBudgetExhausted(Event):
    """A retry was refused by retry budget ``name``: the error was raised at once.

    Attributes:
        attempt: the attempt that failed and was not retried (1-based).
        error: its exception (None when a result asked for the retry).
    """

    attempt: int
    error: BaseException | None


@dataclass(frozen=True, slots=True)
class StoreUnavailable(Event):
    """A shared store (``name``: its description) could not be reached; ``error`` says why."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class StoreRecovered(Event):
    """A shared store (``name``: its description) answers again after ``downtime`` seconds."""

    downtime: float
