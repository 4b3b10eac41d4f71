"""EndpointPool: registration, selection, execute with failover, stats, events, group integration."""

from __future__ import annotations

import random
import threading
from typing import Any

import anyio
import pytest

import resiliency
from resiliency import (
    AllProvidersFailedError,
    CircuitBreakerPolicy,
    Endpoint,
    EndpointDeregistered,
    EndpointHealthChanged,
    EndpointPool,
    EndpointRegistered,
    FailoverGroup,
    HealthStatus,
    NoEndpointError,
    ProviderFailed,
    ProviderSucceeded,
    Registry,
    ResiliencyTimeoutError,
    provider_from_callable,
    timeout,
)
from resiliency.testing import FakeClock


def eps(count: int, **fields: Any) -> list[Endpoint]:
    return [Endpoint(f"e{i}", f"127.0.0.1:{9000 + i}", **fields) for i in range(count)]


def make(registry: Registry, count: int = 3, **options: Any) -> EndpointPool:
    return EndpointPool("svc", eps(count), registry=registry, **options)


# -- endpoints ----------------------------------------------------------------------------


def test_endpoint_is_frozen_and_checked() -> None:
    ep = Endpoint("a", "db.local:5432", weight=2, zone="eu", tags={"primary"}, metadata={"v": 1})
    assert (ep.host, ep.port, ep.weight, ep.tags) == ("db.local", 5432, 2.0, frozenset({"primary"}))
    with pytest.raises(AttributeError):
        ep.weight = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        ep.metadata["v"] = 2  # type: ignore[index]
    assert hash(ep) == hash(Endpoint("a", "db.local:5432", weight=2, zone="eu", tags={"primary"}))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"address": "nohost"}, ValueError, "address"),
        ({"address": "h:0"}, ValueError, "address"),
        ({"weight": 0}, ValueError, "weight"),
        ({"weight": "1"}, TypeError, "weight"),
        ({"weight": float("nan")}, ValueError, "weight"),
        ({"zone": 3}, TypeError, "zone"),
        ({"tags": "abc"}, TypeError, "tags"),
        ({"priority": -1}, ValueError, "priority"),
    ],
)
def test_endpoint_bad_fields_name_the_field(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    fields = {"address": "h:1", **kwargs}
    address = fields.pop("address")
    with pytest.raises(error, match=words):
        Endpoint("a", address, **fields)


def test_pool_bad_arguments(registry: Registry) -> None:
    with pytest.raises(ValueError, match="strategy must be one of"):
        EndpointPool("p", strategy="fastest", registry=registry)
    with pytest.raises(TypeError, match="strategy"):
        EndpointPool("p", strategy=42, registry=registry)
    with pytest.raises(TypeError, match="breaker"):
        EndpointPool("p", breaker=5, registry=registry)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="health_check"):
        EndpointPool("p", health_check=object(), registry=registry)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="given twice"):
        EndpointPool("twice", [Endpoint("a", "h:1"), Endpoint("a", "h:2")], registry=registry)
    with pytest.raises(TypeError, match="endpoints"):
        EndpointPool("junk", ["h:1"], registry=registry)  # type: ignore[list-item]
    EndpointPool("p", registry=registry)
    with pytest.raises(ValueError, match="already declared"):
        EndpointPool("p", registry=registry)
    assert registry.pool("p").name == "p"


# -- the seed's operations ----------------------------------------------------------------


def test_register_get_update_deregister_list(registry: Registry) -> None:
    pool = EndpointPool("svc", registry=registry)
    a, b = Endpoint("a", "10.0.0.1:80"), Endpoint("b", "10.0.0.2:80")
    pool.register(a)
    pool.register(b)
    assert pool.endpoints() == [a, b]
    with pytest.raises(ValueError, match="already in pool"):
        pool.register(Endpoint("a", "10.0.0.9:80"))
    heavier = Endpoint("a", "10.0.0.1:80", weight=5)
    pool.update(heavier)
    assert pool.get("a") is heavier
    assert pool.deregister("b") is b
    assert pool.endpoints() == [heavier]
    with pytest.raises(KeyError, match="known: a"):
        pool.get("b")
    with pytest.raises(KeyError):
        pool.deregister("b")
    with pytest.raises(KeyError):
        pool.update(b)
    assert pool.status("a") is HealthStatus.UNKNOWN
    assert pool.healthy() == [heavier]


