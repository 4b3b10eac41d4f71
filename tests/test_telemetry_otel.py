"""resiliency.contrib.otel: spans nest across tasks and threads; metrics through a Meter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from resiliency import (
    CircuitBreaker,
    FailoverGroup,
    PolicyConfig,
    Registry,
    RetryPolicy,
    circuit_breaker,
    provider,
    retry,
)
from resiliency.contrib import otel
from resiliency.testing import FakeClock


class Telemetry:
    """An SDK tracer and meter provider with in-memory exporters, instrumented on a registry."""

    def __init__(self, registry: Registry) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.handle = otel.instrument(
            registry, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )
        self.tracer = self.tracer_provider.get_tracer("test")

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name.startswith(prefix)]

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        if data is None:  # nothing observed at all
            return out
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = (point.count, point.sum)
                        out.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
        return out


@pytest.fixture
def telemetry(registry: Registry) -> Iterator[Telemetry]:
    t = Telemetry(registry)
    yield t
    t.handle.uninstall()
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def make_group(registry: Registry, *, is_async: bool) -> FailoverGroup:
    """s3 fails twice (two attempts), r2 answers once s3 is through: the same spans in every mode."""
    group = FailoverGroup("storage", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)
    s3_tries = [0]
    if is_async:
        s3_done = anyio.Event()

        @provider("s3", op="upload", group=group, priority=0, policy=RetryPolicy(max_attempts=2, backoff="none"))
        async def s3(key: str) -> str:
            await anyio.sleep(0)
            s3_tries[0] += 1
            if s3_tries[0] == 2:
                s3_done.set()
            raise ConnectionError("s3 down")

        @provider("r2", op="upload", group=group, priority=1)
        @circuit_breaker(failure_threshold=5, registry=registry)
        async def r2(key: str) -> str:
            with anyio.fail_after(10):
                await s3_done.wait()  # in the parallel modes, s3 has made both attempts first
            return f"r2:{key}"

    else:
        s3_finished = threading.Event()

        @provider("s3", op="upload", group=group, priority=0, policy=RetryPolicy(max_attempts=2, backoff="none"))
        def s3_sync(key: str) -> str:
            s3_tries[0] += 1
            if s3_tries[0] == 2:
                s3_finished.set()
            raise ConnectionError("s3 down")

        @provider("r2", op="upload", group=group, priority=1)
        @circuit_breaker(failure_threshold=5, registry=registry)
        def r2_sync(key: str) -> str:
            assert s3_finished.wait(10)
            return f"r2:{key}"

    return group


def check_tree(telemetry: Telemetry, mode: str, outer: ReadableSpan | None = None) -> ReadableSpan:
    """One group span (child of ``outer``), every provider span its child; returns the group span."""
    [group_span] = telemetry.named("failover ")
    assert group_span.name == "failover storage.upload"
    assert group_span.attributes is not None
    assert group_span.attributes["failover.mode"] == mode
    assert group_span.attributes["resilience.operation"] == "storage.upload"
    if outer is not None:
        assert group_span.parent is not None
        assert group_span.parent.span_id == outer.context.span_id
    providers = telemetry.named("provider ")
    assert providers, "no provider span"
    for span in providers:
        assert span.parent is not None, f"{span.name} has no parent"
        assert span.parent.span_id == group_span.context.span_id, f"{span.name} is not a child of the group span"
        assert span.context.trace_id == group_span.context.trace_id
    return group_span


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sequential", "any", "all"])
async def test_provider_spans_are_children_of_the_group_span(
    registry: Registry, telemetry: Telemetry, mode: str
) -> None:
    group = make_group(registry, is_async=True)
    with telemetry.tracer.start_as_current_span("request") as request:
        if mode == "sequential":
            assert await group.execute("upload", "k") == "r2:k"
        elif mode == "any":
            assert await group.execute_any("upload", "k") == "r2:k"
        else:
            outcomes = await group.execute_all("upload", "k")
            assert [o.ok for o in outcomes] == [False, True]
    [outer] = telemetry.named("request")
    assert outer.context.span_id == request.get_span_context().span_id
    group_span = check_tree(telemetry, mode, outer)
    attempts = {
        (s.attributes["failover.provider"], s.attributes["failover.attempt"]): s
        for s in telemetry.named("provider ")
        if s.attributes is not None
    }
    assert set(attempts) == {("s3", 1), ("s3", 2), ("r2", 1)}
    failed, won = attempts[("s3", 1)], attempts[("r2", 1)]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["timeout.exceeded"] is False
    assert "circuit.state" not in failed.attributes  # s3 has no breaker
    assert won.attributes is not None
    assert won.attributes["circuit.state"] == "closed"
    retries = [e for e in group_span.events if e.name == "retry"]
    assert [(e.attributes or {}).get("retry.attempt") for e in retries] == [1]  # the attempt that failed
    assert (retries[0].attributes or {})["retry.delay"] == 0.0


@pytest.mark.parametrize("mode", ["sequential", "any", "all"])
def test_sync_provider_spans_in_threads_are_children_of_the_group_span(
    registry: Registry, telemetry: Telemetry, mode: str, no_thread_leak: None
) -> None:
    group = make_group(registry, is_async=False)
    with telemetry.tracer.start_as_current_span("request"):
        if mode == "sequential":
            assert group.execute_sync("upload", "k") == "r2:k"
        elif mode == "any":
            assert group.execute_any_sync("upload", "k") == "r2:k"
        else:
            assert [o.ok for o in group.execute_all_sync("upload", "k")] == [False, True]
    deadline = time.monotonic() + 10  # an "any" loser's thread may still be recording its last attempt
    while len(telemetry.named("provider ")) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    [outer] = telemetry.named("request")
    check_tree(telemetry, mode, outer)
    assert len(telemetry.named("provider ")) == 3


@pytest.mark.anyio
async def test_many_concurrent_group_calls_keep_their_own_trees(registry: Registry, telemetry: Telemetry) -> None:
    group = make_group(registry, is_async=True)

    async def one(index: int) -> None:
        with telemetry.tracer.start_as_current_span(f"request {index}"):
            assert await group.execute_any("upload", str(index)) == f"r2:{index}"

    async with anyio.create_task_group() as tg:
        for index in range(20):
            tg.start_soon(one, index)
    groups = telemetry.named("failover ")
    assert len(groups) == 20
    by_id = {g.context.span_id: g for g in groups}
    for span in telemetry.named("provider "):
        assert span.parent is not None
        assert span.parent.span_id in by_id
        assert span.context.trace_id == by_id[span.parent.span_id].context.trace_id


def test_a_failed_group_call_ends_its_span_in_error(registry: Registry, telemetry: Telemetry) -> None:
    from resiliency import AllProvidersFailedError

    group = FailoverGroup("g", registry=registry)

    @provider("only", op="op", group=group)
    def only() -> None:
        raise ConnectionError("down")

    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("op")
    [span] = telemetry.named("failover ")
    assert span.status.status_code is StatusCode.ERROR
    assert any(e.name == "exception" for e in span.events)


def test_plain_calls_make_no_span_and_retries_are_events_on_the_current_span(
    registry: Registry, telemetry: Telemetry
) -> None:
    clock = FakeClock()
    failures = iter([ConnectionError("1"), ConnectionError("2")])

    @retry(max_attempts=3, backoff="constant", base_delay=0.5, clock=clock, registry=registry)
    def fetch() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "ok"

    breaker = CircuitBreaker(registry=registry)

    @breaker
    def ping() -> int:
        return 1

    assert [ping() for _ in range(10)] == [1] * 10
    assert telemetry.finished() == []  # successful plain calls: no span
    with telemetry.tracer.start_as_current_span("job"):
        assert fetch() == "ok"
    [job] = telemetry.finished()
    retries = [e for e in job.events if e.name == "retry"]
    assert [(e.attributes or {})["retry.attempt"] for e in retries] == [1, 2]
    assert [(e.attributes or {})["retry.delay"] for e in retries] == [0.5, 0.5]
    assert {(e.attributes or {})["resilience.operation"] for e in retries} == {fetch.__qualname__}


def test_metrics_have_the_seed_names_and_labels(registry: Registry, telemetry: Telemetry) -> None:
    group = make_group(registry, is_async=False)
    assert group.execute_sync("upload", "k") == "r2:k"
    breaker = CircuitBreaker("payments", failure_threshold=1, registry=registry)

    @breaker
    def charge() -> None:
        raise ValueError

    with pytest.raises(ValueError):
        charge()
    metrics = telemetry.metrics()
    calls = {tuple(sorted(a.items())): v for a, v in metrics["failover_provider_calls_total"]}
    assert calls[(("group", "storage"), ("op", "upload"), ("provider", "s3"), ("result", "failure"))] == 2
    assert calls[(("group", "storage"), ("op", "upload"), ("provider", "r2"), ("result", "success"))] == 1
    [(attributes, (count, total))] = metrics["failover_call_duration_seconds"]
    assert attributes == {"group": "storage", "op": "upload", "mode": "sequential"}
    assert count == 1
    assert total >= 0.0
    assert ({"name": "payments", "result": "failure"}, 1) in metrics["circuit_breaker_calls_total"]
    assert ({"name": "payments"}, 2) in metrics["circuit_breaker_state"]
    assert metrics["retry_attempts_total"] == [({"name": "storage.s3.upload"}, 1)]
    transitions = metrics["circuit_breaker_state_changes_total"]
    assert ({"name": "payments", "from_state": "closed", "to_state": "open"}, 1) in transitions


def test_instrument_twice_returns_the_first_handle(registry: Registry, telemetry: Telemetry) -> None:
    assert otel.instrument(registry) is telemetry.handle
    assert len(registry.listeners) == 1

    @circuit_breaker("b", registry=registry)
    def ok() -> int:
        return 1

    ok()
    assert telemetry.metrics()["circuit_breaker_calls_total"] == [({"name": "b", "result": "success"}, 1)]
    telemetry.handle.uninstall()
    assert registry.listeners == ()
    assert "circuit_breaker_calls_total" not in telemetry.metrics()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["any", "all"])
async def test_a_providers_own_spans_run_under_the_group_span(
    registry: Registry, telemetry: Telemetry, mode: str
) -> None:
    group = FailoverGroup("storage", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("a", op="upload", group=group)
    async def a() -> str:
        with telemetry.tracer.start_as_current_span("work a"):
            await anyio.sleep(0)
        return "a"

    @provider("b", op="upload", group=group)
    def b() -> str:  # a sync provider in an async group call: an anyio worker thread
        with telemetry.tracer.start_as_current_span("work b"):
            return "b"

    if mode == "any":
        await group.execute_any("upload")
    else:
        await group.execute_all("upload")
    [group_span] = telemetry.named("failover ")
    work = telemetry.named("work ")
    assert work
    for span in work:
        assert span.parent is not None
        assert span.parent.span_id == group_span.context.span_id, span.name


@pytest.mark.parametrize("mode", ["any", "all"])
def test_a_sync_providers_own_spans_in_threads_run_under_the_group_span(
    registry: Registry, telemetry: Telemetry, mode: str, no_thread_leak: None
) -> None:
    group = FailoverGroup("storage", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)
    done = threading.Barrier(2, timeout=10)

    def work(name: str) -> str:
        with telemetry.tracer.start_as_current_span(f"work {name}"):
            done.wait()  # both run at once, on two threads
        return name

    provider("a", op="upload", group=group)(lambda: work("a"))
    provider("b", op="upload", group=group)(lambda: work("b"))
    if mode == "any":
        group.execute_any_sync("upload")
    else:
        group.execute_all_sync("upload")
    deadline = time.monotonic() + 10
    while len(telemetry.named("work ")) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    [group_span] = telemetry.named("failover ")
    work_spans = telemetry.named("work ")
    assert len(work_spans) == 2
    for span in work_spans:
        assert span.parent is not None
        assert span.parent.span_id == group_span.context.span_id, span.name
