"""``@cache_fallback``: answer a failed call with the last good value, while it is fresh enough.

Every success is stored under the call's key. When a call fails, the stored value is
returned if it is younger than ``stale_ttl`` (a ``ServedStale`` event says so);
otherwise the failure goes on unchanged. With ``ttl > 0`` a value younger than ``ttl``
is served without calling at all (a read-through cache).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from ._clock import Clock, get_clock
from ._decorators import Decorator, apply_strategy
from ._engine import AsyncLayer, Strategy, SyncLayer
from ._events import ServedStale
from ._outcome import Failure
from ._registry import Registry, default_registry
from ._validate import check_callable, check_count, check_duration, message

__all__ = ["Cache", "CacheFallbackPolicy", "CacheFallbackStrategy", "MemoryCache", "cache_fallback", "default_key"]


class Cache(Protocol):
    """Where ``@cache_fallback`` keeps values, by key (any hashable value).

    ``now`` is the strategy's clock reading; a cache shared by processes may age
    values by its own clock instead (``RedisCache`` uses the wall clock).
    """

    def get(self, key: Hashable, now: float) -> tuple[Any, float] | None:
        """Return ``(value, age in seconds)`` for ``key``, or None."""
        ...

    def set(self, key: Hashable, value: Any, now: float, keep_for: float) -> None:
        """Store ``value`` under ``key``; it need not be kept past ``keep_for`` seconds."""
        ...


class MemoryCache:
    """A bounded in-process cache: the least recently used entry goes first.

    Args:
        max_entries: how many keys it holds at most.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries: int = check_count("max_entries", max_entries)
        self._data: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()

    # Each OrderedDict operation is atomic under the GIL; a race between threads can only
    # misorder recency or evict one entry early, never corrupt the cache, so no lock.

    def get(self, key: Hashable, now: float) -> tuple[Any, float] | None:
        """Return ``(value, age)`` for ``key`` (and mark it recently used), or None."""
        entry = self._data.get(key)
        if entry is None:
            return None
        try:
            self._data.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass
        return entry[0], now - entry[1]

    def set(self, key: Hashable, value: Any, now: float, keep_for: float = float("inf")) -> None:
        """Store ``value``; evict the least recently used key past ``max_entries``."""
        data = self._data
        data[key] = (value, now)
        data.move_to_end(key)
        if len(data) > self.max_entries:
            try:
                data.popitem(last=False)
            except KeyError:
                pass

    def clear(self) -> None:
        """Forget every value."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"MemoryCache(max_entries={self.max_entries}, size={len(self._data)})"


def default_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """The default cache key: the arguments as a tuple (keyword order ignored).

    Arguments that cannot be hashed (lists, dicts) make the key their ``repr``.
    """
    key: Hashable = (args, tuple(sorted(kwargs.items()))) if kwargs else args
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def _user_key(make: Callable[..., Hashable]) -> Callable[[tuple[Any, ...], dict[str, Any]], Hashable]:
    def key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
        made = make(*args, **kwargs)
        try:
            hash(made)
        except TypeError:
            raise TypeError(f"key must return a hashable value, a str for RedisCache (got {made!r})") from None
        return made

    return key


@dataclass(frozen=True, slots=True)
class CacheFallbackPolicy:
    """The settings of ``@cache_fallback`` (see there)."""

    ttl: float = 0.0
    stale_ttl: float = 3600.0
    key: Callable[..., Hashable] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ttl", check_duration("ttl", self.ttl))
        object.__setattr__(self, "stale_ttl", check_duration("stale_ttl", self.stale_ttl, allow_zero=False))
        if self.ttl > self.stale_ttl:
            raise ValueError(message("ttl", f"at most stale_ttl={self.stale_ttl}", self.ttl))
        check_callable("key", self.key, allow_none=True)


class CacheFallbackStrategy(Strategy):
    """The cache-fallback strategy in a pipeline."""

    __slots__ = ("_cache", "_clock", "_key", "_policy", "_registry", "name")
    kind = "cache_fallback"

    def __init__(
        self, policy: CacheFallbackPolicy, cache: Cache, clock: Clock | None, registry: Registry, name: str | None
    ) -> None:
        self._policy = policy
        self._cache = cache
        self._clock = clock
        self._registry = registry
        self._key = default_key if policy.key is None else _user_key(policy.key)
        self.name = name

    @property
    def policy(self) -> CacheFallbackPolicy:
        """The ``CacheFallbackPolicy``."""
        return self._policy

    def _now(self) -> float:
        return (self._clock or get_clock()).monotonic()

    @property
    def on_success(self) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """With ``ttl == 0`` nothing happens before a call: store a success after it."""
        return None if self._policy.ttl else self._store

    def _store(self, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._cache.set(self._key(args, kwargs), value, self._now(), self._policy.stale_ttl)
        return value

    def _settle(self, outcome: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Store a success; answer a failure with a value younger than ``stale_ttl``."""
        if type(outcome) is Failure:
            return self._stale(self._key(args, kwargs), outcome, self._now())
        return self._store(outcome, args, kwargs)

    def resume_sync(self, inner: SyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Go on from the outcome of a direct call (``ttl == 0``): store it, or answer it stale."""
        return self._settle(first, args, kwargs)

    async def resume_async(self, inner: AsyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``resume_sync``."""
        return self._settle(first, args, kwargs)

    def _stale(self, key: Hashable, failure: Failure, now: float) -> Any:
        """Answer ``failure`` with a value younger than ``stale_ttl``, or let it go on."""
        entry = self._cache.get(key, now)
        if entry is None or entry[1] >= self._policy.stale_ttl:
            return failure
        if self._registry.listeners:
            self._registry.emit(ServedStale(self.name, key, entry[1], failure.error))
        return entry[0]

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Serve fresh values, store successes, answer failures with stale ones."""
        cache, make_key, clock = self._cache, self._key, self._clock
        ttl, stale_ttl = self._policy.ttl, self._policy.stale_ttl
        failure = Failure

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            key = make_key(args, kwargs)
            now = (clock or get_clock()).monotonic()
            if ttl:
                entry = cache.get(key, now)
                if entry is not None and entry[1] < ttl:
                    return entry[0]
            outcome = inner(args, kwargs)
            if type(outcome) is failure:
                return self._stale(key, outcome, (clock or get_clock()).monotonic())
            cache.set(key, outcome, now, stale_ttl)
            return outcome

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``."""
        cache, make_key, clock = self._cache, self._key, self._clock
        ttl, stale_ttl = self._policy.ttl, self._policy.stale_ttl
        failure = Failure

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            key = make_key(args, kwargs)
            now = (clock or get_clock()).monotonic()
            if ttl:
                entry = cache.get(key, now)
                if entry is not None and entry[1] < ttl:
                    return entry[0]
            outcome = await inner(args, kwargs)
            if type(outcome) is failure:
                return self._stale(key, outcome, (clock or get_clock()).monotonic())
            cache.set(key, outcome, now, stale_ttl)
            return outcome

        return layer


def cache_fallback(
    ttl: float = 0.0,
    *,
    stale_ttl: float = 3600.0,
    key: Callable[..., Hashable] | None = None,
    cache: Cache | None = None,
    max_entries: int = 10_000,
    clock: Clock | None = None,
    registry: Registry | None = None,
    name: str | None = None,
) -> Decorator:
    """Store each success; answer a failure with the stored value while it is younger than ``stale_ttl``.

    Args:
        ttl: seconds a stored value is served without calling (0, the default: every
            call goes through, the cache only answers failures).
        stale_ttl: seconds a stored value may answer a failure; an older one never is.
        key: ``key(*args, **kwargs)`` returning a hashable key (a str for a shared
            cache reads best); default: the arguments as a tuple.
        cache: a ``MemoryCache`` (default, ``max_entries`` big) or
            ``resiliency.stores.redis.RedisCache``.
        max_entries: size of the default ``MemoryCache``.
        clock: the ``Clock`` that ages values (default: the process clock).
        registry: where ``ServedStale`` events go (default ``resiliency.registry``).
        name: the name events carry (default: the decorated callable's qualified name).

    Raises:
        TypeError, ValueError: a bad argument (at decoration).
    """
    policy = CacheFallbackPolicy(ttl, stale_ttl, key)
    if cache is None:
        cache = MemoryCache(max_entries)
    elif not (callable(getattr(cache, "get", None)) and callable(getattr(cache, "set", None))):
        raise TypeError(message("cache", "a cache with get(key, now) and set(key, value, now, keep_for)", cache))
    reg = registry if registry is not None else default_registry

    def decorate(target: Any) -> Any:
        label = name if name is not None else getattr(target, "__qualname__", None)
        return apply_strategy(target, CacheFallbackStrategy(policy, cache, clock, reg, label))

    return decorate
