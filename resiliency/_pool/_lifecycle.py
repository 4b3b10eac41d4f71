"""The pool's health answers, discovery refreshes and background start and stop.

``EndpointPool``'s methods of the same names delegate here, keeping the pool module to
membership, selection and calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread

from ._background import run_background
from ._endpoint import Endpoint, EndpointHealthChanged, HealthStatus
from ._health import HealthCheck, next_status
from ._member import Member
from ._stats import HEALTH

if TYPE_CHECKING:
    from ._pool import EndpointPool

__all__ = [
    "apply_answer",
    "blocking",
    "check_all",
    "health_issue",
    "refresh",
    "start",
    "start_sync",
    "stop",
    "stop_sync",
]

logger = logging.getLogger("resiliency")

_UNHEALTHY = HealthStatus.UNHEALTHY


def apply_answer(pool: EndpointPool, member: Member, answer: HealthStatus, check: HealthCheck) -> HealthStatus:
    """Fold one probe answer into ``member``'s status (``next_status``); publish and report a change."""
    with pool._lock:
        old = member.status
        new, member.ok_streak, member.fail_streak = next_status(
            old, answer, member.ok_streak, member.fail_streak, check.healthy_threshold, check.unhealthy_threshold
        )
        if new is old:
            return new
        member.status = new
        if pool._members.get(member.endpoint.id) is member:
            if (old is _UNHEALTHY) is (new is _UNHEALTHY):
                pool._republish()  # same members usable: only the strategies' caches must see it
            else:
                pool._publish()
    endpoint_id = member.endpoint.id
    pool._record(HEALTH, endpoint_id, old, new, "check")
    pool._emit(lambda: EndpointHealthChanged(pool.name, endpoint_id, old, new))
    return new


async def check_all(pool: EndpointPool) -> dict[str, HealthStatus]:
    """Probe every endpoint at once; return each endpoint id's status."""
    members = pool._snap.members

    async def check_one(endpoint_id: str) -> None:
        try:
            await pool.check(endpoint_id)
        except KeyError:  # deregistered meanwhile
            pass

    async with anyio.create_task_group() as tg:
        for member in members:
            tg.start_soon(check_one, member.endpoint.id)
    return {m.endpoint.id: pool.status(m.endpoint.id) for m in members if m.endpoint.id in pool._snap.by_id}


def blocking(pool: EndpointPool, fn: Callable[..., Any], *args: Any) -> Any:
    """Run the coroutine function ``fn(*args)`` from sync code: on the pool's background thread if running."""
    portal = pool._running[1] if isinstance(pool._running, tuple) else None
    if portal is not None:
        return portal.call(fn, *args)
    return anyio.run(fn, *args)


async def refresh(pool: EndpointPool) -> list[Endpoint]:
    """Resolve the pool's discovery; register the new endpoints, update the changed, drop the gone.

    Raises:
        TypeError: the pool has no discovery.
        Exception: whatever the discovery raised (the endpoints are kept).
    """
    if pool.discovery is None:
        raise TypeError(f"pool {pool.name!r} has no discovery to refresh")
    found = list(await pool.discovery.resolve())
    fresh = {e.id: e for e in found}
    with pool._lock:
        gone = [i for i in pool._discovered if i not in fresh]
        pool._discovered = set(fresh)
    for endpoint_id in gone:
        if endpoint_id in pool._snap.by_id:
            pool.deregister(endpoint_id)
    for endpoint in fresh.values():
        known = pool._snap.by_id.get(endpoint.id)
        if known is None:
            pool.register(endpoint)
        elif known.endpoint != endpoint:
            pool.update(endpoint)
    return found


async def _first_refresh(pool: EndpointPool) -> None:
    if pool.discovery is None:
        return
    try:
        await pool.refresh()
    except Exception as exc:
        logger.warning("endpoint pool %r: discovery failed at start: %r", pool.name, exc)


def _not_running(pool: EndpointPool) -> None:
    if pool._running is not None:
        raise RuntimeError(f"pool {pool.name!r} is already running its background work")


async def start(pool: EndpointPool) -> None:
    """Resolve the discovery, then start the background work in a task group of its own."""
    _not_running(pool)
    await _first_refresh(pool)
    tg = anyio.create_task_group()
    await tg.__aenter__()
    tg.start_soon(run_background, pool)
    pool._running = tg


async def stop(pool: EndpointPool) -> None:
    """Cancel the background work and wait for it."""
    tg, pool._running = pool._running, None
    if tg is None:
        return
    tg.cancel_scope.cancel()
    await tg.__aexit__(None, None, None)


def start_sync(pool: EndpointPool) -> None:
    """``start`` on a thread of its own (an anyio blocking portal)."""
    _not_running(pool)
    manager = anyio.from_thread.start_blocking_portal()
    portal = manager.__enter__()
    try:
        portal.call(_first_refresh, pool)
        future = portal.start_task_soon(run_background, pool)
    except BaseException:
        manager.__exit__(None, None, None)
        raise
    pool._running = (manager, portal, future)


def stop_sync(pool: EndpointPool) -> None:
    """Cancel the background work and join its thread."""
    if not isinstance(pool._running, tuple):
        return
    manager, _, future = pool._running
    pool._running = None
    future.cancel()
    manager.__exit__(None, None, None)


def health_issue(pool: EndpointPool) -> str | None:
    """The pool's line in ``registry.health()``: some endpoint unhealthy or ejected (or none usable)."""
    snap = pool._current()
    total = len(snap.members)
    usable = sum(1 for m in snap.members if pool.status(m.endpoint.id) is not _UNHEALTHY)
    if total and not usable:
        return f"pool {pool.name!r} has no usable endpoint (0/{total})"
    if usable < total:
        return f"pool {pool.name!r} has {total - usable} of {total} endpoints unhealthy or ejected"
    return None
