"""``pool.stats()`` and ``pool.events()``: what a pool reports.

Per-endpoint counts and latencies come from the failover bindings' recorders (the same
counters a group's ``stats()`` reads), summed over the ops the endpoint served; calls
in flight and the latency EWMA are the member's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._circuit_breaker import CircuitState
from .._events import Event
from .._failover._stats import SUCCEEDED, _rank, _value, to_events
from ._endpoint import EndpointDeregistered, EndpointHealthChanged, EndpointRegistered, HealthStatus
from ._member import Member

__all__ = ["DEREGISTERED", "HEALTH", "REGISTERED", "EndpointStats", "PoolStats", "endpoint_stats", "pool_events"]

# Ring-buffer kinds of the pool's own records, beside the failover ones (0, 1, 2).
REGISTERED, DEREGISTERED, HEALTH = 10, 11, 12


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """One endpoint's counts and latencies.

    Attributes:
        id: the endpoint's id.
        address: its address.
        status: its health status now.
        breaker: its breaker's state (None without a breaker).
        calls: calls made to it (successes + failures + cancelled).
        successes: calls that returned.
        failures: calls that raised, breaker rejections included.
        in_flight: calls running now.
        latency_ewma: the latency EWMA in seconds (0.0 before any call).
        p50: median call duration in seconds over the recent calls (None: none yet).
        p95: 95th percentile call duration in seconds (None: none yet).
        last_error: the exception of the latest failed call, or None.
    """

    id: str
    address: str
    status: HealthStatus
    breaker: CircuitState | None
    calls: int
    successes: int
    failures: int
    in_flight: int
    latency_ewma: float
    p50: float | None
    p95: float | None
    last_error: BaseException | None


@dataclass(frozen=True, slots=True)
class PoolStats:
    """``pool.stats()``: one ``EndpointStats`` per endpoint, in registration order.

    Attributes:
        pool: the pool's name.
        strategy: the strategy's name.
        endpoints: the ``EndpointStats``.
        usable: ids of the endpoints selection may choose now.
    """

    pool: str
    strategy: str
    endpoints: tuple[EndpointStats, ...]
    usable: tuple[str, ...]

    def get(self, endpoint_id: str) -> EndpointStats:
        """Return the stats of endpoint ``endpoint_id``.

        Raises:
            KeyError: no such endpoint (the message lists the known ones).
        """
        for entry in self.endpoints:
            if entry.id == endpoint_id:
                return entry
        known = ", ".join(e.id for e in self.endpoints) or "none"
        raise KeyError(f"no endpoint {endpoint_id!r} in pool {self.pool!r} (known: {known})")


def endpoint_stats(member: Member) -> EndpointStats:
    """Build the ``EndpointStats`` of ``member`` as of now."""
    ok = failed = cancelled = 0
    samples: list[float] = []
    last_error: BaseException | None = None
    for recorder in {id(b.recorder): b.recorder for b in list(member.bindings.values())}.values():
        ok += _value(recorder.successes)
        failed += _value(recorder.failures)
        cancelled += _value(recorder.cancelled)
        samples.extend(recorder.durations.copy())
        last_error = recorder.last_error or last_error
    samples.sort()
    breaker = member.breaker
    return EndpointStats(
        id=member.endpoint.id,
        address=member.endpoint.address,
        status=member.status,
        breaker=None if breaker is None else breaker.state,
        calls=ok + failed + cancelled,
        successes=ok,
        failures=failed,
        in_flight=member.inflight,
        latency_ewma=member.ewma,
        p50=_rank(samples, 0.50),
        p95=_rank(samples, 0.95),
        last_error=last_error,
    )


def pool_events(pool: str, records: Iterable[tuple[Any, ...]]) -> list[Event]:
    """Turn the pool's ring records (failover attempts and its own) into typed events, in order."""
    events: list[Event] = []
    for record in records:
        kind = record[0]
        if kind <= SUCCEEDED + 2:
            events.extend(to_events(pool, [record]))
        elif kind == REGISTERED:
            events.append(EndpointRegistered(pool, record[1], record[2]))
        elif kind == DEREGISTERED:
            events.append(EndpointDeregistered(pool, record[1]))
        elif kind == HEALTH:
            events.append(EndpointHealthChanged(pool, record[1], record[2], record[3], record[4]))
    return events
