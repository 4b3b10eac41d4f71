"""The httpx transports against real HTTP servers on loopback (no mocks of httpx)."""

from __future__ import annotations

import httpx
import pytest
from servers.http_servers import Reply, Reset, ScriptedServer, Stall

import resiliency
from resiliency import CircuitBreaker, CircuitOpenError, CircuitState, RetryPolicy
from resiliency.contrib.httpx import (
    IDEMPOTENT_METHODS,
    AsyncResilientTransport,
    ResilientTransport,
    RetryableStatusError,
)
from resiliency.testing import FakeClock

pytestmark = pytest.mark.usefixtures("no_thread_leak_patient")

FAST = RetryPolicy.http(base_delay=0.0, max_delay=0.0)


def sync_client(**options: object) -> httpx.Client:
    return httpx.Client(transport=ResilientTransport(**options))  # type: ignore[arg-type]


def async_client(**options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=AsyncResilientTransport(**options))  # type: ignore[arg-type]


# -- sync ---------------------------------------------------------------------------------------


def test_503_with_retry_after_is_retried_after_the_hinted_delay(http_server: ScriptedServer) -> None:
    clock = FakeClock()
    http_server.add(Reply(503, {"Retry-After": "2"}), Reply(503, {"Retry-After": "3"}))
    with sync_client(clock=clock) as client:
        response = client.get(f"{http_server.url}/thing")
    assert response.status_code == 200
    assert response.text == "ok"
    assert len(http_server.requests) == 3
    assert clock.monotonic() == pytest.approx(5.0)  # slept exactly the two hints


def test_retried_responses_are_closed_so_one_connection_serves_every_attempt(http_server: ScriptedServer) -> None:
    http_server.add(Reply(503), Reply(502), Reply(429))
    transport = ResilientTransport(retry=FAST)
    with httpx.Client(transport=transport) as client:
        assert client.get(http_server.url).status_code == 200
        # An unclosed response would hold its connection: each retry would open a new one.
        assert http_server.connections == 1
    assert len(http_server.requests) == 4


def test_when_attempts_run_out_the_last_response_is_returned_open(http_server: ScriptedServer) -> None:
    http_server.add(*[Reply(503, body=b"busy")] * 4)
    with sync_client(retry=FAST) as client:
        response = client.get(http_server.url)
        assert response.status_code == 503
        assert response.text == "busy"
    assert len(http_server.requests) == 4
    assert http_server.connections == 1


def test_reset_connections_are_retried(http_server: ScriptedServer) -> None:
    http_server.add(Reset(), Reset())
    with sync_client(retry=FAST) as client:
        assert client.get(http_server.url).text == "ok"
    assert len(http_server.requests) == 3


def test_post_without_idempotency_key_is_not_retried(http_server: ScriptedServer) -> None:
    http_server.add(Reset())
    with sync_client(retry=FAST) as client, pytest.raises(httpx.TransportError):
        client.post(http_server.url, content=b"order")
    assert len(http_server.requests) == 1


