"""Health checking 1,000 endpoints at 1 s intervals: the CPU share of one core it costs.

A separate process serves the health endpoint (asyncio, on loopback), so its CPU is not
counted; this process runs an ``EndpointPool`` of N endpoints under ``async with pool``
for a few seconds and reports ``process CPU time / wall time`` (every thread counted)
after a warm-up of one interval, for HTTP and TCP checks. Goal: <= 10% of one core.

    python benchmarks/pool_health.py                 # 1,000 endpoints, 1 s, 10 s per check
    python benchmarks/pool_health.py --smoke         # 50 endpoints, 1.5 s: it runs (CI)
    python benchmarks/pool_health.py --endpoints 2000 --seconds 20 --backend trio
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import resiliency
from resiliency import Endpoint, EndpointPool, HealthStatus, HttpHealthCheck, TcpHealthCheck

SERVER = r"""
import asyncio, sys

KEEP = sys.argv[1] == "keep"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + (b"" if KEEP else b"Connection: close\r\n") + b"\r\nok"

async def handle(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
            if not KEEP:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def counting(kind: type[Any]) -> Any:
    """A check class that counts its probes."""

    class Counted(kind):  # type: ignore[misc, valid-type]
        probes = 0

        async def _probe(self, endpoint: Endpoint, connections: Any) -> HealthStatus:
            type(self).probes += 1
            result: HealthStatus = await super()._probe(endpoint, connections)
            return result

    return Counted


async def measure(
    kind: type[Any], label: str, port: int, endpoints: int, interval: float, seconds: float
) -> dict[str, Any]:
    check = counting(kind)(interval=interval, timeout=1.0)
    pool = EndpointPool(
        f"bench-{kind.__name__}",
        [Endpoint(f"e{i}", f"127.0.0.1:{port}") for i in range(endpoints)],
        health_check=check,
        registry=resiliency.Registry(),
        rng=random.Random(1),
    )
    async with pool:
        await anyio.sleep(interval)  # warm-up: the first probes are spread over one interval
        probes0, cpu0, wall0 = type(check).probes, time.process_time(), time.monotonic()
        await anyio.sleep(seconds)
        probes1, cpu1, wall1 = type(check).probes, time.process_time(), time.monotonic()
    healthy = sum(1 for e in pool.endpoints() if pool.status(e.id) is HealthStatus.HEALTHY)
    wall = wall1 - wall0
    return {
        "check": label,
        "probes_per_s": (probes1 - probes0) / wall,
        "cpu_share": (cpu1 - cpu0) / wall,
        "healthy": healthy,
    }


def environment() -> list[tuple[str, str]]:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, {cpu}"
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    return [
        ("Date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Machine", machine),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Command", "python " + " ".join(sys.argv)),
        ("Load average (1 min) at start", load),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per check kind")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--smoke", action="store_true", help="50 endpoints for 1.5 s: check that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.endpoints, args.seconds = 50, 1.5
    env = environment()
    runs = [
        (HttpHealthCheck, "HTTP, server keeps connections open", "keep"),
        (HttpHealthCheck, "HTTP, server closes each connection", "close"),
        (TcpHealthCheck, "TCP connect", "close"),
    ]
    rows = []
    for kind, label, mode in runs:
        server = subprocess.Popen([sys.executable, "-c", SERVER, mode], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            params = (kind, label, port, args.endpoints, args.interval, args.seconds)
            rows.append(anyio.run(measure, *params, backend=args.backend))
        finally:
            server.terminate()
            server.wait(10)
    print("| | |\n|---|---|")
    for key, value in env:
        print(f"| {key} | {value} |")
    print()
    print(
        "| check | endpoints | interval | event loop | probes/s | CPU, share of one core | goal | healthy at the end |"
    )
    print("|---|---:|---:|---|---:|---:|---|---:|")
    failed = False
    for row in rows:
        share = row["cpu_share"]
        verdict = "met" if share <= 0.10 else "missed"
        print(
            f"| {row['check']} | {args.endpoints:,} | {args.interval:g} s | {args.backend} | "
            f"{row['probes_per_s']:,.0f} | {share:.1%} | <= 10% ({verdict}) | {row['healthy']:,} |"
        )
        failed = failed or row["healthy"] != args.endpoints
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
