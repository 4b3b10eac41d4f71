"""Failover policy: field-by-field precedence, one retry loop, per-attempt strategies, open breakers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from resiliency import (
    AllProvidersFailedError,
    CircuitBreaker,
    CircuitOpenError,
    FailoverGroup,
    PolicyConfig,
    Registry,
    RetryPolicy,
    provider,
    retry,
)
from resiliency._decorators import apply_strategy
from resiliency._engine import AsyncLayer, Strategy, SyncLayer
from resiliency._outcome import Failure
from resiliency.testing import FakeClock, describe


class FakeBreaker(Strategy):
    """A stand-in circuit breaker: rejects at once while ``open``; counts what it sees."""

    kind = "circuit_breaker"

    def __init__(self) -> None:
        self.open = False
        self.seen = 0

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            self.seen += 1
            if self.open:
                return Failure(CircuitOpenError(self, 5.0))
            return inner(args, kwargs)

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            self.seen += 1
            if self.open:
                return Failure(CircuitOpenError(self, 5.0))
            return await inner(args, kwargs)

        return layer

    def __call__(self, fn: Any) -> Any:
        return apply_strategy(fn, self)


def failing_class(group: FailoverGroup, name: str, calls: dict[str, int], *, inline: int | None = None) -> Any:
    """A provider class whose upload and download always fail, counting attempts."""

    def body(op: str) -> Any:
        async def run(self: Any) -> None:
            calls[f"{name}.{op}"] = calls.get(f"{name}.{op}", 0) + 1
            raise ConnectionError(f"{name}.{op}")

        run.__name__ = run.__qualname__ = op
        run.__qualname__ = f"Storage.{op}"
        marked = run if inline is None else retry(max_attempts=inline)(run)
        return provider(name, op=op, group=group)(marked)

    storage = type("Storage", (), {"upload": body("upload"), "download": body("download")})
    return storage()


@pytest.mark.anyio
async def test_precedence_field_by_field_by_attempts_counted(registry: Registry) -> None:
    clock = FakeClock()
    config = PolicyConfig(
        default=RetryPolicy(max_attempts=5, backoff="constant", base_delay=0.5),
        per_op={"upload": RetryPolicy(max_attempts=3)},
        per_provider={"s3": RetryPolicy(max_attempts=2)},
    )
    group = FailoverGroup("storage", policy=config, registry=registry, clock=clock)
    calls: dict[str, int] = {}
    group.register(
        failing_class(group, "s3", calls, inline=4),
        failing_class(group, "r2", calls, inline=4),
        failing_class(group, "gcs", calls),
    )
    for op in ("upload", "download"):
        with pytest.raises(AllProvidersFailedError):
            await group.execute(op)
    assert calls == {
        "s3.upload": 2,  # per_provider beats per_op, inline and default
        "r2.upload": 3,  # per_op beats inline
        "gcs.upload": 3,  # per_op beats default
        "s3.download": 2,  # per_provider
        "r2.download": 4,  # inline beats default
        "gcs.download": 5,  # default
    }
    # Only max_attempts was overridden: every wait is still the default's constant 0.5 s.
    assert set(clock.sleeps) == {0.5}
    assert len(clock.sleeps) == sum(calls.values()) - len(calls)


def test_policy_argument_beats_retry_under_provider_field_by_field(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", registry=registry, clock=clock)
    calls: list[int] = []

    @provider("p", op="op", group=group, policy=RetryPolicy(max_attempts=2))
    @retry(max_attempts=7, backoff="constant", base_delay=0.25)
    def op() -> None:
        calls.append(1)
        raise ConnectionError("x")

    with pytest.raises(AllProvidersFailedError) as info:
        group.execute_sync("op")
    assert len(calls) == 2
    assert clock.sleeps == [0.25]
    assert [a.attempt for a in info.value.attempts] == [1, 2]


def test_resolve_field_by_field() -> None:
    config = PolicyConfig(default=RetryPolicy(base_delay=1.0), per_op={"op": RetryPolicy(max_attempts=9)})
    resolved = config.resolve("p", "op", RetryPolicy(backoff="linear", max_attempts=4))
    assert (resolved.max_attempts, resolved.backoff, resolved.base_delay) == (9, "linear", 1.0)


# -- the seed's group defaults (issue 9, item 1) ------------------------------------------


def test_group_defaults_are_the_seeds_one_attempt_full_jitter() -> None:
    resolved = PolicyConfig().resolve("p", "op")
    assert (resolved.max_attempts, resolved.backoff, resolved.base_delay, resolved.max_delay) == (
        1,
        "full_jitter",
        0.2,
        5.0,
    )


def test_group_defaults_fill_the_fields_no_layer_sets() -> None:
    resolved = PolicyConfig(per_op={"op": RetryPolicy(max_attempts=4)}).resolve("p", "op")
    assert (resolved.max_attempts, resolved.backoff, resolved.base_delay, resolved.max_delay) == (
        4,
        "full_jitter",
        0.2,
        5.0,
    )


def test_a_base_delay_above_the_default_cap_lifts_the_cap() -> None:
    resolved = PolicyConfig(default=RetryPolicy(max_attempts=2, base_delay=8.0)).resolve("p", "op")
    assert (resolved.base_delay, resolved.max_delay) == (8.0, 8.0)


def test_group_without_policy_moves_on_at_once(registry: Registry) -> None:
    clock = FakeClock()
    group = FailoverGroup("g", registry=registry, clock=clock)
    calls: list[str] = []

    @provider("a", op="op", group=group)
    def a() -> str:
        calls.append("a")
        raise ConnectionError("a down")

    @provider("b", op="op", group=group)
    def b() -> str:
        calls.append("b")
        return "b"

    assert group.execute_sync("op") == "b"
    assert calls == ["a", "b"]  # one attempt at a, no retry
    assert clock.sleeps == []  # and no backoff before b


def test_group_default_retries_use_full_jitter_up_to_the_cap(registry: Registry) -> None:
    clock = FakeClock()
    config = PolicyConfig(default=RetryPolicy(max_attempts=6, rng=random.Random(7)))
    group = FailoverGroup("g", policy=config, registry=registry, clock=clock)

    @provider("a", op="op", group=group)
    def a() -> None:
        raise ConnectionError("a down")

    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("op")
    # Full jitter: uniform in [0, min(5 s, 0.2 s * 2 ** (n - 1))], drawn from the policy's rng.
    same = random.Random(7)
    assert clock.sleeps == pytest.approx([same.uniform(0.0, min(5.0, 0.2 * 2**n)) for n in range(5)])


def test_a_retry_under_provider_asks_for_retries(registry: Registry) -> None:
    group = FailoverGroup("g", registry=registry, clock=FakeClock())
    calls: list[int] = []

    @provider("a", op="op", group=group)
    @retry
    def a() -> None:
        calls.append(1)
        raise ConnectionError("a down")

    with pytest.raises(AllProvidersFailedError):
        group.execute_sync("op")
    assert len(calls) == RetryPolicy().max_attempts  # a bare @retry keeps its 3 attempts


def test_policy_config_validation() -> None:
    with pytest.raises(TypeError, match="default must be a RetryPolicy"):
        PolicyConfig(default=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"per_op\['x'\] must be a RetryPolicy"):
        PolicyConfig(per_op={"x": 3})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="per_provider key must be a str"):
        PolicyConfig(per_provider={1: RetryPolicy()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="per_op must be a mapping"):
        PolicyConfig(per_op=[1])  # type: ignore[arg-type]
    table = {"x": RetryPolicy()}
    config = PolicyConfig(per_op=table)
    table["y"] = RetryPolicy()
    assert list(config.per_op) == ["x"]  # copied, read-only


@pytest.mark.anyio
async def test_exactly_one_retry_loop_and_other_strategies_per_attempt(registry: Registry) -> None:
    group = FailoverGroup(
        "g", policy=PolicyConfig(default=RetryPolicy(max_attempts=2, backoff="none")), registry=registry
    )
    breaker = FakeBreaker()
    calls: list[int] = []

    class Flaky:
        @provider("flaky", op="op", group=group)
        @retry(max_attempts=3, backoff="none")
        @breaker
        async def op(self) -> str:
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionError("not yet")
            return "third time"

    flaky = Flaky()
    assert [s.kind for s in describe(Flaky.op)] == ["retry", "circuit_breaker"]
    group.register(flaky)
    assert await group.execute("op") == "third time"
    assert len(calls) == 3  # not 2 (default), not 3 * 2 (two loops)
    assert breaker.seen == 3  # the breaker ran once per attempt
    assert group.stats().get("flaky", "op").failures == 2


@pytest.mark.anyio
async def test_an_open_breaker_skips_its_provider_at_once(registry: Registry) -> None:
    clock = FakeClock()
    config = PolicyConfig(
        default=RetryPolicy(max_attempts=4, backoff="constant", base_delay=1.0),
        per_op={"strict": RetryPolicy(retry_on=Exception)},  # even an explicit filter
    )
    group = FailoverGroup("g", policy=config, registry=registry, clock=clock)
    breaker = FakeBreaker()
    breaker.open = True
    calls: list[str] = []

    class Guarded:
        @provider("guarded", op="op", group=group)
        @provider("guarded", op="strict", group=group)
        @breaker
        async def op(self) -> str:
            calls.append("guarded")
            return "guarded"

    class Backup:
        @provider("backup", op="op", group=group, priority=1)
        @provider("backup", op="strict", group=group, priority=1)
        async def op(self) -> str:
            return "backup"

    group.register(Guarded(), Backup())
    for op in ("op", "strict"):
        assert await group.execute(op) == "backup"
    assert calls == []
    assert clock.sleeps == []  # no retry wait on a rejection
    assert breaker.seen == 2
    stats = group.stats().get("guarded", "op")
    assert (stats.failures, type(stats.last_error)) == (1, CircuitOpenError)
    breaker.open = False
    assert await group.execute("op") == "guarded"


@pytest.mark.anyio
async def test_open_breaker_is_recorded_as_an_attempt(registry: Registry) -> None:
    group = FailoverGroup("g", registry=registry)
    breaker = FakeBreaker()
    breaker.open = True

    @provider("only", op="op", group=group)
    @breaker
    async def only() -> None: ...

    with pytest.raises(AllProvidersFailedError) as info:
        await group.execute("op")
    assert [(a.provider, a.attempt, type(a.error)) for a in info.value.attempts] == [("only", 1, CircuitOpenError)]


def test_a_real_circuit_breaker_under_provider(registry: Registry) -> None:
    clock = FakeClock()
    config = PolicyConfig(default=RetryPolicy(max_attempts=3, backoff="constant", base_delay=1.0))
    group = FailoverGroup("g", policy=config, registry=registry, clock=clock)
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=30.0, clock=clock, registry=registry)
    calls: list[int] = []

    @provider("flaky", op="op", group=group)
    @breaker
    def flaky() -> str:
        calls.append(1)
        raise ConnectionError("flaky")

    @provider("backup", op="op", group=group, priority=1)
    def backup() -> str:
        return "backup"

    assert group.execute_sync("op") == "backup"
    # attempt 1 fails, wait 1 s, attempt 2 fails and opens the breaker, wait 1 s,
    # attempt 3 is rejected without a call, and a rejection is not retried.
    assert (len(calls), clock.sleeps) == (2, [1.0, 1.0])
    with pytest.raises(AllProvidersFailedError) as info:
        group.with_options(providers=["flaky"]).execute_sync("op")
    assert [type(a.error) for a in info.value.attempts] == [CircuitOpenError]
    assert (len(calls), clock.sleeps) == (2, [1.0, 1.0])  # skipped at once: no call, no wait
