"""``@idempotent``: one run per key, concurrent callers wait, answers kept for ``ttl``."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from resiliency import idempotent
from resiliency._outbox._context import _KEY
from resiliency.testing import FakeClock


def test_a_key_runs_once_and_later_calls_get_its_result() -> None:
    calls: list[str] = []

    @idempotent(key=lambda order_id, amount: order_id)
    def charge(order_id: str, amount: int) -> str:
        calls.append(order_id)
        return f"receipt-{order_id}-{len(calls)}"

    assert charge("o-1", 5) == "receipt-o-1-1"
    assert charge("o-1", 5) == "receipt-o-1-1"
    assert charge("o-2", 5) == "receipt-o-2-2"
    assert calls == ["o-1", "o-2"]


def test_concurrent_threads_with_one_key_share_one_run(no_thread_leak: None) -> None:
    started = threading.Event()
    release = threading.Event()
    runs = 0

    @idempotent(key=lambda key: key)
    def slow(key: str) -> int:
        nonlocal runs
        runs += 1
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(slow("k"))) for _ in range(32)]
    for t in threads:
        t.start()
    started.wait(5)
    release.set()
    for t in threads:
        t.join(5)
    assert runs == 1
    assert results == [42] * 32


@pytest.mark.anyio
async def test_concurrent_tasks_with_one_key_share_one_run() -> None:
    runs = 0

    @idempotent(key=lambda key: key)
    async def op(key: str) -> str:
        nonlocal runs
        runs += 1
        await anyio.sleep(0.01)
        return key.upper()

    results: list[str] = []

    async def one() -> None:
        results.append(await op("abc"))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(one)
    assert runs == 1
    assert results == ["ABC"] * 50


def test_an_answer_expires_after_ttl() -> None:
    clock = FakeClock()
    runs = 0

    @idempotent(key=lambda: "k", ttl=10.0)
    def op() -> int:
        nonlocal runs
        runs += 1
        return runs

    with clock:
        assert op() == 1
        clock.advance(9.9)
        assert op() == 1
        clock.advance(0.2)
        assert op() == 2


def test_a_failure_frees_the_key_unless_errors_are_stored() -> None:
    runs = 0

    def body() -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise ConnectionError("first try fails")
        return runs

    retried = idempotent(key=lambda: "k")(body)
    with pytest.raises(ConnectionError):
        retried()
    assert retried() == 2

    runs = 0
    kept = idempotent(key=lambda: "k", store_errors=True)(body)
    with pytest.raises(ConnectionError):
        kept()
    with pytest.raises(ConnectionError):
        kept()  # the stored error, the body did not run again
    assert runs == 1


def test_without_key_it_uses_the_outbox_items_key() -> None:
    runs: list[Any] = []

    @idempotent()
    def write(value: int) -> int:
        runs.append(value)
        return value

    assert write(1) == 1
    assert write(1) == 1
    assert runs == [1, 1]  # no key: not deduplicated
    token = _KEY.set("item-7")
    try:
        assert write(2) == 2
        assert write(3) == 2  # same item key: the stored answer
    finally:
        _KEY.reset(token)
    assert runs == [1, 1, 2]


def test_a_key_function_must_return_a_str() -> None:
    @idempotent(key=lambda n: n)
    def op(n: int) -> int:
        return n

    with pytest.raises(TypeError, match="key must return a str"):
        op(3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"key": 3}, TypeError, "key must be"), ({"ttl": 0}, ValueError, "ttl must be"), ({"ttl": "1"}, TypeError, "ttl")],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        idempotent(**kwargs)
