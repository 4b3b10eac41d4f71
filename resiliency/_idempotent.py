"""``@idempotent``: one run per key; later calls with the key get the stored answer.

Within a process, concurrent calls with the same key wait for the first (single
flight); calls within ``ttl`` after it get its stored result (and, with
``store_errors=True``, its error). A store shared by processes
(``resiliency.stores.redis.RedisStore``) makes it fleet-wide: the first caller takes the
key with a lease (SET NX), so a key whose holder died is free again after the lease.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from ._clock import Clock, get_clock
from ._decorators import Decorator, apply_strategy
from ._engine import AsyncLayer, Strategy, SyncLayer
from ._outbox import idempotency_key
from ._outcome import Failure
from ._validate import check_bool, check_callable, check_duration, message

__all__ = [
    "IdempotencyPolicy",
    "IdempotencyStore",
    "IdempotentStrategy",
    "MemoryIdempotencyStore",
    "idempotent",
]


@dataclass(frozen=True, slots=True)
class IdempotencyPolicy:
    """How ``@idempotent`` keys and keeps answers (see ``idempotent``)."""

    key: Callable[..., str] | None = None
    ttl: float = 86400.0
    store_errors: bool = False

    def __post_init__(self) -> None:
        check_callable("key", self.key, allow_none=True)
        object.__setattr__(self, "ttl", check_duration("ttl", self.ttl, allow_zero=False))
        check_bool("store_errors", self.store_errors)


class _Entry:
    __slots__ = ("done", "error", "expires", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.expires = _NEVER


_NEVER = float("inf")
Answer = tuple[Any, "BaseException | None"]


class IdempotencyStore(Protocol):
    """Where ``@idempotent`` takes keys and keeps answers.

    ``begin(key)`` returns ``(True, token)`` to the one caller that must run (it then
    calls ``finish``), or ``(False, (value, error))``: the kept answer, after waiting
    for a running holder when there is one.
    """

    def begin(self, key: str) -> tuple[bool, Any]:
        """Take ``key`` or return its answer (waits while another caller holds it)."""
        ...

    async def abegin(self, key: str) -> tuple[bool, Any]:
        """Async form of ``begin``."""
        ...

    def finish(self, key: str, token: Any, value: Any, error: BaseException | None, keep: bool, ttl: float) -> None:
        """Keep the answer ``ttl`` seconds (``keep``), or free the key."""
        ...


class MemoryIdempotencyStore:
    """Keys and answers of one process (the default store of ``@idempotent``).

    Args:
        clock: the ``Clock`` that ages answers (default: the process clock).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def _now(self) -> float:
        return (self._clock or get_clock()).monotonic()

    def _take(self, key: str) -> tuple[_Entry, bool]:
        now = self._now()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > now:
                return entry, False
            entry = self._entries[key] = _Entry()
            return entry, True

    def begin(self, key: str) -> tuple[bool, Any]:
        """Take ``key``, or wait for its holder and return the kept answer."""
        while True:
            entry, mine = self._take(key)
            if mine:
                return True, entry
            entry.done.wait()
            if entry.expires != _NEVER:  # kept; else the holder failed and freed the key
                return False, (entry.value, entry.error)

    async def abegin(self, key: str) -> tuple[bool, Any]:
        """Async form of ``begin``: a waiter polls (threads and event loops may share a key)."""
        while True:
            entry, mine = self._take(key)
            if mine:
                return True, entry
            pause = 0.0005
            while not entry.done.is_set():
                await anyio.sleep(pause)
                pause = min(pause * 2, 0.05)
            if entry.expires != _NEVER:
                return False, (entry.value, entry.error)

    def finish(self, key: str, token: Any, value: Any, error: BaseException | None, keep: bool, ttl: float) -> None:
        """Record the answer; keep it ``ttl`` seconds, or forget the key (``keep`` false)."""
        entry: _Entry = token
        entry.value, entry.error = value, error
        with self._lock:
            if keep:
                entry.expires = self._now() + ttl
            elif self._entries.get(key) is entry:
                del self._entries[key]
            if len(self._entries) > 1024:  # sweep expired answers now and then
                now = self._now()
                for k in [k for k, e in self._entries.items() if e.done.is_set() and e.expires <= now]:
                    del self._entries[k]
        entry.done.set()

    def __len__(self) -> int:
        return len(self._entries)


