"""``@chaos``: faults, latency and results injected at their rates, repeatably."""

from __future__ import annotations

import random
from typing import Any

import pytest

from resiliency import chaos
from resiliency.testing import FakeClock


def ok() -> str:
    return "real"


def test_fault_rate_injects_fresh_faults_at_that_rate() -> None:
    fault = ConnectionError("injected")
    flaky = chaos(fault=fault, fault_rate=0.3, rng=random.Random(1))(ok)
    errors: list[BaseException] = []
    for _ in range(10_000):
        try:
            flaky()
        except ConnectionError as exc:
            errors.append(exc)
    assert 2_800 <= len(errors) <= 3_200  # 0.3 +- 0.02 of 10,000 (>4 sigma)
    assert all(e is not fault and str(e) == "injected" for e in errors)
    assert len({id(e) for e in errors[:100]}) == 100


def test_a_seeded_rng_repeats_the_same_sequence() -> None:
    def run(seed: int) -> list[bool]:
        f = chaos(fault=ValueError, fault_rate=0.5, rng=random.Random(seed))(ok)
        out = []
        for _ in range(50):
            try:
                f()
                out.append(True)
            except ValueError:
                out.append(False)
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_latency_waits_through_the_clock() -> None:
    clock = FakeClock()
    slow = chaos(latency=2.5, latency_rate=1.0, clock=clock)(ok)
    assert slow() == "real"
    assert clock.monotonic() == pytest.approx(2.5)


def test_result_injection_answers_without_calling() -> None:
    calls = 0

    def real() -> str:
        nonlocal calls
        calls += 1
        return "real"

    fake = chaos(result="canned", result_rate=1.0)(real)
    assert fake() == "canned"
    assert calls == 0


def test_enabled_callable_is_read_per_call() -> None:
    switch = {"on": False}
    f = chaos(fault=RuntimeError("boom"), fault_rate=1.0, enabled=lambda: switch["on"])(ok)
    assert f() == "real"
    switch["on"] = True
    with pytest.raises(RuntimeError, match="boom"):
        f()


def test_a_fault_factory_is_called_per_injection() -> None:
    made: list[Exception] = []

    def make() -> Exception:
        made.append(TimeoutError(f"t{len(made)}"))
        return made[-1]

    f = chaos(fault=make, fault_rate=1.0)(ok)
    for _ in range(3):
        with pytest.raises(TimeoutError):
            f()
    assert [str(e) for e in made] == ["t0", "t1", "t2"]


@pytest.mark.anyio
async def test_async_callables_get_faults_and_latency() -> None:
    clock = FakeClock()

    async def aok() -> str:
        return "real"

    f = chaos(fault=ConnectionError, fault_rate=1.0, latency=1.0, latency_rate=1.0, clock=clock)(aok)
    with pytest.raises(ConnectionError):
        await f()
    assert clock.monotonic() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fault_rate": 1.5, "fault": ValueError}, ValueError, "fault_rate must be a probability"),
        ({"fault_rate": 0.5}, ValueError, "fault must be an exception when fault_rate"),
        ({"latency_rate": 0.5}, ValueError, "latency must be seconds"),
        ({"result_rate": 0.5}, ValueError, "result must be a value"),
        ({"fault": "boom"}, TypeError, "fault must be"),
        ({"enabled": "yes"}, TypeError, "enabled must be"),
        ({"latency": -1}, ValueError, "latency must be"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        chaos(**kwargs)
