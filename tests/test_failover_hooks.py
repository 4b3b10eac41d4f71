"""Failover hooks, provider before/after hooks, events to listeners, stats and the events buffer."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from resiliency import (
    AllProvidersFailedError,
    FailoverGroup,
    Hooks,
    PolicyConfig,
    ProviderAttemptError,
    ProviderContext,
    Registry,
    RetryPolicy,
    provider,
)
from resiliency._events import (
    AllProvidersFailed,
    Event,
    FailoverFinished,
    FailoverStarted,
    ProviderFailed,
    ProviderSucceeded,
)
from resiliency.testing import FakeClock

CONSTANT = PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="constant", base_delay=0.5))


class Calls:
    """Hooks that record what they are told."""

    def __init__(self) -> None:
        self.log: list[tuple[str, ProviderContext, Any]] = []

    def success(self, ctx: ProviderContext, result: Any) -> None:
        self.log.append(("success", ctx, result))

    def fail(self, ctx: ProviderContext, error: BaseException) -> None:
        self.log.append(("fail", ctx, error))

    def all_failed(self, ctx: ProviderContext, attempts: list[ProviderAttemptError]) -> None:
        self.log.append(("all_failed", ctx, attempts))

    def hooks(self) -> Hooks:
        return Hooks(on_provider_success=self.success, on_provider_fail=self.fail, on_all_failed=self.all_failed)


def flaky_group(registry: Registry, hooks: Hooks, clock: FakeClock, *, recover: bool) -> FailoverGroup:
    group = FailoverGroup("storage", policy=CONSTANT, hooks=hooks, registry=registry, clock=clock)
    calls: list[int] = []

    class S3:
        @provider("s3", op="upload", group=group)
        async def upload(self, key: str, *, size: int) -> str:
            calls.append(1)
            clock.advance(0.25)
            if len(calls) == 1 or not recover:
                raise ConnectionError(f"s3 attempt {len(calls)}")
            return f"s3:{key}"

        @provider("s3", op="upload_sync", group=group)
        def upload_sync(self, key: str, *, size: int) -> str:
            calls.append(1)
            clock.advance(0.25)
            if len(calls) == 1 or not recover:
                raise ConnectionError(f"s3 attempt {len(calls)}")
            return f"s3:{key}"

    group.register(S3())
    return group


@pytest.mark.anyio
async def test_hooks_get_the_context_fields(registry: Registry) -> None:
    clock = FakeClock()
    calls = Calls()
    group = flaky_group(registry, calls.hooks(), clock, recover=True)
    assert await group.execute("upload", "a.txt", size=3) == "s3:a.txt"
    (kind1, fail_ctx, error), (kind2, ok_ctx, result) = calls.log
    assert (kind1, kind2, result) == ("fail", "success", "s3:a.txt")
    assert isinstance(error, ConnectionError)
    assert fail_ctx == ProviderContext("s3", "upload", 1, 0.25, 0.0, ("a.txt",), {"size": 3}, "storage")
    assert ok_ctx == ProviderContext("s3", "upload", 2, 0.25, 0.5, ("a.txt",), {"size": 3}, "storage")


def test_hooks_in_sync_calls_and_on_all_failed(registry: Registry) -> None:
    clock = FakeClock()
    calls = Calls()
    group = flaky_group(registry, calls.hooks(), clock, recover=False)
    with pytest.raises(AllProvidersFailedError) as info:
        group.execute_sync("upload_sync", "a.txt", size=3)
    kinds = [kind for kind, _, _ in calls.log]
    assert kinds == ["fail", "fail", "all_failed"]
    _, ctx, attempts = calls.log[-1]
    assert attempts == info.value.attempts
    assert (ctx.provider, ctx.op, ctx.attempt, ctx.duration, ctx.args) == (None, "upload_sync", 2, 1.0, ("a.txt",))


@pytest.mark.anyio
async def test_async_hooks_are_awaited(registry: Registry) -> None:
    seen: list[str] = []

    async def on_success(ctx: ProviderContext, result: Any) -> None:
        seen.append(f"success {ctx.provider} {result}")

    async def on_fail(ctx: ProviderContext, error: BaseException) -> None:
        seen.append(f"fail {ctx.provider}")

    group = FailoverGroup(
        "g",
        policy=PolicyConfig(default=RetryPolicy(max_attempts=1)),
        hooks=Hooks(on_provider_success=on_success, on_provider_fail=on_fail),
        registry=registry,
    )

    @provider("a", op="op", group=group)
    async def a() -> str:
        raise ConnectionError("a")

    @provider("b", op="op", group=group)
    async def b() -> str:
        return "b"

    assert await group.execute("op") == "b"
    assert seen == ["fail a", "success b b"]


def test_an_async_hook_in_a_sync_call_is_skipped_with_a_warning(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_success(ctx: ProviderContext, result: Any) -> None:
        raise AssertionError("cannot run")

    group = FailoverGroup("g", hooks=Hooks(on_provider_success=on_success), registry=registry)

    @provider("a", op="op", group=group)
    def a() -> str:
        return "a"

    with caplog.at_level(logging.WARNING, logger="resiliency"):
        assert group.execute_sync("op") == "a"
    assert "cannot run in a sync call" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["execute", "execute_any", "execute_all"])
async def test_a_raising_hook_or_listener_never_changes_the_outcome(
    registry: Registry, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("hook bug")

    async def async_boom(*args: Any) -> None:
        raise RuntimeError("async hook bug")

    registry.subscribe(boom)
    group = FailoverGroup(
        "g",
        policy=PolicyConfig(default=RetryPolicy(max_attempts=1)),
        hooks=Hooks(on_provider_success=boom, on_provider_fail=async_boom, on_all_failed=boom),
        registry=registry,
    )

    @provider("bad", op="op", group=group)
    async def bad() -> str:
        raise ConnectionError("bad")

    @provider("good", op="op", group=group, priority=1)
    async def good() -> str:
        return "good"

    @provider("bad", op="fail", group=group)
    async def fail() -> str:
        raise ConnectionError("fail")

    with caplog.at_level(logging.ERROR, logger="resiliency"):
        result = await getattr(group, mode)("op")
        if mode == "execute_all":
            assert [o.ok for o in result] == [False, True]
            assert [o.ok for o in await group.execute_all("fail")] == [False]
        else:
            assert result == "good"
            with pytest.raises(AllProvidersFailedError):
                await getattr(group, mode)("fail")
    assert "hook bug" in caplog.text
    assert "async hook bug" in caplog.text
    assert "listener" in caplog.text


@pytest.mark.anyio
async def test_listeners_receive_provider_events(registry: Registry) -> None:
    events: list[Event] = []
    registry.subscribe(events.append)
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("a", op="op", group=group)
    async def a() -> str:
        raise ConnectionError("a")

    @provider("b", op="op", group=group)
    async def b() -> str:
        return "b"

    await group.execute("op")
    kinds = [type(e) for e in events]
    assert kinds == [FailoverStarted, ProviderFailed, ProviderSucceeded, FailoverFinished]
    failed = events[1]
    assert isinstance(failed, ProviderFailed)
    assert (failed.name, failed.provider, failed.op, failed.attempt, failed.mode) == ("g", "a", "op", 1, "sequential")
    with pytest.raises(AllProvidersFailedError):
        await group.with_options(providers=["a"]).execute("op")
    assert isinstance(events[-2], AllProvidersFailed)
    finished = events[-1]
    assert isinstance(finished, FailoverFinished)
    assert (finished.op, finished.mode, finished.ok) == ("op", "sequential", False)
    assert isinstance(finished.error, AllProvidersFailedError)


# -- before_execute_op / after_execute_op --------------------------------------------------


@pytest.mark.anyio
async def test_provider_before_and_after_execute_op(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="none")), registry=registry
    )
    log: list[tuple[Any, ...]] = []

    class Traced:
        def __init__(self) -> None:
            self.calls = 0

        def before_execute_op(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            log.append(("before", op, args, kwargs))

        async def after_execute_op(self, op: str, result: Any) -> None:
            log.append(("after", op, result))

        @provider("traced", op="op", group=group)
        async def op(self, key: str, *, flag: bool) -> str:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("first")
            return key

    class Broken:
        def before_execute_op(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            raise RuntimeError("before bug")

        def after_execute_op(self, op: str, result: Any) -> None:
            raise RuntimeError("after bug")

        @provider("broken", op="sync_op", group=group)
        def sync_op(self) -> str:
            return "still fine"

    group.register(Traced(), Broken())
    assert await group.execute("op", "k", flag=True) == "k"
    assert log == [
        ("before", "op", ("k",), {"flag": True}),
        ("before", "op", ("k",), {"flag": True}),
        ("after", "op", "k"),
    ]
    with caplog.at_level(logging.ERROR, logger="resiliency"):
        assert group.execute_sync("sync_op") == "still fine"
    assert "before bug" in caplog.text
    assert "after bug" in caplog.text


# -- stats and events ------------------------------------------------------------------------


def test_stats_counts_latency_percentiles_and_last_error(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry, clock=clock)
    durations = iter(range(1, 101))

    @provider("timed", op="op", group=group)
    def timed(fail: bool) -> str:
        clock.advance(next(durations))
        if fail:
            raise ConnectionError("down")
        return "ok"

    for index in range(100):
        try:
            group.execute_sync("op", index % 10 == 9)
        except AllProvidersFailedError:
            pass
    stats = group.stats()
    entry = stats.get("timed", "op")
    assert (entry.calls, entry.successes, entry.failures, entry.cancelled) == (100, 90, 10, 0)
    assert (entry.p50, entry.p95) == (50.0, 95.0)
    assert isinstance(entry.last_error, ConnectionError)
    assert stats.for_provider("timed") == (entry,)
    assert stats.group == "g"
    with pytest.raises(KeyError, match=r"no provider 'x' with op 'op' in group 'g' \(known: timed.op\)"):
        stats.get("x", "op")


def test_stats_of_a_provider_never_called(registry: Registry) -> None:
    group = FailoverGroup("g", registry=registry)

    @provider("idle", op="op", group=group)
    def idle() -> None: ...

    entry = group.stats().get("idle", "op")
    assert (entry.calls, entry.p50, entry.p95, entry.last_error) == (0, None, None, None)


@pytest.mark.anyio
async def test_events_ring_buffer(registry: Registry) -> None:
    group = FailoverGroup("g", policy=PolicyConfig(default=RetryPolicy(max_attempts=1)), registry=registry)

    @provider("a", op="op", group=group)
    async def a() -> str:
        raise ConnectionError("a")

    @provider("b", op="op", group=group)
    async def b() -> str:
        return "b"

    for _ in range(3):
        await group.execute("op")
    events = group.events()
    assert [type(e).__name__ for e in events] == ["ProviderFailed", "ProviderSucceeded"] * 3
    assert [type(e) for e in group.events(limit=1)] == [ProviderSucceeded]
    assert group.events(limit=0) == []
    with pytest.raises(AllProvidersFailedError):
        await group.with_options(providers=["a"]).execute("op")
    last = group.events(1)[0]
    assert isinstance(last, AllProvidersFailed)
    assert (last.name, last.op, [x.provider for x in last.attempts]) == ("g", "op", ["a"])
    with pytest.raises(ValueError, match="limit must be an int >= 0"):
        group.events(-1)
    with pytest.raises(TypeError, match="limit must be an int"):
        group.events("3")  # type: ignore[arg-type]


def test_hooks_validation() -> None:
    with pytest.raises(TypeError, match="on_provider_fail must be a callable"):
        Hooks(on_provider_fail=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["execute_sync", "execute_any_sync", "execute_all_sync"])
def test_a_raising_hook_or_listener_never_changes_a_sync_outcome(
    registry: Registry, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("hook bug")

    registry.subscribe(boom)
    group = FailoverGroup(
        "g",
        policy=PolicyConfig(default=RetryPolicy(max_attempts=1)),
        hooks=Hooks(on_provider_success=boom, on_provider_fail=boom, on_all_failed=boom),
        registry=registry,
    )

    @provider("bad", op="op", group=group)
    def bad() -> str:
        raise ConnectionError("bad")

    @provider("good", op="op", group=group, priority=1)
    def good() -> str:
        return "good"

    with caplog.at_level(logging.ERROR, logger="resiliency"):
        result = getattr(group, mode)("op")
    if mode == "execute_all_sync":
        assert [(o.ok, o.value) for o in result] == [(False, None), (True, "good")]
    else:
        assert result == "good"
    assert "hook bug" in caplog.text