class IdempotentStrategy(Strategy):
    """The idempotency strategy in a pipeline."""

    __slots__ = ("_policy", "_store")
    kind = "idempotent"

    def __init__(self, policy: IdempotencyPolicy, store: IdempotencyStore) -> None:
        self._policy = policy
        self._store = store

    @property
    def policy(self) -> IdempotencyPolicy:
        """The ``IdempotencyPolicy``."""
        return self._policy

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        make = self._policy.key
        if make is None:
            return idempotency_key()
        key = make(*args, **kwargs)
        if not isinstance(key, str):
            raise TypeError(f"key must return a str (got {key!r})")
        return key

    def _answer_of(self, outcome: Any) -> tuple[Any, BaseException | None, bool, float]:
        """``(value, error, keep, ttl)`` for the store's ``finish``."""
        if type(outcome) is Failure:
            return None, outcome.error, self._policy.store_errors, self._policy.ttl
        return outcome, None, True, self._policy.ttl

    def _finish(self, key: str, token: Any, outcome: Any) -> None:
        self._store.finish(key, token, *self._answer_of(outcome))

    @staticmethod
    def _answer(answer: Answer) -> Any:
        value, error = answer
        return Failure(error) if error is not None else value

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Run once per key; wait for a running call with the same key."""

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            key = self._key(args, kwargs)
            if key is None:
                return inner(args, kwargs)
            mine, got = self._store.begin(key)
            if not mine:
                return self._answer(got)
            outcome: Any = Failure(RuntimeError("idempotent call did not finish"))
            try:
                outcome = inner(args, kwargs)
            finally:
                self._finish(key, got, outcome)
            return outcome

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``."""

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            key = self._key(args, kwargs)
            if key is None:
                return await inner(args, kwargs)
            mine, got = await self._store.abegin(key)
            if not mine:
                return self._answer(got)
            outcome: Any = Failure(RuntimeError("idempotent call did not finish"))
            try:
                outcome = await inner(args, kwargs)
            finally:
                finish_async = getattr(self._store, "afinish", None)
                if finish_async is None:
                    self._finish(key, got, outcome)
                else:
                    await finish_async(key, got, *self._answer_of(outcome))
            return outcome

        return layer


def idempotent(
    key: Callable[..., str] | None = None,
    *,
    ttl: float = 86400.0,
    store: IdempotencyStore | None = None,
    store_errors: bool = False,
) -> Decorator:
    """Run a call once per idempotency key; repeat the answer to later calls with the key.

    Args:
        key: ``key(*args, **kwargs) -> str``; default: the key of the outbox item being
            applied (``resiliency.idempotency_key()``). A call without a key is not
            deduplicated.
        ttl: seconds an answer is kept for later calls (float or timedelta).
        store: where keys and answers live (default: one per decorated callable, in
            this process); a ``RedisStore`` (or a ``RedisIdempotencyStore``) makes it
            fleet-wide.
        store_errors: keep a failure's error too, so later calls get it (default: a
            failure frees the key and the next call runs again).

    Raises:
        TypeError, ValueError: a bad argument (at decoration); ``TypeError`` at call
            time when ``key`` does not return a str.
    """
    policy = IdempotencyPolicy(key, ttl, store_errors)
    if store is None:
        store = MemoryIdempotencyStore()
    elif hasattr(store, "sync_client") and not hasattr(store, "begin"):  # a RedisStore: its key space
        from .stores.redis import RedisIdempotencyStore

        store = RedisIdempotencyStore.from_store(store)
    elif not all(callable(getattr(store, m, None)) for m in ("begin", "abegin", "finish")):
        raise TypeError(message("store", "an idempotency store (MemoryIdempotencyStore, RedisIdempotencyStore)", store))
    strategy = IdempotentStrategy(policy, store)
    return lambda target: apply_strategy(target, strategy)
