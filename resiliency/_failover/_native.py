"""The asyncio fast path of the parallel modes (no hedging): plain asyncio tasks.

Measured on the reference machine, three trivial providers: an anyio task group costs
~130 us per call, three ``loop.create_task`` with a done-callback ~25 us. The semantics
are the anyio path's: the first success cancels the other tasks and the call returns only
once they have finished (their ``finally`` ran); a cancelled caller (also by an anyio
cancel scope, which re-delivers the cancellation until the task leaves it) cancels every
task and waits for them before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from .._clock import SYSTEM_CLOCK, get_clock
from .._errors import ProviderAttemptError
from .._outcome import Failure
from ._binding import Binding
from ._hooks import Notifier
from ._parallel import collect_outcomes, skipped_outcome
from ._sequential import all_failed, deadline_passed, start_time
from ._stats import Outcome

__all__ = ["all_native", "any_native"]

_UNFINISHED: Any = Failure(RuntimeError("provider task ended without an outcome"))


async def _settle(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel the unfinished ``tasks`` and wait for them, whatever cancels us meanwhile."""
    pending = [t for t in tasks if not t.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    interrupted: BaseException | None = None
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError as exc:
            interrupted = interrupted or exc
        pending = [t for t in pending if not t.done()]
    if interrupted is not None:
        raise interrupted


async def any_native(
    notifier: Notifier, ring: Any, op: str, plan: Sequence[Binding], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``any`` mode on asyncio tasks: first success, the others cancelled and awaited."""
    clock = plan[0].clock
    if deadline_passed():
        failure, pending = all_failed(notifier, ring, op, [], None, args, kwargs, [b.provider for b in plan], clock)
        if pending is not None:
            await pending
        return failure
    started = start_time(notifier, clock)
    attempts: list[ProviderAttemptError] = []
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[list[Any]] = loop.create_future()
    left = len(plan)

    async def race(binding: Binding) -> None:
        # The task wakes the caller itself: a done-callback would cost a loop iteration.
        nonlocal left
        out: Any = _UNFINISHED
        try:
            out = await binding.arun(args, kwargs, attempts)
        finally:
            left -= 1
            if not waiter.done() and (left == 0 or (out is not _UNFINISHED and type(out) is not Failure)):
                waiter.set_result([out])

    tasks = [loop.create_task(race(binding)) for binding in plan]
    try:
        (out,) = await waiter
    finally:
        await _settle(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            task.result()  # a BaseException from a provider: let it out
    if type(out) is not Failure:
        return out
    failure, pending = all_failed(notifier, ring, op, attempts, started, args, kwargs, (), clock)
    if pending is not None:
        await pending
    return failure


async def all_native(
    notifier: Notifier, ring: Any, op: str, plan: Sequence[Binding], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[Outcome]:
    """``all`` mode on asyncio tasks: every provider's ``Outcome``, in provider order.

    The first provider runs in the caller's own task (one task less to create).
    """
    if deadline_passed():
        return [skipped_outcome(b) for b in plan]
    clock = plan[0].clock or get_clock()
    now = time.monotonic if clock is SYSTEM_CLOCK else clock.monotonic
    started = start_time(notifier, clock)
    attempts: list[ProviderAttemptError] = []
    outs: list[Any] = [None] * len(plan)
    durations = [0.0] * len(plan)
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    left = len(plan) - 1

    async def collect(index: int, binding: Binding) -> None:
        nonlocal left
        start = now()
        try:
            outs[index] = await binding.arun(args, kwargs, attempts)
        finally:
            durations[index] = now() - start
            left -= 1
            if left == 0 and not waiter.done():
                waiter.set_result(None)

    tasks = [loop.create_task(collect(index, binding)) for index, binding in enumerate(plan) if index]
    try:
        start = now()
        outs[0] = await plan[0].arun(args, kwargs, attempts)
        durations[0] = now() - start
        if tasks:
            await waiter
    finally:
        await _settle(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            task.result()  # a BaseException from a provider: let it out
    outcomes = collect_outcomes(plan, outs, durations, attempts)
    if not any(o.ok for o in outcomes):
        _, pending = all_failed(notifier, ring, op, attempts, started, args, kwargs, (), clock)
        if pending is not None:
            await pending
    return outcomes