def test_select_round_robin_and_no_endpoint(registry: Registry) -> None:
    pool = make(registry)
    assert [pool.select().id for _ in range(6)] == ["e0", "e1", "e2", "e0", "e1", "e2"]
    empty = EndpointPool("empty", registry=registry)
    with pytest.raises(NoEndpointError, match="no endpoints") as info:
        empty.select()
    assert info.value.code == "NO_ENDPOINT"
    assert isinstance(info.value, resiliency.NoProviderError)


def test_execute_sync_fails_over_and_never_repeats_an_endpoint(registry: Registry) -> None:
    pool = make(registry, 4)
    tried: list[str] = []

    def call(ep: Endpoint, value: int) -> str:
        tried.append(ep.id)
        if ep.id != "e2":
            raise ConnectionError(ep.id)
        return f"{ep.id}:{value}"

    assert pool.execute_sync(call, 7) == "e2:7"
    assert tried == ["e0", "e1", "e2"]
    tried.clear()

    def always(ep: Endpoint) -> None:
        tried.append(ep.id)
        raise ConnectionError(ep.id)

    with pytest.raises(AllProvidersFailedError) as info:
        pool.execute_sync(always)
    assert sorted(tried) == ["e0", "e1", "e2", "e3"]  # each once
    assert [a.provider for a in info.value.attempts] == tried
    tried.clear()
    with pytest.raises(AllProvidersFailedError):
        pool.execute_sync(always, attempts=6)
    assert len(tried) == 6
    assert sorted(tried[:4]) == ["e0", "e1", "e2", "e3"]


@pytest.mark.anyio
async def test_execute_async_fails_over(registry: Registry) -> None:
    pool = make(registry)

    async def fetch(ep: Endpoint, path: str) -> str:
        await anyio.sleep(0)
        if ep.id == "e0":
            raise OSError("refused")
        return ep.id + path

    assert await pool.execute(fetch, "/x") == "e1/x"
    stats = pool.stats().get("e0")
    assert (stats.calls, stats.failures, stats.in_flight) == (1, 1, 0)
    assert isinstance(stats.last_error, OSError)
    assert pool.stats().get("e1").successes == 1
    assert pool.stats().get("e1").p95 is not None


@pytest.mark.anyio
async def test_execute_any_first_success_wins_and_losers_are_cancelled(registry: Registry) -> None:
    pool = make(registry)
    cancelled: list[str] = []

    async def race(ep: Endpoint) -> str:
        try:
            if ep.id == "e1":
                return ep.id
            await anyio.sleep(10)
            return ep.id
        except anyio.get_cancelled_exc_class():
            cancelled.append(ep.id)
            raise

    assert await pool.execute_any(race) == "e1"
    assert sorted(cancelled) == ["e0", "e2"]
    assert all(s.in_flight == 0 for s in pool.stats().endpoints)


def test_execute_any_sync(registry: Registry) -> None:
    pool = make(registry)

    def call(ep: Endpoint) -> str:
        if ep.id != "e2":
            raise ConnectionError(ep.id)
        return ep.id

    assert pool.execute_any_sync(call) == "e2"


@pytest.mark.anyio
async def test_execute_honours_the_callers_deadline(registry: Registry) -> None:
    clock = FakeClock()
    pool = make(registry, clock=clock)
    tried: list[str] = []

    async def slow(ep: Endpoint) -> None:
        tried.append(ep.id)
        await clock.asleep(1.0)
        raise ConnectionError(ep.id)

    @timeout(1.5, clock=clock)
    async def call() -> None:
        await pool.execute(slow)

    with pytest.raises(ResiliencyTimeoutError):
        await call()
    assert tried == ["e0", "e1"]  # e2 never started: the deadline had passed


def test_no_usable_endpoint_is_an_error_before_any_call(registry: Registry) -> None:
    pool = EndpointPool("none", registry=registry)
    with pytest.raises(NoEndpointError):
        pool.execute_sync(lambda ep: ep)
    with pytest.raises(ValueError, match="attempts"):
        make(registry).execute_sync(lambda ep: ep, attempts=0)


