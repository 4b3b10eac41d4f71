"""``FaultProxy`` between a real client (httpx, raw sockets) and a real loopback server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import resiliency
from resiliency import cache_fallback
from resiliency.testing import FakeClock, FaultProxy

BODY = b"x" * 200_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = BODY if self.path == "/big" else b'{"price": 10}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def proxy(upstream: tuple[str, int]) -> Iterator[FaultProxy]:
    with FaultProxy(*upstream) as p:
        yield p


def test_it_forwards_both_ways(proxy: FaultProxy) -> None:
    with httpx.Client() as client:
        assert client.get(f"http://{proxy.address}/big").content == BODY
    assert proxy.bytes_forwarded > len(BODY)
    assert proxy.address == f"127.0.0.1:{proxy.port}"


def test_latency_delays_each_exchange(proxy: FaultProxy) -> None:
    proxy.latency(0.05)
    with httpx.Client() as client:
        start = time.perf_counter()
        client.get(f"http://{proxy.address}/")
        delayed = time.perf_counter() - start
        proxy.heal()
        start = time.perf_counter()
        client.get(f"http://{proxy.address}/")
        healed = time.perf_counter() - start
    assert delayed >= 0.1  # request and answer, 50 ms each
    assert healed < delayed - 0.05


def test_bandwidth_paces_the_data(proxy: FaultProxy) -> None:
    proxy.bandwidth(4_000_000)  # 200 kB at 4 MB/s: at least 50 ms
    start = time.perf_counter()
    assert httpx.get(f"http://{proxy.address}/big").content == BODY
    assert time.perf_counter() - start >= 0.045


def test_down_refuses_connections_and_heal_accepts_them_again(proxy: FaultProxy) -> None:
    proxy.down()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{proxy.address}/", timeout=2)
    proxy.heal()
    assert httpx.get(f"http://{proxy.address}/").status_code == 200


def test_down_closes_open_connections(proxy: FaultProxy) -> None:
    with socket.create_connection((proxy.host, proxy.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"price": 10}'):
            answer += sock.recv(100)
        proxy.down()
        sock.settimeout(2)
        assert sock.recv(100) == b""  # closed by the proxy


def test_reset_resets_open_connections(proxy: FaultProxy) -> None:
    with socket.create_connection((proxy.host, proxy.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.")
        proxy.reset()
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(100)


def test_blackhole_keeps_connections_but_drops_data(proxy: FaultProxy) -> None:
    proxy.blackhole()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"http://{proxy.address}/", timeout=0.1)
    proxy.heal()
    assert httpx.get(f"http://{proxy.address}/").status_code == 200


@pytest.mark.anyio
async def test_async_context_manager(upstream: tuple[str, int]) -> None:
    async with FaultProxy(*upstream) as proxy, httpx.AsyncClient() as client:
        assert (await client.get(f"http://{proxy.address}/")).json() == {"price": 10}


def test_stop_leaves_no_thread(upstream: tuple[str, int], no_thread_leak: None) -> None:
    with FaultProxy(*upstream) as proxy:
        httpx.get(f"http://{proxy.address}/")


def test_cache_fallback_serves_stale_while_the_provider_is_blackholed(proxy: FaultProxy) -> None:
    clock = FakeClock()
    served: list[resiliency.Event] = []
    registry = resiliency.Registry()
    registry.subscribe(served.append)

    @cache_fallback(stale_ttl=300.0, clock=clock, registry=registry)
    def price(sku: str) -> int:
        response = httpx.get(f"http://{proxy.address}/{sku}", timeout=0.1)
        return int(response.json()["price"])

    assert price("sku-1") == 10
    proxy.blackhole()
    clock.advance(299.0)
    assert price("sku-1") == 10  # the real request timed out; the stale price answered
    assert len(served) == 1
    clock.advance(1.0)
    with pytest.raises(httpx.ReadTimeout):
        price("sku-1")  # past stale_ttl: the real error
    proxy.heal()
    assert price("sku-1") == 10


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="upstream_port must be"):
        FaultProxy("127.0.0.1", 0)
    with pytest.raises(TypeError, match="upstream_host must be"):
        FaultProxy("", 80)
    with pytest.raises(ValueError, match="bytes_per_second must be"):
        FaultProxy("127.0.0.1", 80).bandwidth(0)
