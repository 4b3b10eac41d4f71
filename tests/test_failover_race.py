"""The parallel modes' race core and its three runners (issue 8, defects 1-4, 9, 10; issue 9, item 8).

Regression tests are named after the defect they pin. ``RUNNERS`` drives one behaviour
through the anyio runner (trio's nursery, and asyncio with hedging), the native asyncio
runner and the thread runner, so the three cannot drift apart again.
"""

from __future__ import annotations

import _thread
import gc
import logging
import subprocess
import sys
import textwrap
import threading
import weakref
from typing import Any

import anyio
import pytest

from resiliency import (
    AllProvidersFailedError,
    ErrorSummary,
    FailoverGroup,
    PolicyConfig,
    ProviderFailed,
    Registry,
    ResiliencyTimeoutError,
    RetryPolicy,
    provider,
)
from resiliency._failover._pool import FailoverPool
from resiliency._failover._pool import pool as failover_pool
from resiliency._failover._race import Race
from resiliency._outcome import Failure
from resiliency.testing import FakeClock

ONCE = PolicyConfig(default=RetryPolicy(max_attempts=1))


class Boom(BaseException):
    """A BaseException that is neither an Exception nor a cancellation."""


# -- the pure core -----------------------------------------------------------------------


def test_race_any_first_value_wins_and_decides() -> None:
    race = Race(3, first_wins=True)
    assert race.start()
    assert race.start()
    assert race.start()
    assert race.end(0, Failure(ConnectionError())) is False
    assert race.end(1, "b") is True
    assert (race.won, race.value, race.decided, race.over) == (True, "b", True, True)
    assert race.end(2, "c") is False  # a late value changes nothing
    assert race.value == "b"
    assert race.start() is False  # nothing starts once decided


def test_race_a_crash_decides_both_modes_and_beats_an_interruption() -> None:
    for first_wins in (True, False):
        race = Race(2, first_wins)
        race.start()
        race.start()
        crash = Boom()
        assert race.crashed(0, crash) is True
        assert race.over
        assert race.interrupted(KeyboardInterrupt()) is crash
        failure = race.close()
        assert failure is not None
        assert failure.error is crash


def test_race_a_crash_after_close_is_not_the_callers() -> None:
    race = Race(2, first_wins=True)
    race.start()
    race.start()
    race.end(0, "a")
    assert race.close() is None
    assert race.crashed(1, Boom()) is False  # the runner logs it
    assert race.crash is None


def test_race_all_waits_for_everyone_and_keeps_order() -> None:
    race = Race(2, first_wins=False)
    race.start()
    race.start()
    assert race.end(1, Failure(ConnectionError("b"))) is False
    assert not race.over
    assert race.end(0, "a") is False
    assert race.over
    assert not race.won


# -- the three runners -------------------------------------------------------------------

RUNNERS = ["anyio-trio", "anyio-asyncio-hedged", "native-asyncio", "threads"]


def _group(registry: Registry, runner: str, behaviours: dict[str, str], log: list[str]) -> FailoverGroup:
    """A group whose providers behave as named: "ok", "fail", "boom", "hang"."""
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    release = threading.Event()
    group.release = release  # type: ignore[attr-defined]
    for name, behaviour in behaviours.items():
        if runner == "threads":

            def sync_fn(name: str = name, behaviour: str = behaviour) -> str:
                try:
                    if behaviour == "fail":
                        raise ConnectionError(name)
                    if behaviour == "boom":
                        raise Boom(name)
                    if behaviour == "hang":
                        release.wait(10)
                    return name
                finally:
                    log.append(name)

            provider(name, op="op", group=group)(sync_fn)
        else:

            async def async_fn(name: str = name, behaviour: str = behaviour) -> str:
                try:
                    if behaviour == "fail":
                        raise ConnectionError(name)
                    if behaviour == "boom":
                        raise Boom(name)
                    if behaviour == "hang":
                        await anyio.sleep(10)
                    return name
                finally:
                    log.append(name)

            provider(name, op="op", group=group)(async_fn)
    return group


