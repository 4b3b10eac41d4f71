"""Regression (issue 10): a wrong argument is the caller's bug: never retried, never wrapped.

Before, ``group.execute_any("get", "k", "extra")`` retried the ``TypeError`` with
backoff on every provider and raised ``AllProvidersFailedError``.
"""

from __future__ import annotations

import pytest

from resiliency import (
    AllProvidersFailedError,
    FailoverGroup,
    PolicyConfig,
    Registry,
    RetryPolicy,
    provider,
    retry,
)
from resiliency._classify import is_call_error
from resiliency.testing import FakeClock


def make_group(registry: Registry, clock: FakeClock, calls: list[str], is_async: bool) -> FailoverGroup:
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=3, base_delay=1.0)), registry=registry
    )
    for name in ("a", "b"):
        if is_async:

            async def get(key: str, name: str = name) -> str:
                calls.append(name)
                return key
        else:

            def get(key: str, name: str = name) -> str:  # type: ignore[misc]
                calls.append(name)
                return key

        provider(name, op="get", group=group)(get)
    return group


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["execute", "execute_any"])
async def test_wrong_arguments_to_a_group_raise_the_type_error_at_once(registry: Registry, mode: str) -> None:
    clock = FakeClock()
    calls: list[str] = []
    group = make_group(registry, clock, calls, is_async=True)
    with clock, pytest.raises(TypeError, match="positional argument") as info:
        await getattr(group, mode)("get", "k", "extra", "more")
    assert not isinstance(info.value, AllProvidersFailedError)
    assert calls == []
    assert clock.sleeps == []  # no backoff: the error was never retried
    assert await getattr(group, mode)("get", "k") == "k"


def test_wrong_arguments_to_a_sync_group(registry: Registry) -> None:
    clock = FakeClock()
    calls: list[str] = []
    group = make_group(registry, clock, calls, is_async=False)
    with clock:
        for mode in (group.execute_sync, group.execute_any_sync):
            with pytest.raises(TypeError, match="unexpected keyword"):
                mode("get", "k", colour="red")
    assert clock.sleeps == []
    outcomes = group.execute_all_sync("get", "k", colour="red")
    assert [type(o.error) for o in outcomes] == [TypeError, TypeError]  # execute_all never raises


def test_retry_skips_call_errors_but_retries_type_errors_from_inside() -> None:
    clock = FakeClock()
    runs: list[int] = []

    @retry(max_attempts=3, backoff="constant", base_delay=1.0, clock=clock)
    def parse(text: str) -> int:
        runs.append(1)
        return int(text, base="ten")  # type: ignore[call-overload]  # a TypeError inside

    with pytest.raises(TypeError):
        parse("7")
    assert (len(runs), clock.sleeps) == (3, [1.0, 1.0])
    runs.clear()
    with pytest.raises(TypeError, match="positional argument"):
        parse("7", "8")  # type: ignore[call-arg]
    assert (runs, clock.sleeps) == ([], [1.0, 1.0])


def test_an_explicit_filter_still_decides() -> None:
    clock = FakeClock()

    @retry(max_attempts=2, base_delay=1.0, retry_on=TypeError, clock=clock)
    def one(x: int) -> int:
        return x

    with pytest.raises(TypeError):
        one(1, 2)  # type: ignore[call-arg]
    assert clock.sleeps == [1.0]


def test_is_call_error_tells_the_two_apart() -> None:
    def takes_one(x: int) -> int:
        raise TypeError("inside")

    def call(*args: object) -> BaseException:
        try:
            takes_one(*args)  # type: ignore[arg-type]
        except TypeError as exc:
            return exc
        raise AssertionError

    # Raised in this test's frame (not the library's): not a call error of the library.
    assert not is_call_error(call(1, 2))
    assert not is_call_error(call(1))
    assert not is_call_error(ValueError())
