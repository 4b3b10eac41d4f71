"""``retrying(...)`` blocks, sync and async, deciding as ``@retry`` does."""

from __future__ import annotations

import pytest

import resiliency
from resiliency import RetryPolicy, RetryScheduled, retrying
from resiliency.testing import FakeClock


def flaky(failures: int, error: type[Exception] = ConnectionError) -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= failures:
            raise error(f"failure {len(calls)}")
        return "ok"

    return calls, call


def test_retries_the_block_until_it_succeeds() -> None:
    clock = FakeClock()
    _calls, call = flaky(2)
    numbers = []
    for attempt in retrying(max_attempts=3, backoff="constant", base_delay=0.5, clock=clock):
        with attempt:
            numbers.append(attempt.number)
            result = call()  # type: ignore[operator]
    assert result == "ok"
    assert numbers == [1, 2, 3]
    assert clock.sleeps == [0.5, 0.5]


def test_last_error_leaves_the_with_block_unchanged() -> None:
    calls, call = flaky(5)
    raised = None
    with pytest.raises(ConnectionError, match="failure 3") as info:
        for attempt in retrying(max_attempts=3, base_delay=0.0):
            with attempt:
                try:
                    call()  # type: ignore[operator]
                except ConnectionError as exc:
                    raised = exc
                    raise
    assert info.value is raised
    assert len(calls) == 3


def test_an_error_not_retried_leaves_at_once() -> None:
    calls, call = flaky(5, TypeError)
    with pytest.raises(TypeError):
        for attempt in retrying(policy=RetryPolicy.network(), clock=FakeClock()):
            with attempt:
                call()  # type: ignore[operator]
    assert calls == [1]


def test_result_predicate_through_set_result() -> None:
    values = iter([None, None, 7])
    seen = []
    for attempt in retrying(max_attempts=5, base_delay=0.0, retry_if_result=lambda v: v is None):
        with attempt:
            value = next(values)
            seen.append(value)
            attempt.set_result(value)
    assert seen == [None, None, 7]


def test_events_and_on_retry_hook(registry: resiliency.Registry) -> None:
    events: list[object] = []
    registry.subscribe(events.append)
    hooked: list[RetryScheduled] = []
    _calls, call = flaky(1)
    for attempt in retrying(max_attempts=2, base_delay=0.0, registry=registry, name="block", on_retry=hooked.append):
        with attempt:
            call()  # type: ignore[operator]
    assert [type(e) for e in events] == [RetryScheduled]
    assert hooked[0].name == "block"
    assert hooked[0].attempt == 1
    assert isinstance(hooked[0].error, ConnectionError)


def test_the_callers_deadline_stops_the_retries() -> None:
    clock = FakeClock()
    calls, call = flaky(10)

    @resiliency.timeout(1.0, clock=clock, mode="cooperative")
    def work() -> None:
        for attempt in retrying(max_attempts=10, backoff="constant", base_delay=0.4, clock=clock):
            with attempt:
                call()  # type: ignore[operator]

    with pytest.raises(ConnectionError):
        work()
    assert len(calls) == 3  # sleeps at 0.4 and 0.8; a third would pass the deadline


def test_one_retrying_object_can_be_iterated_again() -> None:
    block = retrying(max_attempts=2, base_delay=0.0)
    for _ in range(2):
        calls, call = flaky(1)
        for attempt in block:
            with attempt:
                call()  # type: ignore[operator]
        assert len(calls) == 2


def test_keyboard_interrupt_is_never_held() -> None:
    count = 0
    with pytest.raises(KeyboardInterrupt):
        for attempt in retrying(max_attempts=3, base_delay=0.0):
            with attempt:
                count += 1
                raise KeyboardInterrupt
    assert count == 1


def test_bad_fields_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        retrying(max_attempts=0)
    with pytest.raises(TypeError, match="policy"):
        retrying("often")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_for_retries_with_async_sleeps() -> None:
    clock = FakeClock()
    calls, call = flaky(2)
    hooked: list[int] = []

    async def hook(event: RetryScheduled) -> None:
        hooked.append(event.attempt)

    async for attempt in retrying(max_attempts=4, backoff="constant", base_delay=1.5, clock=clock, on_retry=hook):
        with attempt:
            call()  # type: ignore[operator]
    assert len(calls) == 3
    assert clock.sleeps == [1.5, 1.5]
    assert hooked == [1, 2]


@pytest.mark.anyio
async def test_async_last_error_is_raised() -> None:
    _calls, call = flaky(9)
    with pytest.raises(ConnectionError, match="failure 2"):
        async for attempt in retrying(max_attempts=2, base_delay=0.0):
            with attempt:
                call()  # type: ignore[operator]


def test_sync_for_refuses_an_async_hook() -> None:
    async def hook(event: RetryScheduled) -> None:
        pass

    _calls, call = flaky(1)
    with pytest.raises(TypeError, match="on_retry"):
        for attempt in retrying(max_attempts=2, base_delay=0.0, on_retry=hook):
            with attempt:
                call()  # type: ignore[operator]
