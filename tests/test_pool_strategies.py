"""Load-balancing strategies: exact sequences, and distributions within stated tolerances (seeded)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from resiliency import (
    CallableHealthCheck,
    CircuitBreakerPolicy,
    Endpoint,
    EndpointPool,
    HealthStatus,
    Registry,
)
from resiliency._pool._strategies import STRATEGIES, swrr_schedule
from resiliency.testing import FakeClock


def eps(count: int, **fields: Any) -> list[Endpoint]:
    return [Endpoint(f"e{i}", f"10.0.0.{i + 1}:80", **fields) for i in range(count)]


def picks(pool: EndpointPool, count: int, key: Any = None) -> Counter[str]:
    return Counter(pool.select(key).id for _ in range(count))


def test_the_eight_strategies_are_known() -> None:
    assert sorted(STRATEGIES) == sorted(
        [
            "round_robin",
            "random",
            "weighted",
            "least_connections",
            "health_based",
            "consistent_hash",
            "p2c_ewma",
            "zone_aware",
        ]
    )


def test_round_robin_cycles_in_registration_order(registry: Registry) -> None:
    pool = EndpointPool("rr", eps(3), registry=registry)
    assert [pool.select().id for _ in range(7)] == ["e0", "e1", "e2", "e0", "e1", "e2", "e0"]


# -- smooth weighted round robin ----------------------------------------------------------


def test_swrr_is_nginx_sequence() -> None:
    # nginx's own example (ngx_http_upstream_round_robin.c): weights 5, 1, 1 give a a b a c a a
    assert swrr_schedule([5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0]
    assert swrr_schedule([2, 2]) == [0, 1]  # gcd-reduced: period 2, not 4
    assert Counter(swrr_schedule([0.5, 1.5])) == {0: 1, 1: 3}


def test_swrr_long_weight_sums_are_scaled_to_the_cap() -> None:
    order = swrr_schedule([1000.0, 3000.0, 7.0], cap=1024)
    counts = Counter(order)
    assert len(order) <= 1030
    assert counts[1] / counts[0] == pytest.approx(3.0, rel=0.02)
    assert counts[2] >= 1  # a tiny weight still gets its turn


def test_weighted_shares_traffic_exactly_by_weight(registry: Registry) -> None:
    endpoints = [Endpoint(f"w{w}", f"10.0.1.{w}:80", weight=w) for w in (1, 2, 3, 4)]
    pool = EndpointPool("wrr", endpoints, strategy="weighted", registry=registry)
    counts = picks(pool, 1000)  # 100 periods of 10
    assert counts == {"w1": 100, "w2": 200, "w3": 300, "w4": 400}


def test_weighted_is_smooth(registry: Registry) -> None:
    endpoints = [Endpoint("big", "h:1", weight=5), Endpoint("b", "h:2"), Endpoint("c", "h:3")]
    pool = EndpointPool("smooth", endpoints, strategy="weighted", registry=registry)
    sequence = [pool.select().id for _ in range(7)]
    assert sequence == ["big", "big", "b", "big", "c", "big", "big"]  # never 5 "big" in a row


# -- random, p2c --------------------------------------------------------------------------


def test_random_is_uniform_within_five_percent(registry: Registry) -> None:
    pool = EndpointPool("rnd", eps(4), strategy="random", registry=registry, rng=random.Random(42))
    counts = picks(pool, 20_000)
    for count in counts.values():
        assert count == pytest.approx(5000, rel=0.05)
    # seeded: reproducible
    one = EndpointPool("r4", eps(4), strategy="random", registry=registry, rng=random.Random(7))
    two = EndpointPool("r5", eps(4), strategy="random", registry=registry, rng=random.Random(7))
    assert [one.select().id for _ in range(100)] == [two.select().id for _ in range(100)]


def test_p2c_ewma_sends_little_traffic_to_the_slow_endpoint(registry: Registry) -> None:
    clock = FakeClock()
    # binary fractions, so the fake clock measures every fast call as exactly the same latency
    latency = {"e0": 2**-7, "e1": 2**-7, "e2": 2**-7, "e3": 0.5}
    pool = EndpointPool("p2c", eps(4), strategy="p2c_ewma", clock=clock, rng=random.Random(3), registry=registry)

    def call(ep: Endpoint) -> str:
        clock.advance(latency[ep.id])
        return ep.id

    counts = Counter(pool.execute_sync(call) for _ in range(4000))
    assert counts["e3"] / 4000 < 0.02  # picked only before its latency was known
    for fast in ("e0", "e1", "e2"):
        assert counts[fast] / 4000 == pytest.approx(1 / 3, abs=0.08)
    assert pool.stats().get("e3").latency_ewma == pytest.approx(0.5, rel=0.01)
    latency.update(e0=2**-8)  # e0 becomes the fastest: it wins every pair it is in
    counts = Counter(pool.execute_sync(call) for _ in range(3000))
    assert counts["e0"] / 3000 == pytest.approx(0.5, abs=0.05)  # p2c: in half the pairs of 4


def test_p2c_prefers_fewer_calls_in_flight_at_equal_latency(registry: Registry) -> None:
    pool = EndpointPool("p2c-load", eps(2), strategy="p2c_ewma", rng=random.Random(1), registry=registry)
    members = pool._snap.by_id
    for member in members.values():
        member.ewma = 0.1
    members["e0"].inflight = 5
    assert picks(pool, 100) == {"e1": 100}  # with two endpoints both are always compared


# -- least connections --------------------------------------------------------------------


def test_least_connections_picks_the_fewest_in_flight_ties_round_robin(registry: Registry) -> None:
    pool = EndpointPool("lc", eps(4), strategy="least_connections", registry=registry)
    assert picks(pool, 8) == {"e0": 2, "e1": 2, "e2": 2, "e3": 2}  # all idle: round robin
    members = pool._snap.by_id
    for member, count in zip(members.values(), (3, 1, 2, 1), strict=True):
        member.inflight = count
    assert picks(pool, 8) == {"e1": 4, "e3": 4}
    members["e1"].inflight = 0
    assert picks(pool, 5) == {"e1": 5}


# -- consistent hash ----------------------------------------------------------------------


def owner_of(pool: EndpointPool, keys: list[str]) -> dict[str, str]:
    return {key: pool.select(key).id for key in keys}


def test_consistent_hash_same_key_same_endpoint_and_balance(registry: Registry) -> None:
    pool = EndpointPool("ch", eps(10), strategy="consistent_hash", registry=registry)
    keys = [f"user-{i}" for i in range(10_000)]
    first = owner_of(pool, keys)
    assert owner_of(pool, keys) == first
    share = Counter(first.values())
    assert len(share) == 10
    assert all(500 <= count <= 1600 for count in share.values()), share  # mean 1000, 64 points each


def test_consistent_hash_only_the_removed_endpoints_keys_move(registry: Registry) -> None:
    pool = EndpointPool("ch-move", eps(10), strategy="consistent_hash", registry=registry)
    keys = [f"order-{i}" for i in range(10_000)]
    before = owner_of(pool, keys)
    pool.deregister("e4")
    after = owner_of(pool, keys)
    moved = {k for k in keys if before[k] != after[k]}
    assert moved == {k for k in keys if before[k] == "e4"}  # nothing else moves
    assert len(moved) / len(keys) == pytest.approx(1 / 10, abs=0.05)
    pool.register(Endpoint("e10", "10.0.0.99:80"))
    grown = owner_of(pool, keys)
    moved_again = {k for k in keys if after[k] != grown[k]}
    assert all(grown[k] == "e10" for k in moved_again)  # keys move only to the newcomer
    assert len(moved_again) / len(keys) == pytest.approx(1 / 10, abs=0.05)


def test_consistent_hash_failover_walks_the_ring_the_same_way(registry: Registry) -> None:
    pool = EndpointPool("ch-fail", eps(5), strategy="consistent_hash", registry=registry)
    tried: list[str] = []

    def call(ep: Endpoint) -> str:
        tried.append(ep.id)
        raise ConnectionError(ep.id)

    for _ in range(2):
        with pytest.raises(Exception, match="all providers failed"):
            pool.execute_sync(call, key="cart-17")
    assert tried[:5] == tried[5:]  # the same order every time
    assert sorted(tried[:5]) == ["e0", "e1", "e2", "e3", "e4"]
    assert tried[0] == pool.select("cart-17").id


def test_consistent_hash_without_key_goes_round_robin(registry: Registry) -> None:
    pool = EndpointPool("ch-none", eps(3), strategy="consistent_hash", registry=registry)
    assert picks(pool, 6) == {"e0": 2, "e1": 2, "e2": 2}


# -- health based, zone aware, custom -----------------------------------------------------


def test_health_based_prefers_healthy_then_unknown_then_degraded(registry: Registry) -> None:
    answers = {"e0": HealthStatus.DEGRADED, "e1": HealthStatus.HEALTHY, "e2": HealthStatus.HEALTHY}
    check = CallableHealthCheck(lambda ep: answers[ep.id])
    pool = EndpointPool("hb", eps(3), strategy="health_based", health_check=check, registry=registry)
    assert picks(pool, 6) == {"e0": 2, "e1": 2, "e2": 2}  # all unknown
    pool.check_all_sync()
    assert picks(pool, 6) == {"e1": 3, "e2": 3}
    answers.update(e1=HealthStatus.DEGRADED, e2=HealthStatus.DEGRADED)
    pool.check_all_sync()
    assert picks(pool, 6) == {"e0": 2, "e1": 2, "e2": 2}


def test_zone_aware_stays_in_its_zone_and_falls_back(registry: Registry) -> None:
    endpoints = [
        Endpoint("eu1", "h:1", zone="eu"),
        Endpoint("us1", "h:2", zone="us"),
        Endpoint("eu2", "h:3", zone="eu"),
    ]
    pool = EndpointPool(
        "za",
        endpoints,
        strategy="zone_aware",
        zone="eu",
        breaker=CircuitBreakerPolicy(failure_threshold=1, reset_timeout=60),
        registry=registry,
    )
    assert picks(pool, 10) == {"eu1": 5, "eu2": 5}

    def call(ep: Endpoint) -> str:
        if ep.zone == "eu":
            raise ConnectionError(ep.id)
        return ep.id

    assert pool.execute_sync(call) == "us1"  # both eu endpoints failed, then the other zone
    assert picks(pool, 4) == {"us1": 4}  # eu ejected by their breakers: fall back


def test_custom_strategy_object(registry: Registry) -> None:
    class Last:
        def select(self, endpoints: tuple[Endpoint, ...], key: Any) -> Endpoint:
            return endpoints[-1]

    pool = EndpointPool("custom", eps(3), strategy=Last(), registry=registry)
    assert pool.strategy.endswith("Last")
    assert picks(pool, 3) == {"e2": 3}
    order: list[str] = []

    def call(ep: Endpoint) -> None:
        order.append(ep.id)
        raise ConnectionError

    with pytest.raises(Exception, match="all providers failed"):
        pool.execute_sync(call)
    assert order == ["e2", "e1", "e0"]  # asked again with the endpoints not tried yet

    class Stranger:
        def select(self, endpoints: tuple[Endpoint, ...], key: Any) -> Endpoint:
            return Endpoint("zz", "h:9")

    with pytest.raises(ValueError, match="not one of the endpoints"):
        EndpointPool("bad", eps(2), strategy=Stranger(), registry=registry).select()
