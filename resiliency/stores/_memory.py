"""``MemoryStore``: the embedded default store; every object keeps its state in the process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._store import OnError, Syncer

if TYPE_CHECKING:
    from .._registry import Registry

__all__ = ["MemoryStore"]


class MemoryStore:
    """The in-process store: what every strategy does without a store.

    State is not shared: each breaker, limiter, bulkhead and retry budget keeps its own,
    local state, exactly as with ``store=None``. Useful as an explicit default and in
    tests of code that takes a store.
    """

    shared = False
    on_error: OnError = "fail_open"
    sync_interval = 0.05
    lease = 30.0
    available = True

    def key(self, kind: str, name: str) -> str:
        """The name under which ``name`` of ``kind`` would be kept."""
        return f"{kind}:{name}"

    def run(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """A memory store runs no shared operation.

        Raises:
            NotImplementedError: always (strategies never call it: ``shared`` is False).
        """
        raise NotImplementedError(f"MemoryStore keeps state locally; it has no operation {op!r}")

    async def arun(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """Async form of ``run`` (raises ``NotImplementedError``)."""
        return self.run(op, keys, args)

    def attach(self, syncer: Syncer | None, registry: Registry) -> None:
        """Nothing to sync: state is local."""

    def detach(self, syncer: Syncer) -> None:
        """Nothing to stop."""

    def close(self) -> None:
        """Nothing to close."""

    def __repr__(self) -> str:
        return "MemoryStore()"
