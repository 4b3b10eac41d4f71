"""Decoration targets refused, introspection through plain decorators (issue 9 items 10, 14)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from resiliency import (
    FailoverGroup,
    Registry,
    RetryPolicy,
    circuit_breaker,
    fallback,
    provider_from_callable,
    retry,
    timeout,
)
from resiliency.testing import describe

# -- item 10: callable objects whose __call__ yields ------------------------------------------


class Counter:
    def __call__(self) -> Iterator[int]:
        yield 1


class AsyncCounter:
    async def __call__(self) -> AsyncIterator[int]:
        yield 1


DECORATORS: list[Callable[[Any], Any]] = [
    retry,
    fallback,
    circuit_breaker,
    timeout(1.0),
    retry(max_attempts=2),
]


@pytest.mark.parametrize("make", [Counter, AsyncCounter])
@pytest.mark.parametrize("decorate", DECORATORS)
def test_a_callable_object_whose_call_yields_is_refused(make: type, decorate: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match=r"whose __call__ is a generator"):
        decorate(make())


@pytest.mark.parametrize("make", [Counter, AsyncCounter])
def test_a_provider_whose_call_yields_is_refused(make: type) -> None:
    with pytest.raises(TypeError, match="generator"):
        provider_from_callable("s3", make())


def test_ordinary_callable_objects_still_decorate() -> None:
    class Adder:
        def __call__(self, a: int) -> int:
            return a + 1

    assert retry(Adder())(1) == 2
    assert callable(retry(Counter))  # a class is a callable, not a generator


# -- item 14: describe() through functools.wraps; defaults kept ----------------------------------


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def test_describe_looks_through_a_plain_wraps_decorator() -> None:
    @logged
    @logged
    @retry(max_attempts=2)
    @timeout(1.0)
    def work() -> int:
        return 1

    assert [s.kind for s in describe(work)] == ["retry", "timeout"]
    assert work() == 1


def test_describe_of_a_method_under_a_plain_decorator() -> None:
    class Service:
        @logged
        @retry
        def call(self) -> int:
            return 1

    assert [s.kind for s in describe(Service().call)] == ["retry"]
    assert [s.kind for s in describe(Service.call)] == ["retry"]


def test_describe_survives_a_wrapped_cycle() -> None:
    def loop() -> None: ...

    loop.__wrapped__ = loop  # type: ignore[attr-defined]
    assert describe(loop) == []
    assert describe(retry(loop)) != []  # decorating it works too


def test_wrappers_keep_defaults_and_keyword_defaults() -> None:
    def fetch(url: str, retries: int = 2, *, verbose: bool = False) -> str:
        return url

    async def afetch(url: str, retries: int = 3, *, verbose: bool = True) -> str:
        return url

    for fn in (fetch, afetch):
        for decorated in (retry(fn), fallback(value="")(fn), circuit_breaker(fn), timeout(1.0)(fn)):
            assert decorated.__defaults__ == fn.__defaults__
            assert decorated.__kwdefaults__ == fn.__kwdefaults__
            assert inspect.signature(decorated) == inspect.signature(fn)
    assert retry(fetch)("u") == "u"
    assert retry(fetch)("u", 5, verbose=True) == "u"


def test_a_group_entry_point_keeps_defaults() -> None:
    from resiliency import failover_group

    group = FailoverGroup("defaults", registry=Registry())

    @failover_group(group, op="get")
    def get(key: str, version: int = 1) -> str:
        raise NotImplementedError

    assert get.__defaults__ == (1,)


# -- item 4: a sync callable returning an awaitable --------------------------------------------


async def upload(provider: str, key: str) -> str:
    return f"{provider}:{key}"


SYNC_STRATEGIES: list[Callable[[Any], Any]] = [
    retry,
    retry(max_attempts=2, retry_if_result=lambda r: False),
    fallback(value="fallback"),
    circuit_breaker,
    timeout(5.0),
]


@pytest.mark.filterwarnings("error")  # no "coroutine was never awaited" either
@pytest.mark.parametrize("decorate", SYNC_STRATEGIES)
def test_a_sync_callable_returning_a_coroutine_is_a_type_error(decorate: Callable[[Any], Any]) -> None:
    def send(key: str) -> Any:
        return upload("s3", key)

    wrapped = decorate(send)
    with pytest.raises(TypeError, match=r"^.*send is a sync callable but returned an awaitable"):
        wrapped("k")


@pytest.mark.filterwarnings("error")
def test_a_sync_method_and_one_off_call_returning_a_coroutine_are_type_errors() -> None:
    class Client:
        @retry
        @classmethod
        def fetch(cls) -> Any:
            return upload("s3", "k")

    with pytest.raises(TypeError, match="fetch is a sync callable"):
        Client.fetch()
    with pytest.raises(TypeError, match="<lambda> is a sync callable"):
        RetryPolicy().call(lambda: upload("s3", "k"))


@pytest.mark.filterwarnings("error")
def test_a_sync_provider_returning_a_coroutine_is_a_type_error_in_execute_sync() -> None:
    group = FailoverGroup("awaitables", registry=Registry())
    group.register(provider_from_callable("s3", lambda key: upload("s3", key), op="upload"))
    with pytest.raises(TypeError, match=r"provider 's3' \(.*<lambda>\) is a sync callable"):
        group.execute_sync("upload", "k")


@pytest.mark.filterwarnings("error")
@pytest.mark.anyio
async def test_a_sync_provider_returning_a_coroutine_is_a_type_error_in_execute() -> None:
    group = FailoverGroup("awaitables-async", registry=Registry())
    group.register(provider_from_callable("s3", lambda key: upload("s3", key), op="upload"))

    @retry(max_attempts=2)
    def with_strategy(key: str) -> Any:
        return upload("gcs", key)

    group.register(provider_from_callable("gcs", with_strategy, op="upload", priority=1))
    with pytest.raises(TypeError, match=r"provider 's3' \(.*<lambda>\) is a sync callable"):
        await group.execute("upload", "k")
    with pytest.raises(TypeError, match=r"provider 'gcs' \(.*with_strategy\) is a sync callable"):
        await group.with_options(providers=["gcs"]).execute("upload", "k")
    with pytest.raises(TypeError, match=r"provider 'gcs' \(.*with_strategy\) is a sync callable"):
        group.with_options(providers=["gcs"]).execute_sync("upload", "k")


def test_a_sync_callable_returning_a_plain_value_is_unchanged() -> None:
    @retry
    def fine() -> list[int]:
        return [1]

    assert fine() == [1]
