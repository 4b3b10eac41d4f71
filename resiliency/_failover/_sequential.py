"""Sequential failover: one provider after another, by priority then registration order.

Each mode function returns the winning value, or a ``Failure`` holding the
``AllProvidersFailedError``; the group's methods raise it. No provider starts once the
caller's deadline (``resiliency.remaining()``) has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._classify import is_call_error
from .._clock import Clock, get_clock
from .._deadline import _deadline, remaining
from .._errors import AllProvidersFailedError, ProviderAttemptError
from .._outcome import Failure
from ._binding import Binding
from ._hooks import Notifier, discard
from ._stats import ALL_FAILED
from ._summary import summaries

__all__ = ["all_failed", "deadline_passed", "sequential_async", "sequential_sync", "start_time"]


def deadline_passed() -> bool:
    """Whether the caller's deadline has passed (no deadline: never)."""
    if _deadline.get() is None:  # the common case, without remaining()'s frame
        return False
    left = remaining()
    return left is not None and left <= 0.0


def all_failed(
    notifier: Notifier,
    ring: Any,
    op: str,
    attempts: list[ProviderAttemptError],
    started: float | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    skipped: Sequence[str] = (),
    clock: Clock | None = None,
) -> tuple[Failure, Any]:
    """Build the ``AllProvidersFailedError`` failure and the pending ``on_all_failed`` hook.

    When every attempt failed because the op's arguments do not fit the providers (a
    ``TypeError`` from the call itself), that ``TypeError`` is the failure, unwrapped:
    the caller's mistake, which no provider could have avoided.
    """
    error: BaseException = AllProvidersFailedError(op, attempts)
    if attempts and all(is_call_error(a.error) for a in attempts):
        error = attempts[0].error
    if skipped and isinstance(error, AllProvidersFailedError):
        error.add_note(f"the caller's deadline passed before {', '.join(skipped)} could start")
    ring.append((ALL_FAILED, None, op, len(attempts), 0.0, summaries(attempts)))
    pending = None
    if notifier.hooks is not None or notifier.registry.listeners:
        duration = ((clock or get_clock()).monotonic() - started) if started is not None else 0.0
        pending = notifier.all_failed(op, attempts, duration, args, kwargs)
    return Failure(error), pending


def start_time(notifier: Notifier, clock: Clock | None) -> float | None:
    """The group call's start time, read only when a hook or listener will want it."""
    if notifier.hooks is None and not notifier.registry.listeners:
        return None
    return (clock or get_clock()).monotonic()


async def sequential_async(
    notifier: Notifier, ring: Any, op: str, plan: Sequence[Binding], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Try each provider in ``plan`` in turn; return the first success or a ``Failure``."""
    attempts: list[ProviderAttemptError] = []
    clock = plan[0].clock
    started = None if notifier.hooks is None and not notifier.registry.listeners else start_time(notifier, clock)
    skipped: list[str] = []
    for binding in plan:
        if _deadline.get() is not None and deadline_passed():
            skipped.append(binding.provider)
            continue
        out = await binding.arun(args, kwargs, attempts)
        if type(out) is not Failure:
            return out
    failure, pending = all_failed(notifier, ring, op, attempts, started, args, kwargs, skipped, clock)
    if pending is not None:
        await pending
    return failure


def sequential_sync(
    notifier: Notifier, ring: Any, op: str, plan: Sequence[Binding], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Sync form of ``sequential_async``, for sync providers."""
    attempts: list[ProviderAttemptError] = []
    clock = plan[0].clock
    started = start_time(notifier, clock)
    skipped: list[str] = []
    for binding in plan:
        if deadline_passed():
            skipped.append(binding.provider)
            continue
        out = binding.srun(args, kwargs, attempts)
        if type(out) is not Failure:
            return out
    failure, pending = all_failed(notifier, ring, op, attempts, started, args, kwargs, skipped, clock)
    discard(pending)
    return failure
