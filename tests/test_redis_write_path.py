"""The write path on a real redis-server: RedisCache, RedisIdempotencyStore, RedisStreamOutbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import resiliency
from resiliency import FailoverGroup, Outbox, OutboxWorker, WriteDeferredError, cache_fallback, idempotent
from resiliency.testing import FaultProxy

redis = pytest.importorskip("redis")

from resiliency.stores.redis import RedisCache, RedisIdempotencyStore, RedisStreamOutbox  # noqa: E402


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    """A client of the session's real redis-server (``servers.redis_servers``), flushed."""
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


# -- RedisCache -------------------------------------------------------------------------


def test_redis_cache_serves_stale_across_processes_until_stale_ttl(client: Any) -> None:
    cache = RedisCache(client)
    up = {"ok": True}

    def price(sku: str) -> int:
        if not up["ok"]:
            raise ConnectionError("down")
        return 7

    first = cache_fallback(stale_ttl=60.0, cache=cache)(price)
    assert first("a") == 7
    up["ok"] = False
    # Another "process": a second decorated callable on the same Redis keys.
    second = cache_fallback(stale_ttl=60.0, cache=RedisCache(client), key=lambda sku: repr((sku,)))(price)
    assert second("a") == 7
    assert 0 < client.pttl(f"{{{cache.prefix}}}:{('a',)!r}") <= 60_000


def test_redis_cache_ages_values_by_the_wall_clock(client: Any) -> None:
    cache = RedisCache(client)
    cache.set("k", {"v": 1}, 0.0, keep_for=60.0)
    value, age = cache.get("k", 0.0)  # type: ignore[misc]
    assert value == {"v": 1}
    assert 0.0 <= age < 5.0
    assert cache.get("missing", 0.0) is None


# -- RedisIdempotencyStore --------------------------------------------------------------


