"""``Registry.health()`` and ``Registry.reset_all()``: one look at every named strategy.

The rule, from the registered (named) breakers, bulkheads and failover groups:

- ``"unhealthy"``: a breaker marked ``critical=True`` is open (forced open included),
  or a group marked ``critical=True`` cannot run one of its ops (every provider of the
  op is behind an open breaker): the service cannot do its job;
- ``"degraded"``: some breaker is open or half-open, some bulkhead is saturated, some
  group cannot run an op, some endpoint pool has an unhealthy or ejected endpoint (or
  none usable), or a shared store (``resiliency.stores``) is unreachable: one
  dependency is down, the rest still serves;
- ``"healthy"``: otherwise (also with nothing registered).

One dependency down is "degraded", not "unhealthy", so a load balancer that takes a
pod out on "unhealthy" (503) does not take every pod out for one provider's outage.

A bulkhead is *saturated* when it has no free slot (``available == 0``) and either
callers are already waiting in its queue (``queued > 0``) or it has no queue
(``max_queue == 0``, so the next call is rejected). A breaker's state is the one a
call would meet now: an open breaker whose ``reset_timeout`` has passed is half-open.
Private (unnamed) breakers and bulkheads are not in the registry and not in the report,
except as the breakers of a group's providers.
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
        status: "unhealthy" when a critical breaker is open or a critical group cannot
            run an op; "degraded" when any breaker is open or half-open, any bulkhead
            is saturated or any group cannot run an op; "healthy" otherwise.
        open_breakers: names of the breakers that are open, sorted.
        half_open_breakers: names of the breakers that are half-open, sorted.
        saturated_bulkheads: names of the bulkheads with no free slot and callers
            waiting (or no queue), sorted.
        issues: one human-readable line per problem, e.g.
            ``"breaker 'payments' is open (retry in 12.5s)"``; a critical one says
            "critical".
        checked_at: wall-clock time of the check, seconds since the epoch
            (``time.time()``).
        unavailable_groups: names of the groups that cannot run some op, sorted.
    """

    status: HealthStatus
    open_breakers: tuple[str, ...]
    half_open_breakers: tuple[str, ...]
    saturated_bulkheads: tuple[str, ...]
    issues: tuple[str, ...]
    checked_at: float
    unavailable_groups: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """Whether ``status`` is "healthy"."""
        return self.status == "healthy"


def _breaker_issue(name: str, breaker: Any) -> tuple[str, str | None]:
    """Return the breaker's state value ("closed", "open", "half_open") and its issue line."""
    metrics = breaker.metrics()
    state: str = metrics.state.value
    label = f"critical breaker {name!r}" if getattr(breaker, "critical", False) else f"breaker {name!r}"
    if state == "open":
        if math.isinf(metrics.retry_after):
            return state, f"{label} is forced open"
        return state, f"{label} is open (retry in {metrics.retry_after:.1f}s)"
    if state == "half_open":
        return state, f"{label} is half-open (probing)"
    return state, None


def _group_issue(name: str, group: Any) -> str | None:
    """Return the issue line of a group with an op no provider can run, or None."""
    blocked = group.unavailable_ops()
    if not blocked:
        return None
    label = f"critical group {name!r}" if getattr(group, "critical", False) else f"group {name!r}"
    return f"{label} cannot run {', '.join(map(repr, blocked))}: every provider's breaker is open"


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
    unavailable: list[str] = []
    issues: list[str] = []
    critical = False
    for name, breaker in registry.items("breaker"):
        state, issue = _breaker_issue(name, breaker)
        if state == "open":
            open_breakers.append(name)
            critical = critical or getattr(breaker, "critical", False)
        elif state == "half_open":
            half_open.append(name)
        if issue is not None:
            issues.append(issue)
    for name, bulkhead in registry.items("bulkhead"):
        issue = _bulkhead_issue(name, bulkhead)
        if issue is not None:
            saturated.append(name)
            issues.append(issue)
    for name, group in registry.items("group"):
        issue = _group_issue(name, group) if hasattr(group, "unavailable_ops") else None
        if issue is not None:
            unavailable.append(name)
            issues.append(issue)
            critical = critical or getattr(group, "critical", False)
    for _, pool in registry.items("pool"):
        issue = pool.health_issue()
        if issue is not None:
            issues.append(issue)
    for store in registry.stores:
        if not getattr(store, "available", True):
            issues.append(f"store {store!r} is unavailable")
    status: HealthStatus = "unhealthy" if critical else "degraded" if issues else "healthy"
    return HealthReport(
        status=status,
        open_breakers=tuple(open_breakers),
        half_open_breakers=tuple(half_open),
        saturated_bulkheads=tuple(saturated),
        issues=tuple(issues),
        checked_at=time.time(),
        unavailable_groups=tuple(unavailable),
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
