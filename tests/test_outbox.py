"""The outbox: durable deferred writes, the group's deferral, and the worker that drains."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import resiliency
from resiliency import (
    FailoverGroup,
    JsonSerializer,
    Outbox,
    OutboxWorker,
    PickleSerializer,
    SqliteOutbox,
    WriteDeferredError,
    provider_from_callable,
)


class Store:
    """A provider whose availability the test switches; records what it applied."""

    def __init__(self, up: bool = False) -> None:
        self.up = up
        self.applied: list[tuple[Any, ...]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def upload(self, key: str, data: bytes) -> str:
        with self.lock:
            self.calls += 1
            if not self.up:
                raise ConnectionError("store unreachable")
            self.applied.append((key, data, resiliency.idempotency_key()))
        return f"stored {key}"

    async def aupload(self, key: str, data: bytes) -> str:
        return self.upload(key, data)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(SqliteOutbox(tmp_path / "outbox.db"))
    yield box
    box.close()


def make_group(registry: resiliency.Registry, outbox: Outbox, store: Store, *, sync: bool = True) -> FailoverGroup:
    one_try = resiliency.PolicyConfig(default=resiliency.RetryPolicy(max_attempts=1))
    group = FailoverGroup("storage", one_try, registry=registry, outbox=outbox, deferred_ops={"upload"})
    group.register(provider_from_callable("s3", store.upload if sync else store.aupload, op="upload"))
    return group


def worker(outbox: Outbox, group: FailoverGroup, **kw: Any) -> OutboxWorker:
    kw.setdefault("base_delay", 0.0)
    kw.setdefault("max_delay", 0.0)
    kw.setdefault("poll_interval", 0.001)
    return OutboxWorker(outbox, group, rng=random.Random(7), **kw)


# -- put, items, stats ------------------------------------------------------------------


def test_put_stores_a_pending_item_with_its_arguments(outbox: Outbox) -> None:
    item_id = outbox.put("upload", ("a.txt", b"\x00\xff"), {"tags": ("x", 1)}, key="k-1")
    [item] = outbox.items()
    assert item.id == item_id
    # JSON has no tuple: a nested one comes back as a list (the arguments stay a tuple).
    assert (item.op, item.args, item.kwargs, item.key) == ("upload", ("a.txt", b"\x00\xff"), {"tags": ["x", 1]}, "k-1")
    assert (item.state, item.attempts, item.last_error) == ("pending", 0, None)
    assert outbox.stats() == resiliency.OutboxStats(pending=1, in_flight=0, done=0, dead=0)


def test_the_key_defaults_to_a_fresh_uuid(outbox: Outbox) -> None:
    outbox.put("upload", ("a",))
    outbox.put("upload", ("a",))
    keys = [item.key for item in outbox.items()]
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in keys)
    assert keys[0] != keys[1]


def test_put_is_durable_before_it_returns(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    item_id = box.put("upload", ("a", b"x"))
    # Another connection (another process would do the same) sees the committed row.
    with sqlite3.connect(tmp_path / "o.db") as db:
        assert db.execute("SELECT seq, state FROM outbox").fetchall() == [(int(item_id), "pending")]
    box.close()


def test_an_argument_that_cannot_be_serialized_is_refused_at_put(outbox: Outbox) -> None:
    with pytest.raises(TypeError, match=r"cannot defer 'upload'.*object"):
        outbox.put("upload", (object(),))
    assert outbox.stats().pending == 0


def test_pickle_serializer_takes_any_picklable_object(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "p.db", serializer=PickleSerializer())
    box.put("upload", (Path("/x"), {1: 2}))
    assert box.items()[0].args == (Path("/x"), {1: 2})
    box.close()


def test_json_serializer_round_trips_bytes_and_nesting() -> None:
    value = [["k", b"\x01", ["a", [b"b"]]], {"n": None, "f": 1.5, "raw": {"__note__": "kept"}}]
    assert JsonSerializer().loads(JsonSerializer().dumps(value)) == value


def test_json_serializer_refuses_nan_and_objects() -> None:
    with pytest.raises(ValueError):
        JsonSerializer().dumps([float("nan")])
    with pytest.raises(TypeError, match="PickleSerializer"):
        JsonSerializer().dumps([{1, 2}])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"backend": 3}, TypeError, "backend must be"),
        ({"backend": ":memory:", "serializer": object()}, TypeError, "serializer must be"),
    ],
)
def test_bad_outbox_arguments_are_named(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Outbox(**kwargs)


def test_bad_sqlite_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous must be"):
        SqliteOutbox(tmp_path / "x.db", synchronous="SOMETIMES")
    with pytest.raises(ValueError, match="busy_timeout must be"):
        SqliteOutbox(tmp_path / "x.db", busy_timeout=-1)


def test_items_refuses_an_unknown_state(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="state must be"):
        outbox.items("lost")  # type: ignore[arg-type]


# -- the group defers -----------------------------------------------------------------


def test_a_deferred_op_that_fails_everywhere_is_stored_and_raises_write_deferred(
    registry: resiliency.Registry, outbox: Outbox
) -> None:
    store = Store(up=False)
    group = make_group(registry, outbox, store)
    with pytest.raises(WriteDeferredError) as caught:
        group.execute_sync("upload", "a.txt", b"hi")
    error = caught.value
    assert error.code == "DEFERRED"
    assert error.op == "upload"
    assert isinstance(error.__cause__, resiliency.AllProvidersFailedError)
    [item] = outbox.items()
    assert item.id == error.item_id
    assert (item.op, item.args) == ("upload", ("a.txt", b"hi"))


@pytest.mark.anyio
async def test_async_execute_defers_too(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=False), sync=False)
    with pytest.raises(WriteDeferredError) as caught:
        await group.execute("upload", "a.txt", b"hi")
    assert outbox.items()[0].id == caught.value.item_id


@pytest.mark.anyio
async def test_execute_any_defers_when_every_provider_failed(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=False), sync=False)
    with pytest.raises(WriteDeferredError):
        await group.execute_any("upload", "a.txt", b"hi")
    assert outbox.stats().pending == 1


def test_a_success_is_not_stored(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=True))
    assert group.execute_sync("upload", "a.txt", b"hi") == "stored a.txt"
    assert outbox.stats().pending == 0


def test_an_op_that_is_not_deferred_raises_as_usual(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=False)
    group = FailoverGroup("g", registry=registry, outbox=outbox, deferred_ops={"other"})
    group.register(provider_from_callable("s3", store.upload, op="upload"))
    with pytest.raises(resiliency.AllProvidersFailedError):
        group.execute_sync("upload", "a", b"x")
    assert outbox.stats().pending == 0


def test_an_op_no_provider_implements_is_not_deferred(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=False))
    with pytest.raises(resiliency.NoProviderError):
        group.execute_sync("download", "a")
    assert outbox.stats().pending == 0


def test_unserializable_arguments_raise_and_nothing_is_deferred(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=False))
    with pytest.raises(TypeError, match="cannot be serialized") as caught:
        group.execute_sync("upload", "a", object())
    assert any("could not be deferred, so nothing was stored" in note for note in caught.value.__notes__)
    chain, cause = [], caught.value
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    assert any(isinstance(c, resiliency.AllProvidersFailedError) for c in chain)
    assert outbox.stats().pending == 0


def test_deferred_ops_need_an_outbox(registry: resiliency.Registry) -> None:
    with pytest.raises(ValueError, match="outbox must be an Outbox"):
        FailoverGroup("g", registry=registry, deferred_ops={"upload"})
    with pytest.raises(TypeError, match="outbox must be an Outbox"):
        FailoverGroup("h", registry=registry, outbox="o.db", deferred_ops={"upload"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="deferred_ops must be"):
        FailoverGroup("i", registry=registry, outbox=Outbox(":memory:"), deferred_ops="upload")


# -- the worker -------------------------------------------------------------------------


def test_drain_sync_applies_every_item_with_its_idempotency_key(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=False)
    group = make_group(registry, outbox, store)
    ids = []
    for n in range(5):
        with pytest.raises(WriteDeferredError) as caught:
            group.execute_sync("upload", f"{n}.txt", b"x")
        ids.append(caught.value.item_id)
    store.up = True
    assert worker(outbox, group).drain_sync() == 5
    assert sorted(a[0] for a in store.applied) == [f"{n}.txt" for n in range(5)]
    keys = {item.id: item.key for item in outbox.items()}
    assert set(keys) == set(ids)
    assert {a[2] for a in store.applied} == set(keys.values())  # each item with its own key
    assert outbox.stats() == resiliency.OutboxStats(pending=0, in_flight=0, done=5, dead=0)


@pytest.mark.anyio
async def test_drain_applies_through_async_execute(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=True)
    group = make_group(registry, outbox, store, sync=False)
    for n in range(20):
        outbox.put("upload", (f"{n}", b"x"), key=f"key-{n}")
    assert await worker(outbox, group, concurrency=8).drain() == 20
    assert sorted(a[2] for a in store.applied) == sorted(f"key-{n}" for n in range(20))
    assert outbox.stats().done == 20


def test_a_failing_item_is_retried_then_goes_to_the_dead_letters(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=False)
    group = make_group(registry, outbox, store)
    outbox.put("upload", ("a", b"x"))
    w = worker(outbox, group, max_attempts=3)
    assert w.drain_sync() == 0
    [item] = outbox.items()
    assert (item.state, item.attempts) == ("dead", 3)
    assert item.last_error is not None
    assert "AllProvidersFailedError" in item.last_error
    assert store.calls == 3  # the worker never deferred it again: one outbox item, three tries
    assert outbox.stats().pending == 0


def test_retry_requeues_a_dead_item_and_purge_deletes(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=False)
    group = make_group(registry, outbox, store)
    item_id = outbox.put("upload", ("a", b"x"))
    worker(outbox, group, max_attempts=1).drain_sync()
    assert outbox.retry(item_id) is True
    assert outbox.retry(item_id) is False  # pending now, not dead
    store.up = True
    assert worker(outbox, group).drain_sync() == 1
    assert outbox.purge() == 1
    assert outbox.stats() == resiliency.OutboxStats(0, 0, 0, 0)


def test_backoff_delays_the_next_attempt(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=False)
    group = make_group(registry, outbox, store)
    outbox.put("upload", ("a", b"x"))
    w = OutboxWorker(outbox, group, base_delay=3600.0, max_delay=3600.0, poll_interval=0.001, rng=random.Random(1))
    thread = threading.Thread(target=w.run_sync)
    thread.start()
    for _ in range(5000):  # the first attempt fails, then the item waits out its backoff
        if outbox.items()[0].last_error is not None:
            break
        threading.Event().wait(0.001)
    w.stop()
    thread.join(5)
    assert store.calls == 1
    [item] = outbox.items()
    assert item.state == "pending"
    wait = outbox.backend.next_ready_in()
    assert wait is not None
    assert 0.0 < wait <= 3600.0
    assert outbox.backend.claim(10, 30.0) == []  # not ready before its backoff


def test_an_item_whose_worker_died_is_taken_again_after_its_lease(
    registry: resiliency.Registry, outbox: Outbox
) -> None:
    store = Store(up=True)
    group = make_group(registry, outbox, store)
    outbox.put("upload", ("a", b"x"))
    [claimed] = outbox.backend.claim(1, 0.001)  # a worker takes it, then "dies"
    assert outbox.stats().in_flight == 1
    assert worker(outbox, group).drain_sync() == 1
    assert outbox.items()[0].attempts == 2
    assert outbox.stats().done == 1
    # The dead worker's late answer changes nothing: its claim token is stale.
    outbox.backend.nack(claimed[0], claimed[8], "late", None)
    assert outbox.items()[0].state == "done"


def test_an_item_is_never_taken_twice_while_its_lease_runs(outbox: Outbox) -> None:
    for n in range(200):
        outbox.put("upload", (str(n),))
    taken: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        while rows := outbox.backend.claim(7, 60.0):
            with lock:
                taken.extend(r[0] for r in rows)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 200
    assert len(set(taken)) == 200


def test_run_sync_applies_new_items_until_stopped(registry: resiliency.Registry, outbox: Outbox) -> None:
    store = Store(up=True)
    group = make_group(registry, outbox, store)
    w = worker(outbox, group)
    thread = threading.Thread(target=w.run_sync)
    thread.start()
    try:
        for n in range(10):
            outbox.put("upload", (str(n), b"x"))
        deadline = threading.Event()
        for _ in range(2000):
            if outbox.stats().done == 10:
                break
            deadline.wait(0.005)
    finally:
        w.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert outbox.stats().done == 10


def test_bad_worker_arguments_are_named(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store())
    with pytest.raises(TypeError, match="outbox must be an Outbox"):
        OutboxWorker("o.db", group)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="group must be a FailoverGroup"):
        OutboxWorker(outbox, object())
    with pytest.raises(ValueError, match="max_attempts must be"):
        OutboxWorker(outbox, group, max_attempts=0)
    with pytest.raises(ValueError, match="lease must be"):
        OutboxWorker(outbox, group, lease=0)
    with pytest.raises(ValueError, match="max_delay must be"):
        OutboxWorker(outbox, group, base_delay=5, max_delay=1)


def test_idempotency_key_is_none_outside_the_worker() -> None:
    assert resiliency.idempotency_key() is None


def test_put_many_stores_every_call_in_one_transaction(outbox: Outbox) -> None:
    ids = outbox.put_many([("upload", ("a", b"1"), {}), ("upload", ("b", b"2"), {"tag": "x"}, "key-b")])
    items = outbox.items()
    assert [i.id for i in items] == ids
    assert [(i.args, i.kwargs) for i in items] == [(("a", b"1"), {}), (("b", b"2"), {"tag": "x"})]
    assert items[1].key == "key-b"
    assert outbox.put_many([]) == []


def test_put_many_stores_nothing_when_one_call_cannot_be_serialized(outbox: Outbox) -> None:
    with pytest.raises(TypeError, match="cannot be serialized"):
        outbox.put_many([("upload", ("a",), {}), ("upload", (object(),), {})])
    with pytest.raises(TypeError, match="calls must be"):
        outbox.put_many([("upload",)])  # type: ignore[list-item]
    assert outbox.stats().pending == 0


def test_ids_are_never_reused_after_a_purge(registry: resiliency.Registry, outbox: Outbox) -> None:
    group = make_group(registry, outbox, Store(up=True))
    first = [outbox.put("upload", (str(n), b"x")) for n in range(3)]
    assert worker(outbox, group).drain_sync() == 3
    assert outbox.purge() == 3
    assert outbox.stats() == resiliency.OutboxStats(0, 0, 0, 0)
    assert outbox.items() == []
    later = outbox.put("upload", ("d", b"x"))
    assert int(later) > max(int(i) for i in first)
    outbox.backend.ack(first[-1])  # a late answer about a purged item changes nothing
    assert outbox.stats() == resiliency.OutboxStats(1, 0, 0, 0)
    assert [i.id for i in outbox.items()] == [later]
