"""A bulkhead shared by every process on a store: ``SharedBulkhead``.

The local ``Slots`` core still decides first (this process never runs more than
``max_concurrent`` calls, and queues as usual); a call that got a local slot then takes
a fleet slot: a lease in the store's sorted set (``bulkhead_acquire``), given back when
the call ends (``bulkhead_release``) and renewed every ``lease / 3`` while it runs
(``bulkhead_renew``, from the store's sync thread). A process that dies holding slots
(SIGKILL) stops renewing them, and they return to the fleet when their lease runs out.

With every fleet slot taken, a bulkhead with a queue (``max_queue > 0``) polls the
store every ``sync_interval`` until ``queue_timeout`` (or the caller's deadline);
without one the call is rejected at once ("full"). When the store is down:
"fail_open" runs the call on the local slot alone; "fail_closed" rejects it
(reason "store_unavailable").
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import anyio

from .._clock import get_clock
from .._engine import AsyncLayer, SyncLayer
from .._store import Store, StoreDown
from ._bulkhead import Bulkhead

__all__ = ["SharedBulkhead"]


class SharedBulkhead(Bulkhead):
    """A ``Bulkhead`` whose ``max_concurrent`` holds across every process on a store."""

    __slots__ = ("_held", "_held_lock", "_key", "_lease_ms", "_next_renew", "_store")

    def _share(self, store: Store) -> None:
        if self.name is None:
            raise ValueError("a bulkhead shared through a store needs a name (got name=None)")
        self._store = store
        self._key = (store.key("bh", self.name),)
        self._lease_ms = max(int(store.lease * 1000), 1)
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._next_renew = 0.0
        store.attach(self, self.registry)

    # -- leases ----------------------------------------------------------------------

    def _verdict(self, reply: Any, token: str) -> bool | None:
        """True: taken (and held); None: the fleet is full."""
        if int(reply) == 1:
            with self._held_lock:
                self._held.add(token)
            return True
        return None

    def _take(self, token: str) -> bool | None:
        """Try once for a fleet slot: True taken, None full, False store down (fail open)."""
        try:
            reply = self._store.run("bulkhead_acquire", self._key, (token, self._policy.max_concurrent, self._lease_ms))
        except StoreDown:
            return False
        return self._verdict(reply, token)

    async def _atake(self, token: str) -> bool | None:
        try:
            reply = await self._store.arun(
                "bulkhead_acquire", self._key, (token, self._policy.max_concurrent, self._lease_ms)
            )
        except StoreDown:
            return False
        return self._verdict(reply, token)

    def _forget(self, token: str) -> bool:
        with self._held_lock:
            if token not in self._held:
                return False
            self._held.discard(token)
        return True

    def _give_back(self, token: str) -> None:
        if self._forget(token):
            try:
                self._store.run("bulkhead_release", self._key, (token,))
            except StoreDown:
                pass  # the lease runs out by itself

    async def _agive_back(self, token: str) -> None:
        if self._forget(token):
            try:
                await self._store.arun("bulkhead_release", self._key, (token,))
            except StoreDown:
                pass

    def sync(self) -> None:
        """Renew the leases of the slots this process holds (every ``lease / 3``)."""
        now = time.monotonic()
        if now < self._next_renew:
            return
        self._next_renew = now + self._store.lease / 3
        with self._held_lock:
            tokens = tuple(self._held)
        if tokens:
            self._store.run("bulkhead_renew", self._key, (self._lease_ms, *tokens))

    def _refused(self, down: bool) -> Any:
        return self._reject("store_unavailable" if down else "full")

    # -- layers ----------------------------------------------------------------------

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """The local bulkhead's layer around a fleet slot held for ``inner``."""

        def fleet(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            token = uuid.uuid4().hex
            got = self._take(token)
            if got is None and self._policy.max_queue > 0:
                clock = self._clock or get_clock()
                limit = self._wait_limit()
                deadline = None if limit is None else clock.monotonic() + limit
                while got is None and (deadline is None or clock.monotonic() < deadline):
                    clock.sleep(self._store.sync_interval)
                    got = self._take(token)
            if got is None or (got is False and self._store.on_error == "fail_closed"):
                return self._refused(got is False)
            try:
                return inner(args, kwargs)
            finally:
                self._give_back(token)

        return Bulkhead.sync_layer(self, fleet)

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``."""

        async def fleet(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            token = uuid.uuid4().hex
            got = await self._atake(token)
            if got is None and self._policy.max_queue > 0:
                clock = self._clock or get_clock()
                limit = self._wait_limit()
                deadline = None if limit is None else clock.monotonic() + limit
                while got is None and (deadline is None or clock.monotonic() < deadline):
                    await clock.asleep(self._store.sync_interval)
                    got = await self._atake(token)
            if got is None or (got is False and self._store.on_error == "fail_closed"):
                return self._refused(got is False)
            try:
                return await inner(args, kwargs)
            finally:
                with anyio.CancelScope(shield=True):  # a cancelled call still gives its slot back
                    await self._agive_back(token)

        return Bulkhead.async_layer(self, fleet)

    def close(self) -> None:
        """Stop renewing leases (held slots then return after their lease)."""
        self._store.detach(self)
