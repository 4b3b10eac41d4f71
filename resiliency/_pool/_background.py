"""The pool's background work: health probes on a schedule and discovery refreshes.

``run_background(pool)`` runs until cancelled. Health probes are kept in a heap by due
time: each endpoint's first probe falls at a random point of the first interval and
each next one ``interval * (1 ± jitter)`` later, so 1,000 endpoints are spread over the
interval rather than probed at one instant. The loop wakes at most every
``MIN_TICK`` seconds and starts every probe that is due, one task each.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from .._clock import get_clock
from .._failover._native import _settle as settle
from ._endpoint import HealthStatus
from ._probes import Connections

if TYPE_CHECKING:
    from ._health import HealthCheck
    from ._member import Member
    from ._pool import EndpointPool

__all__ = ["MIN_TICK", "run_background"]

logger = logging.getLogger("resiliency")
_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio

MIN_TICK = 0.05
"""Shortest sleep of the health loop, in seconds: probes due within it start together."""

IDLE_TICK = 0.5
"""Longest sleep of the health loop, so endpoints registered meanwhile are seen soon."""


async def run_background(pool: EndpointPool) -> None:
    """Run the pool's health checks and discovery refreshes until cancelled."""
    async with anyio.create_task_group() as tg:
        if pool.discovery is not None and getattr(pool.discovery, "refresh", None):
            tg.start_soon(_discovery_loop, pool)
        if pool.health_check is not None:
            tg.start_soon(_health_loop, pool, pool.health_check)


async def _discovery_loop(pool: EndpointPool) -> None:
    every = float(getattr(pool.discovery, "refresh", 0.0))
    while True:
        await (pool.clock or get_clock()).asleep(every)
        try:
            await pool.refresh()
        except Exception as exc:  # the last known endpoints stay; the next refresh may work
            logger.warning("endpoint pool %r: refresh failed, keeping the last known endpoints: %r", pool.name, exc)


async def _probe(pool: EndpointPool, check: HealthCheck, member: Member, connections: Connections) -> None:
    try:
        answer = await check.probe(member.endpoint, connections)
    finally:
        member.probing = False
    pool._apply_answer(member, answer, check)


async def _probe_native(pool: EndpointPool, check: HealthCheck, member: Member, connections: Connections) -> None:
    """``_probe`` as a plain asyncio task: ``asyncio.timeout`` instead of an anyio cancel scope."""
    try:
        try:
            async with asyncio.timeout(check.timeout):
                answer = await check._probe(member.endpoint, connections)
        except Exception:  # as HealthCheck.probe: an error or a timeout is an unhealthy answer
            answer = HealthStatus.UNHEALTHY
    finally:
        member.probing = False
    pool._apply_answer(member, answer, check)


async def _health_loop(pool: EndpointPool, check: HealthCheck) -> None:
    connections = Connections()  # kept-alive HTTP connections, closed when the loop ends
    try:
        async with anyio.create_task_group() as tg:
            await _schedule(pool, check, tg, connections)
    finally:
        connections.close()


async def _schedule(pool: EndpointPool, check: HealthCheck, tg: anyio.abc.TaskGroup, connections: Connections) -> None:
    """Start each endpoint's probes when they are due, until cancelled."""
    # On asyncio each probe is a plain task (a measured fast path: an anyio task and
    # cancel scope per probe were a third of the loop's CPU at 1,000 probes a second);
    # they are cancelled and awaited when the loop ends.
    loop = asyncio.get_running_loop() if _running_loop() is not None else None
    tasks: set[asyncio.Task[None]] = set()
    try:
        await _run_schedule(pool, check, tg, connections, loop, tasks)
    finally:
        await settle(list(tasks))


async def _run_schedule(
    pool: EndpointPool,
    check: HealthCheck,
    tg: anyio.abc.TaskGroup,
    connections: Connections,
    loop: asyncio.AbstractEventLoop | None,
    tasks: set[asyncio.Task[None]],
) -> None:
    rng = pool._rng
    interval, jitter = check.interval, check.jitter
    heap: list[tuple[float, int, Member]] = []
    scheduled: set[Member] = set()
    seq = 0
    seen_version = -1
    while True:
        clock = pool.clock or get_clock()
        now = clock.monotonic()
        snap = pool._snap
        if snap.version != seen_version:  # new members: first probe somewhere in the first interval
            seen_version = snap.version
            for member in snap.members:
                if member not in scheduled:
                    scheduled.add(member)
                    seq += 1
                    heapq.heappush(heap, (now + rng.random() * interval, seq, member))
        while heap and heap[0][0] <= now:
            _, _, member = heapq.heappop(heap)
            if snap.by_id.get(member.endpoint.id) is not member:
                scheduled.discard(member)  # deregistered (or replaced)
                connections.discard(member.endpoint.id)
                continue
            if not member.probing:
                member.probing = True
                if loop is None:
                    tg.start_soon(_probe, pool, check, member, connections)
                else:
                    task = loop.create_task(_probe_native(pool, check, member, connections))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            seq += 1
            heapq.heappush(heap, (now + interval * (1.0 + jitter * (2.0 * rng.random() - 1.0)), seq, member))
        wait = (heap[0][0] - now) if heap else IDLE_TICK
        await clock.asleep(min(max(wait, MIN_TICK), IDLE_TICK))
