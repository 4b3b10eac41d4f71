"""``Registry.health()`` and ``Registry.reset_all()``: one look at every named strategy.

The rule, from the registered (named) breakers and bulkheads only:

- ``"unhealthy"``: there is at least one breaker and every breaker is open (forced
  open included): every protected dependency is refusing calls;
- ``"degraded"``: some breaker is open or half-open, some bulkhead is saturated, or some
  endpoint pool has an unhealthy or ejected endpoint (or none usable);
- ``"healthy"``: otherwise (also with nothing registered).

A bulkhead is *saturated* when it has no free slot (``available == 0``) and either
callers are already waiting in its queue (``queued > 0``) or it has no queue
(``max_queue == 0``, so the next call is rejected). A breaker's state is the one a
call would meet now: an open breaker whose ``reset_timeout`` has passed is half-open.
Private (unnamed) breakers and bulkheads are not in the registry and not in the report.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._registry import Registry

__all__ = ["HealthReport", "check_health", "reset_all"]

HealthStatus = Literal["healthy", "degraded", "unhealthy"]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What ``registry.health()`` returns: a status and the reasons for it.

    Attributes:
        status: "unhealthy" when there is at least one named breaker and every one is
            open; "degraded" when any breaker is open or half-open or any bulkhead is
            saturated; "healthy" otherwise.
        open_breakers: names of the breakers that are open, sorted.
        half_open_breakers: names of the breakers that are half-open, sorted.
        saturated_bulkheads: names of the bulkheads with no free slot and callers
            waiting (or no queue), sorted.
        issues: one human-readable line per problem, e.g.
            ``"breaker 'payments' is open (retry in 12.5s)"``.
        checked_at: wall-clock time of the check, seconds since the epoch
            (``time.time()``).
    """

    status: HealthStatus
    open_breakers: tuple[str, ...]
    half_open_breakers: tuple[str, ...]
    saturated_bulkheads: tuple[str, ...]
    issues: tuple[str, ...]
    checked_at: float

    @property
    def healthy(self) -> bool:
        """Whether ``status`` is "healthy"."""
        return self.status == "healthy"


def _breaker_issue(name: str, breaker: Any) -> tuple[str, str | None]:
    """Return the breaker's state value ("closed", "open", "half_open") and its issue line."""
    metrics = breaker.metrics()
    state: str = metrics.state.value
    if state == "open":
        if math.isinf(metrics.retry_after):
            return state, f"breaker {name!r} is forced open"
        return state, f"breaker {name!r} is open (retry in {metrics.retry_after:.1f}s)"
    if state == "half_open":
        return state, f"breaker {name!r} is half-open (probing)"
    return state, None


def _bulkhead_issue(name: str, bulkhead: Any) -> str | None:
    """Return the issue line of a saturated bulkhead, or None."""
    m = bulkhead.metrics()
    if m.available > 0 or (m.queued == 0 and m.max_queue > 0):
        return None
    return f"bulkhead {name!r} is saturated ({m.active}/{m.max_concurrent} running, {m.queued}/{m.max_queue} queued)"


def check_health(registry: Registry) -> HealthReport:
    """Build the ``HealthReport`` of ``registry`` (see the module docstring for the rule)."""
    open_breakers: list[str] = []
    half_open: list[str] = []
    saturated: list[str] = []
    issues: list[str] = []
    breakers = registry.items("breaker")
    for name, breaker in breakers:
        state, issue = _breaker_issue(name, breaker)
        if state == "open":
            open_breakers.append(name)
        elif state == "half_open":
            half_open.append(name)
        if issue is not None:
            issues.append(issue)
    for name, bulkhead in registry.items("bulkhead"):
        issue = _bulkhead_issue(name, bulkhead)
        if issue is not None:
            saturated.append(name)
            issues.append(issue)
    for _, pool in registry.items("pool"):
        issue = pool.health_issue()
        if issue is not None:
            issues.append(issue)
    status: HealthStatus = "healthy"
    if breakers and len(open_breakers) == len(breakers):
        status = "unhealthy"
    elif issues:
        status = "degraded"
    return HealthReport(
        status=status,
        open_breakers=tuple(open_breakers),
        half_open_breakers=tuple(half_open),
        saturated_bulkheads=tuple(saturated),
        issues=tuple(issues),
        checked_at=time.time(),
    )


def reset_all(registry: Registry) -> None:
    """Reset every named breaker (closed, counters cleared), and any other named object with a ``reset()``.

    Bulkheads, rate limiters and groups are reset only if they offer ``reset()``: a
    bulkhead's running and queued calls are live state, not counters, and its
    ``completed`` / ``rejected`` totals are kept.
    """
    for kind in ("breaker", "bulkhead", "rate_limiter", "group"):
        for _, obj in registry.items(kind):
            reset = getattr(obj, "reset", None)
            if callable(reset):
                reset()
