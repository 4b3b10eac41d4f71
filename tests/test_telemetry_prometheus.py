"""resiliency.contrib.prometheus: every metric of seed 003, read back from a real Prometheus."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from servers.prometheus_server import PrometheusServer, wait_for_scrape

from resiliency import (
    AllProvidersFailedError,
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    FailoverGroup,
    PolicyConfig,
    RateLimitedError,
    Registry,
    ResiliencyTimeoutError,
    RetryPolicy,
    circuit_breaker,
    provider,
    rate_limit,
    retry,
    timeout,
)
from resiliency.contrib import prometheus as resiliency_prometheus
from resiliency.testing import FakeClock


class Boom(Exception):
    pass


def drive_traffic(registry: Registry) -> None:
    """A breaker, a bulkhead, a retry, a timeout, a rate limiter and a failover group at work."""
    clock = FakeClock()
    breaker = CircuitBreaker("payments", failure_threshold=2, reset_timeout=3600, clock=clock, registry=registry)

    @breaker
    def charge(fail: bool) -> str:
        if fail:
            raise Boom
        return "ok"

    for _ in range(3):
        charge(False)
    for _ in range(2):
        with pytest.raises(Boom):
            charge(True)
    with pytest.raises(CircuitOpenError):
        charge(False)

    pool = Bulkhead("db", max_concurrent=1, registry=registry)
    holding, release = threading.Event(), threading.Event()

    @pool
    def query(hold: bool) -> None:
        if hold:
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=query, args=(True,))
    worker.start()
    assert holding.wait(10)
    with pytest.raises(BulkheadFullError):
        query(False)
    release.set()
    worker.join(10)
    query(False)

    failures = iter([Boom(), Boom()])

    @retry(max_attempts=3, backoff="none", clock=clock, registry=registry)
    def flaky() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "done"

    assert flaky() == "done"

    @timeout(1, mode="cooperative", clock=clock, registry=registry)
    def slow() -> None:
        clock.advance(2)

    with pytest.raises(ResiliencyTimeoutError):
        slow()

    @rate_limit("sms", rate=1, clock=clock, registry=registry)
    def send() -> None:
        pass

    send()
    with pytest.raises(RateLimitedError):
        send()

    group = FailoverGroup("storage", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("s3", op="upload", group=group, priority=0)
    def s3_upload(key: str) -> str:
        raise ConnectionError("s3 down")

    @provider("r2", op="upload", group=group, priority=1)
    @circuit_breaker(failure_threshold=1, reset_timeout=3600, clock=clock, registry=registry)
    def r2_upload(key: str) -> str:
        if key == "bad":
            raise ConnectionError("r2 refuses")
        return f"r2:{key}"

    assert group.execute_sync("upload", "a") == "r2:a"
    assert group.execute_sync("upload", "b") == "r2:b"
    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("upload", "bad")  # r2's breaker opens
    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("upload", "c")  # r2 rejected by its breaker
    assert [o.ok for o in group.execute_all_sync("upload", "d")] == [False, False]


def test_every_seed_metric_reaches_a_real_prometheus(
    registry: Registry,
    exporter: Callable[[Any], str],
    prometheus: Callable[[list[str]], PrometheusServer],  # stopped before the exporter
) -> None:
    scrape = CollectorRegistry()
    handle = resiliency_prometheus.instrument(registry, prometheus_registry=scrape)
    try:
        drive_traffic(registry)
        server = prometheus([exporter(scrape)])
        wait_for_scrape(server)
        expect = {
            'circuit_breaker_calls_total{name="payments",result="success"}': 3,
            'circuit_breaker_calls_total{name="payments",result="failure"}': 2,
            'circuit_breaker_calls_total{name="payments",result="rejected"}': 1,
            'circuit_breaker_state_changes_total{name="payments",from_state="closed",to_state="open"}': 1,
            'circuit_breaker_state{name="payments"}': 2,
            'circuit_breaker_state{name=~".*r2_upload"}': 2,  # unnamed: the callable's name, last known state
            'bulkhead_executions_total{name="db",state="active"}': 2,
            'bulkhead_executions_total{name="db",state="rejected"}': 1,
            'bulkhead_active{name="db"}': 0,
            'bulkhead_queued{name="db"}': 0,
            'retry_attempts_total{name=~".*flaky"}': 2,
            'timeout_operations_total{name=~".*slow"}': 1,
            'rate_limiter_rejections_total{name="sms"}': 1,
            'failover_provider_calls_total{group="storage",op="upload",provider="s3",result="failure"}': 5,
            'failover_provider_calls_total{group="storage",op="upload",provider="r2",result="success"}': 2,
            'failover_provider_calls_total{group="storage",op="upload",provider="r2",result="failure"}': 1,
            'failover_provider_calls_total{group="storage",op="upload",provider="r2",result="rejected"}': 2,
            'failover_call_duration_seconds_count{group="storage",op="upload",mode="sequential"}': 4,
            'failover_call_duration_seconds_count{group="storage",op="upload",mode="all"}': 1,
            'failover_call_duration_seconds_bucket{group="storage",op="upload",mode="sequential",le="+Inf"}': 4,
        }
        for expr, value in expect.items():
            server.wait_for(expr, float(value))
        check_dashboard(server)
    finally:
        handle.uninstall()


def check_dashboard(server: PrometheusServer) -> None:
    """Every query of docs/grafana-dashboard.json runs in Prometheus and finds series."""
    dashboard = json.loads((Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 9
    for query in queries:
        expr = query.replace("$__rate_interval", "1m")
        if "rate(" in expr:
            continue  # a rate needs two scrapes of a change; the plain ones must find data now
        assert server.query(expr), f"dashboard query {query!r} found nothing"
    for query in queries:  # each one parses and runs (an empty answer is fine for rates)
        server.query(query.replace("$__rate_interval", "1m"))


def test_gauges_are_read_live_at_scrape_time(
    registry: Registry,
    exporter: Callable[[Any], str],
    prometheus: Callable[[list[str]], PrometheusServer],  # stopped before the exporter
) -> None:
    scrape = CollectorRegistry()
    handle = resiliency_prometheus.instrument(registry, prometheus_registry=scrape)
    pool = Bulkhead("db", max_concurrent=2, max_queue=5, registry=registry)
    breaker = CircuitBreaker("api", registry=registry)
    started, release = threading.Semaphore(0), threading.Event()

    @pool
    def hold() -> None:
        started.release()
        release.wait(10)

    workers = [threading.Thread(target=hold) for _ in range(5)]
    try:
        server = prometheus([exporter(scrape)])
        for worker in workers:
            worker.start()
        for _ in range(2):
            assert started.acquire(timeout=10)
        server.wait_for('bulkhead_active{name="db"}', 2.0)
        server.wait_for('bulkhead_queued{name="db"}', 3.0)
        server.wait_for('circuit_breaker_state{name="api"}', 0.0)
        breaker.force_open()  # no call, no event: the gauge still sees it
        server.wait_for('circuit_breaker_state{name="api"}', 2.0)
        release.set()
        for worker in workers:
            worker.join(10)
        server.wait_for('bulkhead_active{name="db"}', 0.0)
        server.wait_for('bulkhead_executions_total{name="db",state="queued"}', 3.0)
        server.wait_for('bulkhead_executions_total{name="db",state="active"}', 5.0)
    finally:
        release.set()
        handle.uninstall()


def test_instrument_twice_returns_the_first_handle_and_uninstall_unregisters(registry: Registry) -> None:
    scrape = CollectorRegistry()
    handle = resiliency_prometheus.instrument(registry, prometheus_registry=scrape)
    assert resiliency_prometheus.instrument(registry, prometheus_registry=scrape) is handle
    assert len(registry.listeners) == 1

    @circuit_breaker("b", registry=registry)
    def ok() -> int:
        return 1

    ok()
    assert scrape.get_sample_value("circuit_breaker_calls_total", {"name": "b", "result": "success"}) == 1.0
    handle.uninstall()
    handle.uninstall()  # idempotent
    assert not handle.installed
    assert registry.listeners == ()
    assert scrape.get_sample_value("circuit_breaker_calls_total", {"name": "b", "result": "success"}) is None
    again = resiliency_prometheus.instrument(registry, prometheus_registry=scrape)
    assert again is not handle
    again.uninstall()


def test_instrument_refuses_a_wrong_registry() -> None:
    with pytest.raises(TypeError, match="prometheus_registry"):
        resiliency_prometheus.instrument(prometheus_registry=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="registry"):
        resiliency_prometheus.instrument(object(), prometheus_registry=CollectorRegistry())  # type: ignore[arg-type]
