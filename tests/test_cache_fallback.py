"""``@cache_fallback``: stale values answer failures until ``stale_ttl``; ``ttl`` reads through."""

from __future__ import annotations

from typing import Any

import pytest

import resiliency
from resiliency import MemoryCache, ServedStale, cache_fallback
from resiliency.testing import FakeClock


class Prices:
    def __init__(self) -> None:
        self.up = True
        self.calls = 0
        self.price = 10

    def get(self, sku: str) -> int:
        self.calls += 1
        if not self.up:
            raise ConnectionError("price service down")
        return self.price

    async def aget(self, sku: str) -> int:
        return self.get(sku)


def test_a_failure_is_answered_with_the_last_good_value_until_stale_ttl(registry: resiliency.Registry) -> None:
    clock, prices = FakeClock(), Prices()
    events: list[Any] = []
    registry.subscribe(events.append)
    get = cache_fallback(stale_ttl=60.0, clock=clock, registry=registry)(prices.get)
    assert get("sku-1") == 10
    prices.up = False
    clock.advance(59.0)
    assert get("sku-1") == 10
    [event] = events
    assert isinstance(event, ServedStale)
    assert event.age == pytest.approx(59.0)
    assert isinstance(event.error, ConnectionError)
    assert event.name is not None
    assert "get" in event.name
    clock.advance(1.0)
    with pytest.raises(ConnectionError):
        get("sku-1")  # 60 s old: never served


def test_nothing_stored_means_the_failure_goes_on() -> None:
    prices = Prices()
    prices.up = False
    get = cache_fallback()(prices.get)
    with pytest.raises(ConnectionError):
        get("sku-1")


def test_each_key_keeps_its_own_value() -> None:
    prices = Prices()
    get = cache_fallback()(prices.get)
    assert get("a") == 10
    prices.price = 20
    assert get("b") == 20
    prices.up = False
    assert (get("a"), get("b")) == (10, 20)


def test_with_ttl_zero_every_call_goes_through_and_refreshes() -> None:
    prices = Prices()
    get = cache_fallback()(prices.get)
    get("a")
    prices.price = 11
    assert get("a") == 11
    assert prices.calls == 2
    prices.up = False
    assert get("a") == 11


def test_a_positive_ttl_serves_fresh_values_without_a_call() -> None:
    clock, prices = FakeClock(), Prices()
    get = cache_fallback(5.0, clock=clock)(prices.get)
    get("a")
    prices.price = 99
    clock.advance(4.9)
    assert get("a") == 10
    assert prices.calls == 1
    clock.advance(0.2)
    assert get("a") == 99
    assert prices.calls == 2


def test_unhashable_arguments_are_keyed_by_their_repr() -> None:
    calls = {"up": True}

    def total(items: list[int]) -> int:
        if not calls["up"]:
            raise ConnectionError("down")
        return sum(items)

    get = cache_fallback()(total)
    assert get([1, 2]) == 3
    calls["up"] = False
    assert get([1, 2]) == 3
    with pytest.raises(ConnectionError):
        get([2, 1])


def test_a_key_function_must_return_a_hashable_value() -> None:
    get = cache_fallback(key=lambda sku: [sku])(Prices().get)
    with pytest.raises(TypeError, match="key must return a hashable value"):
        get("a")


def test_a_key_function_picks_the_key() -> None:
    prices = Prices()
    get = cache_fallback(key=lambda sku: sku.lower())(prices.get)
    get("ABC")
    prices.up = False
    assert get("abc") == 10


@pytest.mark.anyio
async def test_async_callables_are_served_stale_too() -> None:
    prices = Prices()
    get = cache_fallback()(prices.aget)
    assert await get("a") == 10
    prices.up = False
    assert await get("a") == 10


def test_memory_cache_drops_the_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2)
    cache.set("a", 1, 0.0)
    cache.set("b", 2, 0.0)
    assert cache.get("a", 5.0) == (1, 5.0)  # "a" is now the most recent; 5 s old
    cache.set("c", 3, 0.0)
    assert cache.get("b", 5.0) is None
    assert len(cache) == 2


def test_it_stacks_with_retry_into_one_pipeline() -> None:
    prices = Prices()
    get = cache_fallback()(resiliency.retry(max_attempts=2, base_delay=0)(prices.get))
    kinds = [s.kind for s in resiliency.testing.describe(get)]
    assert kinds == ["cache_fallback", "retry"]
    get("a")
    prices.up = False
    assert get("a") == 10
    assert prices.calls == 3  # one success, then two failed attempts before the stale answer


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"ttl": -1}, ValueError, "ttl must be"),
        ({"ttl": 10, "stale_ttl": 5}, ValueError, "ttl must be at most stale_ttl"),
        ({"stale_ttl": 0}, ValueError, "stale_ttl must be"),
        ({"key": "sku"}, TypeError, "key must be"),
        ({"cache": {}}, TypeError, "cache must be"),
        ({"max_entries": 0}, ValueError, "max_entries must be"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        cache_fallback(**kwargs)


def test_under_retry_a_stale_value_answers_without_retrying() -> None:
    prices = Prices()
    get = resiliency.retry(max_attempts=3, base_delay=0)(cache_fallback()(prices.get))
    assert get("a") == 10
    prices.up = False
    assert get("a") == 10
    assert prices.calls == 2  # the stale value is an answer: nothing for the retry to do


def test_with_ttl_zero_the_function_is_called_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """No layer is built per call: successes are stored by a hook, failures answered from it."""
    from resiliency._cache_fallback import CacheFallbackStrategy

    built = 0
    original = CacheFallbackStrategy.sync_layer

    def counting(self: CacheFallbackStrategy, inner: Any) -> Any:
        nonlocal built
        built += 1
        return original(self, inner)

    monkeypatch.setattr(CacheFallbackStrategy, "sync_layer", counting)
    prices = Prices()
    get = cache_fallback()(prices.get)
    decorated = built
    assert [get("a") for _ in range(10)] == [10] * 10
    prices.up = False
    assert [get("a") for _ in range(10)] == [10] * 10
    assert built == decorated


@pytest.mark.anyio
async def test_async_direct_calls_store_and_serve_stale() -> None:
    prices = Prices()
    get = resiliency.retry(max_attempts=2, base_delay=0)(cache_fallback()(prices.aget))
    assert await get("b") == 10
    prices.up = False
    assert await get("b") == 10
    assert prices.calls == 2
