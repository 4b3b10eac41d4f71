"""The registry: named breakers, bulkheads, rate limiters, groups and policies, and events.

``resiliency.registry`` is the default one; every decorator and group takes
``registry=`` so tests can keep their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._events import Event

if TYPE_CHECKING:
    from ._health import HealthReport

__all__ = ["Registry", "default_registry"]

logger = logging.getLogger("resiliency")

T = TypeVar("T")
Listener = Callable[[Event], object]

_KINDS = ("breaker", "bulkhead", "rate_limiter", "group", "policy", "pool")
_PLURALS = {"policy": "policies"}


class Registry:
    """Holds named resilience objects and the event listeners.

    A name is declared once per kind; declaring it again with the same settings returns
    the existing object, with different settings it is a ``ValueError``.

    Args:
        store: the default store of the named breakers, limiters, bulkheads and retry
            budgets made with this registry (default None: local state). See
            ``resiliency.stores``.
    """

    def __init__(self, *, store: Any = None) -> None:
        from ._store import check_store

        self.store = check_store(store)
        self.stores: tuple[Any, ...] = ()  # the shared stores in use, for health()
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, Any]] = {kind: {} for kind in _KINDS}
        self._settings: dict[tuple[str, str], object] = {}
        # Replaced, never mutated, so emit() iterates without a lock.
        self.listeners: tuple[Listener, ...] = ()

    # -- named objects -------------------------------------------------------------

    def declare(self, kind: str, name: str, settings: object, factory: Callable[[], T]) -> T:
        """Return the ``kind`` object called ``name``, creating it with ``factory``.

        Raises:
            ValueError: ``name`` exists with settings other than ``settings``.
        """
        with self._lock:
            table = self._items[kind]
            if name in table:
                known = self._settings[(kind, name)]
                if settings is not None and known is not None and known != settings:
                    raise ValueError(
                        f"{kind} {name!r} is already declared with other settings ({known!r}); got {settings!r}"
                    )
                existing: T = table[name]
                return existing
            obj = factory()
            table[name] = obj
            self._settings[(kind, name)] = settings
            return obj

    def add(self, kind: str, name: str, obj: object, settings: object = None) -> None:
        """Record ``obj`` under ``name``; a second, different object is a ``ValueError``."""
        with self._lock:
            table = self._items[kind]
            if name in table and table[name] is not obj:
                raise ValueError(f"{kind} {name!r} is already declared in this registry")
            table[name] = obj
            self._settings[(kind, name)] = settings

    def _find(self, kind: str, name: str) -> Any:
        with self._lock:
            table = self._items[kind]
            if name not in table:
                known = ", ".join(sorted(table)) or "none"
                raise KeyError(f"no {kind.replace('_', ' ')} named {name!r} (known: {known})")
            return table[name]

    def breaker(self, name: str) -> Any:
        """Return the circuit breaker called ``name`` (``KeyError`` naming the known ones)."""
        return self._find("breaker", name)

    def bulkhead(self, name: str) -> Any:
        """Return the bulkhead called ``name`` (``KeyError`` naming the known ones)."""
        return self._find("bulkhead", name)

    def rate_limiter(self, name: str) -> Any:
        """Return the rate limiter called ``name`` (``KeyError`` naming the known ones)."""
        return self._find("rate_limiter", name)

    def group(self, name: str) -> Any:
        """Return the failover group called ``name`` (``KeyError`` naming the known ones)."""
        return self._find("group", name)

    def pool(self, name: str) -> Any:
        """Return the endpoint pool called ``name`` (``KeyError`` naming the known ones)."""
        return self._find("pool", name)

    def policy(self, name: str) -> Any:
        """Return the policy registered as ``name`` (``KeyError`` naming the known ones)."""
        return self._find("policy", name)

    def names(self, kind: str) -> list[str]:
        """Return the sorted names of one kind ("breaker", "bulkhead", "group", ...)."""
        with self._lock:
            return sorted(self._items[kind])

    def items(self, kind: str) -> list[tuple[str, Any]]:
        """Return ``(name, object)`` pairs of one kind, sorted by name."""
        with self._lock:
            return sorted(self._items[kind].items())

    def clear(self) -> None:
        """Forget every named object and listener."""
        with self._lock:
            for table in self._items.values():
                table.clear()
            self._settings.clear()
            self.listeners = ()

    def watch_store(self, store: Any) -> None:
        """Count ``store`` in ``health()`` (its outages make the report "degraded")."""
        with self._lock:
            if all(s is not store for s in self.stores):
                self.stores = (*self.stores, store)

    # -- health --------------------------------------------------------------------

    def health(self) -> HealthReport:
        """Return a ``HealthReport`` of the named breakers, bulkheads, failover groups and endpoint pools.

        "unhealthy" when a breaker marked ``critical=True`` is open or a group marked
        ``critical=True`` cannot run an op (every provider's breaker open); "degraded"
        when any breaker is open or half-open, a bulkhead is saturated (no free slot,
        and callers waiting or no queue), a group cannot run an op, an endpoint pool has
        an unhealthy or ejected endpoint, or a shared store is unreachable; "healthy"
        otherwise.
        """
        from ._health import check_health

        return check_health(self)

    def reset_all(self) -> None:
        """Close every named breaker and clear its counters (and reset any object with ``reset()``)."""
        from ._health import reset_all

        reset_all(self)

    # -- events --------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener(event)`` for every event; return a function that removes it.

        Raises:
            TypeError: ``listener`` is not callable.
        """
        if not callable(listener):
            raise TypeError(f"listener must be a callable (event) -> None (got {listener!r})")
        with self._lock:
            self.listeners = (*self.listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self.listeners = tuple(x for x in self.listeners if x is not listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every listener; a listener that raises is logged and skipped."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("resiliency event listener %r raised", listener)

    def __repr__(self) -> str:
        with self._lock:
            counts = ", ".join(f"{_PLURALS.get(k, k + 's')}={len(v)}" for k, v in self._items.items())
        return f"<Registry {counts}>"


default_registry = Registry()
