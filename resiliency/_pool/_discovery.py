"""Where a pool's endpoints come from: a fixed list, or DNS SRV records.

A discovery is any object with ``async resolve() -> list[Endpoint]`` and, optionally, a
``refresh`` attribute (seconds between two resolves in the background; None: resolve
once). A resolve that raises leaves the pool's endpoints as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from .._validate import check_count, check_duration, message
from ._endpoint import Endpoint

__all__ = ["Discovery", "DnsSrvDiscovery", "StaticDiscovery"]

ZERO_WEIGHT = 0.01
"""The weight given to an SRV record of weight 0 (RFC 2782: a very small chance)."""


@runtime_checkable
class Discovery(Protocol):
    """A source of endpoints: ``await resolve()`` returns the current list."""

    async def resolve(self) -> list[Endpoint]:
        """Return the endpoints as of now; raise when they cannot be learned."""
        ...


class StaticDiscovery:
    """A fixed list of endpoints, resolved once.

    Args:
        endpoints: the ``Endpoint`` objects.

    Raises:
        TypeError: an item that is not an ``Endpoint``.
    """

    refresh: float | None = None

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        items = list(endpoints)
        for item in items:
            if not isinstance(item, Endpoint):
                raise TypeError(message("endpoints", "a list of Endpoint", item))
        self._endpoints = items

    async def resolve(self) -> list[Endpoint]:
        """Return the endpoints given."""
        return list(self._endpoints)

    def __repr__(self) -> str:
        return f"StaticDiscovery({[e.id for e in self._endpoints]!r})"


class DnsSrvDiscovery:
    """Endpoints from the SRV records of ``name`` (dnspython, imported on first use).

    Each record becomes ``Endpoint(id="target:port", address="target:port",
    weight=record weight, priority=record priority)``: the pool uses the lowest
    priority present while any of its endpoints is usable, and the "weighted" strategy
    shares traffic by weight (weight 0 counts as 0.01). Consul's DNS interface
    (``web.service.consul``) and a Kubernetes headless service
    (``_http._tcp.web.default.svc.cluster.local``) both answer such records.

    Args:
        name: the SRV name to resolve.
        nameservers: IP addresses of the DNS servers to ask (default: the system's).
        port: the DNS servers' port (default 53; Consul serves DNS on 8600).
        refresh: seconds between two resolves in the background (> 0, default 30).
        timeout: seconds one resolve may take (> 0, default 2).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(
        self,
        name: str,
        *,
        nameservers: Iterable[str] | None = None,
        port: int = 53,
        refresh: float = 30.0,
        timeout: float = 2.0,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(message("name", "a non-empty str", name))
        if isinstance(nameservers, str):
            raise TypeError(message("nameservers", "a list of IP addresses", nameservers))
        self.name = name
        self.nameservers = None if nameservers is None else list(nameservers)
        self.port: int = check_count("port", port)
        self.refresh: float = check_duration("refresh", refresh, allow_zero=False)
        self.timeout: float = check_duration("timeout", timeout, allow_zero=False)

    def _resolver(self) -> Any:
        import dns.asyncresolver  # the "dns" extra; imported only when SRV discovery is used

        resolver = dns.asyncresolver.Resolver(configure=self.nameservers is None)
        if self.nameservers is not None:
            resolver.nameservers = self.nameservers
        resolver.port = self.port
        resolver.lifetime = self.timeout
        return resolver

    async def resolve(self) -> list[Endpoint]:
        """Query the SRV records of ``name`` and return one endpoint per record.

        Raises:
            dns.exception.DNSException: the query failed (no answer, NXDOMAIN, timeout).
        """
        import dns.asyncbackend
        import sniffio

        # dnspython caches the first event loop library it sees; name the running one.
        backend = dns.asyncbackend.get_backend(sniffio.current_async_library())
        answer = await self._resolver().resolve(self.name, "SRV", backend=backend)
        endpoints: dict[str, Endpoint] = {}
        for record in answer:
            target = record.target.to_text(omit_final_dot=True)
            address = f"{target}:{record.port}"
            weight = float(record.weight) if record.weight > 0 else ZERO_WEIGHT
            endpoints[address] = Endpoint(address, address, weight=weight, priority=int(record.priority))
        return sorted(endpoints.values(), key=lambda e: (e.priority, e.id))

    def __repr__(self) -> str:
        return f"DnsSrvDiscovery({self.name!r}, nameservers={self.nameservers!r}, port={self.port})"