def _call(group: FailoverGroup, runner: str, mode: str) -> Any:
    """Run ``mode`` ("any" or "all") on ``runner``; return its result."""
    if runner == "threads":
        try:
            return getattr(group, f"execute_{mode}_sync")("op")
        finally:
            group.release.set()  # type: ignore[attr-defined]
    view = group.with_options(hedge_delay=0.0005) if runner == "anyio-asyncio-hedged" and mode == "any" else group
    backend = "trio" if runner == "anyio-trio" else "asyncio"

    async def main() -> Any:
        with anyio.fail_after(5):
            return await getattr(view, f"execute_{mode}")("op")

    return anyio.run(main, backend=backend)


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("runner", RUNNERS)
def test_runners_any_first_success_wins(registry: Registry, runner: str) -> None:
    log: list[str] = []
    group = _group(registry, runner, {"c": "hang", "a": "fail", "b": "ok"}, log)
    assert _call(group, runner, "any") == "b"
    if runner != "threads":  # a thread cannot be stopped; an async loser's finally has run
        assert sorted(log) == ["a", "b", "c"]


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("mode", ["any", "all"])
def test_runners_a_provider_base_exception_is_raised_bare(registry: Registry, runner: str, mode: str) -> None:
    log: list[str] = []
    group = _group(registry, runner, {"hang": "hang", "boom": "boom"}, log)
    with pytest.raises(Boom) as caught:
        _call(group, runner, mode)
    assert type(caught.value) is Boom  # not a BaseExceptionGroup
    if runner != "threads":
        assert sorted(log) == ["boom", "hang"]  # the hanging provider was cancelled


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("runner", RUNNERS)
def test_runners_all_failed_lists_every_provider(registry: Registry, runner: str) -> None:
    group = _group(registry, runner, {"a": "fail", "b": "fail"}, [])
    with pytest.raises(AllProvidersFailedError) as caught:
        _call(group, runner, "any")
    assert sorted(a.provider for a in caught.value.attempts) == ["a", "b"]


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("runner", RUNNERS)
def test_runners_all_returns_outcomes_in_order(registry: Registry, runner: str) -> None:
    group = _group(registry, runner, {"a": "fail", "b": "ok"}, [])
    outcomes = _call(group, runner, "all")
    assert [(o.provider, o.ok, o.value, type(o.error)) for o in outcomes] == [
        ("a", False, None, ConnectionError),
        ("b", True, "b", type(None)),
    ]


# -- defect 1 and 2: a provider's BaseException on asyncio and trio ------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("hedge", [None, 0.0005])
async def test_issue8_defect1_execute_any_base_exception_propagates_at_once(
    registry: Registry, error: type[BaseException], hedge: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    cleaned: list[str] = []

    @provider("slow", op="op", group=group)
    async def slow() -> str:
        try:
            await anyio.sleep(30)
            return "slow"
        finally:
            cleaned.append("slow")

    @provider("bad", op="op", group=group)
    async def bad() -> str:
        raise error("provider")

    view = group if hedge is None else group.with_options(hedge_delay=hedge)
    with anyio.fail_after(5), pytest.raises(error) as caught:
        await view.execute_any("op")
    assert type(caught.value) is error  # defect 2: bare, never in a BaseExceptionGroup
    assert cleaned == ["slow"]  # the other provider was cancelled, its finally ran
    gc.collect()
    assert "never retrieved" not in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
async def test_issue8_defect2_execute_all_base_exception_is_bare(
    registry: Registry, error: type[BaseException]
) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    cleaned: list[str] = []

    @provider("slow", op="op", group=group)
    async def slow() -> str:
        try:
            await anyio.sleep(30)
            return "slow"
        finally:
            cleaned.append("slow")

    @provider("bad", op="op", group=group)
    async def bad() -> str:
        raise error("provider")

    with anyio.fail_after(5), pytest.raises(error) as caught:
        await group.execute_all("op")
    assert type(caught.value) is error
    assert cleaned == ["slow"]


@pytest.mark.anyio
async def test_issue8_defect2_a_cancelled_caller_still_gets_a_provider_base_exception(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("stubborn", op="op", group=group)
    async def stubborn() -> str:
        try:
            await anyio.sleep(30)
        finally:
            raise Boom("while cancelled")
        return "never"

    @provider("other", op="op", group=group)
    async def other() -> str:
        await anyio.sleep(30)
        return "never"

    with anyio.fail_after(5), pytest.raises(Boom):
        with anyio.move_on_after(0.001):
            await group.execute_any("op")


# -- defect 3 and 4: the sync parallel modes ---------------------------------------------


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("mode", ["execute_any_sync", "execute_all_sync"])
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, SystemExit])
def test_issue8_defect3_sync_parallel_modes_propagate_base_exceptions(
    registry: Registry, mode: str, error: type[BaseException]
) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    release = threading.Event()

    @provider("slow", op="op", group=group)
    def slow() -> str:
        release.wait(10)  # would win once released, if the race went on
        return "slow"

    @provider("bad", op="op", group=group)
    def bad() -> str:
        raise error("provider")

    try:
        with pytest.raises(error) as caught:
            getattr(group, mode)("op")
    finally:
        release.set()
    assert type(caught.value) is error


