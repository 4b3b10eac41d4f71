"""``Endpoint``, ``HealthStatus``, ``NoEndpointError`` and the pool's typed events."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from .._errors import NoProviderError
from .._events import Event
from .._validate import check_number, message

__all__ = [
    "Endpoint",
    "EndpointDeregistered",
    "EndpointHealthChanged",
    "EndpointRegistered",
    "HealthStatus",
    "NoEndpointError",
    "split_address",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class HealthStatus(enum.Enum):
    """An endpoint's health, as checks and calls have seen it.

    ``UNKNOWN`` (not checked yet), ``HEALTHY`` and ``DEGRADED`` endpoints are usable;
    ``UNHEALTHY`` ones are skipped by selection until a check finds them well again.
    """

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


class NoEndpointError(NoProviderError):
    """An endpoint pool has no usable endpoint (none registered, or all unhealthy or ejected)."""

    code: ClassVar[str] = "NO_ENDPOINT"


def split_address(address: str) -> tuple[str, int]:
    """Split ``"host:port"`` (``"[::1]:80"`` for IPv6) into its host and int port.

    Raises:
        ValueError: no port, or a port outside 1..65535.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(message("address", '"host:port" with a port in 1..65535', address))
    return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One instance of a service: where it is and how much traffic it should get.

    Args:
        id: unique within a pool (discovery uses "host:port").
        address: "host:port".
        weight: share of traffic for the "weighted" strategy (float > 0, default 1.0).
        zone: the zone or region the endpoint runs in (for "zone_aware"), or None.
        tags: free-form labels.
        metadata: free-form data, kept read-only.
        priority: preference tier, lower first (SRV priority): the pool uses the lowest
            tier that has a usable endpoint (default 0).

    Raises:
        TypeError, ValueError: a bad field (the message names it).
    """

    id: str
    address: str
    weight: float = field(default=1.0, kw_only=True)
    zone: str | None = field(default=None, kw_only=True)
    tags: frozenset[str] = field(default=frozenset(), kw_only=True)
    metadata: Mapping[str, Any] | None = field(default=None, kw_only=True, hash=False, compare=True)
    priority: int = field(default=0, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise TypeError(message("id", "a non-empty str", self.id))
        if not isinstance(self.address, str):
            raise TypeError(message("address", '"host:port" (a str)', self.address))
        split_address(self.address)
        weight = check_number("weight", self.weight, "a number > 0")
        if not 0.0 < weight < float("inf"):
            raise ValueError(message("weight", "a finite number > 0", self.weight))
        object.__setattr__(self, "weight", weight)
        if self.zone is not None and not isinstance(self.zone, str):
            raise TypeError(message("zone", "a str or None", self.zone))
        if isinstance(self.tags, str) or not all(isinstance(t, str) for t in self.tags):
            raise TypeError(message("tags", "a collection of str", self.tags))
        object.__setattr__(self, "tags", frozenset(self.tags))
        if self.metadata is not None:
            if not isinstance(self.metadata, Mapping):
                raise TypeError(message("metadata", "a mapping or None", self.metadata))
            object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or self.priority < 0:
            raise ValueError(message("priority", "an int >= 0", self.priority))

    @property
    def host(self) -> str:
        """The host part of ``address``."""
        return split_address(self.address)[0]

    @property
    def port(self) -> int:
        """The port part of ``address``."""
        return split_address(self.address)[1]


@dataclass(frozen=True, slots=True)
class EndpointRegistered(Event):
    """An endpoint joined pool ``name`` (or was updated: ``updated`` is True)."""

    endpoint: Endpoint
    updated: bool = False


@dataclass(frozen=True, slots=True)
class EndpointDeregistered(Event):
    """Endpoint ``endpoint_id`` left pool ``name``."""

    endpoint_id: str


@dataclass(frozen=True, slots=True)
class EndpointHealthChanged(Event):
    """Endpoint ``endpoint_id`` of pool ``name`` went from ``old`` to ``new``.

    ``reason`` is "check" (an active health check) or "breaker" (passive ejection or
    return: the endpoint's breaker opened or let a probe through).
    """

    endpoint_id: str
    old: HealthStatus
    new: HealthStatus
    reason: str = "check"
