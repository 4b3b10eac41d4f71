"""The demo's storage providers: one HTTP client class, marked per provider with @provider."""

from __future__ import annotations

from typing import Any

import httpx

from .._circuit_breaker import CircuitBreaker
from .._failover import FailoverGroup, PolicyConfig, provider
from .._registry import Registry
from .._retry_policy import RetryPolicy
from ._tracker import Tracker

__all__ = ["HttpStorage", "build_storage"]


class HttpStorage:
    """Talks to one provider's object-store API over a shared ``httpx.AsyncClient``.

    Each subclass sets ``provider_name``, which ``group.register`` reads as the name the
    instance joins the group under (the same as its ``@provider`` name here).
    """

    provider_name: str

    def __init__(self, base_url: str, client: httpx.AsyncClient, tracker: Tracker | None = None) -> None:
        self.base_url = base_url
        self.client = client
        self.tracker = tracker

    def before_execute_op(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Called by the group before each of this provider's attempts: show it running."""
        if self.tracker is not None:
            self.tracker.started(self.provider_name)

    async def request(self, method: str, path: str, content: bytes | None = None) -> Any:
        """Send one request; an error status raises ``httpx.HTTPStatusError``.

        The error carries the response, so a 429's ``Retry-After`` reaches the retry.
        """
        if self.tracker is not None:
            self.tracker.sent(self.provider_name)
        response = await self.client.request(method, self.base_url + path, content=content)
        response.raise_for_status()
        return response.json()


def _provider_class(name: str, priority: int, group: FailoverGroup, breaker: CircuitBreaker) -> type[HttpStorage]:
    """A subclass of ``HttpStorage`` whose methods are provider ``name``'s three ops."""

    class Storage(HttpStorage):
        provider_name = name

        @provider(name, op="upload", group=group, priority=priority)
        @breaker
        async def upload(self, key: str, data: bytes) -> Any:
            return await self.request("PUT", f"/objects/{key}", data)

        @provider(name, op="download", group=group, priority=priority)
        @breaker
        async def download(self, key: str) -> Any:
            return await self.request("GET", f"/objects/{key}")

        @provider(name, op="presign", group=group, priority=priority)
        @breaker
        async def presign(self, key: str) -> Any:
            return await self.request("GET", f"/presign/{key}")

    Storage.__name__ = Storage.__qualname__ = f"{name.upper()}Storage"
    return Storage


def build_storage(
    urls: dict[str, str],
    client: httpx.AsyncClient,
    registry: Registry,
    tracker: Tracker,
    *,
    failure_threshold: int = 3,
) -> tuple[FailoverGroup, dict[str, CircuitBreaker]]:
    """Build the "storage" group over the providers in ``urls`` (priority = order).

    Each provider gets a circuit breaker shared by its three ops; the group retries
    each provider twice (0.05 s apart) by default, and honours Retry-After.
    """
    group = FailoverGroup(
        "storage",
        policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="constant", base_delay=0.05)),
        hooks=tracker.hooks(),
        registry=registry,
    )
    breakers: dict[str, CircuitBreaker] = {}
    for priority, (name, url) in enumerate(urls.items()):
        breaker = CircuitBreaker(
            f"storage.{name}", failure_threshold=failure_threshold, reset_timeout=60.0, registry=registry
        )
        breakers[name] = breaker
        group.register(_provider_class(name, priority, group, breaker)(url, client, tracker))
    return group, breakers
