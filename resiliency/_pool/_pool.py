"""``EndpointPool``: the endpoints of one service, chosen by a strategy, called with failover.

Writers (``register``, ``update``, ``deregister``, health answers, breaker transitions,
discovery) change the members under the pool's lock and publish a new ``Snapshot`` with
one assignment; ``select`` and the calls read ``self._snap`` once and take no lock. The
calls run on the failover engine (``_calls``); health answers, discovery refreshes and
the background work are ``_lifecycle``'s and ``_background``'s.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from .._circuit_breaker import CircuitBreaker, CircuitBreakerPolicy, CircuitState
from .._clock import Clock, get_clock
from .._events import Event
from .._failover._core import GroupCore
from .._failover._policy import PolicyConfig
from .._failover._provider import CallableProvider, provider_from_callable
from .._registry import Registry, default_registry
from .._validate import check_count, check_duration, message
from . import _lifecycle
from ._calls import ONE_ATTEMPT, CallView, PoolPlan
from ._discovery import Discovery
from ._endpoint import (
    Endpoint,
    EndpointDeregistered,
    EndpointHealthChanged,
    EndpointRegistered,
    HealthStatus,
    NoEndpointError,
)
from ._health import HealthCheck
from ._member import Member, Snapshot, build_snapshot
from ._stats import DEREGISTERED, HEALTH, REGISTERED, PoolStats, endpoint_stats, pool_events
from ._strategies import SelectionStrategy, Strategy, make_strategy

__all__ = ["EndpointPool"]

_UNHEALTHY = HealthStatus.UNHEALTHY


class EndpointPool:
    """The endpoints of one service: registered or discovered, health-checked, load-balanced.

    ``select(key)`` picks a usable endpoint with the strategy; ``execute(fn, ...)`` calls
    ``fn(endpoint, ...)`` and fails over to another endpoint on failure, on the failover
    engine. ``async with pool:`` / ``with pool:`` run the health checks and discovery
    refreshes in the background. Safe to change from other threads or tasks while calls
    run; selection takes no lock.

    Args:
        name: the pool's name; recorded in ``registry`` (``registry.pool(name)``) and
            reported by ``registry.health()``.
        endpoints: the first endpoints.
        strategy: "round_robin" (default), "random", "weighted", "least_connections",
            "health_based", "consistent_hash", "p2c_ewma", "zone_aware", or an object
            with ``select(endpoints, key) -> Endpoint``.
        discovery: where endpoints come from (``StaticDiscovery``, ``DnsSrvDiscovery``
            or any object with ``async resolve()``), refreshed in the background.
        health_check: an ``HttpHealthCheck``, ``TcpHealthCheck`` or
            ``CallableHealthCheck`` run in the background (and by ``check()``).
        breaker: a ``CircuitBreakerPolicy``: each endpoint gets its own breaker and is
            skipped while it is open (passive ejection). None: no breaker.
        zone: this process's zone, for "zone_aware".
        registry: where the pool is recorded and events go (default
            ``resiliency.registry``).
        clock: the ``Clock`` for latencies, breakers and the background loop (default:
            the process clock, read per call).
        rng: a ``random.Random`` for "random", "p2c_ewma" and the health-check jitter
            (seed it for reproducible tests).

    Raises:
        TypeError, ValueError: a bad argument (the message names it); ``ValueError``
            also when another pool has ``name`` in the registry, or two endpoints share
            an id.
    """

    def __init__(
        self,
        name: str,
        endpoints: Iterable[Endpoint] = (),
        *,
        strategy: str | SelectionStrategy = "round_robin",
        discovery: Discovery | None = None,
        health_check: HealthCheck | None = None,
        breaker: CircuitBreakerPolicy | None = None,
        zone: str | None = None,
        registry: Registry | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(message("name", "a non-empty str", name))
        if discovery is not None and not callable(getattr(discovery, "resolve", None)):
            raise TypeError(message("discovery", "an object with async resolve() or None", discovery))
        if health_check is not None and not isinstance(health_check, HealthCheck):
            accepted = "an HttpHealthCheck, TcpHealthCheck or CallableHealthCheck"
            raise TypeError(message("health_check", accepted, health_check))
        if breaker is not None and not isinstance(breaker, CircuitBreakerPolicy):
            raise TypeError(message("breaker", "a CircuitBreakerPolicy or None", breaker))
        if zone is not None and not isinstance(zone, str):
            raise TypeError(message("zone", "a str or None", zone))
        if rng is not None and not isinstance(rng, random.Random):
            raise TypeError(message("rng", "a random.Random or None", rng))
        registry = registry if registry is not None else default_registry
        self.name = name
        self.discovery = discovery
        self.health_check = health_check
        self.breaker_policy = breaker
        self.zone = zone
        self.clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._core = GroupCore(name, PolicyConfig(), None, registry, clock)
        self._lock = threading.RLock()
        self._members: dict[str, Member] = {}
        self._discovered: set[str] = set()
        self._version = 0
        self._snap: Snapshot = build_snapshot((), 0, self._now)
        self._strategy: Strategy = make_strategy(strategy, self._rng, zone, self._member_of)
        self._running: Any = None
        self._register_all(list(endpoints))
        registry.add("pool", name, self)

    @property
    def registry(self) -> Registry:
        """The registry the pool is recorded in."""
        return self._core.registry

    @property
    def strategy(self) -> str:
        """The strategy's name."""
        return self._strategy.name

    def __repr__(self) -> str:
        snap = self._snap
        counts = f"endpoints={len(snap.members)} usable={len(snap.usable)}"
        return f"<EndpointPool {self.name!r} strategy={self.strategy} {counts}>"

    # -- the snapshot ------------------------------------------------------------------

    def _now(self) -> float:
        return (self.clock or get_clock()).monotonic()

    def _member_of(self, endpoint: Endpoint) -> Member:
        return self._snap.by_id[endpoint.id]

    def _publish(self) -> None:
        """Rebuild and publish the snapshot (callers hold the lock)."""
        self._version += 1
        self._snap = build_snapshot(tuple(self._members.values()), self._version, self._now)

    def _republish(self) -> None:
        """Publish the snapshot again with fresh (equal) tuples, so caches keyed on them refresh.

        An answer that changes a status but not who is usable (UNKNOWN to HEALTHY, as
        1,000 endpoints do at start) costs a copy of the tuples, not a rebuild.
        """
        snap = self._snap
        tiers = tuple(tuple(m for m in tier) for tier in snap.tiers)  # new objects: tuple(t) is t
        self._version += 1
        self._snap = dataclasses.replace(snap, usable=tiers[0] if tiers else (), tiers=tiers, version=self._version)

    def _current(self) -> Snapshot:
        snap = self._snap
        if snap.recheck_at is not None and self._now() >= snap.recheck_at:
            with self._lock:  # an ejected endpoint's breaker lets a probe through now
                self._publish()
            snap = self._snap
        return snap

    def _record(self, *record: Any) -> None:
        self._core.ring.append(record)

    def _emit(self, event: Callable[[], Event]) -> None:
        registry = self._core.registry
        if registry.listeners:
            registry.emit(event())

    # -- membership --------------------------------------------------------------------

    def _new_member(self, endpoint: Endpoint) -> Member:
        breaker = None
        if self.breaker_policy is not None:
            breaker = CircuitBreaker(policy=self.breaker_policy, clock=self.clock, registry=self._core.registry)
            breaker.label = f"{self.name}/{endpoint.id}"  # named in events, private to the pool
            breaker.on_transition = lambda old, new: self._breaker_changed(endpoint.id, old, new)
        return Member(endpoint, breaker)

    def _breaker_changed(self, endpoint_id: str, old: CircuitState, new: CircuitState) -> None:
        """Passive ejection: an endpoint whose breaker opens leaves selection; it returns to probe."""
        with self._lock:
            member = self._members.get(endpoint_id)
            if member is None:
                return
            self._publish()
        if new is CircuitState.OPEN:
            before, after = member.status, _UNHEALTHY
        elif old is CircuitState.OPEN:
            before, after = _UNHEALTHY, member.status
        else:
            return
        self._record(HEALTH, endpoint_id, before, after, "breaker")
        self._emit(lambda: EndpointHealthChanged(self.name, endpoint_id, before, after, "breaker"))

    def _register_all(self, endpoints: list[Endpoint]) -> None:
        """Register ``endpoints`` with one snapshot rebuild (the constructor's endpoints)."""
        with self._lock:
            for endpoint in endpoints:
                if not isinstance(endpoint, Endpoint):
                    raise TypeError(message("endpoints", "a list of Endpoint", endpoint))
                if endpoint.id in self._members:
                    raise ValueError(f"endpoint {endpoint.id!r} is given twice to pool {self.name!r}")
                self._members[endpoint.id] = self._new_member(endpoint)
            self._publish()
        for endpoint in endpoints:
            self._record(REGISTERED, endpoint, False)
            self._emit(lambda e=endpoint: EndpointRegistered(self.name, e, False))  # type: ignore[misc]

    def register(self, endpoint: Endpoint) -> None:
        """Add ``endpoint`` to the pool (its status starts ``UNKNOWN``, and usable).

        Raises:
            TypeError: not an ``Endpoint``.
            ValueError: an endpoint with the same id is registered (use ``update``).
        """
        if not isinstance(endpoint, Endpoint):
            raise TypeError(message("endpoint", "an Endpoint", endpoint))
        with self._lock:
            if endpoint.id in self._members:
                raise ValueError(f"endpoint {endpoint.id!r} is already in pool {self.name!r}: use update() to change")
            self._members[endpoint.id] = self._new_member(endpoint)
            self._publish()
        self._record(REGISTERED, endpoint, False)
        self._emit(lambda: EndpointRegistered(self.name, endpoint, False))

    def update(self, endpoint: Endpoint) -> None:
        """Replace the endpoint with ``endpoint``'s id by ``endpoint``; its state and stats are kept.

        Raises:
            TypeError: not an ``Endpoint``.
            KeyError: no endpoint with that id (the message lists the known ones).
        """
        if not isinstance(endpoint, Endpoint):
            raise TypeError(message("endpoint", "an Endpoint", endpoint))
        with self._lock:
            self._find(endpoint.id).endpoint = endpoint
            self._publish()
        self._record(REGISTERED, endpoint, True)
        self._emit(lambda: EndpointRegistered(self.name, endpoint, True))

    def deregister(self, endpoint_id: str) -> Endpoint:
        """Remove endpoint ``endpoint_id``; calls already running on it finish.

        Returns:
            The removed ``Endpoint``.

        Raises:
            KeyError: no such endpoint (the message lists the known ones).
        """
        with self._lock:
            member = self._find(endpoint_id)
            del self._members[endpoint_id]
            self._discovered.discard(endpoint_id)
            self._publish()
        self._record(DEREGISTERED, endpoint_id)
        self._emit(lambda: EndpointDeregistered(self.name, endpoint_id))
        return member.endpoint

    def _find(self, endpoint_id: str) -> Member:
        member = self._snap.by_id.get(endpoint_id) if isinstance(endpoint_id, str) else None
        if member is None:
            known = ", ".join(self._snap.by_id) or "none"
            raise KeyError(f"no endpoint {endpoint_id!r} in pool {self.name!r} (known: {known})")
        return member

    def get(self, endpoint_id: str) -> Endpoint:
        """Return endpoint ``endpoint_id``.

        Raises:
            KeyError: no such endpoint (the message lists the known ones).
        """
        return self._find(endpoint_id).endpoint

    def status(self, endpoint_id: str) -> HealthStatus:
        """Return endpoint ``endpoint_id``'s health status (``UNHEALTHY`` while its breaker is open).

        Raises:
            KeyError: no such endpoint.
        """
        member = self._find(endpoint_id)
        if member.ejected_until(self._now()) is not None:
            return _UNHEALTHY
        return member.status

    def endpoints(self) -> list[Endpoint]:
        """Return every endpoint, in registration order."""
        return [m.endpoint for m in self._snap.members]

    def healthy(self) -> list[Endpoint]:
        """Return the usable endpoints (not unhealthy, breaker not open), lowest priority first.

        ``select`` chooses among those of the lowest priority; ``execute`` fails over to
        the next priority once those are exhausted.
        """
        return [m.endpoint for tier in self._current().tiers for m in tier]

    # -- selection ---------------------------------------------------------------------

    def select(self, key: Any = None) -> Endpoint:
        """Return the endpoint the strategy picks for a call with ``key``.

        Args:
            key: for "consistent_hash", the key (str, bytes or anything with a str());
                ignored by the other built-in strategies.

        Raises:
            NoEndpointError: no endpoint is usable.
        """
        snap = self._snap
        if snap.recheck_at is not None:
            snap = self._current()
        usable = snap.usable
        if not usable:
            raise self._none_usable(snap)
        return self._strategy.pick(usable, key).endpoint

    def _none_usable(self, snap: Snapshot) -> NoEndpointError:
        if not snap.members:
            return NoEndpointError(f"pool {self.name!r} has no endpoints")
        states = ", ".join(f"{m.endpoint.id}={self.status(m.endpoint.id).value}" for m in snap.members)
        return NoEndpointError(f"pool {self.name!r} has no usable endpoint ({states})")

    def _plan(self, key: Any, attempts: int | None, op: str, is_async: bool) -> PoolPlan:
        snap = self._snap
        if snap.recheck_at is not None:
            snap = self._current()
        usable = snap.usable
        if not usable:
            raise self._none_usable(snap)
        size = sum(map(len, snap.tiers)) if attempts is None else check_count("attempts", attempts)
        return PoolPlan(self._core, self._strategy, snap.tiers, key, op, is_async, size)

    # -- calls -------------------------------------------------------------------------

    async def execute(
        self, fn: Callable[..., Any], /, *args: Any, key: Any = None, attempts: int | None = None, **kwargs: Any
    ) -> Any:
        """Call ``fn(endpoint, *args, **kwargs)`` on the chosen endpoint, failing over to others.

        ``fn`` may be async or sync (a sync one runs in the event loop's thread). On a
        failure the next endpoint is the strategy's choice among those not tried yet;
        no endpoint is tried twice until every usable one was; none starts after the
        caller's deadline (``resiliency.remaining()``).

        Args:
            fn: the call; its first argument is the ``Endpoint``.
            key: the selection key (see ``select``).
            attempts: endpoints to try at most (int >= 1; None: each usable one once).

        Returns:
            ``fn``'s result on the first endpoint that succeeds.

        Raises:
            NoEndpointError: no endpoint is usable.
            AllProvidersFailedError: every attempt failed (``provider`` is the endpoint id).
        """
        op = getattr(fn, "__name__", "call")
        return await CallView(self._core, self._plan(key, attempts, op, True)).execute(op, fn, *args, **kwargs)

    def execute_sync(
        self, fn: Callable[..., Any], /, *args: Any, key: Any = None, attempts: int | None = None, **kwargs: Any
    ) -> Any:
        """Sync form of ``execute`` for a sync ``fn``.

        Raises:
            NoEndpointError, AllProvidersFailedError: as ``execute``.
        """
        op = getattr(fn, "__name__", "call")
        return CallView(self._core, self._plan(key, attempts, op, False)).execute_sync(op, fn, *args, **kwargs)

    async def execute_any(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        key: Any = None,
        attempts: int | None = None,
        hedge_delay: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call ``fn`` on several endpoints at once; the first success wins, the others are cancelled.

        Args:
            key, attempts: as ``execute`` (``attempts``: how many endpoints race).
            hedge_delay: seconds (>= 0) to wait for one endpoint before starting the
                next (None: all start at once).

        Raises:
            NoEndpointError, AllProvidersFailedError: as ``execute``.
        """
        hedge = check_duration("hedge_delay", hedge_delay, allow_none=True)
        op = getattr(fn, "__name__", "call")
        view = CallView(self._core, self._plan(key, attempts, op, True), hedge)
        return await view.execute_any(op, fn, *args, **kwargs)

    def execute_any_sync(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        key: Any = None,
        attempts: int | None = None,
        hedge_delay: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Sync form of ``execute_any``: the endpoints run on threads; a loser is abandoned.

        Raises:
            NoEndpointError, AllProvidersFailedError: as ``execute``.
        """
        hedge = check_duration("hedge_delay", hedge_delay, allow_none=True)
        op = getattr(fn, "__name__", "call")
        view = CallView(self._core, self._plan(key, attempts, op, False), hedge)
        return view.execute_any_sync(op, fn, *args, **kwargs)

    def as_provider(self, name: str | None = None, *, op: str, fn: Callable[..., Any]) -> CallableProvider:
        """Return a failover provider that runs ``op`` as ``fn(endpoint, *args, **kwargs)`` through this pool.

        ``group.register(pool, name=..., op=..., fn=...)`` calls this. An async ``fn``
        makes an async provider (``pool.execute``), a sync one a sync provider
        (``pool.execute_sync``). Its inline retry policy is one attempt (the pool
        already fails over across its endpoints); the group's ``per_op`` or
        ``per_provider`` policy may ask for more.

        Args:
            name: the provider's name in the group (default: the pool's name).
            op: the op it implements.
            fn: the call made on each endpoint.
        """
        from .._decorators import is_async_callable

        if not callable(fn):
            raise TypeError(message("fn", "a callable (endpoint, *args, **kwargs)", fn))
        if is_async_callable(fn):

            async def run(*args: Any, **kwargs: Any) -> Any:
                return await self.execute(fn, *args, **kwargs)

        else:

            def run(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                return self.execute_sync(fn, *args, **kwargs)

        # The pool already fails over across its endpoints: one attempt per group call
        # unless the group's per_op / per_provider policy asks for more.
        return provider_from_callable(name or self.name, run, op, policy=ONE_ATTEMPT)

    # -- health ------------------------------------------------------------------------

    def _apply_answer(self, member: Member, answer: HealthStatus, check: HealthCheck) -> HealthStatus:
        """Fold one probe answer into ``member``'s status; publish and report a change."""
        return _lifecycle.apply_answer(self, member, answer, check)

    async def check(self, endpoint_id: str) -> HealthStatus:
        """Probe endpoint ``endpoint_id`` once with the health check and return its status.

        Without a health check the status is the passive one (``UNHEALTHY`` while its
        breaker is open).

        Raises:
            KeyError: no such endpoint.
        """
        member = self._find(endpoint_id)
        check = self.health_check
        if check is not None:
            self._apply_answer(member, await check.probe(member.endpoint), check)
        return self.status(endpoint_id)

    async def check_all(self) -> dict[str, HealthStatus]:
        """Probe every endpoint at once; return each endpoint id's status."""
        return await _lifecycle.check_all(self)

    def check_sync(self, endpoint_id: str) -> HealthStatus:
        """Sync form of ``check`` (not from inside a running event loop)."""
        status: HealthStatus = _lifecycle.blocking(self, self.check, endpoint_id)
        return status

    def check_all_sync(self) -> dict[str, HealthStatus]:
        """Sync form of ``check_all`` (not from inside a running event loop)."""
        result: dict[str, HealthStatus] = _lifecycle.blocking(self, self.check_all)
        return result

    # -- discovery ---------------------------------------------------------------------

    async def refresh(self) -> list[Endpoint]:
        """Resolve the discovery now and bring the pool in line: new endpoints join, gone ones leave.

        Endpoints registered by hand stay. When the resolve fails, the pool keeps its
        endpoints and the error is raised.

        Returns:
            The endpoints the discovery returned.

        Raises:
            TypeError: the pool has no discovery.
            Exception: whatever the discovery raised.
        """
        return await _lifecycle.refresh(self)

    def refresh_sync(self) -> list[Endpoint]:
        """Sync form of ``refresh`` (not from inside a running event loop)."""
        found: list[Endpoint] = _lifecycle.blocking(self, self.refresh)
        return found

    # -- background --------------------------------------------------------------------

    async def __aenter__(self) -> EndpointPool:
        """Resolve the discovery, then run health checks and refreshes in the background."""
        await _lifecycle.start(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the background work."""
        await _lifecycle.stop(self)

    def __enter__(self) -> EndpointPool:
        """Sync form of ``async with``: the background work runs on a thread of its own."""
        _lifecycle.start_sync(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the background work and its thread."""
        _lifecycle.stop_sync(self)

    # -- reporting ---------------------------------------------------------------------

    def stats(self) -> PoolStats:
        """Return per endpoint: status, breaker state, calls, failures, in flight, latency EWMA, p50/p95."""
        snap = self._current()
        return PoolStats(
            self.name,
            self.strategy,
            tuple(endpoint_stats(m) for m in snap.members),
            tuple(m.endpoint.id for m in snap.usable),
        )

    def events(self, limit: int = 100) -> list[Event]:
        """Return the most recent events, oldest first, at most ``limit`` (int >= 0; 1,000 are kept).

        Attempts (``ProviderSucceeded``, ``ProviderFailed``, ``AllProvidersFailed``, with
        the endpoint id as provider), ``EndpointRegistered``, ``EndpointDeregistered``
        and ``EndpointHealthChanged``.
        """
        limit = check_count("limit", limit, minimum=0)
        records = list(self._core.ring)
        return pool_events(self.name, records[len(records) - limit :] if limit else [])

    def health_issue(self) -> str | None:
        """For ``registry.health()``: a line when some endpoint is unhealthy or ejected, else None.

        A pool's trouble makes the report "degraded": one dependency is down, the rest
        of the service may still serve (a failover group may have another provider).
        """
        return _lifecycle.health_issue(self)
