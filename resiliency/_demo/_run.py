"""``python -m resiliency demo``: start the providers, run the scenarios, show them."""

from __future__ import annotations

import argparse
import time
from typing import Any

import anyio
import httpx
from rich.console import Console
from rich.live import Live

from .._registry import Registry
from ._scenarios import SCENARIOS
from ._servers import Fault, ProviderServer
from ._storage import build_storage
from ._tracker import Tracker
from ._view import render

__all__ = ["add_arguments", "run"]

EPILOG = "scenarios:\n" + "\n".join(f"  {s.name:<11} {s.explains}" for s in SCENARIOS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's flags."""
    parser.add_argument("--down", default="s3", help="name of the provider that answers 503 (default s3, priority 0)")
    parser.add_argument("--slow", default="r2", help="name of the slow provider (default r2, priority 1)")
    parser.add_argument("--flaky", default="gcs", help="name of the flaky provider (default gcs, priority 2)")
    parser.add_argument("--latency", type=float, default=0.4, help="seconds the slow provider takes (default 0.4)")
    parser.add_argument(
        "--flaky-rate", type=float, default=0.3, help="share of the flaky provider's requests that fail (default 0.3)"
    )
    parser.add_argument(
        "--hedge-delay",
        type=float,
        default=0.1,
        help="seconds before the hedging scenario starts a backup (default 0.1)",
    )
    parser.add_argument("--breaker-calls", type=int, default=5, help="calls in the breaker scenario (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the flaky provider's faults (default 7)")
    parser.add_argument(
        "--scenario", action="append", choices=[s.name for s in SCENARIOS], help="run only these (repeatable)"
    )
    parser.add_argument("--no-live", action="store_true", help="print each table once instead of a live view")
    parser.add_argument(
        "--metrics",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT while the demo runs (needs prometheus-client)",
    )


async def _main(args: argparse.Namespace, console: Console) -> int:
    names = [args.down, args.slow, args.flaky]
    if len(set(names)) != 3:
        console.print(f"[red]--down, --slow and --flaky must be three different names (got {names})")
        return 2
    faults = {
        args.down: Fault("down"),
        args.slow: Fault("slow", latency=args.latency),
        args.flaky: Fault("flaky", rate=args.flaky_rate, seed=args.seed),
    }
    servers = {name: ProviderServer(name, fault).start() for name, fault in faults.items()}
    console.print("[bold]resiliency demo[/]: three HTTP storage providers on loopback")
    for name, server in servers.items():
        console.print(f"  {name:<5} {server.url:<24} fault: {server.fault.kind}")
    tracker = Tracker()
    options = {
        "down": args.down,
        "slow": args.slow,
        "flaky": args.flaky,
        "hedge_delay": args.hedge_delay,
        "breaker_calls": args.breaker_calls,
    }
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    registry = Registry()
    exporter = _serve_metrics(registry, args.metrics, console) if args.metrics else None
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            group, breakers = build_storage({n: s.url for n, s in servers.items()}, client, registry, tracker)
            for scenario in chosen:
                for breaker in breakers.values():  # each scenario starts from closed breakers
                    breaker.reset()
                tracker.begin(scenario.title, group.providers)
                await _show(scenario, group, tracker, options, console, live=not args.no_live)
    finally:
        for server in servers.values():
            server.stop()
        if exporter is not None:
            exporter.shutdown()
            exporter.server_close()
    console.print("requests each server received, and what became of them (abandoned: the client hung up first)")
    for name, server in servers.items():
        stats = server.stats
        console.print(
            f"  {name:<5} received {stats.requests}: {stats.ok} answered ok, {stats.failures} answered with an error, "
            f"{stats.abandoned} abandoned (not served)"
        )
    return 0


def _serve_metrics(registry: Registry, port: int, console: Console) -> Any:
    """Instrument ``registry`` for Prometheus and serve it on loopback ``port``; return the server."""
    from prometheus_client import CollectorRegistry, start_http_server

    from ..contrib import prometheus

    metrics = CollectorRegistry()
    prometheus.instrument(registry, prometheus_registry=metrics)
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=metrics)
    console.print(f"  metrics: http://127.0.0.1:{port}/metrics")
    return server


async def _show(scenario, group, tracker, options, console: Console, *, live: bool) -> str:  # type: ignore[no-untyped-def]
    if not live:
        verdict = await scenario.run(group, tracker, options)
        console.print(render(tracker, scenario.explains, verdict))
        return str(verdict)
    with Live(render(tracker, scenario.explains), console=console, refresh_per_second=15) as view:
        verdict = None
        async with anyio.create_task_group() as tg:

            async def refresh() -> None:
                while True:
                    view.update(render(tracker, scenario.explains))
                    await anyio.sleep(0.05)

            tg.start_soon(refresh)
            try:
                verdict = await scenario.run(group, tracker, options)
            finally:
                tg.cancel_scope.cancel()
        view.update(render(tracker, scenario.explains, verdict))
    if not console.is_terminal:
        console.print()
    return str(verdict)


def run(args: argparse.Namespace) -> int:
    """Run the demo; return the exit code."""
    started = time.perf_counter()
    console = Console()
    code = anyio.run(_main, args, console)
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return code