def test_post_with_idempotency_key_is_retried(http_server: ScriptedServer) -> None:
    http_server.add(Reply(503))
    with sync_client(retry=FAST) as client:
        response = client.post(http_server.url, content=b"order", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 200
    assert [r[0] for r in http_server.requests] == ["POST", "POST"]


def test_a_404_is_not_retried(http_server: ScriptedServer) -> None:
    http_server.add(Reply(404, body=b"nope"))
    with sync_client(retry=FAST) as client:
        assert client.get(http_server.url).status_code == 404
    assert len(http_server.requests) == 1


def test_one_breaker_per_host_port_opens_and_rejects(http_server: ScriptedServer) -> None:
    other = ScriptedServer()
    other.start()
    try:
        http_server.add(*[Reply(503)] * 3)
        transport = ResilientTransport(retry=None, breaker=resiliency.CircuitBreakerPolicy(failure_threshold=3))
        with httpx.Client(transport=transport) as client:
            for _ in range(3):
                assert client.get(http_server.url).status_code == 503
            with pytest.raises(CircuitOpenError):
                client.get(http_server.url)
            assert client.get(other.url).status_code == 200  # another host:port, its own breaker
        breakers = transport.breakers
        assert breakers[f"127.0.0.1:{http_server.port}"].state is CircuitState.OPEN
        assert breakers[f"127.0.0.1:{other.port}"].state is CircuitState.CLOSED
        assert len(http_server.requests) == 3
    finally:
        other.stop()


def test_a_breaker_that_opens_mid_retry_closes_the_last_response(http_server: ScriptedServer) -> None:
    http_server.add(Reply(503), Reply(503))
    breaker = CircuitBreaker(failure_threshold=1)
    with sync_client(retry=FAST, breaker=breaker) as client, pytest.raises(CircuitOpenError):
        client.get(http_server.url)
    assert len(http_server.requests) == 1


def test_the_callers_deadline_is_the_request_timeout(http_server: ScriptedServer) -> None:
    http_server.add(Stall(), Stall(), Stall(), Stall())

    @resiliency.timeout(0.3, mode="cooperative")
    def fetch() -> httpx.Response:
        with sync_client(retry=FAST) as client:
            return client.get(http_server.url)

    with pytest.raises((httpx.ReadTimeout, resiliency.ResiliencyTimeoutError)):
        fetch()
    # Without the cap, httpx's default 5 s read timeout would hold the call; the deadline
    # also stops the retries (no attempt starts once it has passed).
    assert len(http_server.requests) <= 2


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers the timeouts each request was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[dict[str, float | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(dict(request.extensions["timeout"]))
        return super().handle_request(request)


def test_each_attempt_timeout_is_capped_at_the_remaining_deadline(http_server: ScriptedServer) -> None:
    inner = RecordingTransport()
    http_server.add(Reply(503))
    with httpx.Client(transport=ResilientTransport(inner, retry=FAST), timeout=30.0) as client:
        assert client.get(http_server.url).status_code == 200  # no deadline: httpx's own timeouts
        assert inner.timeouts == [dict.fromkeys(("connect", "read", "write", "pool"), 30.0)] * 2
        inner.timeouts.clear()

        @resiliency.timeout(2.0, mode="cooperative")
        def fetch() -> httpx.Response:
            return client.get(http_server.url)

        assert fetch().status_code == 200
    (sent,) = inner.timeouts
    assert set(sent) == {"connect", "read", "write", "pool"}
    assert all(value is not None and 0.0 < value <= 2.0 for value in sent.values())


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(TypeError, match="retry"):
        ResilientTransport(retry="often")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="breaker"):
        ResilientTransport(breaker="per_ip")
    with pytest.raises(TypeError, match="breaker"):
        ResilientTransport(breaker=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="transport"):
        ResilientTransport(transport=httpx.AsyncHTTPTransport())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="statuses"):
        ResilientTransport(statuses=[999])
    assert "GET" in IDEMPOTENT_METHODS
    assert "POST" not in IDEMPOTENT_METHODS


def test_retryable_status_error_carries_the_response_for_classification() -> None:
    response = httpx.Response(503, headers={"Retry-After": "1"})
    assert resiliency.classify(RetryableStatusError(response)) == "throttled"
    assert resiliency.classify(RetryableStatusError(httpx.Response(502))) == "transient"


# -- async --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_retries_retry_after_and_closes_responses(http_server: ScriptedServer) -> None:
    clock = FakeClock()
    http_server.add(Reply(503, {"Retry-After": "1"}), Reset(), Reply(429, {"Retry-After": "2"}))
    async with async_client(clock=clock) as client:
        response = await client.get(http_server.url)
    assert response.status_code == 200
    assert len(http_server.requests) == 4
    assert clock.monotonic() >= 3.0  # both hints slept (plus a jittered delay after the reset)
    assert http_server.connections == 2  # the reset killed one; the retried responses were closed


@pytest.mark.anyio
async def test_the_one_line_client_with_every_default(http_server: ScriptedServer) -> None:
    http_server.add(Reply(503, {"Retry-After": "0"}), Reply(429, {"Retry-After": "0"}))
    async with httpx.AsyncClient(transport=AsyncResilientTransport()) as client:
        response = await client.get(f"{http_server.url}/orders")
    assert (response.status_code, response.text) == (200, "ok")
    assert len(http_server.requests) == 3
    assert http_server.connections == 1


@pytest.mark.anyio
async def test_async_post_is_not_retried_and_breaker_is_per_host(http_server: ScriptedServer) -> None:
    http_server.add(Reply(503), Reply(503))
    transport = AsyncResilientTransport(retry=FAST, breaker=resiliency.CircuitBreakerPolicy(failure_threshold=2))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.post(http_server.url, content=b"x")).status_code == 503
        assert (await client.post(http_server.url, content=b"x")).status_code == 503
        with pytest.raises(CircuitOpenError):
            await client.get(http_server.url)
    assert len(http_server.requests) == 2


@pytest.mark.anyio
async def test_async_deadline_caps_a_slow_body(http_server: ScriptedServer) -> None:
    http_server.add(Stall(), Stall(), Stall(), Stall())

    @resiliency.timeout(0.3)
    async def fetch() -> httpx.Response:
        async with async_client(retry=FAST) as client:
            return await client.get(http_server.url)

    with pytest.raises((httpx.ReadTimeout, resiliency.ResiliencyTimeoutError)):
        await fetch()


class AsyncRecordingTransport(httpx.AsyncHTTPTransport):
    """A real async HTTP transport that remembers the read timeout of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[float | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.reads.append(request.extensions["timeout"]["read"])
        return await super().handle_async_request(request)


@pytest.mark.anyio
async def test_async_attempt_timeout_is_capped_at_the_deadline(http_server: ScriptedServer) -> None:
    inner = AsyncRecordingTransport()
    async with httpx.AsyncClient(transport=AsyncResilientTransport(inner), timeout=30.0) as client:

        @resiliency.timeout(3.0)
        async def fetch() -> httpx.Response:
            return await client.get(http_server.url)

        assert (await fetch()).status_code == 200
        assert (await client.get(http_server.url)).status_code == 200
    capped, uncapped = inner.reads
    assert capped is not None
    assert 0.0 < capped <= 3.0
    assert uncapped == 30.0


@pytest.mark.anyio
async def test_many_concurrent_requests_share_one_host_breaker(http_server: ScriptedServer) -> None:
    import anyio

    http_server.add(*[Reply(503)] * 20)
    transport = AsyncResilientTransport(retry=FAST, breaker=resiliency.CircuitBreakerPolicy(failure_threshold=100))
    statuses: list[int] = []
    async with httpx.AsyncClient(transport=transport) as client:

        async def one() -> None:
            statuses.append((await client.get(http_server.url)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
    assert statuses == [200] * 50
    assert list(transport.breakers) == [f"127.0.0.1:{http_server.port}"]
    assert len(http_server.requests) == 70
