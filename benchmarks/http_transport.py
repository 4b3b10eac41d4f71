"""HTTP and batch benchmarks: the httpx transport's overhead, and amap_concurrent's.

Run from the repository root::

    python benchmarks/http_transport.py            # the full run (about a minute)
    python benchmarks/http_transport.py --smoke    # a few seconds: every entry runs (CI)

1. Transport overhead per successful GET on loopback (a keep-alive HTTP/1.1 server in a
   thread of this process): a bare ``httpx.HTTPTransport``, ``ResilientTransport`` over
   it, and httpx-retries' ``RetryTransport`` over it, one GET of each in turn, the
   median of the single-GET timings.
   Loopback timings are noisy (the server shares the CPUs), so the transports' own cost
   is also measured over an instant inner transport (``httpx.MockTransport``), and
   reported as a share of a loopback request.
2. ``amap_concurrent`` over 10,000 no-op items with ``limit=100``, against a
   hand-written ``asyncio.Semaphore`` + ``gather`` and ``aiometer.run_all``.

Prints a markdown table with the date, machine and command.
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before httpx imports the http package)
import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file ("http")
# would shadow the standard library's http package that httpx imports: drop the folder,
# put the repository root in its place.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import asyncio
import functools
import gc
import os
import platform
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from resiliency import amap_concurrent
from resiliency.contrib.httpx import ResilientTransport

_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


class LoopbackServer:
    """A minimal keep-alive HTTP/1.1 server answering every request with 200 "ok"."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buffer += chunk
                _, _, buffer = buffer.partition(b"\r\n\r\n")
                conn.sendall(_RESPONSE)

    def close(self) -> None:
        self.sock.close()


