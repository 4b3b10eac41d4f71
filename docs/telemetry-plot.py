"""Make docs/telemetry-demo.png: the demo's metrics, scraped by a real Prometheus, plotted.

Usage (needs the ``prometheus`` binary, the ``demo`` and ``prometheus`` extras, and
matplotlib, which is not a dependency: ``pip install matplotlib`` just to run this)::

    python docs/telemetry-plot.py [--runs 5] [--out docs/telemetry-demo.png]

It starts Prometheus on loopback scraping the demo's ``--metrics`` port every second,
runs ``python -m resiliency demo --no-live --metrics PORT`` several times in a row, then
reads the series back through ``/api/v1/query_range`` and draws four panels.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def query_range(base: str, expr: str, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=10) as response:
        body = json.load(response)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_ready(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            error.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prometheus did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("telemetry-demo.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    metrics_port, prom_port = free_port(), free_port()
    base = f"http://127.0.0.1:{prom_port}"
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: demo\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
        )
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={home}/data",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(base)
            start = time.time()
            for run in range(args.runs):
                print(f"demo run {run + 1}/{args.runs}", file=sys.stderr)
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "resiliency",
                        "demo",
                        "--no-live",
                        "--seed",
                        str(run + 1),
                        "--metrics",
                        str(metrics_port),
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            time.sleep(3)  # the last scrapes
            end = time.time()
            panels = [
                (
                    "failover provider calls so far in the run, by provider and result",
                    "sum by (provider, result) (failover_provider_calls_total)",
                    lambda m: f"{m.get('provider')} {m.get('result')}",
                ),
                (
                    "circuit breaker state (0 closed, 1 half-open, 2 open)",
                    "max by (name) (circuit_breaker_state)",
                    lambda m: m.get("name", ""),
                ),
                (
                    "retries so far in the run, by strategy",
                    "sum by (name) (retry_attempts_total)",
                    lambda m: m.get("name", ""),
                ),
                (
                    "group call p95 so far in the run (seconds), by mode",
                    "histogram_quantile(0.95, sum by (le, mode) (failover_call_duration_seconds_bucket))",
                    lambda m: m.get("mode", ""),
                ),
            ]
            figure, axes = plt.subplots(2, 2, figsize=(13, 7.5), constrained_layout=True)
            for axis, (title, expr, label) in zip(axes.flat, panels, strict=True):
                for series in query_range(base, expr, start, end):
                    points = [(float(t) - start, float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf")]
                    if points:
                        xs, ys = zip(*points, strict=True)
                        axis.plot(xs, ys, label=label(series["metric"]), linewidth=1.4)
                axis.set_title(title, fontsize=10)
                axis.set_xlabel("seconds since the first run", fontsize=8)
                axis.grid(alpha=0.3)
                axis.legend(fontsize=7, loc="upper right")
            figure.suptitle(
                f"python -m resiliency demo --no-live --metrics PORT, {args.runs} runs (seeds 1-{args.runs}), "
                "scraped every second by a real Prometheus (counters restart with each run)",
                fontsize=11,
            )
            figure.savefig(args.out, dpi=90)
            print(f"wrote {args.out}", file=sys.stderr)
        finally:
            prometheus.terminate()
            prometheus.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