@pytest.mark.usefixtures("no_thread_leak")
@pytest.mark.parametrize("mode", ["execute_any_sync", "execute_all_sync"])
def test_issue8_defect4_interrupted_sync_caller_stops_the_providers(registry: Registry, mode: str) -> None:
    forever = PolicyConfig(default=RetryPolicy(max_attempts=100_000, base_delay=0.001, max_delay=0.001))
    group = FailoverGroup("g", policy=forever, registry=registry)
    threads: set[threading.Thread] = set()
    interrupted = threading.Event()

    def make(name: str) -> None:
        @provider(name, op="op", group=group)
        def failing() -> str:
            threads.add(threading.current_thread())
            if name == "b" and not interrupted.is_set():
                interrupted.set()
                _thread.interrupt_main()  # a KeyboardInterrupt in the caller, as Ctrl-C does
            raise ConnectionError(name)

    make("a")
    make("b")
    with pytest.raises(KeyboardInterrupt):
        getattr(group, mode)("op")
        threading.Event().wait(10)  # only reached if the interruption came late
    others = {t for t in threads if t is not threading.main_thread()}

    def stopped() -> bool:
        failover_pool.trim()  # an idle pool thread exits at once; a retrying one does not
        return not any(t.is_alive() for t in others)

    deadline = threading.Event()
    for _ in range(5000):
        if stopped():
            break
        deadline.wait(0.001)
    assert stopped(), "provider threads kept retrying after the caller was interrupted"


# -- defect 9: sync providers in an async call never delay exit -------------------------


