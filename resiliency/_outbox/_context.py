"""The idempotency key of the call being applied, and the worker's "do not defer" mark."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["applying", "idempotency_key"]

_KEY: ContextVar[str | None] = ContextVar("resiliency_idempotency_key", default=None)


def idempotency_key() -> str | None:
    """Return the idempotency key of the outbox item being applied, or None.

    ``OutboxWorker`` sets it around each item it hands to the group, so a provider (or
    ``@idempotent`` with no ``key=``) can pass it on to its backend, e.g. as an
    ``Idempotency-Key`` header. The same key comes back on every attempt of that item.
    """
    return _KEY.get()


def applying() -> bool:
    """Whether the current call is an outbox worker applying an item (never deferred again)."""
    return _KEY.get() is not None
