"""Parallel failover on anyio (asyncio and trio): ``any`` (first success) and ``all``.

The decisions are the race core's (``_race``); this runner starts, waits and cancels.
``any_async`` runs the providers in an anyio task group; the first success cancels the
group's scope (so does a provider's own ``BaseException``, kept by the race and raised
bare once the group has exited), so every other provider is really cancelled (its
``finally`` runs before the call returns), and a cancelled caller cancels every
provider it started. With a
``hedge_delay`` provider ``i + 1`` starts only once provider ``i`` has failed or has not
answered within ``hedge_delay`` seconds, read on the group's clock (a ``FakeClock``
wakes the hedge through ``call_at``). ``all_async`` waits for every provider and returns
one ``Outcome`` each, in provider order.

On asyncio without hedging, ``_native`` runs the same modes on plain asyncio tasks:
anyio's task group costs ~130 us for three tasks on the reference machine against
~25 us for the native tasks. Under trio the task group is trio's own nursery (same
``start_soon`` / ``cancel_scope`` API): ~85 us for three tasks against ~190 us through
anyio's wrapper.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from .._clock import SYSTEM_CLOCK, Clock, get_clock
from ._binding import Binding
from ._hooks import Notifier
from ._race import Race, skipped_outcome
from ._sequential import all_failed, deadline_passed, start_time

__all__ = ["all_async", "any_async"]


_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio


def _open_group() -> Any:
    """trio's own nursery under trio (a measured fast path), anyio's task group otherwise."""
    if _running_loop() is None:
        trio = sys.modules.get("trio")
        if trio is not None:
            return trio.open_nursery()
    return anyio.create_task_group()


async def _race_one(
    race: Race,
    index: int,
    binding: Binding,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    scope: anyio.CancelScope,
    done: anyio.Event | None,
    now: Any,
) -> None:
    """Run provider ``index`` and tell the race how it ended; cancel the others when decided.

    A provider's own ``BaseException`` is kept by the race, not raised here: raised
    from a task it would come out of the task group inside a ``BaseExceptionGroup``.
    """
    start = 0.0 if now is None else now()
    try:
        out = await binding.arun(args, kwargs, race.attempts)
    except BaseException as exc:
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            race.cancelled(index)
            raise
        stop = race.crashed(index, exc)
    else:
        stop = race.end(index, out, 0.0 if now is None else now() - start)
    finally:
        if done is not None:
            done.set()
    if stop:
        scope.cancel()


def hedge_allowed(binding: Binding) -> bool:
    """Whether a hedge may start ``binding`` now: its retry policy's budget pays for it."""
    budget = binding.policy.budget
    return budget is None or bool(budget.try_withdraw())


async def _hedge_wait(clock: Clock | None, delay: float, done: anyio.Event) -> None:
    """Wait until ``done`` is set or ``delay`` seconds pass on ``clock``."""
    clock = clock or get_clock()
    call_at = getattr(clock, "call_at", None)
    if clock is SYSTEM_CLOCK or call_at is None:
        with anyio.move_on_after(delay):
            await done.wait()
        return
    with anyio.CancelScope() as scope:
        handle = call_at(clock.monotonic() + delay, scope.cancel)
        try:
            await done.wait()
        finally:
            handle.cancel()


async def any_async(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    hedge_delay: float | None,
) -> Any:
    """Run ``plan`` concurrently (staggered by ``hedge_delay``); first success or ``Failure``."""
    clock = plan[0].clock
    started = start_time(notifier, clock)
    race = Race(len(plan), True)
    skipped: list[str] = []
    last = len(plan) - 1
    try:
        async with _open_group() as tg:
            for index, binding in enumerate(plan):
                if deadline_passed():
                    skipped.extend(b.provider for b in plan[index:])
                    break
                if not race.start():
                    break
                done = anyio.Event() if hedge_delay and index < last else None
                tg.start_soon(_race_one, race, index, binding, args, kwargs, tg.cancel_scope, done, None)
                if done is not None and hedge_delay is not None:
                    await _hedge_wait(clock, hedge_delay, done)
                    if not done.is_set() and not race.decided and not hedge_allowed(plan[index + 1]):
                        await done.wait()  # no budget for a hedge: fail over as sequential does
    except BaseException as exc:  # the caller was cancelled: the providers are, too
        error = race.interrupted(exc)
        race.close()
        if error is exc:
            raise
        raise error from None
    crash = race.close()
    if crash is not None:
        return crash
    if race.won:
        return race.value
    failure, pending = all_failed(notifier, ring, op, race.attempts, started, args, kwargs, skipped, clock)
    if pending is not None:
        await pending
    return failure


async def all_async(
    notifier: Notifier,
    ring: Any,
    op: str,
    plan: Sequence[Binding],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    race: Race | None = None,
) -> Any:
    """Run every provider of ``plan`` concurrently; one ``Outcome`` each, in order (or a ``Failure``).

    ``race`` (given under a group deadline) keeps the call's state readable after the
    deadline cancelled it.
    """
    if deadline_passed():
        return [skipped_outcome(b) for b in plan]
    clock = plan[0].clock or get_clock()
    started = start_time(notifier, clock)
    race = race if race is not None else Race(len(plan), False)
    try:
        async with _open_group() as tg:
            for index, binding in enumerate(plan):
                race.start()
                tg.start_soon(_race_one, race, index, binding, args, kwargs, tg.cancel_scope, None, clock.monotonic)
    except BaseException as exc:  # the caller was cancelled: the providers are, too
        error = race.interrupted(exc)
        race.close()
        if error is exc:
            raise
        raise error from None
    crash = race.close()
    if crash is not None:
        return crash
    outcomes = race.outcomes(plan)
    if not any(o.ok for o in outcomes):
        _, pending = all_failed(notifier, ring, op, race.attempts, started, args, kwargs, (), clock)
        if pending is not None:
            await pending
    return outcomes
