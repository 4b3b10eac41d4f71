"""Load-balancing strategies: which usable endpoint a call goes to.

Each built-in strategy is a small object with ``pick(members, key)`` (the first choice,
given the snapshot's usable tuple, whose identity is stable until the pool changes, so a
strategy may cache what it derives from it) and ``pick_next(members, key, tried)`` (the
failover choice, never a member already tried in the call). A custom strategy is any
object with ``select(endpoints, key) -> Endpoint``; ``Custom`` adapts it.

Per pick over 100 endpoints, on the reference machine: round robin, random, weighted
(a precomputed smooth weighted round robin schedule) and p2c are O(1); least
connections scans from a rotating start and stops at the first idle endpoint;
consistent hash is one hash and a bisect on a ring.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import zlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .._validate import message
from ._endpoint import Endpoint, HealthStatus
from ._member import Member

__all__ = [
    "STRATEGIES",
    "ConsistentHash",
    "Custom",
    "SelectionStrategy",
    "Strategy",
    "key_hash",
    "make_strategy",
    "swrr_schedule",
]

VNODES = 64
"""Points per endpoint on the consistent-hash ring."""

SCHEDULE_CAP = 1024
"""Longest smooth weighted round robin schedule; longer weight sums are scaled down."""


@runtime_checkable
class SelectionStrategy(Protocol):
    """A custom strategy: ``select(endpoints, key)`` returns one of ``endpoints``."""

    def select(self, endpoints: tuple[Endpoint, ...], key: Any) -> Endpoint:
        """Return one of ``endpoints`` (never empty) for a call with ``key`` (may be None)."""
        ...


class Strategy:
    """Base of the built-in strategies."""

    name = ""

    def __init__(self, rng: random.Random, zone: str | None) -> None:
        self._random = rng.random
        self._next = itertools.count().__next__

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        """Return the member for a call with ``key`` (``members`` is never empty)."""
        return members[self._next() % len(members)]

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        """Return a member not in ``tried`` (failover): ask ``pick`` a few times, then take the first left."""
        for _ in range(len(members)):
            member = self.pick(members, key)
            if member not in tried:
                return member
        return next(m for m in members if m not in tried)


class RoundRobin(Strategy):
    """Each endpoint in turn."""

    name = "round_robin"


class Random(Strategy):
    """A uniformly random endpoint (the pool's ``rng``)."""

    name = "random"

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        return members[int(self._random() * len(members))]


def _quantize(weights: list[float], cap: int) -> list[int]:
    """Integer weights with the same ratios (scaled to sum to about ``cap`` if needed), gcd-reduced."""
    if all(float(w).is_integer() for w in weights) and sum(weights) <= cap:
        ints = [int(w) for w in weights]
    else:
        scale = cap / sum(weights)
        ints = [max(1, round(w * scale)) for w in weights]
    divisor = math.gcd(*ints)
    return [w // divisor for w in ints]


def swrr_schedule(weights: list[float], cap: int = SCHEDULE_CAP) -> list[int]:
    """nginx's smooth weighted round robin, one full period, as indices into ``weights``.

    Each step adds every weight to its current value, picks the largest current value
    (the first on a tie) and subtracts the total from it. Over a period of
    ``sum(weights)`` steps each index appears exactly its weight's times, spread out
    (weights 5, 1, 1 give a a b a c a a, not a a a a a b c).
    """
    ints = _quantize(weights, cap)
    total = sum(ints)
    current = [0] * len(ints)
    order: list[int] = []
    for _ in range(total):
        current = [c + w for c, w in zip(current, ints, strict=True)]
        best = current.index(max(current))
        current[best] -= total
        order.append(best)
    return order


class Weighted(Strategy):
    """Smooth weighted round robin (nginx): traffic in proportion to ``Endpoint.weight``.

    The schedule of one period is computed once per pool change; each pick is an index.
    """

    name = "weighted"

    def __init__(self, rng: random.Random, zone: str | None) -> None:
        super().__init__(rng, zone)
        self._rng = rng
        self._cache: tuple[tuple[Member, ...], tuple[Member, ...]] | None = None

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        cache = self._cache
        if cache is None or cache[0] is not members:
            order = swrr_schedule([m.endpoint.weight for m in members])
            cache = self._cache = (members, tuple(members[i] for i in order))
        schedule = cache[1]
        return schedule[self._next() % len(schedule)]

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        left = [m for m in members if m not in tried]
        return self._rng.choices(left, weights=[m.endpoint.weight for m in left])[0]


class LeastConnections(Strategy):
    """The endpoint with the fewest calls in flight; ties go round robin."""

    name = "least_connections"

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        size = len(members)
        start = self._next() % size
        best = members[start]
        fewest = best.inflight
        if fewest == 0:
            return best
        for index in itertools.chain(range(start + 1, size), range(start)):
            member = members[index]
            count = member.inflight
            if count < fewest:
                if count == 0:
                    return member
                best, fewest = member, count
        return best

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        return min((m for m in members if m not in tried), key=lambda m: m.inflight)


class P2CEwma(Strategy):
    """Power of two choices (Finagle): of two random endpoints, the one with less load.

    Load is the latency EWMA times (calls in flight + 1); an endpoint with no sample
    yet has load 0, so new endpoints get traffic at once.
    """

    name = "p2c_ewma"

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        size = len(members)
        if size == 1:
            return members[0]
        rand = self._random
        first = int(rand() * size)
        second = int(rand() * (size - 1))
        if second >= first:
            second += 1
        a, b = members[first], members[second]
        return a if a.ewma * (a.inflight + 1) <= b.ewma * (b.inflight + 1) else b


_PREFERENCE = (HealthStatus.HEALTHY, HealthStatus.UNKNOWN, HealthStatus.DEGRADED)


class HealthBased(Strategy):
    """Round robin over the healthiest class present: HEALTHY, else UNKNOWN, else DEGRADED."""

    name = "health_based"

    def __init__(self, rng: random.Random, zone: str | None) -> None:
        super().__init__(rng, zone)
        self._cache: tuple[tuple[Member, ...], tuple[Member, ...]] | None = None

    def _preferred(self, members: tuple[Member, ...]) -> tuple[Member, ...]:
        for status in _PREFERENCE:
            chosen = tuple(m for m in members if m.status is status)
            if chosen:
                return chosen
        return members

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        cache = self._cache
        if cache is None or cache[0] is not members:
            cache = self._cache = (members, self._preferred(members))
        best = cache[1]
        return best[self._next() % len(best)]

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        left = tuple(m for m in members if m not in tried)
        best = self._preferred(left)
        return best[self._next() % len(best)]


class ZoneAware(Strategy):
    """Round robin within the pool's zone; other zones only when it has no usable endpoint."""

    name = "zone_aware"

    def __init__(self, rng: random.Random, zone: str | None) -> None:
        super().__init__(rng, zone)
        self._zone = zone
        self._cache: tuple[tuple[Member, ...], tuple[Member, ...]] | None = None

    def _local(self, members: tuple[Member, ...]) -> tuple[Member, ...]:
        local = tuple(m for m in members if m.endpoint.zone == self._zone)
        return local or members

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        cache = self._cache
        if cache is None or cache[0] is not members:
            cache = self._cache = (members, self._local(members))
        local = cache[1]
        return local[self._next() % len(local)]

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        local = self._local(tuple(m for m in members if m not in tried))
        return local[self._next() % len(local)]


_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / the golden ratio: Fibonacci hashing spreads the top bits
_MASK = (1 << 64) - 1


def key_hash(key: object) -> int:
    """A 64-bit hash of ``key``, the same in every process (str, bytes or anything with a str()).

    CRC-32 of the bytes, spread over 64 bits by Fibonacci hashing (a multiplication by
    2**64 / phi, then the high bits folded in): ~3x cheaper than blake2b, and as even on
    the ring (see the balance test).
    """
    data = key if isinstance(key, bytes) else str(key).encode()
    mixed = zlib.crc32(data) * _GOLDEN & _MASK
    return mixed ^ (mixed >> 29)


class ConsistentHash(Strategy):
    """Same key, same endpoint: a hash ring with ``VNODES`` points per endpoint.

    When an endpoint leaves, only the keys it owned move (to the next point on the
    ring); failover walks the ring the same way. A call without a key goes round robin.
    """

    name = "consistent_hash"

    def __init__(self, rng: random.Random, zone: str | None) -> None:
        super().__init__(rng, zone)
        self._ring: tuple[tuple[Member, ...], list[int], list[Member]] | None = None

    def _ring_for(self, members: tuple[Member, ...]) -> tuple[list[int], list[Member]]:
        ring = self._ring
        if ring is None or ring[0] is not members:
            points = sorted(
                (key_hash(f"{m.endpoint.id}#{i}"), index) for index, m in enumerate(members) for i in range(VNODES)
            )
            ring = self._ring = (members, [p for p, _ in points], [members[i] for _, i in points])
        return ring[1], ring[2]

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        if key is None:
            return members[self._next() % len(members)]
        points, owners = self._ring_for(members)
        index = bisect.bisect(points, key_hash(key))
        return owners[index if index < len(owners) else 0]

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        if key is None:
            return super().pick_next(members, key, tried)
        points, owners = self._ring_for(members)
        start = bisect.bisect(points, key_hash(key))
        for step in range(len(owners)):
            member = owners[(start + step) % len(owners)]
            if member not in tried:
                return member
        return next(m for m in members if m not in tried)


class Custom(Strategy):
    """Adapts an object with ``select(endpoints, key)`` to the pool."""

    def __init__(self, chooser: SelectionStrategy, resolve: Callable[[Endpoint], Member]) -> None:
        self._chooser = chooser
        self._resolve = resolve
        self.name = type(chooser).__qualname__

    def pick(self, members: tuple[Member, ...], key: Any) -> Member:
        return self._ask(tuple(m.endpoint for m in members), key)

    def pick_next(self, members: tuple[Member, ...], key: Any, tried: set[Member]) -> Member:
        return self._ask(tuple(m.endpoint for m in members if m not in tried), key)

    def _ask(self, endpoints: tuple[Endpoint, ...], key: Any) -> Member:
        chosen = self._chooser.select(endpoints, key)
        if chosen not in endpoints:
            raise ValueError(f"strategy {self.name} returned {chosen!r}, not one of the endpoints it was given")
        return self._resolve(chosen)


STRATEGIES: dict[str, type[Strategy]] = {
    s.name: s for s in (RoundRobin, Random, Weighted, LeastConnections, HealthBased, ConsistentHash, P2CEwma, ZoneAware)
}


def make_strategy(
    strategy: object, rng: random.Random, zone: str | None, resolve: Callable[[Endpoint], Member]
) -> Strategy:
    """Build the strategy named ``strategy`` (or adapt a custom one).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        TypeError: neither a name nor an object with ``select(endpoints, key)``.
    """
    if isinstance(strategy, str):
        kind = STRATEGIES.get(strategy)
        if kind is None:
            raise ValueError(message("strategy", f"one of {', '.join(map(repr, STRATEGIES))}", strategy))
        return kind(rng, zone)
    if isinstance(strategy, SelectionStrategy):
        return Custom(strategy, resolve)
    raise TypeError(message("strategy", "a strategy name or an object with select(endpoints, key)", strategy))
