"""The stores themselves: ``MemoryStore``, ``RedisStore``'s settings, scripts, thread and clients."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import redis
import redis.asyncio

from resiliency import Bulkhead, CircuitBreaker, RateLimiter, Registry, RetryBudget
from resiliency.stores import Store
from resiliency.stores.memory import MemoryStore
from resiliency.stores.redis import RedisStore


def test_import_resiliency_pulls_in_no_store_and_no_redis() -> None:
    code = "import sys, resiliency; print(any(m.startswith(('resiliency.stores', 'redis')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_memory_store_keeps_every_strategy_local() -> None:
    store = MemoryStore()
    assert isinstance(store, Store)
    registry = Registry(store=store)
    assert type(CircuitBreaker("b", registry=registry)) is CircuitBreaker
    assert type(RateLimiter("r", rate=1, registry=registry)) is RateLimiter
    assert type(Bulkhead("h", registry=registry)) is Bulkhead
    assert "shared" not in repr(RetryBudget("x", store=store, registry=registry))
    with pytest.raises(NotImplementedError):
        store.run("breaker_sync", ("k",), ())
    assert registry.health().status == "healthy"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"on_error": "ignore"}, ValueError, "on_error"),
        ({"sync_interval": 0}, ValueError, "sync_interval"),
        ({"sync_interval": "1"}, TypeError, "sync_interval"),
        ({"lease": -1.0}, ValueError, "lease"),
        ({"prefix": ""}, ValueError, "prefix"),
        ({"prefix": 3}, TypeError, "prefix"),
    ],
)
def test_bad_settings_name_the_parameter(options: dict[str, Any], error: type[Exception], match: str) -> None:
    client = redis.Redis()
    with pytest.raises(error, match=match):
        RedisStore(client, **options)
    client.close()


def test_a_client_must_be_a_redis_py_client() -> None:
    with pytest.raises(TypeError, match="client"):
        RedisStore("redis://localhost")
    with pytest.raises(TypeError, match="store"):
        Registry(store="redis://localhost")


def test_keys_share_one_hash_tag_per_object() -> None:
    client = redis.Redis()
    store = RedisStore(client, prefix="app")
    assert store.key("cb", "payments") == "app:{cb:payments}"
    client.close()


def test_a_flushed_script_cache_is_reloaded(redis_url: str) -> None:
    with RedisStore(redis.Redis.from_url(redis_url)) as store:
        limiter = RateLimiter("noscript", rate=5, period=3600, store=store, registry=Registry())
        assert limiter.try_acquire()
        store.client.script_flush()
        assert limiter.try_acquire()  # NOSCRIPT: loaded again, run again
        assert limiter.metrics().allowed == 2
        store.client.close()


def test_the_sync_thread_ends_with_close(redis_url: str, no_thread_leak: None) -> None:
    store = RedisStore(redis.Redis.from_url(redis_url))
    breaker = CircuitBreaker("threaded", store=store, registry=Registry())
    assert any(t.name == "resiliency-store-sync" for t in __import__("threading").enumerate())
    breaker.sync()
    store.close()
    store.client.close()


@pytest.mark.anyio
async def test_an_asyncio_client_serves_trio_through_a_worker_thread(redis_url: str, anyio_backend: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    store = RedisStore(client)
    try:
        limiter = RateLimiter("either", rate=3, period=3600, store=store, registry=Registry())
        admitted = 0

        @limiter
        async def call() -> None:
            nonlocal admitted
            admitted += 1

        for _ in range(5):
            try:
                await call()
            except Exception:
                pass
        assert admitted == 3
        assert limiter.try_acquire() is False  # sync callers use the sync twin
    finally:
        store.close()
        if anyio_backend == "asyncio":  # under trio it never connected (nor could it close)
            await client.aclose()


def test_repr_names_the_prefix_and_mode() -> None:
    client = redis.Redis()
    assert (
        repr(RedisStore(client, prefix="p", on_error="raise"))
        == "<RedisStore prefix='p' on_error='raise' client=Redis>"
    )
    assert repr(MemoryStore()) == "MemoryStore()"
    client.close()
