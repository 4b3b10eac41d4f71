"""The test kit proves itself by use: breakers in virtual time, instant retries, the plugin."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

import anyio
import pytest

import resiliency
import resiliency.testing
import resiliency.testing.plugin
from resiliency import CircuitBreaker, CircuitOpenError, CircuitState, Registry, RetryPolicy, retry, timeout
from resiliency._clock import SYSTEM_CLOCK, get_clock
from resiliency.testing import FakeClock, FaultyProvider, describe, disabled, faults, instant

# -- a circuit breaker's reset timeout, in virtual time -----------------------------------


def test_breaker_reset_timeout_in_virtual_time() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30, clock=clock)
    service = FaultyProvider(lambda: "ok", faults.fail_times(3), name="payments")
    call = breaker(service)

    states = []
    for _ in range(3):
        with pytest.raises(ConnectionError):
            call()
    states.append(breaker.state)

    clock.advance(29.5)
    with pytest.raises(CircuitOpenError) as excinfo:
        call()
    assert excinfo.value.retry_after == pytest.approx(0.5)
    assert service.calls == 3  # the rejected call never reached the service

    clock.advance(0.5)
    states.append(breaker.state)
    assert call() == "ok"  # the probe succeeds and closes it
    states.append(breaker.state)
    assert states == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]
    assert service.calls == 4


@pytest.mark.anyio
async def test_breaker_reopens_on_a_failed_probe_and_waits_a_full_reset_timeout_again() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=clock)

    @breaker
    @faults.inject(faults.latency(1, clock), faults.fail_times(2))
    async def fetch() -> str:
        return "fresh"

    with pytest.raises(ConnectionError):
        await fetch()  # opens at t=1
    await clock.asleep(10)  # t=11: half-open
    with pytest.raises(ConnectionError):
        await fetch()  # the probe fails at t=12: open again
    await clock.asleep(9.5)
    with pytest.raises(CircuitOpenError):
        await fetch()
    await clock.asleep(0.5)  # t=22: ten seconds after the failed probe
    assert await fetch() == "fresh"
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.anyio
async def test_a_caller_waiting_out_the_breaker_in_virtual_time() -> None:
    # Callers retry on CircuitOpenError after its retry_after: in virtual time the
    # whole outage and recovery take no real time at all.
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60, clock=clock)
    service = FaultyProvider(lambda: "up", faults.fail_times(2))
    call = breaker(service)
    results: list[tuple[str, float]] = []

    async def caller(name: str) -> None:
        while True:
            try:
                results.append((f"{name}:{call()}", clock.monotonic()))
                return
            except CircuitOpenError as exc:
                await clock.asleep(exc.retry_after)
            except ConnectionError:
                await clock.asleep(1)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(caller, "a")
        group.start_soon(caller, "b")
    assert sorted(t for _, t in results) == [60.0, 60.0]
    assert time.perf_counter() - started < 0.5


# -- instant(): retries wait for nothing, attempts still count ----------------------------

MINUTES = RetryPolicy(max_attempts=10, backoff="exponential", base_delay=1, max_delay=300)


def test_instant_runs_a_ten_attempt_retry_in_no_real_time() -> None:
    service = FaultyProvider(lambda: "done", faults.fail_times(9))
    fetch = retry(policy=MINUTES)(service)  # the system clock: up to 5 min a wait
    started = time.perf_counter()
    with instant():
        assert fetch() == "done"
    assert time.perf_counter() - started < 0.5
    assert service.calls == 10


@pytest.mark.anyio
async def test_instant_async_ten_attempts_all_failing_reraises_the_last() -> None:
    async def never() -> None:
        raise ConnectionError("down")

    service = FaultyProvider(never)
    fetch = retry(policy=MINUTES)(service)
    started = time.perf_counter()
    with instant(), pytest.raises(ConnectionError, match="down"):
        await fetch()
    assert time.perf_counter() - started < 0.5
    assert service.calls == 10


def test_instant_zeroes_retry_after_hints_too() -> None:
    stats = MINUTES.call_with_stats
    service = FaultyProvider(lambda: 1, faults.fail_times(3, exc=lambda: _hinted(45.0)))
    with instant():
        result = stats(service)
    assert (result.value, result.attempts, result.total_delay) == (1, 4, 0.0)


def _hinted(seconds: float) -> Exception:
    error = ConnectionError("rate limited")
    error.retry_after = seconds  # type: ignore[attr-defined]
    return error


def test_instant_still_respects_max_attempts_and_retry_on() -> None:
    service = FaultyProvider(lambda: 1, faults.fail_always(KeyError("nope")))
    fetch = retry(max_attempts=4, retry_on=ConnectionError, base_delay=5)(service)
    with instant(), pytest.raises(KeyError):
        fetch()
    assert service.calls == 1


def test_disabled_makes_one_attempt() -> None:
    service = FaultyProvider(lambda: 1, faults.fail_times(2))
    fetch = retry(max_attempts=5, base_delay=10)(service)
    with disabled(), pytest.raises(ConnectionError):
        fetch()
    assert service.calls == 1


def test_instant_and_disabled_restore_on_exit() -> None:
    clock = FakeClock()
    service = FaultyProvider(lambda: 1, faults.fail_times(2))
    fetch = retry(max_attempts=3, backoff="constant", base_delay=2, clock=clock)(service)
    with instant():
        pass
    with disabled():
        pass
    assert fetch() == 1
    assert clock.sleeps == [2.0, 2.0]


# -- the pytest plugin -----------------------------------------------------------------------


def test_the_plugin_is_registered_through_its_entry_point(request: pytest.FixtureRequest) -> None:
    points = {p.name: p.value for p in importlib.metadata.entry_points(group="pytest11")}
    assert points.get("resiliency") == "resiliency.testing.plugin"
    assert request.config.pluginmanager.get_plugin("resiliency") is resiliency.testing.plugin


def test_fake_clock_fixture_is_the_process_clock(fake_clock: FakeClock) -> None:
    assert get_clock() is fake_clock

    @retry(max_attempts=3, backoff="constant", base_delay=60, max_delay=60)
    def flaky() -> None:
        raise ConnectionError

    with pytest.raises(ConnectionError):
        flaky()
    assert fake_clock.monotonic() == 120.0


@pytest.mark.anyio
async def test_fake_clock_fixture_drives_an_async_timeout(fake_clock: FakeClock) -> None:
    @timeout(2)
    async def slow() -> None:
        await fake_clock.asleep(60)

    with pytest.raises(TimeoutError):
        await slow()
    assert fake_clock.monotonic() == 2.0


def test_the_process_clock_is_restored_after_the_fixture() -> None:
    assert get_clock() is SYSTEM_CLOCK


def test_isolated_registry_fixture_keeps_names_apart(isolated_registry: Registry) -> None:
    assert isolated_registry is not resiliency.registry
    name = "test-kit-only-in-the-isolated-registry"
    breaker = CircuitBreaker(name, registry=isolated_registry)
    assert isolated_registry.breaker(name) is breaker
    with pytest.raises(KeyError):
        resiliency.registry.breaker(name)


@pytest.mark.usefixtures("instant_retries")
def test_instant_retries_fixture() -> None:
    service = FaultyProvider(lambda: "ok", faults.fail_times(9))
    started = time.perf_counter()
    assert retry(policy=MINUTES)(service)() == "ok"
    assert time.perf_counter() - started < 0.5
    assert service.calls == 10


# -- the public face ----------------------------------------------------------------------


def test_the_public_names() -> None:
    assert resiliency.testing.__all__ == [
        "FakeClock",
        "Fault",
        "FaultProxy",
        "FaultyProvider",
        "describe",
        "disabled",
        "faults",
        "instant",
        "set_clock",
        "use_clock",
    ]
    assert FakeClock.__module__ == FaultyProvider.__module__ == "resiliency.testing"
    assert repr(faults) == "resiliency.testing.faults"


def test_describe_shows_what_protects_a_faulty_call() -> None:
    clock = FakeClock()
    protected: Any = retry(max_attempts=2, clock=clock)(timeout(1, clock=clock)(FaultyProvider(lambda: 1)))
    assert [s.kind for s in describe(protected)] == ["retry", "timeout"]
