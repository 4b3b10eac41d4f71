"""Redis killed and restarted under load: what each ``on_error`` mode promises.

- "fail_open": every call goes on with local state; the store reconnects by itself.
- "fail_closed": calls that need the store are rejected with the strategy's own error.
- "raise": the redis-py error reaches the caller.
Each outage is a ``StoreUnavailable`` event, then ``StoreRecovered``, and
``registry.health()`` is "degraded" while it lasts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry
from servers.redis_servers import RedisServer

from resiliency import (
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    RateLimitedError,
    RateLimiter,
    Registry,
    StoreRecovered,
    StoreUnavailable,
)
from resiliency.stores.redis import RedisStore


def fast_client(server: RedisServer) -> redis.Redis:
    """A client that fails at once when the server is gone (no retries, short timeouts)."""
    return redis.Redis(
        host=server.host, port=server.port, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture
def fleet(redis_fresh: RedisServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A registry with a store in the requested mode, and a breaker, a limiter and a bulkhead on it."""
    store = RedisStore(fast_client(redis_fresh), on_error=request.param, sync_interval=0.02)
    registry = Registry(store=store)
    events: list[Any] = []
    registry.subscribe(events.append)
    # The limiter's and bulkhead's refusals are not the dependency failing.
    breaker = CircuitBreaker(
        "dep", failure_threshold=1000, ignore_on=(RateLimitedError, BulkheadFullError), registry=registry
    )
    limiter = RateLimiter("dep", rate=1e6, registry=registry)
    bulkhead = Bulkhead("dep", max_concurrent=50, registry=registry)

    @breaker
    @limiter
    @bulkhead
    def call() -> str:
        return "ok"

    yield redis_fresh, store, registry, events, breaker, call
    store.close()
    store.client.close()


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def load(call: Any, stop: threading.Event, results: list[Any]) -> None:
    while not stop.is_set():
        try:
            results.append(call())
        except Exception as exc:
            results.append(exc)


def under_load(call: Any, action: Any) -> list[Any]:
    """Run ``action()`` while 4 threads call ``call`` in a loop; return every outcome."""
    stop = threading.Event()
    results: list[Any] = []
    threads = [threading.Thread(target=load, args=(call, stop, results)) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        action()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    return results


@pytest.mark.parametrize("fleet", ["fail_open"], indirect=True)
def test_fail_open_goes_on_with_local_state_and_reconnects_by_itself(fleet: Any) -> None:
    server, store, registry, events, _breaker, call = fleet
    assert call() == "ok"

    def outage() -> None:
        server.kill()
        wait_for(lambda: not store.available, "the outage to be noticed")
        assert registry.health().status == "degraded"
        assert any("unavailable" in issue for issue in registry.health().issues)
        server.start()
        wait_for(lambda: store.available, "the store to reconnect")

    results = under_load(call, outage)
    assert results
    assert all(r == "ok" for r in results)
    outages = [e for e in events if isinstance(e, (StoreUnavailable, StoreRecovered))]
    assert [type(e) for e in outages] == [StoreUnavailable, StoreRecovered], [
        (type(e).__name__, repr(getattr(e, "error", None))) for e in outages
    ]
    assert registry.health().status == "healthy"
    # Shared again: the limiter's state is back in the (restarted, empty) server.
    assert call() == "ok"
    assert store.client.exists(store.key("rl", "dep"))


@pytest.mark.parametrize("fleet", ["fail_closed"], indirect=True)
def test_fail_closed_rejects_with_each_strategys_own_error(fleet: Any) -> None:
    server, store, registry, events, breaker, call = fleet
    assert call() == "ok"
    seen: list[Any] = []

    def outage() -> None:
        server.kill()
        wait_for(lambda: breaker.state is CircuitState.OPEN, "the breaker to close the door")
        seen.extend(_each_strategy_refuses(registry))
        server.start()
        wait_for(lambda: store.available and breaker.state is CircuitState.CLOSED, "the fleet state to come back")

    results = under_load(call, outage)
    assert {type(r) for r in results} <= {str, CircuitOpenError, RateLimitedError, BulkheadFullError}
    assert seen == [RateLimitedError, BulkheadFullError]
    assert any(isinstance(r, CircuitOpenError) for r in results)
    assert call() == "ok"
    assert [type(e) for e in events if isinstance(e, (StoreUnavailable, StoreRecovered))][:1] == [StoreUnavailable]


def _each_strategy_refuses(registry: Registry) -> list[type]:
    limiter, bulkhead = registry.rate_limiter("dep"), registry.bulkhead("dep")
    refused = []
    store = limiter._store
    store._next_try = 0.0  # ask the dead server now, not at the next retry time
    with pytest.raises(RateLimitedError):
        limiter(lambda: None)()
    refused.append(RateLimitedError)
    store._next_try = 0.0
    with pytest.raises(BulkheadFullError) as caught:
        bulkhead(lambda: None)()
    assert caught.value.reason == "store_unavailable"
    refused.append(BulkheadFullError)
    return refused


@pytest.mark.parametrize("fleet", ["raise"], indirect=True)
def test_raise_lets_the_redis_error_through(fleet: Any) -> None:
    server, store, _registry, _events, _breaker, call = fleet
    assert call() == "ok"
    server.kill()
    with pytest.raises(redis.exceptions.ConnectionError):
        call()
    assert not store.available
    server.start()
    wait_for(lambda: _succeeds(call), "calls to go through again")
    assert store.available


def _succeeds(call: Any) -> bool:
    try:
        return bool(call() == "ok")
    except redis.exceptions.ConnectionError:
        return False


@pytest.mark.parametrize("fleet", ["fail_open"], indirect=True)
def test_a_restart_mid_run_loses_the_open_state_only_as_a_fresh_server_would(fleet: Any) -> None:
    """An empty, restarted server is a fresh closed breaker: no crash (pybreaker #28)."""
    server, _store, _registry, _events, breaker, _call = fleet
    breaker.force_open()
    server.restart()
    other = RedisStore(fast_client(server))
    try:
        again = CircuitBreaker("dep", failure_threshold=1000, store=other, registry=Registry())
        assert again.state is CircuitState.CLOSED
    finally:
        other.close()
        other.client.close()


@pytest.mark.parametrize(("mode", "state"), [("fail_open", CircuitState.CLOSED), ("fail_closed", CircuitState.OPEN)])
def test_a_process_starting_while_redis_is_down(redis_fresh: RedisServer, mode: str, state: CircuitState) -> None:
    redis_fresh.kill()
    store = RedisStore(fast_client(redis_fresh), on_error=mode)  # type: ignore[arg-type]
    try:
        breaker = CircuitBreaker("starting", store=store, registry=Registry())
        assert breaker.state is state
        assert not store.available
    finally:
        store.close()
        store.client.close()


def test_any_redis_error_is_an_outage_not_a_raw_error(redis_fresh: RedisServer) -> None:
    """An out-of-memory server answers every write with an error: fail open on it."""
    client = fast_client(redis_fresh)
    client.config_set("maxmemory", "1")  # nothing can be written any more
    store = RedisStore(client)
    try:
        limiter = RateLimiter("oom", rate=1, period=3600, store=store, registry=Registry())
        assert limiter.try_acquire()  # decided on the local bucket
        assert not store.available
    finally:
        client.config_set("maxmemory", "0")
        store.close()
        client.close()

