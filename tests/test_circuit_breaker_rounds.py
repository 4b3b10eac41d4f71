"""Half-open rounds: a probe left over from an earlier round neither frees a slot nor decides.

Regression tests for issue 8, defect 5: with ``half_open_max_calls=2``, a probe of the
previous round ending in the new round freed one of its slots (3 probes in flight, 6
with 32 threads), and its late success could close the breaker mid-round.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from resiliency import CircuitOpenError, Registry
from resiliency._circuit_breaker import CircuitBreaker, CircuitBreakerPolicy, CircuitState
from resiliency._circuit_breaker._state import BreakerCore
from resiliency.testing import FakeClock

pytestmark = pytest.mark.usefixtures("no_thread_leak")


class Boom(Exception):
    """The protected call failed."""


# -- the core ------------------------------------------------------------------------------


def test_a_probe_of_an_earlier_round_holds_its_slot_and_decides_nothing() -> None:
    core = BreakerCore(
        CircuitBreakerPolicy(failure_threshold=1, reset_timeout=1, half_open_max_calls=2, success_threshold=1)
    )
    core.record(0.0, failed=True, duration=0.0, probe=0.0)  # open at 0
    first, late = core.admit(1.0), core.admit(1.0)  # round 1: two probes
    assert first is not None
    assert first < 0
    assert late == first
    core.record(1.0, failed=True, duration=0.0, probe=first)  # round 1 fails: open at 1
    round_2 = core.admit(2.0)
    assert round_2 is not None
    assert round_2 < 0
    assert round_2 != late
    assert core.admit(2.0) == 0.0  # round 1's late probe still holds the other slot
    assert core.snapshot(2.0).half_open_in_flight == 2

    core.record(2.0, failed=False, duration=0.0, probe=late)  # it ends, a success
    assert core.state is CircuitState.HALF_OPEN  # which does not close the breaker
    assert core.admit(2.0) == round_2  # but frees its slot
    assert core.admit(2.0) == 0.0
    snap = core.snapshot(2.0)
    assert (snap.half_open_in_flight, snap.successes, snap.failures) == (2, 1, 2)

    core.record(2.0, failed=False, duration=0.0, probe=round_2)  # round 2 decides
    assert core.state is CircuitState.CLOSED
    core.release(round_2)  # the other probe of round 2 ends, counting nothing
    assert core.snapshot(2.0).half_open_in_flight == 0


def test_a_probe_from_before_a_reset_never_matches_a_later_round() -> None:
    core = BreakerCore(CircuitBreakerPolicy(failure_threshold=1, reset_timeout=1, half_open_max_calls=2))
    core.record(0.0, failed=True, duration=0.0, probe=0.0)
    old = core.admit(1.0)
    assert old is not None
    assert old < 0
    core.reset(1.0)
    core.record(1.0, failed=True, duration=0.0, probe=0.0)
    new = core.admit(2.0)
    assert new is not None
    assert new < 0
    assert new != old
    assert core.snapshot(2.0).half_open_in_flight == 2  # the old probe still runs
    core.record(2.0, failed=True, duration=0.0, probe=old)
    assert core.state is CircuitState.HALF_OPEN  # its failure decides nothing
    assert core.snapshot(2.0).half_open_in_flight == 1


# -- the decorated breaker, threads and virtual time ----------------------------------------


class Probes:
    """Calls that block until told how to end; counts how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.started: dict[str, threading.Event] = {}
        self.verdicts: dict[str, threading.Event] = {}
        self.fail: dict[str, bool] = {}

    def body(self, name: str) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.started[name].set()
        self.verdicts[name].wait(10)
        with self.lock:
            self.running -= 1
        if self.fail[name]:
            raise Boom(name)
        return name

    def start(self, protected: Callable[[str], str], name: str) -> tuple[threading.Thread, list[Any]]:
        self.started[name], self.verdicts[name], self.fail[name] = threading.Event(), threading.Event(), False
        result: list[Any] = []

        def run() -> None:
            try:
                result.append(protected(name))
            except Exception as exc:
                result.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        return thread, result

    def end(self, name: str, thread: threading.Thread, *, fail: bool) -> None:
        self.fail[name] = fail
        self.verdicts[name].set()
        thread.join(10)
        assert not thread.is_alive()


