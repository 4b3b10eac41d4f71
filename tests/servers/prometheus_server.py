"""A real Prometheus server on a free loopback port, scraping targets the test names.

``prometheus`` (fixture) is a factory: ``prometheus(["127.0.0.1:9100"])`` writes a
scrape configuration for those targets (``scrape_interval`` 500 ms), starts the
``prometheus`` binary with its own storage directory, waits for ``/-/ready`` and returns
a ``PrometheusServer`` whose ``query(expr)`` asks the HTTP API (``/api/v1/query``). The
server is stopped when the test ends. ``exporter`` serves a prometheus-client
``CollectorRegistry`` on a free loopback port for the server to scrape.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import free_port, require_binary, stop_process, wait_until

__all__ = ["PrometheusServer", "exporter", "prometheus"]

SCRAPE_INTERVAL = "500ms"


class PrometheusServer:
    """A running Prometheus: its base ``url`` and a query helper."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process

    def ready(self) -> bool:
        """Whether the server answers ``/-/ready`` with 200 (503 while it starts)."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as error:
            error.close()  # it holds the response's socket
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now: ``[{"metric": {...}, "value": [t, "v"]}]``."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(address, timeout=5) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus query {expr!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The single value of ``expr`` (None when the vector is empty)."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise AssertionError(f"{expr!r} gave {len(result)} series: {result}")
        return float(result[0]["value"][1])

    def wait_for(self, expr: str, expected: float, *, timeout: float = 30.0) -> None:
        """Poll until ``expr`` has the value ``expected`` (scrapes are periodic)."""
        last: list[float | None] = [None]

        def matches() -> bool:
            last[0] = self.value(expr)
            return last[0] == expected

        try:
            wait_until(matches, timeout=timeout, what=f"prometheus value of {expr}")
        except RuntimeError:
            raise AssertionError(f"{expr!r} is {last[0]!r} in prometheus, expected {expected!r}") from None


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[list[str]], PrometheusServer]]:
    """Factory: start a real Prometheus scraping ``targets`` ("host:port"); stopped after the test."""
    binary = require_binary("prometheus", "prometheus")
    started: list[PrometheusServer] = []

    def start(targets: list[str]) -> PrometheusServer:
        home = tmp_path / f"prometheus-{len(started)}"
        home.mkdir()
        config = home / "prometheus.yml"
        quoted = ", ".join(f"'{t}'" for t in targets)
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n"
            "  - job_name: resiliency\n"
            f"    scrape_interval: {SCRAPE_INTERVAL}\n"
            f"    scrape_timeout: {SCRAPE_INTERVAL}\n"
            f"    static_configs:\n      - targets: [{quoted}]\n"
        )
        port = free_port()
        log = (home / "prometheus.log").open("wb")
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
        log.close()
        server = PrometheusServer(f"http://127.0.0.1:{port}", process)
        started.append(server)
        try:
            wait_until(server.ready, timeout=30.0, what="prometheus")
        except RuntimeError:
            raise RuntimeError(f"prometheus did not start: {(home / 'prometheus.log').read_text()[-2000:]}") from None
        return server

    yield start
    for server in started:
        stop_process(server.process, timeout=10.0)


@pytest.fixture
def exporter() -> Iterator[Callable[[Any], str]]:
    """Factory: serve a prometheus-client ``CollectorRegistry`` on loopback; returns "host:port"."""
    from prometheus_client import start_http_server

    servers: list[Any] = []

    def serve(registry: Any) -> str:
        port = free_port()
        server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
        servers.append((server, thread))
        return f"127.0.0.1:{port}"

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5.0)


def wait_for_scrape(server: PrometheusServer, *, timeout: float = 30.0) -> None:
    """Wait until the scrape target is up (one successful scrape)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.value('up{job="resiliency"}') == 1.0:
            return
        time.sleep(0.1)
    raise AssertionError("prometheus never scraped the exporter")
