"""The durable outbox: deferred writes, their backends and the worker that applies them."""

from ._context import applying, idempotency_key
from ._item import JsonSerializer, OutboxItem, PickleSerializer, Serializer
from ._outbox import Outbox, OutboxBackend, OutboxStats
from ._sqlite import SqliteOutbox
from ._worker import OutboxWorker

__all__ = [
    "JsonSerializer",
    "Outbox",
    "OutboxBackend",
    "OutboxItem",
    "OutboxStats",
    "OutboxWorker",
    "PickleSerializer",
    "Serializer",
    "SqliteOutbox",
    "applying",
    "idempotency_key",
]
