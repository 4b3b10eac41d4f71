"""Health checks: the threshold rule, real HTTP and TCP probes, background checking, events."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from servers.dns_server import HealthServer

from resiliency import (
    CallableHealthCheck,
    Endpoint,
    EndpointHealthChanged,
    EndpointPool,
    HealthStatus,
    HttpHealthCheck,
    Registry,
    TcpHealthCheck,
)
from resiliency._pool._health import next_status

H, D, U, K = HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.UNHEALTHY, HealthStatus.UNKNOWN


def run(current: HealthStatus, answers: list[HealthStatus], healthy: int = 2, unhealthy: int = 3) -> list[HealthStatus]:
    ok = fail = 0
    seen = []
    for answer in answers:
        current, ok, fail = next_status(current, answer, ok, fail, healthy, unhealthy)
        seen.append(current)
    return seen


def test_threshold_rule() -> None:
    assert run(K, [U]) == [U]  # the first answer decides an unknown endpoint
    assert run(K, [H]) == [H]
    assert run(H, [U, U, U]) == [H, H, U]  # three in a row take it out
    assert run(H, [U, U, H, U, U]) == [H, H, H, H, H]  # a success resets the streak
    assert run(U, [H, H]) == [U, H]  # two in a row bring it back
    assert run(U, [H, U, H, H]) == [U, U, U, H]
    assert run(H, [D, H]) == [D, H]  # usable states change at once
    assert run(U, [D, D]) == [U, D]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"interval": 0}, ValueError, "interval"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"healthy_threshold": 0}, ValueError, "healthy_threshold"),
        ({"unhealthy_threshold": 1.5}, TypeError, "unhealthy_threshold"),
        ({"jitter": 2}, ValueError, "jitter"),
        ({"path": "health"}, ValueError, "path"),
        ({"expect": "200"}, TypeError, "expect"),
    ],
)
def test_bad_settings_name_the_parameter(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        HttpHealthCheck(**kwargs)


def test_callable_check_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="fn"):
        CallableHealthCheck(42)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- real probes ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_http_check_against_real_servers(health_servers: Callable[[int], list[HealthServer]]) -> None:
    ok, failing = health_servers(2)
    failing.status = 503
    check = HttpHealthCheck(timeout=5.0)
    assert await check.probe(Endpoint("ok", ok.address)) is H
    assert await check.probe(Endpoint("bad", failing.address)) is U
    assert await check.probe(Endpoint("gone", f"127.0.0.1:{closed_port()}")) is U
    teapot = HttpHealthCheck("/other", expect={200}, timeout=5.0)
    assert await teapot.probe(Endpoint("ok", failing.address)) is H  # only /health answers 503
    assert ok.hits == 1


@pytest.mark.anyio
async def test_tcp_check(health_servers: Callable[[int], list[HealthServer]]) -> None:
    (server,) = health_servers(1)
    check = TcpHealthCheck(timeout=5.0)
    assert await check.probe(Endpoint("up", server.address)) is H
    server.stop()
    assert await check.probe(Endpoint("down", server.address)) is U


@pytest.mark.anyio
async def test_callable_check_sync_async_and_errors() -> None:
    ep = Endpoint("a", "h:1")

    async def degraded(endpoint: Endpoint) -> HealthStatus:
        return D

    def boom(endpoint: Endpoint) -> bool:
        raise RuntimeError("probe failed")

    assert await CallableHealthCheck(degraded).probe(ep) is D
    assert await CallableHealthCheck(lambda e: True).probe(ep) is H
    assert await CallableHealthCheck(lambda e: False).probe(ep) is U
    assert await CallableHealthCheck(boom).probe(ep) is U
    assert await CallableHealthCheck(lambda e: "yes").probe(ep) is U  # a wrong answer type is a failure

    async def hangs(endpoint: Endpoint) -> HealthStatus:
        await anyio.sleep(10)
        return H

    assert await CallableHealthCheck(hangs, timeout=0.01).probe(ep) is U


# -- check one, check all ---------------------------------------------------------------


@pytest.mark.anyio
async def test_check_and_check_all(registry: Registry, health_servers: Callable[[int], list[HealthServer]]) -> None:
    a, b, c = health_servers(3)
    c.status = 500
    pool = EndpointPool(
        "web",
        [Endpoint("a", a.address), Endpoint("b", b.address), Endpoint("c", c.address)],
        health_check=HttpHealthCheck(timeout=5.0),
        registry=registry,
    )
    assert pool.status("a") is K
    assert await pool.check("a") is H
    assert await pool.check_all() == {"a": H, "b": H, "c": U}
    assert [e.id for e in pool.healthy()] == ["a", "b"]
    changes = [e for e in pool.events() if isinstance(e, EndpointHealthChanged)]
    assert {(e.endpoint_id, e.old, e.new) for e in changes} == {("a", K, H), ("b", K, H), ("c", K, U)}
    assert registry.health().status == "degraded"


def test_check_sync_twins(registry: Registry, health_servers: Callable[[int], list[HealthServer]]) -> None:
    (server,) = health_servers(1)
    pool = EndpointPool(
        "sync", [Endpoint("s", server.address)], health_check=TcpHealthCheck(timeout=5.0), registry=registry
    )
    assert pool.check_sync("s") is H
    server.stop()
    assert pool.check_all_sync() == {"s": H}  # one failure is below unhealthy_threshold (3)
    assert pool.check_sync("s") is H
    assert pool.check_sync("s") is U


def test_check_without_health_check_is_the_passive_status(registry: Registry) -> None:
    pool = EndpointPool("passive", [Endpoint("a", "h:1")], registry=registry)
    assert pool.check_sync("a") is K
    with pytest.raises(KeyError):
        pool.check_sync("nope")


# -- in the background ------------------------------------------------------------------


def pool_threads() -> set[threading.Thread]:
    """Live threads, without the test HTTP servers' short-lived request threads."""
    return {t for t in threading.enumerate() if "process_request" not in t.name}


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def await_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_background_checks_flip_health_when_a_server_dies_and_returns(
    registry: Registry, health_servers: Callable[[int], list[HealthServer]]
) -> None:
    servers = health_servers(3)
    check = HttpHealthCheck(interval=0.02, timeout=2.0, healthy_threshold=2, unhealthy_threshold=2)
    pool = EndpointPool(
        "bg", [Endpoint(f"s{i}", s.address) for i, s in enumerate(servers)], health_check=check, registry=registry
    )
    async with pool:
        await await_for(lambda: all(pool.status(f"s{i}") is H for i in range(3)))
        servers[1].stop()
        await await_for(lambda: pool.status("s1") is U)
        assert [e.id for e in pool.healthy()] == ["s0", "s2"]
        assert {pool.select().id for _ in range(10)} == {"s0", "s2"}
        servers[1].start()
        await await_for(lambda: pool.status("s1") is H)
    changes = [(e.endpoint_id, e.new) for e in pool.events(1000) if isinstance(e, EndpointHealthChanged)]
    assert ("s1", U) in changes
    assert changes[-1] == ("s1", H)


