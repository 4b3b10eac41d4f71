"""The live state of one endpoint in a pool, and the copy-on-write snapshot selection reads.

A ``Member`` holds what changes while calls run: calls in flight, the latency EWMA, the
health status and its streaks, the passive breaker, and the failover bindings built for
it. A ``Snapshot`` is an immutable view of the pool (every member, the usable ones of
the best priority tier, an index by id) rebuilt by writers under the pool's lock and
published by one attribute assignment, so ``select()`` never takes a lock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._circuit_breaker import CircuitBreaker, CircuitState
from ._endpoint import Endpoint, HealthStatus

__all__ = ["EWMA_DECAY", "Member", "Snapshot", "build_snapshot", "ewma_update"]

EWMA_DECAY = 10.0
"""Seconds over which the latency EWMA forgets (Finagle's peak EWMA decay time)."""

_HEALTHY, _UNHEALTHY = HealthStatus.HEALTHY, HealthStatus.UNHEALTHY
_OPEN = CircuitState.OPEN


def ewma_update(current: float, sample: float, elapsed: float, decay: float = EWMA_DECAY) -> float:
    """Finagle's peak EWMA: a sample above the average replaces it; below, it is blended.

    ``new = current * w + sample * (1 - w)`` with ``w = exp(-elapsed / decay)``, where
    ``elapsed`` is the time since the previous sample: the older the average, the more
    a new sample counts.
    """
    if sample > current:
        return sample
    weight = math.exp(-elapsed / decay) if elapsed > 0.0 else 1.0
    return current * weight + sample * (1.0 - weight)


class Member:
    """One endpoint's live state in a pool."""

    __slots__ = (
        "bindings",
        "breaker",
        "endpoint",
        "ewma",
        "fail_streak",
        "inflight",
        "last_sample",
        "lock",
        "ok_streak",
        "probing",
        "status",
    )

    def __init__(self, endpoint: Endpoint, breaker: CircuitBreaker | None) -> None:
        self.endpoint = endpoint
        self.breaker = breaker
        self.status = HealthStatus.UNKNOWN
        self.inflight = 0
        self.ewma = 0.0
        self.last_sample = 0.0
        self.ok_streak = 0
        self.fail_streak = 0
        self.probing = False
        self.lock = threading.Lock()
        self.bindings: dict[tuple[str, bool], Any] = {}

    def __repr__(self) -> str:
        return f"<Member {self.endpoint.id} {self.status.value} inflight={self.inflight}>"

    def load(self) -> float:
        """Finagle's p2c load: latency EWMA times (calls in flight + 1)."""
        return self.ewma * (self.inflight + 1)

    def started(self) -> None:
        """Count a call in flight."""
        with self.lock:
            self.inflight += 1

    def ended(self, now: float, duration: float) -> None:
        """Count a call's end and fold its latency into the EWMA."""
        with self.lock:
            self.inflight -= 1
            self.ewma = ewma_update(self.ewma, duration, now - self.last_sample)
            self.last_sample = now

    def ejected_until(self, now: float) -> float | None:
        """When an open breaker lets a probe through (None: not ejected by its breaker)."""
        breaker = self.breaker
        if breaker is None or breaker.state is not _OPEN:
            return None
        return now + breaker.retry_after


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of a pool, read by selection without a lock.

    Attributes:
        members: every member, in registration order.
        usable: the usable members of the lowest priority tier that has any.
        tiers: every usable member, grouped by priority, lowest first (``tiers[0]``
            is ``usable``); failover goes on to the next tier once one is exhausted.
        endpoints: ``usable``'s endpoints (what a custom strategy is given).
        by_id: member by endpoint id.
        recheck_at: the earliest time an ejected endpoint's breaker lets a probe
            through (None: nothing ejected); selection rebuilds past it.
        version: bumped on every rebuild.
    """

    members: tuple[Member, ...]
    usable: tuple[Member, ...]
    tiers: tuple[tuple[Member, ...], ...]
    endpoints: tuple[Endpoint, ...]
    by_id: dict[str, Member]
    recheck_at: float | None
    version: int


def build_snapshot(members: tuple[Member, ...], version: int, now: Callable[[], float]) -> Snapshot:
    """Build the snapshot of ``members``: filter out unhealthy and ejected ones, keep the best tier."""
    usable: list[Member] = []
    recheck: float | None = None
    stamp: float | None = None
    for member in members:
        if member.status is _UNHEALTHY:
            continue
        if member.breaker is not None and member.breaker.state is _OPEN:
            stamp = now() if stamp is None else stamp
            until = member.ejected_until(stamp)
            if until is not None:
                recheck = until if recheck is None else min(recheck, until)
                continue
        usable.append(member)
    levels = sorted({m.endpoint.priority for m in usable})
    tiers = tuple(tuple(m for m in usable if m.endpoint.priority == level) for level in levels)
    chosen = tiers[0] if tiers else ()
    return Snapshot(
        members=members,
        usable=chosen,
        tiers=tiers,
        endpoints=tuple(m.endpoint for m in chosen),
        by_id={m.endpoint.id: m for m in members},
        recheck_at=None if recheck is None or math.isinf(recheck) else recheck,
        version=version,
    )