def test_a_late_probe_of_the_previous_round_holds_its_slot_and_decides_nothing() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        failure_threshold=1,
        reset_timeout=10,
        half_open_max_calls=2,
        success_threshold=1,
        failure_on=Boom,
        clock=clock,
        registry=Registry(),
    )
    probes = Probes()
    protected = breaker(probes.body)

    trip, _ = probes.start(protected, "trip")
    probes.end("trip", trip, fail=True)
    assert breaker.state is CircuitState.OPEN

    clock.advance(10)  # round 1: a and b
    a, _ = probes.start(protected, "a")
    b, b_result = probes.start(protected, "b")
    assert probes.started["a"].wait(10)
    assert probes.started["b"].wait(10)
    probes.end("a", a, fail=True)  # round 1 fails; b is still running
    assert breaker.metrics().state is CircuitState.OPEN

    clock.advance(10)  # round 2: c, while b still holds a slot
    c, _ = probes.start(protected, "c")
    assert probes.started["c"].wait(10)
    with pytest.raises(CircuitOpenError):
        protected("d")

    probes.end("b", b, fail=False)  # round 1's late success
    assert b_result == ["b"]
    assert breaker.state is CircuitState.HALF_OPEN  # did not close the breaker
    d, _ = probes.start(protected, "d")  # but freed b's slot
    assert probes.started["d"].wait(10)
    with pytest.raises(CircuitOpenError):
        protected("e")
    assert probes.peak == 2

    probes.end("c", c, fail=False)
    assert breaker.state is CircuitState.CLOSED
    probes.end("d", d, fail=False)


def test_32_threads_never_run_more_probes_than_the_limit() -> None:
    clock = FakeClock()
    limit = 2
    breaker = CircuitBreaker(
        failure_threshold=1,
        reset_timeout=1,
        half_open_max_calls=limit,
        success_threshold=10**9,  # never closes: every admitted call is a probe
        failure_on=Boom,
        clock=clock,
        registry=Registry(),
    )
    lock = threading.Lock()
    running, peak, probes = [0], [0], [0]

    @breaker
    def probe(fail: bool) -> None:
        with lock:
            running[0] += 1
            probes[0] += 1
            peak[0] = max(peak[0], running[0])
        threading.Event().wait(0.0001 if fail else 0.0)  # let rounds turn over meanwhile
        with lock:
            running[0] -= 1
        if fail:
            raise Boom()

    with pytest.raises(Boom):
        probe(True)  # open

    def hammer(seed: int) -> None:
        for i in range(300):
            try:
                probe((i + seed) % 2 == 0)
            except Boom:
                pass
            except CircuitOpenError:
                clock.advance(1)  # the next round may start

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert probes[0] > 100  # many rounds ran
    assert peak[0] <= limit
    assert breaker.metrics().half_open_in_flight == 0


# -- async, both backends ------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_late_probe_of_the_previous_round_decides_nothing() -> None:
    clock = FakeClock(autojump=False)
    breaker = CircuitBreaker(
        failure_threshold=1,
        reset_timeout=10,
        half_open_max_calls=2,
        success_threshold=1,
        failure_on=Boom,
        clock=clock,
        registry=Registry(),
    )
    gates: dict[str, anyio.Event] = {}
    fails = {"trip": True, "a": True, "b": False, "c": False, "d": False, "e": False}
    results: dict[str, str] = {}

    @breaker
    async def call(name: str) -> str:
        await gates[name].wait()
        if fails[name]:
            raise Boom(name)
        return name

    async def run(name: str) -> None:
        try:
            results[name] = await call(name)
        except (Boom, CircuitOpenError) as exc:
            results[name] = type(exc).__name__

    for name in fails:
        gates[name] = anyio.Event()
    with anyio.fail_after(10):  # real seconds: a probe let in by mistake would hang
        async with anyio.create_task_group() as tg:
            gates["trip"].set()
            await run("trip")  # open at 0
            clock.advance(10)
            tg.start_soon(run, "a")  # round 1: a and b
            tg.start_soon(run, "b")
            await clock.settle()
            gates["a"].set()  # round 1 fails: open again, b still running
            await clock.settle()
            clock.advance(10)
            tg.start_soon(run, "c")  # round 2: c, while b holds the other slot
            await clock.settle()
            await run("d")
            gates["b"].set()  # round 1's late success
            await clock.settle()
            assert breaker.state is CircuitState.HALF_OPEN
            assert breaker.metrics().half_open_in_flight == 1
            tg.start_soon(run, "d")  # b's slot is free
            await clock.settle()
            await run("e")
            gates["c"].set()
            await clock.settle()
            assert breaker.state is CircuitState.CLOSED
            gates["d"].set()
    assert results == {"trip": "Boom", "a": "Boom", "b": "b", "c": "c", "d": "d", "e": "CircuitOpenError"}