def test_events_and_listeners(registry: Registry) -> None:
    seen: list[object] = []
    registry.subscribe(seen.append)
    pool = make(registry, 2)

    def call(ep: Endpoint) -> str:
        if ep.id == "e0":
            raise ConnectionError("no")
        return ep.id

    pool.execute_sync(call)
    pool.deregister("e1")
    events = pool.events()
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "EndpointRegistered",
        "EndpointRegistered",
        "ProviderFailed",
        "ProviderSucceeded",
        "EndpointDeregistered",
    ]
    failed = events[2]
    assert isinstance(failed, ProviderFailed)
    assert failed.provider == "e0"
    assert failed.name == "svc"
    assert isinstance(events[3], ProviderSucceeded)
    assert isinstance(events[-1], EndpointDeregistered)
    assert events[-1].endpoint_id == "e1"
    assert pool.events(1) == events[-1:]
    assert any(isinstance(e, EndpointRegistered) for e in seen)
    assert any(isinstance(e, EndpointDeregistered) for e in seen)


# -- passive ejection -------------------------------------------------------------------


def test_breaker_ejects_an_endpoint_and_lets_it_back_after_reset_timeout(registry: Registry) -> None:
    clock = FakeClock()
    pool = make(registry, 2, breaker=CircuitBreakerPolicy(failure_threshold=2, reset_timeout=30), clock=clock)
    down = {"e0"}

    def call(ep: Endpoint) -> str:
        if ep.id in down:
            raise ConnectionError(ep.id)
        return ep.id

    for _ in range(4):
        assert pool.execute_sync(call) == "e1"
    assert pool.status("e0") is HealthStatus.UNHEALTHY
    assert [e.id for e in pool.healthy()] == ["e1"]
    assert {pool.select().id for _ in range(4)} == {"e1"}
    changes = [e for e in pool.events() if isinstance(e, EndpointHealthChanged)]
    assert (changes[-1].endpoint_id, changes[-1].new, changes[-1].reason) == ("e0", HealthStatus.UNHEALTHY, "breaker")
    health = registry.health()
    assert health.status == "degraded"
    assert any("svc" in issue for issue in health.issues)
    clock.advance(30)
    down.clear()
    assert {pool.select().id for _ in range(4)} == {"e0", "e1"}  # back, to be probed
    assert pool.execute_sync(call, key=None) in {"e0", "e1"}
    assert pool.stats().get("e0").breaker in {resiliency.CircuitState.HALF_OPEN, resiliency.CircuitState.CLOSED}


def test_registry_health_degraded_when_a_pool_has_no_usable_endpoint(registry: Registry) -> None:
    pool = make(registry, 1, breaker=CircuitBreakerPolicy(failure_threshold=1, reset_timeout=60))

    def boom(ep: Endpoint) -> None:
        raise ConnectionError

    with pytest.raises(AllProvidersFailedError):
        pool.execute_sync(boom)
    health = registry.health()
    assert health.status == "degraded"  # one dependency down: the rest of the service may serve
    assert health.issues == ("pool 'svc' has no usable endpoint (0/1)",)
    with pytest.raises(NoEndpointError, match="e0=unhealthy"):
        pool.select()


# -- priority tiers ---------------------------------------------------------------------


def test_lowest_priority_tier_is_used_while_it_has_a_usable_endpoint(registry: Registry) -> None:
    pool = EndpointPool(
        "tiers",
        [Endpoint("p0", "h:1", priority=0), Endpoint("p1", "h:2", priority=1), Endpoint("p1b", "h:3", priority=1)],
        breaker=CircuitBreakerPolicy(failure_threshold=1, reset_timeout=60),
        registry=registry,
    )
    assert {pool.select().id for _ in range(5)} == {"p0"}

    def call(ep: Endpoint) -> str:
        if ep.id == "p0":
            raise ConnectionError
        return ep.id

    assert pool.execute_sync(call) in {"p1", "p1b"}  # p0 failed: the next tier takes over
    assert {pool.select().id for _ in range(6)} == {"p1", "p1b"}


# -- concurrency ------------------------------------------------------------------------


