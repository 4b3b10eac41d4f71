"""resiliency.contrib.logging: one line, the levels of issue 11, the fields in ``extra=``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

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
    provider,
    rate_limit,
    retry,
    timeout,
)
from resiliency.contrib import logging as resiliency_logging
from resiliency.contrib._install import Instrumentation
from resiliency.testing import FakeClock


class Boom(Exception):
    pass


@pytest.fixture
def logged(registry: Registry, caplog: pytest.LogCaptureFixture) -> Iterator[Instrumentation]:
    handle = resiliency_logging.instrument(registry)
    caplog.set_level(logging.DEBUG, logger="resiliency")
    yield handle
    handle.uninstall()


def records(caplog: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "resiliency_event", None) == kind]


def test_a_retry_is_a_warning_with_attempt_delay_and_error(
    registry: Registry, logged: Instrumentation, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    failures = iter([Boom("first")])

    @retry(max_attempts=2, backoff="constant", base_delay=0.25, clock=clock, registry=registry)
    def fetch() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "ok"

    assert fetch() == "ok"
    [record] = records(caplog, "retry")
    assert record.levelno == logging.WARNING
    assert record.name == "resiliency"
    assert record.strategy == fetch.__qualname__  # type: ignore[attr-defined]
    assert (record.attempt, record.delay) == (1, 0.25)  # type: ignore[attr-defined]
    assert "Boom('first')" in record.error  # type: ignore[attr-defined]
    assert "fetch" in record.getMessage()
    assert "retrying in 0.250s" in record.getMessage()


def test_breaker_opening_is_a_warning_closing_an_info(
    registry: Registry, logged: Instrumentation, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("payments", failure_threshold=1, reset_timeout=10, clock=clock, registry=registry)
    outcomes = iter([Boom(), None])

    @breaker
    def charge() -> None:
        error = next(outcomes)
        if error is not None:
            raise error

    with pytest.raises(Boom):
        charge()
    with pytest.raises(CircuitOpenError):
        charge()
    clock.advance(10)
    charge()  # the probe closes it
    changes = [(r.levelno, r.from_state, r.to_state) for r in records(caplog, "circuit_state_changed")]  # type: ignore[attr-defined]
    assert changes == [
        (logging.WARNING, "closed", "open"),
        (logging.INFO, "open", "half_open"),
        (logging.INFO, "half_open", "closed"),
    ]
    [rejected] = records(caplog, "circuit_rejected")
    assert rejected.levelno == logging.INFO
    assert rejected.strategy == "payments"


def test_rejections_and_timeouts_are_info(
    registry: Registry, logged: Instrumentation, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    pool = Bulkhead("db", max_concurrent=1, registry=registry)

    @pool
    def nested() -> None:
        with pytest.raises(BulkheadFullError):
            nested()

    nested()

    @rate_limit(rate=1, clock=clock, registry=registry)
    def send() -> None:
        pass

    send()
    with pytest.raises(RateLimitedError):
        send()

    @timeout(1, mode="cooperative", clock=clock, registry=registry)
    def slow() -> None:
        clock.advance(2)

    with pytest.raises(ResiliencyTimeoutError):
        slow()
    [full] = records(caplog, "bulkhead_rejected")
    [limited] = records(caplog, "rate_limited")
    [late] = records(caplog, "timeout")
    assert {full.levelno, limited.levelno, late.levelno} == {logging.INFO}
    assert (full.strategy, full.reason) == ("db", "full")  # type: ignore[attr-defined]
    assert limited.strategy == send.__qualname__  # type: ignore[attr-defined]
    assert (late.timeout, late.elapsed) == (1.0, 2.0)  # type: ignore[attr-defined]


def test_all_providers_failed_is_an_error(
    registry: Registry, logged: Instrumentation, caplog: pytest.LogCaptureFixture
) -> None:
    group = FailoverGroup("storage", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("s3", op="upload", group=group)
    def s3() -> None:
        raise ConnectionError("s3")

    @provider("r2", op="upload", group=group)
    def r2() -> None:
        raise ConnectionError("r2")

    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("upload")
    [record] = records(caplog, "all_providers_failed")
    assert record.levelno == logging.ERROR
    assert (record.group, record.op, record.attempts, record.providers) == ("storage", "upload", 2, ["s3", "r2"])  # type: ignore[attr-defined]
    debug = records(caplog, "provider_failed")
    assert [(r.levelno, r.provider) for r in debug] == [(logging.DEBUG, "s3"), (logging.DEBUG, "r2")]  # type: ignore[attr-defined]


def test_a_json_formatter_sees_the_fields(registry: Registry, logged: Instrumentation) -> None:
    import json

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            fields = ("resiliency_event", "strategy", "attempt", "delay")
            return json.dumps({"msg": record.getMessage(), **{k: getattr(record, k, None) for k in fields}})

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("resiliency")
    log.addHandler(handler)
    try:

        @retry(max_attempts=2, backoff="none", registry=registry, name="job")
        def job() -> None:
            raise Boom

        with pytest.raises(Boom):
            job()
    finally:
        log.removeHandler(handler)
    [line] = lines
    assert json.loads(line) == {
        "msg": "job: attempt 1 failed (Boom()); retrying in 0.000s",
        "resiliency_event": "retry",
        "strategy": "job",
        "attempt": 1,
        "delay": 0.0,
    }


def test_custom_logger_and_one_installation_per_registry(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    handle = resiliency_logging.instrument(registry, logger=logging.getLogger("app.resilience"))
    try:
        assert resiliency_logging.instrument(registry) is handle
        caplog.set_level(logging.INFO, logger="app.resilience")

        @rate_limit(rate=1, clock=FakeClock(), registry=registry)
        def send() -> None:
            pass

        send()
        with pytest.raises(RateLimitedError):
            send()
        assert [r.name for r in records(caplog, "rate_limited")] == ["app.resilience"]
    finally:
        handle.uninstall()
    assert registry.listeners == ()
    with pytest.raises(TypeError, match="logger"):
        resiliency_logging.instrument(registry, logger=42)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["logging", "prometheus", "otel"])
def test_contrib_modules_document_their_public_names(name: str) -> None:
    import importlib
    import inspect

    module = importlib.import_module(f"resiliency.contrib.{name}")
    assert inspect.getdoc(module)
    assert "instrument" in module.__all__
    for public in module.__all__:
        assert inspect.getdoc(getattr(module, public)), public
    assert inspect.getdoc(Instrumentation.uninstall)


@pytest.mark.parametrize("name", ["logging", "prometheus", "otel"])
def test_instrument_refuses_what_is_not_a_registry(name: str) -> None:
    import importlib

    module = importlib.import_module(f"resiliency.contrib.{name}")
    with pytest.raises(TypeError, match="registry must be a resiliency Registry"):
        module.instrument(object())
