"""One installation per registry and integration: the handle ``instrument()`` returns."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from .._registry import Registry, default_registry
from .._validate import message

__all__ = ["Instrumentation", "install"]

_lock = threading.Lock()
_installed: dict[str, weakref.WeakKeyDictionary[Registry, Instrumentation]] = {}


class Instrumentation:
    """An installed integration (logging, prometheus, otel) on one registry.

    Attributes:
        kind: "logging", "prometheus" or "otel".
        registry: the ``Registry`` whose events it receives.
    """

    def __init__(self, kind: str, registry: Registry, cleanup: Callable[[], None]) -> None:
        self.kind = kind
        self.registry = registry
        self._cleanup: Callable[[], None] | None = cleanup

    @property
    def installed(self) -> bool:
        """Whether it still receives events."""
        return self._cleanup is not None

    def uninstall(self) -> None:
        """Stop receiving events and unregister what was registered; a second call does nothing."""
        with _lock:
            cleanup, self._cleanup = self._cleanup, None
            table = _installed.get(self.kind)
            if table is not None and table.get(self.registry) is self:
                del table[self.registry]
        if cleanup is not None:
            cleanup()

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return f"<Instrumentation {self.kind} {state} on {self.registry!r}>"


def install(kind: str, registry: Registry | None, setup: Callable[[Registry], Callable[[], None]]) -> Instrumentation:
    """Return the ``kind`` installation on ``registry``, running ``setup(registry)`` the first time.

    ``setup`` subscribes what it needs and returns the function that undoes it.

    Raises:
        TypeError: ``registry`` is not a ``Registry``.
    """
    if registry is None:
        registry = default_registry
    if not isinstance(registry, Registry):
        raise TypeError(message("registry", "a resiliency Registry or None", registry))
    with _lock:
        table = _installed.setdefault(kind, weakref.WeakKeyDictionary())
        existing = table.get(registry)
        if existing is not None:
            return existing
        handle = Instrumentation(kind, registry, setup(registry))
        table[registry] = handle
        return handle