def test_with_pool_runs_checks_on_a_thread_and_stops_it(
    no_thread_leak: None, registry: Registry, health_servers: Callable[[int], list[HealthServer]]
) -> None:
    (server,) = health_servers(1)
    server.status = 503
    check = HttpHealthCheck(interval=0.02, timeout=2.0, unhealthy_threshold=1)
    pool = EndpointPool("thread", [Endpoint("x", server.address)], health_check=check, registry=registry)
    before = pool_threads()
    with pool:
        assert len(pool_threads() - before) == 1  # the background thread
        wait_for(lambda: pool.status("x") is U)
        assert pool.check_sync("x") is U  # through the running background thread
        server.status = 200
        wait_for(lambda: pool.status("x") is H)
        pool.register(Endpoint("late", f"127.0.0.1:{closed_port()}"))
        wait_for(lambda: pool.status("late") is U)  # registered while running: probed too
    assert pool_threads() - before == set()  # stopped and joined on exit


@pytest.mark.anyio
async def test_many_endpoints_are_probed_spread_over_the_interval(registry: Registry) -> None:
    moments: list[float] = []

    def record(endpoint: Endpoint) -> bool:
        moments.append(time.monotonic())
        return True

    check = CallableHealthCheck(record, interval=0.5, jitter=0.1)
    endpoints = [Endpoint(f"e{i}", f"10.1.{i // 250}.{i % 250 + 1}:80") for i in range(300)]
    pool = EndpointPool("spread", endpoints, health_check=check, registry=registry)
    async with pool:
        await await_for(lambda: all(pool.status(e.id) is H for e in endpoints))
    first = sorted(moments[:300])
    buckets = {int((t - first[0]) / 0.05) for t in first}
    assert len(buckets) >= 5  # not all at one instant: spread over the 0.5 s interval


