"""The store port: what the breaker, limiter, bulkhead and retry budget need from shared state.

The decisions stay in the strategy cores; a store only runs named atomic operations
(``run`` / ``arun``) and calls each attached ``Syncer`` every ``sync_interval`` seconds,
off the call path. ``resiliency.stores.memory.MemoryStore`` is the embedded default (no
shared state: the strategies keep their local state, as without a store);
``resiliency.stores.redis.RedisStore`` runs each operation as one Lua script.

When the store cannot be reached, ``run`` raises ``StoreDown`` (or, with
``on_error="raise"``, the client's own error); each strategy then applies the store's
``on_error`` mode: "fail_open" decides with its local state, "fail_closed" rejects the
call with its own error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ._validate import message

if TYPE_CHECKING:
    from ._registry import Registry

__all__ = ["ON_ERROR_MODES", "OnError", "Store", "StoreDown", "Syncer", "check_store", "shared_store"]

OnError = Literal["fail_open", "fail_closed", "raise"]
ON_ERROR_MODES: tuple[OnError, ...] = ("fail_open", "fail_closed", "raise")


class StoreDown(Exception):
    """The store could not run an operation (its ``on_error`` is not "raise")."""


class Syncer(Protocol):
    """An object a store calls every ``sync_interval`` seconds, on the store's own thread."""

    def sync(self) -> None:
        """Flush local counts and read the shared state (one round trip)."""


@runtime_checkable
class Store(Protocol):
    """What a strategy needs from a store (see the module docstring).

    Attributes:
        shared: whether state is shared with other processes (False: keep local state).
        on_error: "fail_open", "fail_closed" or "raise".
        sync_interval: seconds between two syncs of attached objects.
        lease: seconds a bulkhead slot is held without renewal.
        available: False while the store cannot be reached.
    """

    shared: bool
    on_error: OnError
    sync_interval: float
    lease: float

    def key(self, kind: str, name: str) -> str:
        """The key of object ``name`` of ``kind``; one hash tag per object."""

    def run(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """Run atomic operation ``op`` and return its reply (raises ``StoreDown``)."""

    async def arun(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """Async form of ``run`` (a worker thread when the client is sync or under trio)."""

    @property
    def available(self) -> bool:
        """False while the store cannot be reached."""

    def attach(self, syncer: Syncer | None, registry: Registry) -> None:
        """Call ``syncer.sync()`` every ``sync_interval`` (None: none); send outage events to ``registry``."""

    def detach(self, syncer: Syncer) -> None:
        """Stop syncing ``syncer``."""


def check_store(store: object) -> Store | None:
    """Return ``store`` when it is None or a ``Store``.

    Raises:
        TypeError: anything else.
    """
    if store is not None and not isinstance(store, Store):
        raise TypeError(message("store", "a store (MemoryStore, RedisStore) or None", store))
    return store


def shared_store(store: Store | None, registry: Registry, named: bool) -> Store | None:
    """The store a strategy shares its state through: its own, else its registry's (named only).

    Returns:
        None when state stays local (no store, or a ``MemoryStore``).
    """
    chosen = store if store is not None else (registry.store if named else None)
    if chosen is None or not chosen.shared:
        return None
    registry.watch_store(chosen)
    return chosen
