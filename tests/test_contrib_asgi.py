"""ASGI handlers and the health route, on a real FastAPI/Starlette app served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from servers.http_servers import serve_asgi
from starlette.applications import Starlette

import resiliency
from resiliency import Bulkhead, CircuitBreaker, RateLimiter, Registry, ResiliencyTimeoutError
from resiliency.contrib.asgi import exception_handlers, health_route
from resiliency.testing import FakeClock

pytestmark = pytest.mark.usefixtures("no_thread_leak_patient")


@pytest.fixture
def app_url() -> Iterator[str]:
    registry = Registry()
    # Unhealthy: the only named breaker is open, and the service cannot work without it.
    breaker = CircuitBreaker("payments", registry=registry, reset_timeout=12.5, critical=True)
    breaker.force_open()
    open_breaker = CircuitBreaker(failure_threshold=1, reset_timeout=7.2, clock=FakeClock())
    open_breaker.record(0.0, True, 0.0, False)  # one failure opens it
    limiter = RateLimiter(rate=1, max_wait=0)
    limiter.try_acquire()
    bulkhead = Bulkhead(max_concurrent=1)

    app = FastAPI(exception_handlers=exception_handlers(), routes=[health_route(registry, path="/healthz")])

    @open_breaker
    def pay() -> str:
        return "paid"

    @app.get("/breaker")
    def breaker_route() -> str:
        return pay()

    @app.get("/limited")
    def limited_route() -> str:
        return limiter(lambda: "ok")()

    @app.get("/full")
    async def full_route() -> str:
        raise resiliency.BulkheadFullError(bulkhead, "full")

    @app.get("/slow")
    async def slow_route() -> str:
        raise ResiliencyTimeoutError(2.0, 2.0, "slow")

    @app.get("/fine")
    def fine_route() -> str:
        return "fine"

    with serve_asgi(app) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "status", "code", "retry_after"),
    [
        ("/breaker", 503, "CIRCUIT_OPEN", "8"),
        ("/limited", 429, "RATE_LIMITED", "1"),
        ("/full", 503, "BULKHEAD_FULL", "1"),
        ("/slow", 504, "TIMEOUT", None),
        ("/fine", 200, None, None),
    ],
)
def test_each_error_maps_to_its_status(
    app_url: str, path: str, status: int, code: str | None, retry_after: str | None
) -> None:
    with httpx.Client(base_url=app_url) as client:
        response = client.get(path)
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    if code is not None:
        assert response.json()["error"] == code


def test_health_route_reports_unhealthy_with_503(app_url: str) -> None:
    with httpx.Client(base_url=app_url) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["open_breakers"] == ["payments"]


def test_health_route_200_when_healthy_or_degraded_on_starlette() -> None:
    registry = Registry()
    CircuitBreaker("a", registry=registry)
    b = CircuitBreaker("b", registry=registry)
    app = Starlette(routes=[health_route(registry)], exception_handlers=exception_handlers())
    with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
        healthy = client.get("/health")
        b.force_open()
        degraded = client.get("/health")
    assert (healthy.status_code, healthy.json()["status"]) == (200, "healthy")
    assert (degraded.status_code, degraded.json()["status"]) == (200, "degraded")


def test_a_deferred_write_answers_202_with_its_item_id(tmp_path: Any) -> None:
    registry = Registry()
    outbox = resiliency.Outbox(tmp_path / "outbox.db")
    storage = resiliency.FailoverGroup("storage", registry=registry, outbox=outbox, deferred_ops={"upload"})

    def down(key: str) -> str:
        raise ConnectionError("s3 unreachable")

    storage.register(resiliency.provider_from_callable("s3", down, op="upload"))
    app = FastAPI(exception_handlers=exception_handlers())

    @app.post("/upload/{key}")
    async def upload(key: str) -> str:
        result: str = await storage.execute("upload", key)
        return result

    with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
        response = client.post("/upload/a.txt")
    [item] = outbox.items("pending")
    outbox.close()
    assert response.status_code == 202
    body = response.json()
    assert (body["error"], body["item_id"]) == ("DEFERRED", item.id)
    assert item.args == ("a.txt",)


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(TypeError, match="registry"):
        health_route("default")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="path"):
        health_route(path="health")
