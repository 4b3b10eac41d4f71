"""A circuit breaker shared by every process on a store: ``SharedCircuitBreaker``.

The decisions stay ``BreakerCore``'s: each process runs its own core, and the store
carries what the cores need to agree.

- Counts: every ``sync_interval`` the store's thread flushes this process's new
  successes and failures (``breaker_sync``) and gets the fleet's totals back; the calls
  made by *other* processes are replayed into this core (successes first, then
  failures: their order within one interval is unknown, and this order errs towards
  opening). So a closed breaker's call makes no round trip, and every core trips on
  the fleet's counts.
- State: a core that trips publishes it at once (``breaker_trip``); every other process
  reads it at its next sync and opens too, so a trip is seen everywhere within
  ``2 * sync_interval``. A process that attaches to an open breaker starts open; a
  missing or expired key is a fresh closed breaker.
- Half-open: a probe needs a slot from the store (``breaker_probe``), at most
  ``half_open_max_calls`` fleet-wide; its outcome (``breaker_probe_done``) closes or
  reopens the breaker for everyone.

When the store is down: "fail_open" keeps deciding with the local core alone;
"fail_closed" rejects what would need the store (a probe) and opens on the local core's
trips as usual.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

from .._store import Store, StoreDown
from ._metrics import _CLOSED, _OPEN
from ._state import BreakerCore, Transition

if TYPE_CHECKING:
    from ._breaker import CircuitBreaker
else:
    from ._breaker import CircuitBreaker

__all__ = ["SharedCircuitBreaker"]

_REPLAY_LIMIT = 1000
"""Most calls of other processes replayed per sync: enough for any window or threshold."""


class SharedCircuitBreaker(CircuitBreaker):
    """A ``CircuitBreaker`` whose state and counts are shared through a store.

    Made by ``CircuitBreaker(name, store=...)`` when the store is shared; see the module
    docstring for how it stays in step with the fleet.
    """

    __slots__ = (
        "_adopting",
        "_down",
        "_fleet_seen",
        "_flushed",
        "_gen",
        "_key",
        "_outbox",
        "_round",
        "_store",
        "_sync_lock",
        "_ttl",
    )

    def _share(self, store: Store) -> None:
        """Attach to ``store`` under this breaker's name and take the fleet's state."""
        if self.name is None:
            raise ValueError("a breaker shared through a store needs a name (got name=None)")
        self._store = store
        self._key = store.key("cb", self.name)
        self._ttl = int(max(86_400.0, 4 * self._policy.reset_timeout) * 1000)
        self._gen = -1  # the fleet generation this core is in step with (-1: none yet)
        self._round = 0  # the half-open round our probes were let through in
        self._flushed = (0, 0)  # our successes and failures the store already has
        self._adopting = 0  # the thread adopting the fleet's state (its changes are not trips)
        self._outbox: list[tuple[str, tuple[int, ...]]] = []  # trips and probe outcomes to send
        self._down = False  # the last sync failed
        self._fleet_seen: tuple[int, int] | None = None  # the fleet's counts at our last sync
        self._sync_lock = threading.RLock()
        store.attach(self, self.registry)
        try:
            self.sync()
        except StoreDown:
            pass  # fail open or closed on the local core; the store retries by itself

    # -- the background sync ----------------------------------------------------------

    def sync(self) -> None:
        """Flush this process's counts, then adopt the fleet's state and counts (one round trip)."""
        with self._sync_lock:
            snap = self.snapshot(self._now())
            ds = max(snap.successes - self._flushed[0], 0)
            df = max(snap.failures - self._flushed[1], 0)
            try:
                self._send_outbox()
            except StoreDown:
                self._store_down()
                raise
            known = self._gen
            try:
                reply = self._store.run("breaker_sync", (self._key,), (known, ds, df, self._ttl))
            except StoreDown:
                self._store_down()
                raise
            self._flushed = (snap.successes, snap.failures)
            if self._down:
                self._down = False
                if self._store.on_error == "fail_closed":
                    # Back from an outage: the fleet's state replaces the local opening.
                    self._adopt(reply, force=True)
                    known = self._gen
            st, gen = int(reply[0]), int(reply[1])
            if st == 0 and gen == known and self._state is _OPEN:
                # Tripped here while the store was down: tell the fleet now.
                reply = self._store.run("breaker_trip", (self._key,), (1 if self._forced else 0, self._ttl))
            elif st == 0 and gen == known:
                self._replay(int(reply[3]), int(reply[4]), ds, df)
            self._adopt(reply)
            if known < 0 and st == 0:
                # Attaching: take in the counts the fleet has so far (pybreaker #26).
                self._fleet_seen = (0, 0)
                self._replay(int(reply[3]), int(reply[4]), 0, 0)

    def _store_down(self) -> None:
        """The store is unreachable: with "fail_closed", open here (without telling the fleet)."""
        if self._down or self._store.on_error != "fail_closed":
            self._down = True
            return
        self._down = True
        transition: Transition | None = None
        with self._lock:
            if self._state is _CLOSED:
                transition = self._open(self._now())
        if transition is not None:
            self._adopting = threading.get_ident()
            try:
                self._notify(transition)
            finally:
                self._adopting = 0

    def _replay(self, total_s: int, total_f: int, ds: int, df: int) -> None:
        """Record into this core the calls other processes made since the last sync."""
        seen = self._fleet_seen
        self._fleet_seen = (total_s, total_f)
        if seen is None:
            return
        other_s = max(total_s - seen[0] - ds, 0)
        other_f = max(total_f - seen[1] - df, 0)
        if not (other_s or other_f) or self._state is not _CLOSED:
            return
        now = self._now()
        for _ in range(min(other_s, _REPLAY_LIMIT)):
            BreakerCore.record(self, now, False, 0.0, False)
        for _ in range(min(other_f, _REPLAY_LIMIT)):
            BreakerCore.record(self, now, True, 0.0, False)
        # Replayed calls are the fleet's, not ours: the next flush must not send them.
        snap = self.snapshot(now)
        self._flushed = (snap.successes, snap.failures)

    def _adopt(self, reply: Any, force: bool = False) -> None:
        """Bring the local core to the fleet's state ``(st, gen, ms since change, s, f, forced)``.

        Called with ``_sync_lock`` held. Nothing changes while the fleet's generation is
        the one this core already follows (unless ``force``).
        """
        st, gen, since, forced = int(reply[0]), int(reply[1]), int(reply[2]) / 1000.0, int(reply[5]) == 1
        if gen == self._gen and not force:
            return
        self._gen = gen
        self._fleet_seen = (int(reply[3]), int(reply[4])) if st == 0 else None
        now = self._now()
        transition: Transition | None = None
        with self._lock:
            if st == 0 and self._state is not _CLOSED:
                transition = self._close(now)
            elif st == 2:
                old = self._state
                self._forced = forced
                if old is _OPEN:
                    self._opened_at = now - since
                else:
                    transition = self._open(now - since)
            elif st == 1:
                # Probing elsewhere: open here with the timeout run out, so the next
                # call asks the store for a probe slot.
                if self._state is _CLOSED:
                    transition = self._open(now - self._policy.reset_timeout)
                elif self._state is _OPEN:
                    self._opened_at = now - self._policy.reset_timeout
        if transition is not None:
            self._adopting = threading.get_ident()
            try:
                self._notify(transition)
            finally:
                self._adopting = 0

    # -- the decisions that need the fleet ---------------------------------------------

    def _notify(self, transition: Transition) -> None:
        CircuitBreaker._notify(self, transition)
        if self._adopting == threading.get_ident() or transition[1] is not _OPEN or transition[0] is not _CLOSED:
            return
        # This core tripped: the store's thread tells the fleet at its next sync, so the
        # call path never waits on Redis for it.
        self._outbox.append(("breaker_trip", (0, self._ttl)))

    def admit(self, now: float) -> float | None:
        """``BreakerCore.admit``, with a half-open probe slot taken from the store."""
        verdict = BreakerCore.admit(self, now)
        if verdict is None or verdict >= 0.0:
            return verdict
        p = self._policy
        try:
            args = (int(p.reset_timeout * 1000), p.half_open_max_calls, self._ttl)
            reply = self._store.run("breaker_probe", (self._key,), args)
        except StoreDown:
            if self._store.on_error == "fail_open":
                return verdict  # a local probe
            BreakerCore.release(self, verdict)
            return p.reset_timeout
        answer, wait = int(reply[0]), int(reply[1])
        if answer == 1:
            self._round = int(reply[3])
            return verdict  # the local round's ticket; the fleet's round is self._round
        BreakerCore.release(self, verdict)
        if answer == 0:  # closed meanwhile: adopt it and go
            with self._sync_lock:
                self._adopt((0, int(reply[3]), 0, 0, 0, 0), force=True)
            return None
        seconds = math.inf if wait < 0 else wait / 1000.0
        # Refused by the fleet: wait here too (at least a sync interval) rather than ask
        # Redis again on every call.
        with self._lock:
            if self._state is not _CLOSED and not self._forced:
                self._state = _OPEN
                self._opened_at = now - p.reset_timeout + max(seconds, self._store.sync_interval)
        return seconds

    def record(self, now: float, failed: bool, duration: float, probe: float) -> None:
        """``BreakerCore.record``; a probe's outcome also settles the fleet's half-open round."""
        BreakerCore.record(self, now, failed, duration, probe)
        if probe:
            limit = self._policy.slow_call_duration
            ok = not failed and not (limit is not None and duration >= limit)
            self._probe_done(1 if ok else 0)

    def release(self, probe: float) -> None:
        """``BreakerCore.release``; a probe also frees its fleet-wide slot."""
        BreakerCore.release(self, probe)
        if probe:
            self._probe_done(-1)

    def _probe_done(self, outcome: int) -> None:
        """Queue a probe's outcome for the store (sent by the next sync, off the call path)."""
        self._outbox.append(("breaker_probe_done", (outcome, self._round, self._policy.success_threshold, self._ttl)))

    def _send_outbox(self) -> None:
        """Send the queued trips and probe outcomes, in order (``_sync_lock`` held)."""
        while self._outbox:
            op, args = self._outbox[0]
            self._adopt(self._store.run(op, (self._key,), args))
            self._outbox.pop(0)

    def force_open(self, now: float | None = None) -> None:
        """Open the breaker in every process and hold it open until ``reset()``."""
        with self._sync_lock:
            self._adopting = threading.get_ident()  # published below, at once: not through the outbox
            try:
                CircuitBreaker.force_open(self, now)
            finally:
                self._adopting = 0
            try:
                self._adopt(self._store.run("breaker_trip", (self._key,), (1, self._ttl)))
            except StoreDown:
                pass

    def reset(self, now: float | None = None) -> None:
        """Close the breaker in every process and clear the fleet's counts."""
        self._outbox.clear()
        try:
            reply = self._store.run("breaker_reset", (self._key,), (self._ttl,))
        except StoreDown:
            reply = None
        CircuitBreaker.reset(self, now)
        with self._sync_lock:
            snap = self.snapshot(self._now())
            self._flushed = (snap.successes, snap.failures)
            if reply is not None:
                self._gen = int(reply[1])
                self._fleet_seen = (0, 0)

    def close(self) -> None:
        """Stop syncing with the store (the breaker goes on with its local state)."""
        self._store.detach(self)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} state={self._state.value} shared policy={self._policy!r}>"