@pytest.mark.anyio
async def test_check_all_survives_an_endpoint_leaving_during_the_check(registry: Registry) -> None:
    pool: EndpointPool

    async def leaves(endpoint: Endpoint) -> HealthStatus:
        if endpoint.id == "a":
            pool.deregister("b")
        await anyio.sleep(0)
        return H

    pool = EndpointPool(
        "leaving",
        [Endpoint("a", "h:1"), Endpoint("b", "h:2")],
        health_check=CallableHealthCheck(leaves),
        registry=registry,
    )
    assert await pool.check_all() == {"a": H}


@pytest.mark.anyio
async def test_background_work_runs_once_at_a_time(registry: Registry) -> None:
    pool = EndpointPool(
        "once",
        [Endpoint("a", "h:1")],
        health_check=CallableHealthCheck(lambda e: True, interval=0.02),
        registry=registry,
    )
    async with pool:
        with pytest.raises(RuntimeError, match="already running"):
            await pool.__aenter__()
        with pytest.raises(RuntimeError, match="already running"):
            pool.__enter__()
    async with pool:  # and again after it stopped
        await await_for(lambda: pool.status("a") is H)


# -- kept-alive connections -------------------------------------------------------------


@pytest.mark.anyio
async def test_background_http_checks_keep_the_connection_open(
    anyio_backend: str, registry: Registry, health_servers: Callable[..., list[HealthServer]]
) -> None:
    (server,) = health_servers(1, keep_alive=True)
    check = HttpHealthCheck(interval=0.01, timeout=2.0)
    pool = EndpointPool("ka", [Endpoint("k", server.address)], health_check=check, registry=registry)
    async with pool:
        await await_for(lambda: server.hits >= 8)
    assert pool.status("k") is H
    assert server.connections == 1  # one connection for every probe, on asyncio and trio


@pytest.mark.anyio
async def test_a_kept_connection_the_server_dropped_is_replaced_within_the_probe(
    registry: Registry, health_servers: Callable[..., list[HealthServer]]
) -> None:
    (server,) = health_servers(1, keep_alive=True, drop_every=2)
    check = HttpHealthCheck(interval=0.01, timeout=2.0, unhealthy_threshold=1)
    pool = EndpointPool("drop", [Endpoint("d", server.address)], health_check=check, registry=registry)
    async with pool:
        await await_for(lambda: server.hits >= 10)
    assert server.connections >= 4
    flips = [e.new for e in pool.events() if isinstance(e, EndpointHealthChanged)]
    assert flips == [H]  # never unhealthy: a dropped connection is not a failed probe


@pytest.mark.anyio
async def test_check_opens_a_connection_per_probe(
    registry: Registry, health_servers: Callable[..., list[HealthServer]]
) -> None:
    (server,) = health_servers(1, keep_alive=True)
    pool = EndpointPool(
        "one", [Endpoint("o", server.address)], health_check=HttpHealthCheck(timeout=2.0), registry=registry
    )
    for _ in range(3):
        assert await pool.check("o") is H
    assert server.connections == 3  # nothing is left open outside the background loop


def test_kept_connections_follow_the_endpoint_address() -> None:
    from resiliency._pool._probes import Connections

    connections = Connections()
    first, peer = socket.socketpair()
    connections.give("a", "10.0.0.1:80", first)
    assert connections.take("a", "10.0.0.2:80") is None  # the endpoint moved: closed, not reused
    assert first.fileno() == -1
    second, peer2 = socket.socketpair()
    connections.give("a", "10.0.0.1:80", second)
    assert connections.take("a", "10.0.0.1:80") is second
    connections.give("a", "10.0.0.1:80", second)
    connections.close()
    assert second.fileno() == -1
    for s in (peer, peer2):
        s.close()
