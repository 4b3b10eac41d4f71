"""Group-call events: ``FailoverStarted`` before a group call, ``FailoverFinished`` after it.

Only when the registry has a listener: the view checks ``registry.listeners`` and calls
these instead of its plain path. ``CALL_MODE`` carries the call's mode to the provider
events; it is a context variable, so it reaches the providers' tasks and threads (each
runs in a copy of the caller's context), as does any context a listener set on
``FailoverStarted`` (an OpenTelemetry span, for one).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .._clock import get_clock
from .._events import FailoverFinished, FailoverStarted
from ._hooks import CALL_MODE

if TYPE_CHECKING:
    from ._core import GroupCore

__all__ = ["observe_async", "observe_sync"]


def _ok(mode: str, result: Any) -> bool:
    return mode != "all" or any(outcome.ok for outcome in result)


async def observe_async(core: GroupCore, op: str, mode: str, call: Coroutine[Any, Any, Any]) -> Any:
    """Await ``call`` (the group call) between its two events."""
    registry, clock = core.registry, core.clock or get_clock()
    registry.emit(FailoverStarted(core.name, op, mode))
    token = CALL_MODE.set(mode)
    start = clock.monotonic()
    error: BaseException | None = None
    ok = False
    try:
        result = await call
        ok = _ok(mode, result)
        return result
    except BaseException as exc:
        error = exc
        raise
    finally:
        CALL_MODE.reset(token)
        registry.emit(FailoverFinished(core.name, op, mode, clock.monotonic() - start, ok, error))
        error = None  # no frame -> error -> traceback -> frame cycle


def observe_sync(core: GroupCore, op: str, mode: str, call: Callable[..., Any], *args: Any) -> Any:
    """Sync form of ``observe_async``: run ``call(*args)`` between the two events."""
    registry, clock = core.registry, core.clock or get_clock()
    registry.emit(FailoverStarted(core.name, op, mode))
    token = CALL_MODE.set(mode)
    start = clock.monotonic()
    error: BaseException | None = None
    ok = False
    try:
        result = call(*args)
        ok = _ok(mode, result)
        return result
    except BaseException as exc:
        error = exc
        raise
    finally:
        CALL_MODE.reset(token)
        registry.emit(FailoverFinished(core.name, op, mode, clock.monotonic() - start, ok, error))
        error = None
