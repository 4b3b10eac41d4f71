"""The endpoint-pool scenario: three real loopback servers, one killed and restarted.

A weighted pool (3:2:1) with an HTTP health check probes the servers in the background
while calls run. One server is stopped: calls to it fail over at once, two failed probes
later it is out of the pool; it is started again on the same port and two good probes
later it is back. The table shows each endpoint's health history and the calls it
served; the verdict the distribution in each phase.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx

from .._failover import FailoverGroup
from .._pool import Endpoint, EndpointPool, HealthStatus, HttpHealthCheck
from .._registry import Registry
from ._tracker import Row, Tracker

__all__ = ["POOL_EXPLAINS", "pool_scenario"]

POOL_EXPLAINS = "EndpointPool: health checks take a killed server out and bring it back"
WEIGHTS = {"a": 3.0, "b": 2.0, "c": 1.0}
CALLS = 60


class _Server:
    """A loopback HTTP server answering 200 everywhere, restartable on its port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> _Server:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


async def _phase(pool: EndpointPool, client: httpx.AsyncClient, rows: dict[str, Row], calls: int) -> Counter[str]:
    async def fetch(endpoint: Endpoint) -> str:
        response = await client.get(f"http://{endpoint.address}/")
        response.raise_for_status()
        return endpoint.id

    served: Counter[str] = Counter()
    for _ in range(calls):
        winner = await pool.execute(fetch)
        served[winner] += 1
        row = rows[winner]
        row.calls += 1  # calls this endpoint served (each one request, one attempt)
        row.attempts += 1
        row.requests += 1
        _show_health(pool, rows)
    return served


def _show_health(pool: EndpointPool, rows: dict[str, Row]) -> None:
    for endpoint_id, row in rows.items():
        status = pool.status(endpoint_id).value
        if not row.history or row.history[-1] != status:
            row.history.append(status)
        row.outcome = f"{status}, served {row.attempts}"
        row.ok = status == "healthy"


async def _until(pool: EndpointPool, rows: dict[str, Row], endpoint_id: str, status: HealthStatus) -> float:
    started = time.perf_counter()
    with anyio.fail_after(10):
        while pool.status(endpoint_id) is not status:
            _show_health(pool, rows)
            await anyio.sleep(0.01)
    _show_health(pool, rows)
    return (time.perf_counter() - started) * 1000


def _share(served: Counter[str]) -> str:
    return "/".join(str(served.get(name, 0)) for name in WEIGHTS)


async def pool_scenario(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """An endpoint pool of real loopback servers: one killed and restarted while calls run."""
    servers = {name: _Server().start() for name in WEIGHTS}
    endpoints = [Endpoint(n, f"127.0.0.1:{s.port}", weight=WEIGHTS[n]) for n, s in servers.items()]
    check = HttpHealthCheck("/health", interval=0.05, timeout=1.0, healthy_threshold=2, unhealthy_threshold=2)
    pool = EndpointPool("api", endpoints, strategy="weighted", health_check=check, registry=Registry())
    tracker.begin(tracker.title, list(WEIGHTS))
    rows = tracker.rows
    for name, row in rows.items():
        row.started_ms = tracker.elapsed_ms()
        row.provider = f"{name} (weight {WEIGHTS[name]:g}, :{servers[name].port})"
    try:
        async with httpx.AsyncClient(timeout=2.0) as client, pool:
            for name in WEIGHTS:
                await _until(pool, rows, name, HealthStatus.HEALTHY)
            before = await _phase(pool, client, rows, CALLS)
            servers["b"].stop()
            meanwhile = await _phase(pool, client, rows, 6)  # b fails, calls fail over to a and c
            out_ms = await _until(pool, rows, "b", HealthStatus.UNHEALTHY)
            down = await _phase(pool, client, rows, CALLS)
            servers["b"].start()
            back_ms = await _until(pool, rows, "b", HealthStatus.HEALTHY)
            after = await _phase(pool, client, rows, CALLS)
    finally:
        for server in servers.values():
            server.stop()
    return (
        f"weighted 3:2:1, served a/b/c: {_share(before)} before; b killed: calls failed over "
        f"({_share(meanwhile)}), b unhealthy after {out_ms:.0f} ms, then {_share(down)}; "
        f"b restarted: healthy after {back_ms:.0f} ms, then {_share(after)}"
    )
