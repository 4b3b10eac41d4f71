"""Never run: ``mypy --strict tests/typing/pass_signatures.py`` must report no error.

Decorated callables keep their exact signature for a type checker: arguments, return
type, sync or async, on functions, methods, classmethods and staticmethods, in the bare
and the called forms, and through a stack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, assert_type

from resiliency import (
    FallbackPolicy,
    RetryPolicy,
    RetryResult,
    TimeoutPolicy,
    fallback,
    remaining,
    retry,
    timeout,
)
from resiliency.testing import FakeClock

# -- retry ---------------------------------------------------------------------------------


@retry
def bare_retry(key: str, *, count: int = 1) -> list[str]:
    return [key] * count


@retry(max_attempts=4, backoff="full_jitter", retry_on=(ConnectionError, TimeoutError), clock=FakeClock())
def called_retry(key: str, /, count: int) -> bytes:
    return key.encode() * count


@retry(policy=RetryPolicy.network(), max_attempts=2)
async def async_retry(order_id: str, amount: float = 0.0) -> dict[str, float]:
    return {order_id: amount}


@retry(backoff=lambda attempt, previous: attempt * 0.5, retry_if_result=lambda r: r is None)
def optional_result() -> int | None:
    return None


assert_type(bare_retry("k"), list[str])
assert_type(bare_retry("k", count=2), list[str])
assert_type(called_retry("k", 2), bytes)
assert_type(called_retry("k", count=2), bytes)
assert_type(optional_result(), int | None)

keeps_keywords: Callable[..., list[str]] = bare_retry
keeps_positional: Callable[[str, int], bytes] = called_retry
keeps_async: Callable[[str, float], Awaitable[dict[str, float]]] = async_retry
keeps_coroutine: Callable[[str], Coroutine[Any, Any, dict[str, float]]] = async_retry


# -- timeout -------------------------------------------------------------------------------


@timeout
def bare_timeout(path: str) -> int:
    return len(path)


@timeout(2.0)
def called_timeout(path: str) -> int:
    return len(path)


@timeout(timedelta(seconds=2), mode="cooperative")
def cooperative_timeout(path: str) -> float | None:
    return remaining()


@timeout(policy=TimeoutPolicy(1.5))
async def async_timeout(n: int) -> str:
    return str(n)


assert_type(bare_timeout("p"), int)
assert_type(called_timeout("p"), int)
assert_type(cooperative_timeout("p"), float | None)

# -- fallback ---------------------------------------------------------------------------------


@fallback
def bare_fallback(n: int) -> str:
    return str(n)


@fallback(value="default", on=ConnectionError)
def value_fallback(n: int) -> str:
    return str(n)


def cached(exc: BaseException | None, n: int) -> str:
    return "cached"


@fallback(handler=cached, if_result=lambda r: r == "")
async def handler_fallback(n: int) -> str:
    return str(n)


@fallback(policy=FallbackPolicy(value=0))
def policy_fallback(a: int, b: int) -> int:
    return a // b


assert_type(bare_fallback(1), str | None)
assert_type(value_fallback(1), str)
assert_type(policy_fallback(1, 2), int | Any)

# The return type widens by the fallback's answer (issue 9 item 13).


@fallback(value=None)
def measure(n: int) -> float:
    return n / 2


@fallback(value=0.0)
def same_type(n: int) -> float:
    return n / 2


def count_from_cache(exc: BaseException | None, n: int) -> str:
    return "cached"


@fallback(handler=count_from_cache)
def count(n: int) -> int:
    return n


async def read_from_cache(exc: BaseException | None, n: int) -> bytes:
    return b""


@fallback(handler=read_from_cache, on=OSError)
async def read(n: int) -> str:
    return str(n)


async def unreliable_predicate(result: object) -> bool:
    return result == ""


@fallback(value=None, if_result=unreliable_predicate)
async def checked(n: int) -> str:
    return str(n)


class Meter:
    @fallback(value=None)
    def method(self, n: int) -> float:
        return n / 2

    @fallback(value=-1)
    @classmethod
    def class_method(cls, n: int) -> float:
        return n / 2

    @fallback
    @staticmethod
    async def static_async(n: int) -> float:
        return n / 2


assert_type(measure(1), float | None)
assert_type(same_type(1), float)
assert_type(count(1), int | str)
assert_type(Meter().method(1), float | None)
assert_type(Meter.class_method(1), float | int)


async def widened() -> None:
    assert_type(await read(1), str | bytes)
    assert_type(await checked(1), str | None)
    assert_type(await Meter.static_async(1), float | None)


# -- stacks -----------------------------------------------------------------------------------


@fallback(value=b"")
@retry(max_attempts=3)
@timeout(policy=TimeoutPolicy(1.0))
async def stacked(key: str, *, version: int | None = None) -> bytes:
    return key.encode()


# -- methods ----------------------------------------------------------------------------------


class Service:
    @retry
    def method(self, key: str) -> int:
        return len(key)

    @retry(max_attempts=2)
    async def async_method(self, key: str) -> int:
        return len(key)

    @retry
    @classmethod
    def class_method(cls, key: str) -> Service:
        return cls()

    @fallback(value=None)
    @staticmethod
    def static_method(key: str) -> str | None:
        return key

    @timeout(policy=TimeoutPolicy(1.0))
    @retry(max_attempts=2)
    @classmethod
    async def async_class_method(cls, n: int) -> list[int]:
        return [n]


service = Service()
assert_type(service.method("k"), int)
assert_type(Service.method(service, "k"), int)
assert_type(Service.class_method("k"), Service)
assert_type(service.class_method("k"), Service)
assert_type(Service.static_method("k"), str | None)

# -- one-off call forms --------------------------------------------------------------------------


def plain(n: int) -> str:
    return str(n)


async def aplain(n: int) -> str:
    return str(n)


async def call_forms() -> None:
    policy = RetryPolicy.fixed(0.5)
    assert_type(policy.call(plain, 1), str)
    assert_type(policy.call_with_stats(plain, 1), RetryResult[str])
    assert_type(policy.call_with_stats(plain, 1).attempts, int)
    assert_type(policy.call_with_stats(plain, 1).total_delay, float)
    assert_type(await policy.acall(aplain, 1), str)
    assert_type(await policy.acall_with_stats(aplain, 1), RetryResult[str])


async def awaiting() -> None:
    assert_type(await async_retry("o"), dict[str, float])
    assert_type(await async_retry("o", 1.0), dict[str, float])
    assert_type(await async_retry("o", amount=1.0), dict[str, float])
    assert_type(await async_timeout(1), str)
    assert_type(await handler_fallback(1), str)
    assert_type(await stacked("k", version=1), bytes)
    assert_type(await service.async_method("k"), int)
    assert_type(await Service.async_class_method(1), list[int])