def test_changes_from_threads_while_calls_run(registry: Registry, no_thread_leak: None) -> None:
    pool = make(registry, 8, strategy="least_connections")
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn(index: int) -> None:
        rng = random.Random(index)
        while not stop.is_set():
            ep = Endpoint(f"x{index}", f"127.0.0.1:{7000 + index}", weight=rng.randint(1, 5))
            try:
                pool.register(ep)
                pool.update(Endpoint(ep.id, ep.address, weight=2))
                pool.deregister(ep.id)
            except BaseException as exc:
                errors.append(exc)

    def calls() -> None:
        try:
            for _ in range(300):
                assert pool.execute_sync(lambda ep: ep.id).startswith(("e", "x"))
                pool.select()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=churn, args=(i,)) for i in range(2)]
    callers = [threading.Thread(target=calls) for _ in range(4)]
    for t in workers + callers:
        t.start()
    for t in callers:
        t.join(60)
    stop.set()
    for t in workers:
        t.join(60)
    assert errors == []
    assert [e.id for e in pool.endpoints()] == [f"e{i}" for i in range(8)]
    assert all(s.in_flight == 0 for s in pool.stats().endpoints)


@pytest.mark.anyio
async def test_many_tasks_in_flight_are_counted(registry: Registry) -> None:
    pool = make(registry, 4, strategy="least_connections")
    gate = anyio.Event()
    peak: list[int] = []

    async def hold(ep: Endpoint) -> str:
        peak.append(sum(s.in_flight for s in pool.stats().endpoints))
        await gate.wait()
        return ep.id

    async with anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(pool.execute, hold)
        await anyio.sleep(0.01)
        counts = [s.in_flight for s in pool.stats().endpoints]
        gate.set()
    assert counts == [10, 10, 10, 10]  # least connections spreads them evenly
    assert all(s.in_flight == 0 for s in pool.stats().endpoints)


# -- failover group integration ---------------------------------------------------------


@pytest.mark.anyio
async def test_pool_is_one_provider_of_a_failover_group(registry: Registry) -> None:
    regions = EndpointPool(
        "s3",
        [Endpoint(r, f"s3.{r}.example:443") for r in ("us-east-1", "eu-west-1", "ap-south-1")],
        registry=registry,
    )
    storage = FailoverGroup("storage", registry=registry)
    down = {"us-east-1", "eu-west-1", "ap-south-1"}

    async def s3_upload(ep: Endpoint, key: str, data: bytes) -> str:
        if ep.id in down:
            raise ConnectionError(ep.id)
        return f"s3:{ep.id}:{key}"

    async def r2_upload(key: str, data: bytes) -> str:
        return f"r2:{key}"

    storage.register(regions, name="s3", op="upload", fn=s3_upload)
    storage.register(provider_from_callable("r2", r2_upload, op="upload", priority=1))
    assert await storage.execute("upload", "a.txt", b"1") == "r2:a.txt"
    assert regions.stats().get("ap-south-1").failures == 1  # every region was tried first
    down.discard("eu-west-1")
    assert await storage.execute("upload", "b.txt", b"2") == "s3:eu-west-1:b.txt"
    assert storage.stats().get("s3", "upload").successes == 1


def test_sync_pool_provider_and_register_errors(registry: Registry) -> None:
    pool = make(registry, 2)
    group = FailoverGroup("g", registry=registry)
    group.register(pool, op="get", fn=lambda ep, x: (ep.id, x))
    assert group.execute_sync("get", 1) == ("e0", 1)
    assert group.providers == ["svc"]
    with pytest.raises(TypeError, match="endpoint pools"):
        group.register(object(), op="get", fn=lambda ep: ep)
    with pytest.raises(TypeError, match="op and fn"):
        group.register(pool, name="other", op="get")


@pytest.mark.anyio
async def test_execute_any_with_hedge_delay_starts_the_next_endpoint_only_when_needed(registry: Registry) -> None:
    pool = make(registry, 3)
    started: list[str] = []

    async def quick(ep: Endpoint) -> str:
        started.append(ep.id)
        await anyio.sleep(0)
        return ep.id

    assert await pool.execute_any(quick, hedge_delay=30.0) == "e0"
    assert started == ["e0"]  # answered well within the hedge delay: nobody else started
    started.clear()

    async def first_fails(ep: Endpoint) -> str:
        started.append(ep.id)
        if len(started) == 1:
            raise ConnectionError(ep.id)
        return ep.id

    winner = await pool.execute_any(first_fails, hedge_delay=30.0)  # the first failed: the next at once
    assert len(started) == 2
    assert started[1] == winner != started[0]
    with pytest.raises(ValueError, match="hedge_delay"):
        await pool.execute_any(quick, hedge_delay=-1)