def test_idempotent_on_redis_runs_once_across_threads_and_stores(client: Any) -> None:
    runs: list[str] = []
    lock = threading.Lock()

    def charge(order: str) -> str:
        with lock:
            runs.append(order)
        time.sleep(0.005)
        return f"receipt-{order}"

    # Two stores on one Redis: two processes' worth of state.
    a = idempotent(key=lambda order: order, store=RedisIdempotencyStore(client, poll=0.001))(charge)
    b = idempotent(key=lambda order: order, store=RedisIdempotencyStore(client, poll=0.001))(charge)
    results: list[str] = []
    threads = [threading.Thread(target=lambda f=f: results.append(f("o-1"))) for f in (a, b) * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert runs == ["o-1"]
    assert results == ["receipt-o-1"] * 16


def test_idempotent_takes_a_redis_store_for_its_key_space(client: Any) -> None:
    from resiliency.stores.redis import RedisStore

    store = RedisStore(client, prefix="app", lease=5.0)
    runs: list[str] = []

    @idempotent(key=lambda order: order, store=store)
    def charge(order: str) -> str:
        runs.append(order)
        return f"receipt-{order}"

    assert charge("o-9") == charge("o-9") == "receipt-o-9"
    assert runs == ["o-9"]
    assert client.exists("{app:idem:o-9}:answer") == 1
    assert 0 < client.pttl("{app:idem:o-9}:answer") <= 86_400_000


def test_a_fail_open_store_runs_calls_while_redis_is_down(redis_fresh: Any) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis.Redis.from_url(redis_fresh.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=0.5)
    runs = 0

    @idempotent(key=lambda: "k", store=RedisIdempotencyStore(down, on_error="fail_open"))
    def write() -> int:
        nonlocal runs
        runs += 1
        return runs

    @idempotent(key=lambda: "k", store=RedisIdempotencyStore(down))
    def strict() -> int:
        return 0

    redis_fresh.kill()
    assert write() == 1
    assert write() == 2  # not deduplicated while Redis is away, but never refused
    with pytest.raises(redis.ConnectionError):
        strict()  # on_error="raise": the call does not run
    redis_fresh.restart()
    down.close()


def test_a_key_whose_holder_died_is_free_after_the_lease(client: Any) -> None:
    store = RedisIdempotencyStore(client, lease=0.05, poll=0.005)
    mine, _token = store.begin("k")  # taken, and never finished: the holder "died"
    assert mine
    started = time.monotonic()
    again, _ = store.begin("k")
    assert again
    assert time.monotonic() - started >= 0.04


@pytest.mark.anyio
async def test_idempotent_on_redis_from_async_code(client: Any) -> None:
    calls = 0

    @idempotent(key=str, store=RedisIdempotencyStore(client, poll=0.001))
    async def op(n: int) -> int:
        nonlocal calls
        calls += 1
        return n * 2

    assert await op(21) == 42
    assert await op(21) == 42
    assert calls == 1


# -- RedisStreamOutbox ------------------------------------------------------------------


def make_group(registry: resiliency.Registry, outbox: Outbox, fn: Any) -> FailoverGroup:
    one_try = resiliency.PolicyConfig(default=resiliency.RetryPolicy(max_attempts=1))
    group = FailoverGroup("storage", one_try, registry=registry, outbox=outbox, deferred_ops={"upload"})
    group.register(resiliency.provider_from_callable("s3", fn, op="upload"))
    return group


def test_stream_outbox_defers_and_drains(client: Any, registry: resiliency.Registry) -> None:
    outbox = Outbox(RedisStreamOutbox(client))
    state: dict[str, Any] = {"up": False, "applied": []}

    def upload(key: str, data: bytes) -> str:
        if not state["up"]:
            raise ConnectionError("down")
        state["applied"].append((key, data, resiliency.idempotency_key()))
        return key

    group = make_group(registry, outbox, upload)
    ids = []
    for n in range(10):
        with pytest.raises(WriteDeferredError) as caught:
            group.execute_sync("upload", f"{n}", b"\x00")
        ids.append(caught.value.item_id)
    assert outbox.stats().pending == 10
    assert [i.id for i in outbox.items("pending")] == ids
    state["up"] = True
    worker = OutboxWorker(outbox, group, base_delay=0, max_delay=0, poll_interval=0.001)
    assert worker.drain_sync() == 10
    assert sorted(k for k, _, _ in state["applied"]) == sorted(str(n) for n in range(10))
    assert {key for _, _, key in state["applied"]} == set(ids)
    assert outbox.stats() == resiliency.OutboxStats(0, 0, 10, 0)
    assert client.xlen(f"{{{outbox.backend.stream}}}") == 0  # acked entries are deleted
    assert outbox.purge() == 10


def test_stream_outbox_put_many_sends_one_pipeline(client: Any, registry: resiliency.Registry) -> None:
    outbox = Outbox(RedisStreamOutbox(client))
    ids = outbox.put_many([("upload", (str(n), b"x"), {}) for n in range(50)])
    assert len(set(ids)) == 50
    assert outbox.stats().pending == 50
    assert client.xlen(f"{{{outbox.backend.stream}}}") == 50
    assert sorted(i.args[0] for i in outbox.items("pending", limit=100)) == sorted(str(n) for n in range(50))


def test_stream_outbox_retries_then_dead_letters_and_retry_requeues(client: Any, registry: resiliency.Registry) -> None:
    outbox = Outbox(RedisStreamOutbox(client))
    calls = 0

    def upload(key: str, data: bytes) -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    group = make_group(registry, outbox, upload)
    item_id = outbox.put("upload", ("a", b"x"))
    worker = OutboxWorker(outbox, group, max_attempts=3, base_delay=0.001, max_delay=0.002, poll_interval=0.001)
    assert worker.drain_sync() == 0
    [item] = outbox.items("dead")
    assert (item.id, item.attempts) == (item_id, 3)
    assert calls == 3
    assert outbox.retry(item_id) is True
    assert outbox.stats().pending == 1


def test_an_entry_of_a_dead_consumer_is_claimed_back_after_the_lease(client: Any) -> None:
    dead = RedisStreamOutbox(client, consumer="dead-worker")
    live = RedisStreamOutbox(client, consumer="live-worker")
    item_id = dead.put("upload", b"[[],{}]", None)
    [row] = dead.claim(10, 0.05)  # taken, never settled
    assert row[0] == item_id
    assert live.claim(10, 0.05) == []  # its lease runs
    time.sleep(0.06)
    [again] = live.claim(10, 0.05)
    assert (again[0], again[4]) == (item_id, 2)
    dead.nack(item_id, row[8], "late answer", None)  # stale token: ignored
    assert live.counts()["in_flight"] == 1
    live.ack(item_id)
    assert live.counts() == {"pending": 0, "in_flight": 0, "done": 1, "dead": 0}


WORKER = textwrap.dedent(
    """
    import sys, redis, resiliency
    from resiliency import FailoverGroup, Outbox, OutboxWorker, PolicyConfig, RetryPolicy, provider_from_callable
    from resiliency.stores.redis import RedisIdempotencyStore, RedisStreamOutbox

    client = redis.Redis.from_url(sys.argv[1])

    # The provider is idempotent fleet-wide: an item already applied by the killed worker
    # (and answered) is not applied again; the sink still refuses a repeated key for the
    # one item the kill may catch between its write and its answer.
    @resiliency.idempotent(store=RedisIdempotencyStore(client, lease=1.0, poll=0.005))
    def apply(n):
        key = resiliency.idempotency_key()
        client.rpush("calls", key)
        client.hsetnx("applied", key, n)  # the sink refuses a second write of a key
        return n

    group = FailoverGroup("sink", PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=resiliency.Registry())
    group.register(provider_from_callable("db", apply, op="write"))
    outbox = Outbox(RedisStreamOutbox(client, consumer=sys.argv[2]))
    worker = OutboxWorker(outbox, group, concurrency=1, lease=0.5, base_delay=0, max_delay=0, poll_interval=0.01)
    worker.drain_sync()
    """
)


@pytest.mark.slow
def test_two_stream_workers_one_killed_apply_every_item_once(redis_url: str, client: Any) -> None:
    outbox = Outbox(RedisStreamOutbox(client))
    total = 2_000
    ids = {outbox.put("write", (n,)) for n in range(total)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def start(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", WORKER, redis_url, name], env=env)

    doomed, survivor = start("doomed"), start("survivor")
    try:
        deadline = time.monotonic() + 60
        while client.hlen("applied") < total // 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        assert survivor.wait(120) == 0
    finally:
        for proc in (doomed, survivor):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert doomed.returncode == -signal.SIGKILL
    applied = {k.decode() for k in client.hkeys("applied")}
    assert applied == ids
    assert outbox.stats() == resiliency.OutboxStats(0, 0, total, 0)
    assert total <= client.llen("calls") <= total + 1  # only the item in hand at the kill twice


def test_the_stores_take_an_asyncio_client_or_a_redis_store(redis_url: str, client: Any) -> None:
    import redis.asyncio

    from resiliency.stores.redis import RedisStore

    aclient = redis.asyncio.Redis.from_url(redis_url)
    outbox = Outbox(RedisStreamOutbox(aclient))
    item_id = outbox.put("upload", ("a", b"x"))
    assert [i.id for i in outbox.items("pending")] == [item_id]
    store = RedisStore(client, prefix="shared")
    cache = RedisCache(store)
    cache.set("k", 1, 0.0, keep_for=60.0)
    assert client.exists("{resiliency:cache}:k") == 1
    assert RedisIdempotencyStore(store).client is client


def test_bad_arguments_are_named(client: Any) -> None:
    with pytest.raises(TypeError, match="client must be"):
        RedisStreamOutbox(object())
    with pytest.raises(TypeError, match="stream must be"):
        RedisStreamOutbox(client, "")
    with pytest.raises(TypeError, match="client must be"):
        RedisCache(object())
    with pytest.raises(ValueError, match="lease must be"):
        RedisIdempotencyStore(client, lease=0)
    with pytest.raises(ValueError, match="on_error must be"):
        RedisIdempotencyStore(client, on_error="fail_closed")


def test_writes_deferred_while_the_proxy_is_down_are_applied_after_heal(
    redis_url: str, client: Any, registry: resiliency.Registry, tmp_path: Any
) -> None:
    port = client.connection_pool.connection_kwargs["port"]
    with FaultProxy("127.0.0.1", port) as proxy:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries inside redis-py: the failover group and the outbox decide.
        through_proxy = redis.Redis(
            host=proxy.host,
            port=proxy.port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        outbox = Outbox(tmp_path / "outbox.db")

        def put(key: str, value: str) -> str:
            through_proxy.set(key, value)
            return key

        write = FailoverGroup("writes", registry=registry, outbox=outbox, deferred_ops={"put"})
        write.register(resiliency.provider_from_callable("redis", put, op="put"))

        assert write.execute_sync("put", "k0", "v0") == "k0"  # healthy: written at once
        proxy.down()
        deferred = []
        for n in range(1, 21):
            with pytest.raises(WriteDeferredError) as caught:
                write.execute_sync("put", f"k{n}", f"v{n}")
            deferred.append(caught.value.item_id)
        assert outbox.stats().pending == 20
        assert client.exists(*[f"k{n}" for n in range(1, 21)]) == 0
        proxy.heal()
        worker = OutboxWorker(outbox, write, base_delay=0, max_delay=0, poll_interval=0.001)
        assert worker.drain_sync() == 20
        through_proxy.close()
        outbox.close()
    assert [client.get(f"k{n}") for n in range(21)] == [f"v{n}".encode() for n in range(21)]
