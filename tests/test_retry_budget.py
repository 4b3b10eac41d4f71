"""``RetryBudget``: Finagle's retry budget, local (FakeClock) and shared (real redis-server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
import redis

from resiliency import Registry, RetryBudget, RetryBudgetExhausted, RetryPolicy, retry
from resiliency.stores.redis import RedisStore
from resiliency.testing import FakeClock


def test_min_per_second_times_window_retries_are_always_allowed() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.1, min_per_second=2.0, window=5.0, clock=clock)
    assert sum(budget.try_withdraw() for _ in range(20)) == 10  # 2/s * 5 s, no calls at all
    assert budget.metrics().exhausted == 10


def test_each_call_deposits_ratio_of_a_retry() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, min_per_second=0.0, window=10.0, clock=clock)
    for _ in range(50):
        budget.deposit()
    assert sum(budget.try_withdraw() for _ in range(20)) == 10  # 20 % of 50
    m = budget.metrics()
    assert (m.deposits, m.withdrawals, m.balance) == (50, 10, 0)


def test_deposits_and_withdrawals_expire_after_the_window() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, window=10.0, clock=clock)
    for _ in range(10):
        budget.deposit()
    assert sum(budget.try_withdraw() for _ in range(10)) == 5
    clock.advance(10.0)
    assert budget.metrics().deposits == 0
    assert not budget.try_withdraw()
    budget.deposit()
    budget.deposit()
    assert budget.try_withdraw()


def test_a_spent_budget_stops_retries_at_once_and_emits_the_event() -> None:
    registry = Registry()
    events: list[Any] = []
    registry.subscribe(events.append)
    budget = RetryBudget("payments", ratio=0.1, min_per_second=0.0, window=10.0, clock=FakeClock(), registry=registry)
    attempts = 0

    @retry(max_attempts=5, backoff="none", budget=budget)
    def call() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("down")

    for _ in range(10):  # 10 calls deposit 1 retry
        with pytest.raises(ConnectionError):
            call()
    assert attempts == 10 + 1
    exhausted = [e for e in events if isinstance(e, RetryBudgetExhausted)]
    assert len(exhausted) == 10
    assert exhausted[0].name == "payments"
    assert isinstance(exhausted[0].error, ConnectionError)


@pytest.mark.anyio
async def test_async_retries_spend_from_the_budget() -> None:
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, window=10.0, clock=FakeClock())
    policy = RetryPolicy(max_attempts=3, backoff="none", budget=budget)
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        await anyio.lowlevel.checkpoint()
        raise TimeoutError

    for _ in range(4):
        with pytest.raises(TimeoutError):
            await policy.acall(flaky)
    assert attempts == 4 + 2  # 4 calls deposit 2 retries


def test_successes_deposit_too() -> None:
    budget = RetryBudget(ratio=1.0, min_per_second=0.0, window=10.0, clock=FakeClock())

    @retry(max_attempts=2, backoff="none", budget=budget)
    def ok() -> int:
        return 1

    for _ in range(3):
        ok()
    assert budget.metrics().deposits == 3


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("ratio", 0.0, ValueError),
        ("ratio", 1.5, ValueError),
        ("ratio", "0.2", TypeError),
        ("min_per_second", -1.0, ValueError),
        ("min_per_second", float("nan"), ValueError),
        ("window", 0.0, ValueError),
        ("window", True, TypeError),
    ],
)
def test_bad_settings_name_the_parameter(field: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=field):
        RetryBudget(**{field: value})


def test_window_takes_a_timedelta_and_the_policy_checks_the_budget_type() -> None:
    assert RetryBudget(window=timedelta(seconds=3)).window == 3.0
    with pytest.raises(TypeError, match="budget"):
        RetryPolicy(budget=0.2)


@pytest.fixture
def stores(redis_url: str) -> Iterator[Any]:
    made: list[RedisStore] = []

    def make() -> RedisStore:
        store = RedisStore(redis.Redis.from_url(redis_url), sync_interval=3600)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
        store.client.close()


def test_a_shared_budget_counts_the_fleet(stores: Any) -> None:
    a = RetryBudget("fleet", ratio=0.5, min_per_second=0.0, window=60, store=stores(), registry=Registry())
    b = RetryBudget("fleet", ratio=0.5, min_per_second=0.0, window=60, store=stores(), registry=Registry())
    for _ in range(4):
        a.deposit()
    a.sync()  # deposits are flushed in batches, off the call path
    # a's 4 calls allow 2 retries, wherever they happen.
    assert [b.try_withdraw(), a.try_withdraw(), b.try_withdraw()] == [True, True, False]


def test_a_shared_budget_needs_a_name(stores: Any) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        RetryBudget(store=stores())


def _hedged_group(budget: RetryBudget, registry: Registry, log: list[str]) -> Any:
    from resiliency import FailoverGroup, PolicyConfig, provider

    group = FailoverGroup(
        "hedged", policy=PolicyConfig(default=RetryPolicy(max_attempts=1, budget=budget)), registry=registry
    )
    release = anyio.Event()

    @provider("slow", op="op", group=group)
    async def slow() -> str:
        log.append("slow started")
        # Timers of one event loop fire in deadline order: the 1 ms hedge timer always
        # comes before this 50 ms one.
        with anyio.move_on_after(0.05):
            await release.wait()
        log.append("slow failed")
        raise ConnectionError("slow")

    @provider("fast", op="op", group=group, priority=1)
    async def fast() -> str:
        log.append("fast started")
        release.set()
        return "fast"

    return group.with_options(hedge_delay=0.001)


@pytest.mark.anyio
async def test_a_hedge_spends_from_the_budget() -> None:
    registry = Registry()
    log: list[str] = []
    budget = RetryBudget("hedges", ratio=1.0, min_per_second=10.0, window=10.0, registry=registry)
    assert await _hedged_group(budget, registry, log).execute_any("op") == "fast"
    assert log[:2] == ["slow started", "fast started"]  # hedged while slow still ran
    assert budget.metrics().withdrawals == 1


@pytest.mark.anyio
async def test_no_hedge_without_budget_the_next_provider_waits_its_turn() -> None:
    registry = Registry()
    events: list[Any] = []
    registry.subscribe(events.append)
    log: list[str] = []
    budget = RetryBudget("hedges", ratio=0.1, min_per_second=0.0, window=10.0, registry=registry)
    assert await _hedged_group(budget, registry, log).execute_any("op") == "fast"
    assert log == ["slow started", "slow failed", "fast started"]  # failed over, not hedged
    assert [type(e) for e in events if isinstance(e, RetryBudgetExhausted)] == [RetryBudgetExhausted]
