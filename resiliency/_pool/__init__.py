"""Endpoint pools: the instances of one service, health-checked, load-balanced, discovered.

The pieces: ``_endpoint`` (``Endpoint``, ``HealthStatus``, the error and events),
``_member`` (live state and the copy-on-write snapshot), ``_strategies`` (selection),
``_health`` (active checks and the threshold rule), ``_probes`` (their sockets),
``_discovery`` (static and DNS SRV), ``_calls`` (calls on the failover engine),
``_background`` (the probe and refresh loops), ``_lifecycle`` (health answers, refreshes,
start and stop), ``_stats`` and ``_pool`` (``EndpointPool``).
"""

from __future__ import annotations

from ._discovery import Discovery as Discovery
from ._discovery import DnsSrvDiscovery as DnsSrvDiscovery
from ._discovery import StaticDiscovery as StaticDiscovery
from ._endpoint import Endpoint as Endpoint
from ._endpoint import EndpointDeregistered as EndpointDeregistered
from ._endpoint import EndpointHealthChanged as EndpointHealthChanged
from ._endpoint import EndpointRegistered as EndpointRegistered
from ._endpoint import HealthStatus as HealthStatus
from ._endpoint import NoEndpointError as NoEndpointError
from ._health import CallableHealthCheck as CallableHealthCheck
from ._health import HealthCheck as HealthCheck
from ._health import HttpHealthCheck as HttpHealthCheck
from ._health import TcpHealthCheck as TcpHealthCheck
from ._pool import EndpointPool as EndpointPool
from ._stats import EndpointStats as EndpointStats
from ._stats import PoolStats as PoolStats

__all__ = [
    "CallableHealthCheck",
    "Discovery",
    "DnsSrvDiscovery",
    "Endpoint",
    "EndpointDeregistered",
    "EndpointHealthChanged",
    "EndpointPool",
    "EndpointRegistered",
    "EndpointStats",
    "HealthCheck",
    "HealthStatus",
    "HttpHealthCheck",
    "NoEndpointError",
    "PoolStats",
    "StaticDiscovery",
    "TcpHealthCheck",
]
