"""``RetryBudget``: retries as a fraction of calls (Finagle's retry budget, gRPC/Envoy retry throttling).

A retry storm multiplies the load on a struggling dependency by ``max_attempts``; a
budget caps retries at ``ratio`` of the calls plus a floor, over a sliding ``window``:

    balance = ratio * deposits + min_per_second * window - withdrawals

where every call deposits 1 and every retry withdraws 1 (counted over the last
``window`` seconds, in ten slices). A retry goes ahead only when ``balance >= 1``;
otherwise the error is raised at once and ``RetryBudgetExhausted`` is emitted.

Local budgets count in the process; shared ones (``store=``) count fleet-wide: deposits
are flushed every ``sync_interval`` with no round trip per call, and each withdrawal
is one script call. With the store down, "fail_open" decides on the local counts and
"fail_closed" refuses retries.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from ._clock import Clock, get_clock
from ._events import RetryBudgetExhausted
from ._registry import Registry, default_registry
from ._store import Store, StoreDown, check_store, shared_store
from ._validate import check_duration, check_number, message

__all__ = ["RetryBudget", "RetryBudgetMetrics"]

_SLICES = 10


@dataclass(frozen=True, slots=True)
class RetryBudgetMetrics:
    """A snapshot of a retry budget, from ``RetryBudget.metrics()`` (this process's view).

    Attributes:
        balance: retries the local counts allow now (``floor`` of the balance, >= 0).
        deposits: calls counted over the last window.
        withdrawals: retries counted over the last window.
        exhausted: retries refused since the budget was made.
    """

    balance: int
    deposits: int
    withdrawals: int
    exhausted: int


class RetryBudget:
    """A budget of retries: ``ratio`` of the calls, plus ``min_per_second`` (see the module docstring).

    Give it to retries with ``RetryPolicy(budget=...)`` (or ``@retry(budget=...)``); one
    budget may serve many policies, e.g. every retry towards one dependency.

    Args:
        name: a name for events and the store key (needed with a shared store).
        ratio: retries allowed per call, a rate in (0, 1] (default 0.2: 20 %).
        min_per_second: retries always allowed per second, >= 0 (default 10), so a
            quiet service can still retry.
        window: seconds over which deposits and withdrawals count (float or timedelta
            > 0; default 10).
        store: shares the budget across processes (``resiliency.stores``; default: the
            registry's store for a named budget, else local).
        clock: the ``Clock`` of the local counts (default: the process clock).
        registry: where ``RetryBudgetExhausted`` goes (default ``resiliency.registry``).

    Raises:
        TypeError, ValueError: a bad setting (the message names it).
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        window: float | timedelta = 10.0,
        store: Store | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise (TypeError if not isinstance(name, str) else ValueError)(message("name", "a non-empty str", name))
        rate = check_number("ratio", ratio, "a rate in (0, 1]")
        if not 0.0 < rate <= 1.0:
            raise ValueError(message("ratio", "a rate in (0, 1]", ratio))
        floor = check_number("min_per_second", min_per_second, "a finite number >= 0")
        if not 0.0 <= floor < math.inf:
            raise ValueError(message("min_per_second", "a finite number >= 0", min_per_second))
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(message("clock", "a Clock with monotonic(), sleep() and asleep()", clock))
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        self.name = name
        self.ratio = rate
        self.min_per_second = floor
        self.window: float = check_duration("window", window, allow_zero=False)
        self.registry = registry if registry is not None else default_registry
        self._clock = clock
        self._lock = threading.Lock()
        self._slices: deque[list[float]] = deque()  # [slice index, deposits, withdrawals]
        self._exhausted = 0
        self._pending = 0  # deposits not yet flushed to the store
        self._store = shared_store(check_store(store), self.registry, name is not None)
        if self._store is not None:
            if name is None:
                raise ValueError("a retry budget shared through a store needs a name (got name=None)")
            self._key = (self._store.key("rb", name),)
            self._args = (self.ratio, self.min_per_second, int(self.window * 1000), _SLICES)
            self._store.attach(self, self.registry)

    # -- local counts -------------------------------------------------------------------

    def _current(self) -> list[float]:
        """The slice of now, after dropping the slices older than the window (lock held)."""
        index = math.floor((self._clock or get_clock()).monotonic() * _SLICES / self.window)
        slices = self._slices
        while slices and slices[0][0] <= index - _SLICES:
            slices.popleft()
        if not slices or slices[-1][0] != index:
            slices.append([index, 0, 0])
        return slices[-1]

    def _balance(self) -> float:
        deposits = sum(s[1] for s in self._slices)
        withdrawals = sum(s[2] for s in self._slices)
        return self.ratio * deposits + self.min_per_second * self.window - withdrawals

    def deposit(self) -> None:
        """Count one call (every call deposits; no round trip, shared or not)."""
        with self._lock:
            self._current()[1] += 1
            self._pending += 1

    def try_withdraw(self, attempt: int = 0, error: BaseException | None = None) -> bool:
        """Take one retry from the budget; on refusal emit ``RetryBudgetExhausted``.

        Args:
            attempt: the attempt that failed (for the event).
            error: its exception (for the event).

        Returns:
            Whether the retry may go ahead.
        """
        allowed = self._withdraw_shared() if self._store is not None else None
        with self._lock:
            current = self._current()
            if allowed is None:
                allowed = self._balance() >= 1.0
            if allowed:
                current[2] += 1
            else:
                self._exhausted += 1
        if not allowed and self.registry.listeners:
            self.registry.emit(RetryBudgetExhausted(self.name, attempt, error))
        return allowed

    def _withdraw_shared(self) -> bool | None:
        """One round trip: flush deposits and withdraw; None when the store is down and failing open."""
        assert self._store is not None
        with self._lock:
            pending, self._pending = self._pending, 0
        try:
            return int(self._store.run("budget", self._key, (pending, 1, *self._args))) == 1
        except StoreDown:
            with self._lock:
                self._pending += pending
            return None if self._store.on_error == "fail_open" else False

    def sync(self) -> None:
        """Flush the deposits counted since the last sync (the store's thread calls it)."""
        assert self._store is not None
        with self._lock:
            pending, self._pending = self._pending, 0
        if not pending:
            return
        try:
            self._store.run("budget", self._key, (pending, 0, *self._args))
        except StoreDown:
            with self._lock:
                self._pending += pending
            raise

    def metrics(self) -> RetryBudgetMetrics:
        """Return this process's counts over the window (see ``RetryBudgetMetrics``)."""
        with self._lock:
            self._current()
            balance = max(math.floor(self._balance()), 0)
            deposits = int(sum(s[1] for s in self._slices))
            withdrawals = int(sum(s[2] for s in self._slices))
            return RetryBudgetMetrics(balance, deposits, withdrawals, self._exhausted)

    def close(self) -> None:
        """Stop syncing with the store (a local budget has nothing to stop)."""
        if self._store is not None:
            self._store.detach(self)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        shared = " shared" if self._store is not None else ""
        settings = f"ratio={self.ratio:g} min_per_second={self.min_per_second:g} window={self.window:g}s"
        return f"<RetryBudget{label}{shared} {settings}>"
