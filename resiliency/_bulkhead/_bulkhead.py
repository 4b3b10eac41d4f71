"""``Bulkhead``: a shared limit on concurrent calls, with a bounded FIFO waiting line.

The decisions live in ``_core.Slots``; this module holds the thin waiting parts (a
thread blocks on its event, a task awaits its own) and the layers. The fast path of a
call that finds a free slot pops a slot token and pushes it back: no lock, no
allocation, no clock read.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import anyio

from .._clock import SYSTEM_CLOCK, Clock, get_clock
from .._deadline import remaining
from .._decorators import Target, apply_strategy
from .._engine import AsyncLayer, Strategy, SyncLayer
from .._errors import BulkheadFullError
from .._events import BulkheadAdmitted, BulkheadRejected
from .._holds import chain, leaves_work, mark_leaves_work
from .._outcome import Failure
from .._registry import Registry, default_registry
from .._store import Store, check_store, shared_store
from .._validate import message
from ._core import QUEUED, AsyncWaiter, Slot, Slots, SyncWaiter
from ._policy import BulkheadMetrics, BulkheadPolicy

__all__ = ["Bulkhead", "check_name", "resolve_policy"]

_DEFAULTS = (("max_concurrent", 10), ("max_queue", 0), ("queue_timeout", None))


def resolve_policy(policy: object, fields: tuple[object, object, object]) -> tuple[BulkheadPolicy, bool]:
    """Return the policy from ``policy=`` or the fields, and whether any was given.

    Raises:
        TypeError: ``policy`` is not a ``BulkheadPolicy``, or given beside fields.
        ValueError: a bad field (see ``BulkheadPolicy``).
    """
    given = [
        name
        for (name, default), value in zip(_DEFAULTS, fields, strict=True)
        if not (value is default or (type(value) is type(default) and value == default))
    ]
    if policy is None:
        return BulkheadPolicy(*fields), bool(given)  # type: ignore[arg-type]
    if not isinstance(policy, BulkheadPolicy):
        raise TypeError(message("policy", "a BulkheadPolicy", policy))
    if given:
        raise TypeError(f"give policy= or the fields, not both (got policy={policy!r} and {', '.join(given)})")
    return policy, True


def check_name(name: object) -> str | None:
    """Return ``name`` when it is None or a non-empty str."""
    if name is not None and (not isinstance(name, str) or not name):
        raise (TypeError if not isinstance(name, str) else ValueError)(message("name", "a non-empty str", name))
    return name


class Bulkhead(Strategy):
    """At most ``max_concurrent`` calls at once; up to ``max_queue`` more wait in line.

    A bulkhead is a decorator (``@bh``, or ``@bulkhead(bh)``) and a strategy; every
    call site it decorates shares its slots, sync (threads) and async (asyncio or trio
    tasks) alike. A named bulkhead is recorded in its registry
    (``registry.bulkhead(name)``); an unnamed one is private to its call sites.

    A sync call holds its slot until the work it started ends: a thread-mode
    ``@timeout`` under the bulkhead that gives up on a hung call leaves its worker
    thread running, and that worker keeps the slot taken (it shows in ``active``)
    until it ends, so no more than ``max_concurrent`` calls ever run inside the
    dependency. Memory and time do not grow with ``max_concurrent``: slots are made
    as calls need them.

    A call takes a free slot, or waits in FIFO order while the queue has room, or is
    rejected: ``BulkheadFullError`` with reason "full" (no slot, no room in the queue)
    or "queue_timeout" (still waiting after ``queue_timeout`` seconds, or when the
    caller's deadline, ``resiliency.remaining()``, comes first: a caller never waits
    past it). A finished call hands its slot to the first waiter and wakes only that
    one. A waiter that is cancelled leaves the queue (and hands on a slot it was just
    given). Each rejection emits ``BulkheadRejected(name, reason)`` to the registry's
    listeners.

    Args:
        name: registry name (None: private, unregistered).
        max_concurrent: calls at once, int >= 1 (default 10).
        max_queue: callers that may wait, int >= 0 (default 0: reject at once).
        queue_timeout: seconds a caller may wait, float or timedelta > 0 (default None:
            as long as needed).
        policy: a ``BulkheadPolicy`` instead of the three fields.
        clock: the ``Clock`` that times waits (default: the process clock, per call).
        registry: where a named bulkhead is recorded and events go (default
            ``resiliency.registry``).
        store: makes ``max_concurrent`` hold across every process on the store, with
            slots as leases (``resiliency.stores``; default: the registry's ``store``
            for a named bulkhead, else local). A shared bulkhead needs a name.

    Raises:
        TypeError, ValueError: a bad field, name or policy; ``ValueError`` also when
            another bulkhead already has ``name`` in the registry.
    """

    __slots__ = ("_clock", "_core", "_policy", "label", "name", "registry")
    kind = "bulkhead"

    def __new__(cls, name: str | None = None, *, store: Any = None, registry: Registry | None = None, **_: Any) -> Any:
        # A bulkhead on a shared store is a SharedBulkhead (fleet slots as leases).
        table = registry if isinstance(registry, Registry) else default_registry
        target = cls
        if cls is Bulkhead and (store if store is not None else table.store if name else None) is not None:
            from ._shared import SharedBulkhead

            if shared_store(check_store(store), table, name is not None) is not None:
                target = SharedBulkhead
        return super().__new__(target)

    def __init__(
        self,
        name: str | None = None,
        *,
        max_concurrent: int = 10,
        max_queue: int = 0,
        queue_timeout: float | timedelta | None = None,
        policy: BulkheadPolicy | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
        store: Store | None = None,
    ) -> None:
        self.name = check_name(name)
        self.label = self.name
        self._policy, _ = resolve_policy(policy, (max_concurrent, max_queue, queue_timeout))
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(message("clock", "a Clock with monotonic(), sleep() and asleep()", clock))
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        self._clock = clock
        self.registry = registry if registry is not None else default_registry
        self._core = Slots(self._policy)
        if name is not None:
            self.registry.add("bulkhead", name, self, self._policy)
        shared = shared_store(check_store(store), self.registry, name is not None)
        if shared is not None:
            self._share(shared)

    def _share(self, store: Store) -> None:
        """Share the slots through ``store`` (``SharedBulkhead`` does; see ``_shared``)."""
        raise TypeError(f"{type(self).__name__} cannot share its state through a store (got store={store!r})")

    @property
    def policy(self) -> BulkheadPolicy:
        """The ``BulkheadPolicy`` this bulkhead applies."""
        return self._policy

    def metrics(self) -> BulkheadMetrics:
        """Return a snapshot: active, queued, available, completed, rejected, limits."""
        return self._core.metrics()

    def __call__(self, fn: Target, /) -> Target:
        """Decorate ``fn`` (sync or async function, method, classmethod, ...) with this bulkhead."""
        result: Target = apply_strategy(fn, self)
        return result

    def __repr__(self) -> str:
        m = self._core.metrics()
        label = f" {self.name!r}" if self.name else ""
        return f"<Bulkhead{label} active={m.active}/{m.max_concurrent} queued={m.queued}/{m.max_queue}>"

    # -- waiting parts ---------------------------------------------------------------

    def _wait_limit(self) -> float | None:
        """Seconds a caller may wait now: ``queue_timeout`` or the deadline, the earlier."""
        limit = self._policy.queue_timeout
        left = remaining()
        if left is not None and (limit is None or left < limit):
            return left
        return limit

    def _arm(self, limit: float | None, waiter: SyncWaiter | AsyncWaiter) -> Any:
        """Expire ``waiter`` after ``limit`` seconds of the bulkhead's clock, if it has timers.

        Returns:
            The timer's handle (``.cancel()``), or None: no limit, or the system clock
            (or a clock without ``call_at``), whose waits are timed by the waiter itself.
        """
        if limit is None:
            return None
        clock = self._clock or get_clock()
        call_at = None if clock is SYSTEM_CLOCK else getattr(clock, "call_at", None)
        if call_at is None:
            return None
        return call_at(clock.monotonic() + limit, functools.partial(self._core.expire, waiter))

    def _admitted(self, queued: bool, position: int) -> None:
        if self.registry.listeners:
            self.registry.emit(BulkheadAdmitted(self.label, queued, position))

    def _reject(self, reason: str) -> Failure:
        if self.registry.listeners:
            self.registry.emit(BulkheadRejected(self.label, reason))
        return Failure(BulkheadFullError(self, reason))

    def _wait_sync(self) -> Slot | Failure:
        """Slow path of a thread: queue and block until handed a slot (or rejected)."""
        core = self._core
        limit = self._wait_limit()
        waiter = SyncWaiter()
        verdict = core.admit(waiter, limit is None or limit > 0.0)
        if type(verdict) is Slot:
            self._admitted(False, 0)
            return verdict
        if verdict != QUEUED:
            return self._reject(str(verdict))
        position = len(core.queue)  # where it joined the line (racy by a place at most)
        try:
            timer = self._arm(limit, waiter)
            try:
                waiter.event.wait(limit if timer is None else None)
            finally:
                if timer is not None:
                    timer.cancel()
        except BaseException:
            core.withdraw(waiter)
            raise
        slot = core.settle(waiter)
        if slot is None:
            return self._reject("queue_timeout")
        self._admitted(True, position)
        return slot

    async def _wait_async(self) -> Slot | Failure:
        """Slow path of a task: queue and await a slot (or rejection)."""
        core = self._core
        limit = self._wait_limit()
        waiter = AsyncWaiter()
        verdict = core.admit(waiter, limit is None or limit > 0.0)
        if type(verdict) is Slot:
            self._admitted(False, 0)
            return verdict
        if verdict != QUEUED:
            return self._reject(str(verdict))
        position = len(core.queue)  # where it joined the line (racy by a place at most)
        try:
            timer = self._arm(limit, waiter)
            try:
                if limit is None or timer is not None:
                    await waiter.event.wait()
                else:
                    with anyio.move_on_after(limit):
                        await waiter.event.wait()
            finally:
                if timer is not None:
                    timer.cancel()
        except BaseException:
            core.withdraw(waiter)
            raise
        slot = core.settle(waiter)
        if slot is None:
            return self._reject("queue_timeout")
        self._admitted(True, position)
        return slot

    # -- layers ----------------------------------------------------------------------

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Layer for sync callers: hold a slot around ``inner``.

        When ``inner`` may leave work running (a thread-mode timeout below, see
        ``_holds``), the slot goes on this thread's chain of holds while ``inner`` runs,
        so a worker abandoned inside keeps it taken until the worker ends.
        """
        if leaves_work(inner):
            return self._holding_layer(inner)
        core = self._core
        take, give_back, queue = core.free.pop, core.free.append, core.queue
        dispatch, wait, failure = core.dispatch, self._wait_sync, Failure
        registry, emit = self.registry, self.registry.emit
        admitted: list[BulkheadAdmitted] = []  # immutable, so made once (with the first listener), not per call

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            slot: Any
            try:
                slot = take()
            except IndexError:
                slot = wait()
                if type(slot) is failure:
                    return slot
            else:
                if registry.listeners:
                    if not admitted:
                        admitted.append(BulkheadAdmitted(self.label, False, 0))
                    emit(admitted[0])
            try:
                return inner(args, kwargs)
            finally:
                slot.uses += 1
                give_back(slot)
                if queue:
                    dispatch()

        return layer

    def _holding_layer(self, inner: SyncLayer) -> SyncLayer:
        """``sync_layer`` over work that may outlive the call: the slot waits for it."""
        core = self._core
        take, retire, wait, failure = core.free.pop, core.retire, self._wait_sync, Failure

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            slot: Any
            try:
                slot = take()
            except IndexError:
                slot = wait()
                if type(slot) is failure:
                    return slot
            slot.outer = outer = chain.top
            chain.top = slot
            try:
                return inner(args, kwargs)
            finally:
                chain.top = outer
                slot.uses += 1
                retire(slot)  # back now, or when the work the call left behind ends

        mark_leaves_work(layer)
        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Layer for async callers: hold a slot around ``await inner``."""
        core = self._core
        take, give_back, queue = core.free.pop, core.free.append, core.queue
        dispatch, wait, failure = core.dispatch, self._wait_async, Failure
        registry, emit = self.registry, self.registry.emit
        admitted: list[BulkheadAdmitted] = []  # immutable, so made once (with the first listener), not per call

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            slot: Any
            try:
                slot = take()
            except IndexError:
                slot = await wait()
                if type(slot) is failure:
                    return slot
            else:
                if registry.listeners:
                    if not admitted:
                        admitted.append(BulkheadAdmitted(self.label, False, 0))
                    emit(admitted[0])
            try:
                return await inner(args, kwargs)
            finally:
                slot.uses += 1
                give_back(slot)
                if queue:
                    dispatch()

        return layer