def interleaved(entries: dict[str, Callable[[], Any]], calls: int) -> dict[str, float]:
    """Median ns of one call of each entry over ``calls`` rounds, one call of each per round.

    Round-robin per call, and the median of single-call timings: on a shared machine a
    burst of load hits every entry alike and a spike moves the median little.
    """
    samples: dict[str, list[int]] = {name: [] for name in entries}
    for fn in entries.values():
        for _ in range(max(calls // 10, 5)):
            fn()  # warm-up: connections open, caches filled
    clock = time.perf_counter_ns
    pairs = list(entries.items())
    gc.disable()
    try:
        for _ in range(calls):
            for name, fn in pairs:
                start = clock()
                fn()
                samples[name].append(clock() - start)
    finally:
        gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def transport_overhead(calls: int) -> list[tuple[str, float, str]]:
    from httpx_retries import Retry, RetryTransport

    server = LoopbackServer()
    clients = {
        "bare httpx.HTTPTransport": httpx.Client(transport=httpx.HTTPTransport()),
        "ResilientTransport": httpx.Client(transport=ResilientTransport(httpx.HTTPTransport())),
        "httpx-retries RetryTransport": httpx.Client(
            transport=RetryTransport(httpx.HTTPTransport(), retry=Retry(total=3))
        ),
    }
    url = server.url

    def getter(client: httpx.Client) -> Callable[[], Any]:
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200

        return get

    try:
        loopback = interleaved({name: getter(c) for name, c in clients.items()}, calls)
    finally:
        for client in clients.values():
            client.close()
        server.close()

    def instant(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ok")

    mock_clients = {
        "bare httpx.HTTPTransport": httpx.Client(transport=httpx.MockTransport(instant)),
        "ResilientTransport": httpx.Client(transport=ResilientTransport(httpx.MockTransport(instant))),
        "httpx-retries RetryTransport": httpx.Client(
            transport=RetryTransport(httpx.MockTransport(instant), retry=Retry(total=3))
        ),
    }
    instant_ns = interleaved({name: getter_mock(c) for name, c in mock_clients.items()}, calls * 4)
    for client in mock_clients.values():
        client.close()
    bare, bare_instant = loopback["bare httpx.HTTPTransport"], instant_ns["bare httpx.HTTPTransport"]
    rows = []
    for name in clients:
        own = instant_ns[name] - bare_instant
        note = "" if name.startswith("bare") else f"+{own / 1000:.1f} µs own cost = {own / bare:.1%} of a loopback GET"
        rows.append((name, loopback[name], f"{loopback[name] / bare:.3f}x; {note}" if note else "1.000x"))
    return rows


def getter_mock(client: httpx.Client) -> Callable[[], Any]:
    def get() -> None:
        assert client.get("http://mock.invalid/").status_code == 200

    return get


Item = Callable[[int], Awaitable[int]]


async def _noop(x: int) -> int:
    return x


async def _yield_once(x: int) -> int:
    await anyio.sleep(0)
    return x


async def _semaphore_gather(item: Item, items: range, limit: int) -> list[int]:
    sem = asyncio.Semaphore(limit)

    async def one(x: int) -> int:
        async with sem:
            return await item(x)

    return list(await asyncio.gather(*(one(x) for x in items)))


async def _aiometer(item: Item, items: range, limit: int) -> list[int]:
    import aiometer

    return list(await aiometer.run_all([functools.partial(item, x) for x in items], max_at_once=limit))


async def _amap(item: Item, items: range, limit: int) -> list[int]:
    outcomes = await amap_concurrent(item, items, limit=limit)
    return [o.value for o in outcomes]


def batch_overhead(item: Item, items: int, repeats: int) -> list[tuple[str, float, str]]:
    entries: dict[str, Callable[[Item, range, int], Awaitable[list[int]]]] = {
        "asyncio.Semaphore + gather": _semaphore_gather,
        "amap_concurrent": _amap,
        "aiometer.run_all": _aiometer,
    }
    data = range(items)
    samples: dict[str, list[float]] = {name: [] for name in entries}
    for _ in range(repeats + 1):  # the first round warms imports and caches up; dropped
        for name, fn in entries.items():
            start = time.perf_counter_ns()
            result = asyncio.run(fn(item, data, 100))
            samples[name].append(time.perf_counter_ns() - start)
            assert result == list(data), name
    trio_ns = []
    for _ in range(repeats + 1):
        start = time.perf_counter_ns()
        anyio.run(_amap, item, data, 100, backend="trio")
        trio_ns.append(time.perf_counter_ns() - start)
    samples = {name: values[1:] for name, values in samples.items()}
    trio_ns = trio_ns[1:]
    medians = {name: statistics.median(v) for name, v in samples.items()}
    base = medians["asyncio.Semaphore + gather"]
    rows = [(name, ns, f"{ns / base:.2f}x") for name, ns in medians.items()]
    rows.append(("amap_concurrent on trio", statistics.median(trio_ns), f"{statistics.median(trio_ns) / base:.2f}x"))
    return rows


def environment(command: str) -> list[str]:
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout.strip()
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    return [
        f"- Date: {date}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, {cpu}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}; httpx {httpx.__version__}",
        f"- Command: `{command}`",
        f"- Load average (1 min) at the end: {load}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="tiny loops: check every entry runs")
    args = parser.parse_args(argv)
    calls, items = (20, 500) if args.smoke else (5000, 10_000)
    transport_rows = transport_overhead(calls)
    batch_rows = batch_overhead(_noop, items, 1 if args.smoke else 7)
    yield_rows = batch_overhead(_yield_once, items, 1 if args.smoke else 7)
    lines = [
        "# HTTP and batch benchmarks",
        "",
        *environment("python benchmarks/http_transport.py" + " --smoke" * args.smoke),
    ]
    if args.smoke:
        lines.append("- SMOKE RUN: tiny loops, the numbers mean nothing")
    lines += [
        "",
        f"## Transport overhead: one GET on loopback (median of {calls:,} GETs each, round-robin)",
        "",
        "| transport | µs per GET | vs bare |",
        "|---|---:|---|",
        *[f"| {name} | {ns / 1000:.1f} | {ratio} |" for name, ns, ratio in transport_rows],
        "",
        f"## amap_concurrent: {items:,} no-op items, limit=100 (asyncio unless named)",
        "",
        "| runner | ms | vs Semaphore + gather |",
        "|---|---:|---:|",
        *[f"| {name} | {ns / 1e6:.1f} | {ratio} |" for name, ns, ratio in batch_rows],
        "",
        f"## amap_concurrent: {items:,} items that yield once (`await anyio.sleep(0)`), limit=100",
        "",
        "| runner | ms | vs Semaphore + gather |",
        "|---|---:|---:|",
        *[f"| {name} | {ns / 1e6:.1f} | {ratio} |" for name, ns, ratio in yield_rows],
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