@pytest.mark.parametrize("run", ["asyncio.run(main())", "trio.run(main)"])
def test_issue8_defect9_async_execute_any_with_sync_providers_does_not_delay_exit(run: str) -> None:
    # asyncio.run() joins non-daemon threads at exit: anyio's worker threads kept the
    # script alive for as long as the losing provider hung.
    script = textwrap.dedent(
        f"""
        import asyncio, time, trio
        from resiliency import FailoverGroup, Registry, provider_from_callable

        group = FailoverGroup("g", registry=Registry())
        group.register(
            provider_from_callable("fast", lambda: "fast", op="op"),
            provider_from_callable("hung", lambda: time.sleep(60), op="op"),
        )

        async def main():
            print(await group.execute_any("op"))

        {run}
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fast"


# -- defect 10: the event buffer keeps summaries, never the call's data ------------------


class Payload:
    """A stand-in for a large upload body."""


@pytest.mark.parametrize("mode", ["execute_sync", "execute_any_sync"])
def test_issue8_defect10_event_buffer_does_not_pin_arguments(registry: Registry, mode: str) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("down", op="upload", group=group)
    def down(body: Payload) -> str:
        raise ConnectionError("primary down")

    @provider("up", op="upload", group=group, priority=1)
    def up(body: Payload) -> str:
        return "ok"

    refs: list[weakref.ref[Payload]] = []
    for _ in range(100):
        body = Payload()
        refs.append(weakref.ref(body))
        getattr(group.with_options(providers=["down", "up"]), mode)("upload", body)
        del body
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    # stats().last_error keeps the latest exception itself (documented): at most one.
    assert alive <= 1, f"{alive} payloads kept alive by the group"
    failed = [e for e in group.events(limit=1000) if isinstance(e, ProviderFailed)]
    assert len(failed) == 100
    summary = failed[-1].error
    assert isinstance(summary, ErrorSummary)
    assert (summary.type_name, summary.message, summary.provider, summary.attempt) == (
        "ConnectionError",
        "primary down",
        "down",
        1,
    )
    assert summary.__traceback__ is None
    assert str(summary) == "ConnectionError: primary down"


@pytest.mark.anyio
async def test_issue8_defect10_all_failed_event_keeps_summaries(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("a", op="op", group=group)
    async def a(body: Payload) -> str:
        raise TimeoutError("slow")

    body = Payload()
    ref = weakref.ref(body)
    with pytest.raises(AllProvidersFailedError) as caught:
        await group.execute("op", body)
    del body, caught
    last = group.events(limit=1)[0]
    (attempt,) = last.attempts  # type: ignore[attr-defined]
    assert isinstance(attempt.error, ErrorSummary)
    assert (attempt.provider, attempt.attempt, attempt.error.type_name) == ("a", 1, "TimeoutError")
    gc.collect()
    # Only stats().last_error may still hold the latest exception (and so the payload).
    assert ref() is None or group.stats().get("a", "op").last_error is not None


def test_error_summary_of_an_unprintable_error_and_pickling() -> None:
    import pickle

    from resiliency._failover._summary import summarize

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    name, message = summarize(Unprintable())
    assert name.endswith("Unprintable")
    assert "unprintable" in message
    summary = ErrorSummary("ConnectionError", "down", "a", 2)
    copy = pickle.loads(pickle.dumps(summary))
    assert (copy.type_name, copy.message, copy.provider, copy.attempt) == ("ConnectionError", "down", "a", 2)


# -- issue 9 item 8: execute_all under a group deadline --------------------------------


@pytest.mark.anyio
async def test_issue9_item8_execute_all_at_the_group_deadline_keeps_finished_outcomes(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    finished = anyio.Event()
    cleaned: list[str] = []

    @provider("fast", op="op", group=group)
    async def fast() -> str:
        finished.set()
        return "fast"

    @provider("broken", op="op", group=group)
    async def broken() -> str:
        raise ConnectionError("broken")

    @provider("hung", op="op", group=group)
    async def hung() -> str:
        try:
            await finished.wait()
            clock.advance(5.0)  # the group deadline passes while this provider hangs
            await anyio.sleep(30)
            return "hung"
        finally:
            cleaned.append("hung")

    with anyio.fail_after(5):
        outcomes = await group.with_options(timeout=1.0).execute_all("op")
    assert [(o.provider, o.ok, o.value) for o in outcomes] == [
        ("fast", True, "fast"),
        ("broken", False, None),
        ("hung", False, None),
    ]
    assert isinstance(outcomes[1].error, ConnectionError)
    assert isinstance(outcomes[2].error, ResiliencyTimeoutError)
    assert outcomes[2].attempts == 0
    assert cleaned == ["hung"]


@pytest.mark.usefixtures("no_thread_leak")
def test_issue9_item8_execute_all_sync_at_the_group_deadline_keeps_finished_outcomes(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=ONCE, registry=registry, clock=clock)
    release = threading.Event()
    attempts: list[str] = []

    @provider("fast", op="op", group=group)
    def fast() -> str:
        return "fast"

    @provider("hung", op="op", group=group)
    def hung() -> str:
        attempts.append("hung")
        # Wait until "fast" has counted as finished, then let the deadline pass.
        for _ in range(5000):
            if group.stats().get("fast", "op").successes:
                break
            release.wait(0.001)
        release.wait(0.05)
        clock.advance(5.0)
        release.wait(10)
        return "hung"

    try:
        outcomes = group.with_options(timeout=1.0).execute_all_sync("op")
    finally:
        release.set()
    assert [(o.provider, o.ok, o.value) for o in outcomes] == [("fast", True, "fast"), ("hung", False, None)]
    assert isinstance(outcomes[1].error, ResiliencyTimeoutError)
    assert "hung" in str(outcomes[1].error)


@pytest.mark.usefixtures("no_thread_leak")
def test_issue9_item8_execute_all_sync_deadline_on_the_system_clock(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    release = threading.Event()

    @provider("hung", op="op", group=group)
    def hung() -> str:
        release.wait(10)
        return "hung"

    try:
        outcomes = group.with_options(timeout=0.002).execute_all_sync("op")
    finally:
        release.set()
    assert [(o.provider, o.ok, type(o.error)) for o in outcomes] == [("hung", False, ResiliencyTimeoutError)]


# -- the pool ------------------------------------------------------------------------------


def test_pool_reuses_threads_and_idle_ones_exit() -> None:
    pool = FailoverPool(size=2, idle_timeout=0.001)
    seen: list[threading.Thread] = []
    done = threading.Semaphore(0)

    def job() -> None:
        seen.append(threading.current_thread())
        done.release()

    pool.submit(job)
    assert done.acquire(timeout=5)
    for _ in range(5000):  # the worker counts itself idle right after the job
        if pool._idle:
            break
        threading.Event().wait(0.0001)
    for _ in range(5000):  # idle for 1 ms: it exits
        if pool.threads == 0:
            break
        threading.Event().wait(0.001)
    assert pool.threads == 0
    seen[0].join(5)
    assert not seen[0].is_alive()


@pytest.mark.usefixtures("no_thread_leak")
def test_pool_hands_work_to_idle_threads_and_overflows_to_one_off_threads() -> None:
    pool = FailoverPool(size=1, idle_timeout=5.0)
    release = threading.Event()
    names: list[str] = []
    ran = threading.Semaphore(0)

    def blocker() -> None:
        release.wait(10)
        ran.release()

    def quick() -> None:
        names.append(threading.current_thread().name)
        ran.release()

    pool.submit(blocker)  # holds the one kept thread
    pool.submit(quick)  # no kept thread free: a one-off thread, never a wait
    assert ran.acquire(timeout=5)
    release.set()
    assert ran.acquire(timeout=5)
    assert pool.threads == 1
    pool.trim()
    for _ in range(5000):
        if pool.threads == 0:
            break
        threading.Event().wait(0.001)
    assert pool.threads == 0


@pytest.mark.anyio
async def test_sync_provider_in_async_call_runs_on_a_daemon_pool_thread(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    where: list[threading.Thread] = []

    @provider("s", op="op", group=group)
    def sync_provider() -> str:
        where.append(threading.current_thread())
        return "s"

    assert await group.execute_any("op") == "s"
    assert where[0].daemon
    assert where[0].name == "resiliency-failover"


@pytest.mark.anyio
async def test_sync_provider_base_exception_in_async_call_is_bare(registry: Registry) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)

    @provider("s", op="op", group=group)
    def sync_provider() -> str:
        raise Boom("in a thread")

    with pytest.raises(Boom):
        await group.execute_all("op")


def test_late_base_exception_of_an_abandoned_thread_is_logged(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    group = FailoverGroup("g", policy=ONCE, registry=registry)
    release = threading.Event()
    ended = threading.Event()

    @provider("fast", op="op", group=group)
    def fast() -> str:
        return "fast"

    @provider("late", op="op", group=group)
    def late() -> str:
        try:
            release.wait(10)
            raise Boom("after the call")
        finally:
            ended.set()

    with caplog.at_level(logging.ERROR, logger="resiliency"):
        assert group.execute_any_sync("op") == "fast"
        release.set()
        assert ended.wait(5)
        for _ in range(5000):
            if "raised after the call ended" in caplog.text:
                break
            threading.Event().wait(0.001)
    assert "raised after the call ended" in caplog.text
