"""The asyncio fast path of the parallel modes (no hedging): plain asyncio tasks.

Measured on the reference machine, three trivial providers: an anyio task group costs
~130 us per call, three ``loop.create_task`` with a done-callback ~25 us. The decisions
are the race core's (``_race``), as on the anyio path: the first success (or a provider's
``BaseException``) cancels the other tasks and the call returns only once they have
finished (their ``finally`` ran); a cancelled caller (also by an anyio cancel scope,
which re-delivers the cancellation until the task leaves it) cancels every task and
waits for them before the cancellation goes on. A task never ends with an exception of
its own, so asyncio never logs "Task exception was never retrieved".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from .._clock import SYSTEM_CLOCK, get_clock
from .._outcome import Failure
from ._binding import Binding
from ._hooks import Notifier
from ._race import Race, skipped_outcome
from ._sequential import all_failed, deadline_passed, start_time

__all__ = ["all_native", "any_native"]


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


async def _run(
    race: Race, index: int, binding: Binding, args: Any, kwargs: Any, waiter: asyncio.Future[None], now: Any
) -> None:
    """Run provider ``index`` in its task and tell the race how it ended; wake the caller when over.

    The task wakes the caller itself: a done-callback would cost a loop iteration.
    ``now`` (a clock reading) times the provider for ``all``; ``None`` for ``any``.
    """
    start = 0.0 if now is None else now()
    try:
        out = await binding.arun(args, kwargs, race.attempts)
    except asyncio.CancelledError:
        race.cancelled(index)
        raise
    except BaseException as exc:  # a provider's KeyboardInterrupt, SystemExit...: the caller's
        race.crashed(index, exc)
    else:
        race.end(index, out, 0.0 if now is None else now() - start)
    finally:
        if race.over and not waiter.done():
            waiter.set_result(None)


async def _race(race: Race, plan: Sequence[Binding], args: Any, kwargs: Any, now: Any) -> Failure | None:
    """Run ``plan`` on tasks until the race is over; the provider ``BaseException`` to raise, if any."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    tasks = []
    for index, binding in enumerate(plan):
        race.start()
        tasks.append(loop.create_task(_run(race, index, binding, args, kwargs, waiter, now)))
    try:
        try:
            await waiter
        finally:
            race.interrupt()
            await _settle(tasks)
    except BaseException as exc:  # the caller was cancelled: the providers are, too
        error = race.interrupted(exc)
        race.close()
        if error is exc:
            raise
        raise error from None
    return race.close()


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
    race = Race(len(plan), True)
    crash = await _race(race, plan, args, kwargs, None)
    if crash is not None:
        return crash
    if race.won:
        return race.value
    failure, pending = all_failed(notifier, ring, op, race.attempts, started, args, kwargs, (), clock)
    if pending is not None:
        await pending
    return failure


async def all_native(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    race: Race | None = None,
) -> Any:
    """``all`` mode on asyncio tasks: every provider's ``Outcome``, in order (or a ``Failure``).

    ``race`` (given under a group deadline) keeps the call's state readable after the
    deadline cancelled it.
    """
    if deadline_passed():
        return [skipped_outcome(b) for b in plan]
    clock = plan[0].clock or get_clock()
    now = time.monotonic if clock is SYSTEM_CLOCK else clock.monotonic
    started = start_time(notifier, clock)
    race = race if race is not None else Race(len(plan), False)
    crash = await _race(race, plan, args, kwargs, now)
    if crash is not None:
        return crash
    outcomes = race.outcomes(plan)
    if not any(o.ok for o in outcomes):
        _, pending = all_failed(notifier, ring, op, race.attempts, started, args, kwargs, (), clock)
        if pending is not None:
            await pending
    return outcomes
