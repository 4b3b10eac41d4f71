"""``BulkheadPolicy`` (how many calls run and wait) and ``BulkheadMetrics`` (a snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._engine import CallablePolicy
from .._validate import check_count, check_duration

if TYPE_CHECKING:
    from ._bulkhead import Bulkhead

__all__ = ["BulkheadMetrics", "BulkheadPolicy"]


@dataclass(frozen=True, slots=True)
class BulkheadPolicy(CallablePolicy):
    """How many calls a bulkhead lets run at once, and how many may wait.

    ===================  =======  ====================================================
    field                default  meaning
    ===================  =======  ====================================================
    ``max_concurrent``   10       calls running at once (int >= 1)
    ``max_queue``        0        callers that may wait for a slot, FIFO (int >= 0)
    ``queue_timeout``    None     seconds a caller waits at most (float or timedelta,
                                  > 0); None: as long as needed (but never past the
                                  caller's deadline, see ``resiliency.remaining()``)
    ===================  =======  ====================================================

    A call beyond ``max_concurrent + max_queue`` is rejected at once with
    ``BulkheadFullError`` (reason "full"); a waiter still queued at its time limit is
    rejected with reason "queue_timeout".

    Raises:
        TypeError: a count or duration is a bool, a string or another non-number.
        ValueError: ``max_concurrent`` < 1, ``max_queue`` < 0, ``queue_timeout`` <= 0,
            NaN or infinite.
    """

    max_concurrent: int = 10
    max_queue: int = 0
    queue_timeout: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "max_concurrent", check_count("max_concurrent", self.max_concurrent))
        put(self, "max_queue", check_count("max_queue", self.max_queue, minimum=0))
        put(
            self,
            "queue_timeout",
            check_duration("queue_timeout", self.queue_timeout, allow_zero=False, allow_none=True),
        )

    def to_strategy(self) -> Bulkhead:
        """Return a new private (unnamed) ``Bulkhead`` applying this policy."""
        from ._bulkhead import Bulkhead

        return Bulkhead(policy=self)


@dataclass(frozen=True, slots=True)
class BulkheadMetrics:
    """A snapshot of a bulkhead, from ``Bulkhead.metrics()``.

    Attributes:
        active: slots held now (calls running, or handed a slot and about to run, or
            kept by a thread-mode timeout's abandoned worker until it ends).
        queued: callers waiting for a slot now.
        available: free slots now (``max_concurrent - active``).
        completed: calls that ran and left the bulkhead (returned or raised).
        rejected: calls refused ("full" or "queue_timeout"); a waiter that was
            cancelled is not counted.
        max_concurrent: the policy's ``max_concurrent``.
        max_queue: the policy's ``max_queue``.
    """

    active: int
    queued: int
    available: int
    completed: int
    rejected: int
    max_concurrent: int
    max_queue: int
