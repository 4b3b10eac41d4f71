"""What telemetry costs per successful call: resiliency with Prometheus or OpenTelemetry on,
against the same call with nothing installed, and nopanic with nopanic-otel (same run).

Usage::

    python benchmarks/telemetry.py              # ~1 minute; prints a markdown table
    python benchmarks/telemetry.py --smoke      # seconds: every row builds and runs (CI)

Each row is one successful sync call through one strategy (a closed breaker, a retry
whose first attempt succeeds, a bulkhead with free slots) and one failover group call.
"off" has no listener; "prometheus" is ``resiliency.contrib.prometheus.instrument()``
on a fresh ``CollectorRegistry``; "otel" is ``resiliency.contrib.otel.instrument()`` with
the SDK's ``MeterProvider`` (an in-memory reader) and ``TracerProvider``. nopanic rows:
the same strategy with nothing subscribed, then with ``nopanic_otel.instrument()``.
Configurations are interleaved, repeat by repeat, and the median of the repeats is
reported; the overhead is the instrumented median minus the "off" median.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import load_average

Call = Callable[[], Any]
LIMITS = {"prometheus": 1500.0, "otel": 3000.0}  # ns per call more than "off" (issue 11)


def answer() -> int:
    return 42


def _resiliency_calls(kind: str, config: str) -> tuple[Call, Callable[[], None]]:
    """A decorated callable on a fresh registry with ``config`` installed, and its undo."""
    from resiliency import (
        CircuitBreaker,
        FailoverGroup,
        PolicyConfig,
        Registry,
        RetryPolicy,
        bulkhead,
        provider,
        retry,
    )

    registry = Registry()
    undo: Callable[[], None] = lambda: None  # noqa: E731
    if config == "prometheus":
        from prometheus_client import CollectorRegistry

        from resiliency.contrib import prometheus

        undo = prometheus.instrument(registry, prometheus_registry=CollectorRegistry()).uninstall
    elif config == "otel":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider

        from resiliency.contrib import otel

        handle = otel.instrument(
            registry,
            meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
            tracer_provider=TracerProvider(),
        )
        undo = handle.uninstall
    if kind == "breaker":
        return CircuitBreaker(failure_threshold=5, registry=registry)(answer), undo
    if kind == "retry":
        return retry(max_attempts=3, registry=registry)(answer), undo
    if kind == "bulkhead":
        return bulkhead(max_concurrent=10, registry=registry)(answer), undo
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)
    provider("a", op="op", group=group)(answer)
    return (lambda: group.execute_sync("op")), undo


def _nopanic_calls(kind: str, config: str) -> tuple[Call, Callable[[], None]] | None:
    import nopanic

    undo: Callable[[], None] = lambda: None  # noqa: E731
    if config == "otel":
        import nopanic_otel
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        undo = nopanic_otel.instrument(meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))
    if kind == "breaker":
        return nopanic.CircuitBreaker(reset_timeout=3600)(answer), undo
    if kind == "retry":
        return nopanic.retry(attempts=3, on=Exception)(answer), undo
    if kind == "bulkhead":
        return nopanic.bulkhead(10)(answer), undo
    undo()
    return None  # nopanic has no failover group


def _time(fn: Call, loops: int) -> float:
    """Nanoseconds per call of ``fn`` over ``loops`` calls."""
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        return (time.perf_counter_ns() - start) / loops
    finally:
        gc.enable()


ROWS = (
    ("breaker", "circuit breaker, closed, success"),
    ("retry", "retry, first attempt succeeds"),
    ("bulkhead", "bulkhead with free slots"),
    ("failover", "failover group, one provider, success"),
)
CONFIGS = (
    ("resiliency", "off"),
    ("resiliency", "prometheus"),
    ("resiliency", "otel"),
    ("nopanic", "off"),
    ("nopanic", "otel"),
)


def measure(repeats: int, loops: int) -> dict[tuple[str, str, str], float]:
    """Median ns per call per (row, library, config), configurations interleaved."""
    samples: dict[tuple[str, str, str], list[float]] = {}
    for kind, _title in ROWS:
        for _ in range(repeats):
            for library, config in CONFIGS:
                built = _resiliency_calls(kind, config) if library == "resiliency" else _nopanic_calls(kind, config)
                if built is None:
                    continue
                fn, undo = built
                try:
                    assert fn() == 42
                    per_loop = loops // 10 if kind == "failover" else loops
                    samples.setdefault((kind, library, config), []).append(_time(fn, per_loop))
                finally:
                    undo()
    return {key: statistics.median(values) for key, values in samples.items()}


def table(results: dict[tuple[str, str, str], float], command: str) -> str:
    """The markdown page section: environment and one row per call kind."""
    import datetime
    import os
    import platform

    lines = [
        f"- Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average {load_average()}",
        f"- Command: `{command}`",
        "",
        "| call | resiliency off | + prometheus | + otel metrics | nopanic off | + nopanic-otel "
        "| otel vs nopanic-otel |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, title in ROWS:
        base = results.get((kind, "resiliency", "off"))
        cells = [f"{base:,.0f} ns" if base is not None else "n/a"]
        for config in ("prometheus", "otel"):
            value = results.get((kind, "resiliency", config))
            if value is None or base is None:
                cells.append("n/a")
                continue
            cells.append(f"{value:,.0f} ns (+{value - base:,.0f})")
        nop_base = results.get((kind, "nopanic", "off"))
        nop = results.get((kind, "nopanic", "otel"))
        cells.append(f"{nop_base:,.0f} ns" if nop_base is not None else "n/a")
        cells.append(f"{nop:,.0f} ns (+{nop - nop_base:,.0f})" if nop is not None and nop_base is not None else "n/a")
        ours = results.get((kind, "resiliency", "otel"))
        cells.append(f"{ours / nop:.2f}x" if ours is not None and nop is not None else "n/a")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check(results: dict[tuple[str, str, str], float]) -> list[str]:
    """The rows over the issue's limits (failover calls excluded: the limits are per plain call)."""
    over = []
    for kind, title in ROWS:
        if kind == "failover":
            continue
        base = results[(kind, "resiliency", "off")]
        for config, limit in LIMITS.items():
            extra = results[(kind, "resiliency", config)] - base
            if extra > limit:
                over.append(f"{title}: {config} adds {extra:,.0f} ns (limit {limit:,.0f} ns)")
    return over


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table; exit status 1 when a limit is passed (not in smoke mode)."""
    parser = argparse.ArgumentParser(prog="benchmarks/telemetry.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="check every row builds and runs (no numbers)")
    parser.add_argument("--repeat", type=int, default=15, help="repeats per configuration (median reported)")
    parser.add_argument("--loops", type=int, default=20_000, help="calls per repeat")
    args = parser.parse_args(argv)
    repeats, loops = (1, 50) if args.smoke else (args.repeat, args.loops)
    results = measure(repeats, loops)
    command = "python benchmarks/telemetry.py" + (" --smoke" if args.smoke else "")
    print(table(results, command))
    if args.smoke:
        return 0
    over = check(results)
    for line in over:
        print(f"over the limit: {line}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
