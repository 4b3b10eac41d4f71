"""Deferred ops: a write that fails on every provider goes to the group's outbox.

``FailoverGroup(outbox=..., deferred_ops={...})`` keeps a ``Deferral``; the group's
calls consult it only after an ``AllProvidersFailedError``, so a success pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from .._errors import AllProvidersFailedError, NoProviderError, WriteDeferredError
from .._validate import message

__all__ = ["Deferral"]


class Deferral:
    """Which ops of a group are deferred, and to which outbox."""

    __slots__ = ("ops", "outbox")

    def __init__(self, outbox: Any, ops: Iterable[str]) -> None:
        from .._outbox import Outbox

        if isinstance(ops, str) or not all(isinstance(op, str) and op for op in ops):
            raise TypeError(message("deferred_ops", "a collection of op names (non-empty str)", ops))
        if not isinstance(outbox, Outbox):
            raise TypeError(message("outbox", "an Outbox", outbox))
        self.outbox = outbox
        self.ops = frozenset(ops)

    def wants(self, op: str, error: AllProvidersFailedError) -> bool:
        """Whether this failure of ``op`` is stored rather than raised."""
        from .._outbox import applying

        return op in self.ops and not isinstance(error, NoProviderError) and not applying()

    def defer_sync(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException) -> NoReturn:
        """Store the call; raise ``WriteDeferredError`` (or the outbox's error) from ``error``."""
        try:
            item_id = self.outbox.put(op, args, kwargs)
        except Exception as exc:
            exc.add_note(_not_deferred(op, error))
            raise
        raise WriteDeferredError(item_id, op) from error

    async def defer_async(
        self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException
    ) -> NoReturn:
        """Async form of ``defer_sync``: the outbox write runs on a worker thread."""
        try:
            item_id = await self.outbox.aput(op, args, kwargs)
        except Exception as exc:
            exc.add_note(_not_deferred(op, error))
            raise
        raise WriteDeferredError(item_id, op) from error


def _not_deferred(op: str, error: BaseException) -> str:
    return f"op {op!r} failed on every provider and could not be deferred, so nothing was stored ({error})"
