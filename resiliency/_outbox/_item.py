"""What an outbox holds: ``OutboxItem``, its states, and the serializers of arguments."""

from __future__ import annotations

import base64
import json
import pickle
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["STATES", "ItemState", "JsonSerializer", "OutboxItem", "PickleSerializer", "Serializer"]

ItemState = Literal["pending", "in_flight", "done", "dead"]
STATES: tuple[ItemState, ...] = ("pending", "in_flight", "done", "dead")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A deferred call, as stored.

    Attributes:
        id: the item id ``put`` returned.
        op: the operation to run on the group.
        args: positional arguments of the call.
        kwargs: keyword arguments of the call.
        key: the idempotency key handed to the provider (a random UUID when none was given).
        attempts: how many times a worker tried it.
        state: "pending", "in_flight", "done" or "dead".
        last_error: the last failure, as ``"Type: message"``, or None.
        created: wall-clock time (``time.time()``) of the ``put``.
    """

    id: str
    op: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    key: str
    attempts: int
    state: ItemState
    last_error: str | None
    created: float


class Serializer(Protocol):
    """Turns a call's ``(args, kwargs)`` into bytes and back."""

    def dumps(self, value: Any) -> bytes:
        """Return ``value`` as bytes; raise ``TypeError`` or ``ValueError`` when it cannot."""
        ...

    def loads(self, data: bytes) -> Any:
        """Return the value ``dumps`` was given."""
        ...


def _bytes_as_json(value: Any) -> Any:
    """The JSON encoder's hook: bytes become ``{"__bytes__": base64}``; anything else is refused."""
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(
        f"cannot serialize {type(value).__name__} {value!r} as JSON: pass plain data (str, numbers, "
        "bytes, lists, tuples, dicts with str keys) or build the outbox with serializer=PickleSerializer()"
    )


def _bytes_from_json(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__bytes__" in obj:
        return base64.b64decode(obj["__bytes__"])
    return obj


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_bytes_as_json)
_DECODER = json.JSONDecoder(object_hook=_bytes_from_json)


class JsonSerializer:
    """JSON, with ``bytes`` kept (the default): readable, and safe to load.

    Tuples come back as lists (JSON has no tuple), but for the call's positional
    arguments themselves; dict keys must be str; NaN and infinities are refused.
    """

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``; ``TypeError`` or ``ValueError`` for anything but plain data."""
        return _ENCODER.encode(value).encode()

    def loads(self, data: bytes) -> Any:
        """Decode what ``dumps`` wrote."""
        return _DECODER.decode(data.decode())

    def __repr__(self) -> str:
        return "JsonSerializer()"


class PickleSerializer:
    """pickle: any picklable object. Only for outboxes whose file no one else can write."""

    def dumps(self, value: Any) -> bytes:
        """Pickle ``value``; ``TypeError`` (or pickle's error) when it cannot be."""
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError) as exc:
            raise TypeError(f"cannot pickle outbox arguments: {exc}") from exc

    def loads(self, data: bytes) -> Any:
        """Unpickle what ``dumps`` wrote."""
        return pickle.loads(data)  # the outbox file is the application's own

    def __repr__(self) -> str:
        return "PickleSerializer()"
