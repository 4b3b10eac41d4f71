"""The background thread that syncs a store's attached objects every ``sync_interval``."""

from __future__ import annotations

import logging
import threading

from ..._store import StoreDown, Syncer

__all__ = ["Ticker"]

logger = logging.getLogger("resiliency")


class Ticker:
    """Calls ``sync()`` on each attached object every ``interval`` seconds, on one daemon thread.

    The thread starts with the first object and ends with the last one (or ``stop()``).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._syncers: list[Syncer] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, syncer: Syncer) -> None:
        """Sync ``syncer`` from now on (starting the thread if needed)."""
        with self._lock:
            if any(s is syncer for s in self._syncers):
                return
            self._syncers.append(syncer)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="resiliency-store-sync", daemon=True
                )
                self._thread.start()

    def remove(self, syncer: Syncer) -> None:
        """Sync ``syncer`` one last time and stop syncing it; the thread stops when none is left."""
        with self._lock:
            self._syncers = [s for s in self._syncers if s is not syncer]
            left = bool(self._syncers)
        self._round((syncer,))
        if not left:
            self.stop()

    def stop(self) -> None:
        """Stop the thread, sync every object one last time (what it counted goes out), forget them."""
        with self._lock:
            thread, self._thread = self._thread, None
            syncers, self._syncers = tuple(self._syncers), []
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._round(syncers)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            with self._lock:
                syncers = tuple(self._syncers)
            self._round(syncers)

    @staticmethod
    def _round(syncers: tuple[Syncer, ...]) -> None:
        for syncer in syncers:
            try:
                syncer.sync()
            except StoreDown:
                pass  # the store noted the outage; try again next round
            except Exception:
                logger.exception("resiliency store sync of %r failed", syncer)
