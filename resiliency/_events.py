"""Typed events, handed to the listeners added with ``Registry.subscribe``.

Each event is a frozen dataclass. Strategies build one only when the registry has a
listener, so with none the emit path costs a single attribute test. ``name`` is the
strategy's label: the name given, else the qualified name of the callable it decorates
(for failover events, the group's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AllProvidersFailed",
    "BulkheadAdmitted",
    "BulkheadRejected",
    "CallIgnored",
    "CallRecorded",
    "CallRejected",
    "CircuitStateChanged",
    "Event",
    "FailoverFinished",
    "FailoverStarted",
    "ProviderFailed",
    "ProviderSucceeded",
    "RateLimited",
    "RetryBudgetExhausted",
    "RetryScheduled",
    "ServedStale",
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
    """A breaker recorded a call: ``success``, ``duration`` seconds, ``slow``, and the ``error`` it raised (or None)."""

    success: bool
    duration: float
    slow: bool = False
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class CallRejected(Event):
    """An open (or forced-open, or full half-open) breaker refused a call; ``retry_after`` seconds."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class CallIgnored(Event):
    """A breaker let a call's ``error`` pass without counting it (``ignore_on``)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class BulkheadAdmitted(Event):
    """A bulkhead let a call run; ``queued``: it waited in line, at ``queue_position`` (1 = first)."""

    queued: bool = False
    queue_position: int = 0


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
class RateLimited(Event):
    """A rate limiter refused a call; a token is due in ``retry_after`` seconds."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class ProviderSucceeded(Event):
    """A provider of group ``name`` succeeded at ``op`` on ``attempt``.

    ``mode`` is the group call's mode ("sequential", "any", "all"; None outside a
    group call) and ``circuit_state`` the state of the provider's breaker after the
    attempt ("closed", "open", "half_open"; None when it has none).
    """

    provider: str
    op: str
    attempt: int
    duration: float
    mode: str | None = None
    circuit_state: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderFailed(Event):
    """A provider of group ``name`` failed ``op`` on ``attempt`` with ``error`` (see ``ProviderSucceeded``)."""

    provider: str
    op: str
    attempt: int
    duration: float
    error: BaseException
    mode: str | None = None
    circuit_state: str | None = None


@dataclass(frozen=True, slots=True)
class FailoverStarted(Event):
    """A call of group ``name`` starts running ``op`` in ``mode`` ("sequential", "any", "all")."""

    op: str
    mode: str


@dataclass(frozen=True, slots=True)
class FailoverFinished(Event):
    """A call of group ``name`` ended after ``duration`` seconds; ``ok``: a provider succeeded.

    ``error`` is what the call raised (None when it returned; ``execute_all`` returns
    even when every provider failed). Emitted in the same task or thread as its
    ``FailoverStarted``, also when the call is cancelled (``error`` is the cancellation).
    """

    op: str
    mode: str
    duration: float
    ok: bool
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class AllProvidersFailed(Event):
    """Every provider of group ``name`` failed ``op``; ``attempts`` lists them."""

    op: str
    attempts: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ServedStale(Event):
    """``@cache_fallback`` answered a failed call with a value stored ``age`` seconds ago."""

    key: Any
    age: float
    error: BaseException


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
