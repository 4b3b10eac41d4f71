"""``FailoverGroupView``: the calls of a failover group, with its call options.

``execute`` tries providers one after another, ``execute_any`` races them (first success
wins, the others are cancelled), ``execute_all`` runs them all and returns every
``Outcome``; the ``_sync`` forms do the same for sync providers (parallel modes on
threads). ``with_options`` returns a view sharing the providers and their state;
``FailoverGroup`` is the view without options that owns registration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from .._engine import raise_failure
from .._errors import AllProvidersFailedError, ResiliencyTimeoutError
from .._events import Event
from .._outcome import Failure
from .._timeout import TimeoutPolicy, TimeoutStrategy
from .._validate import check_count, check_duration, message
from ._binding import Binding
from ._core import GroupCore
from ._native import all_native, any_native
from ._observe import observe_async, observe_sync
from ._parallel import all_async, any_async
from ._race import Race
from ._sequential import sequential_async, sequential_sync
from ._stats import GroupStats, Outcome, to_events
from ._threads import all_sync, any_sync

__all__ = ["FailoverGroupView"]

_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio


class FailoverGroupView:
    """A failover group with call options; ``FailoverGroup`` is the view without any.

    Views made by ``with_options`` share the group's providers, stats and events.
    """

    def __init__(
        self,
        core: GroupCore,
        providers: frozenset[str] | None = None,
        hedge_delay: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self._core = core
        self._providers = providers
        self._hedge_delay = hedge_delay
        self._timeout = timeout
        self._timer = (
            None
            if timeout is None
            else TimeoutStrategy(TimeoutPolicy(timeout), clock=core.clock, registry=core.registry, name=core.name)
        )
        self._version = -1
        self._plans: dict[str, tuple[Binding, ...]] = {}
        self._sync_plans: dict[str, tuple[Binding, ...]] = {}

    @property
    def name(self) -> str:
        """The group's name."""
        return self._core.name

    @property
    def providers(self) -> list[str]:
        """Provider names in order (priority, then registration), narrowed in a view."""
        names = self._core.provider_names()
        return names if self._providers is None else [n for n in names if n in self._providers]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} providers={self.providers!r}>"

    def _plan(self, op: str, sync: bool = False) -> tuple[Binding, ...]:
        core = self._core
        if self._version != core.version:
            self._plans, self._sync_plans, self._version = {}, {}, core.version
        plans = self._sync_plans if sync else self._plans
        plan = plans.get(op)
        if plan is None:
            plan = plans[op] = core.plan(op, self._providers, sync)
        return plan

    # -- async -----------------------------------------------------------------------

    async def _run(self, runner: Callable[..., Any], params: tuple[Any, ...]) -> Any:
        if self._timer is None:
            out = await runner(*params)
        else:
            out = await self._timer.async_layer(lambda _a, _k: runner(*params))((), {})
        if type(out) is Failure:
            return raise_failure(out)
        return out

    async def execute(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``op`` on one provider after another until one succeeds.

        Providers go by priority, then registration order, each with its own retry loop;
        one whose breaker is open is skipped at once (recorded as an attempt); none
        starts after the caller's deadline.

        Returns:
            The first successful provider's result.

        Raises:
            AllProvidersFailedError: every provider failed; ``.attempts`` lists them.
            NoProviderError: (an ``AllProvidersFailedError`` with no attempts) no
                provider implements ``op``, or none is left after narrowing; at once.
            ResiliencyTimeoutError: ``with_options(timeout=...)`` passed.
            WriteDeferredError: a deferred op (``FailoverGroup(deferred_ops=...)``)
                failed on every provider and was stored in the outbox.
        """
        try:
            core = self._core
            plan = self._plans.get(op) if self._version == core.version else None
            if plan is None:
                plan = self._plan(op)
            if core.registry.listeners:  # observed: the general path; the hot path below stays one frame
                params = (core.notifier, core.ring, op, plan, args, kwargs)
                return await observe_async(core, op, "sequential", self._run(sequential_async, params))
            if self._timer is None:
                out = await sequential_async(core.notifier, core.ring, op, plan, args, kwargs)
                if type(out) is Failure:
                    return raise_failure(out)
                return out
            return await self._run(sequential_async, (core.notifier, core.ring, op, plan, args, kwargs))
        except AllProvidersFailedError as error:
            deferral = self._core.deferral
            if deferral is None or not deferral.wants(op, error):
                raise
            await deferral.defer_async(op, args, kwargs, error)

    async def execute_any(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``op`` on every provider at once; the first success wins, the others are cancelled.

        With ``hedge_delay`` (see ``with_options``) the next provider starts only when
        the previous one failed or has not answered within ``hedge_delay`` seconds.

        Raises:
            AllProvidersFailedError: every provider failed; ``.attempts`` in order.
            NoProviderError: (an ``AllProvidersFailedError`` with no attempts) no
                provider implements ``op``, or none is left after narrowing; at once.
        """
        try:
            if self._core.registry.listeners:
                return await observe_async(self._core, op, "any", self._execute_any(op, args, kwargs))
            return await self._execute_any(op, args, kwargs)
        except AllProvidersFailedError as error:
            deferral = self._core.deferral
            if deferral is None or not deferral.wants(op, error):
                raise
            await deferral.defer_async(op, args, kwargs, error)

    async def _execute_any(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        core = self._core
        plan = self._plan(op)
        if not self._hedge_delay and _running_loop() is not None:
            if self._timer is None:
                out = await any_native(core.notifier, core.ring, op, plan, args, kwargs)
                if type(out) is Failure:
                    return raise_failure(out)
                return out
            return await self._run(any_native, (core.notifier, core.ring, op, plan, args, kwargs))
        return await self._run(any_async, (core.notifier, core.ring, op, plan, args, kwargs, self._hedge_delay))

    async def execute_all(self, op: str, /, *args: Any, **kwargs: Any) -> list[Outcome]:
        """Run ``op`` on every provider at once; return each ``Outcome``, in provider order.

        Never raises for a provider's failure: it is in its ``Outcome``. Under a group
        deadline (``with_options(timeout=...)``) the providers still running at the
        deadline are cancelled and get ``Outcome(ok=False, error=ResiliencyTimeoutError)``;
        the finished ones keep their outcome.

        Raises:
            NoProviderError: (an ``AllProvidersFailedError`` with no attempts) no
                provider implements ``op``, or none is left after narrowing; at once.
            BaseException: a provider's own ``KeyboardInterrupt``, ``SystemExit``...,
                bare; the other providers are cancelled.
        """
        if self._core.registry.listeners:
            observed: list[Outcome] = await observe_async(self._core, op, "all", self._execute_all(op, args, kwargs))
            return observed
        return await self._execute_all(op, args, kwargs)

    async def _execute_all(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Outcome]:
        core = self._core
        plan = self._plan(op)
        runner = all_native if _running_loop() is not None else all_async
        if self._timer is None:
            out = await runner(core.notifier, core.ring, op, plan, args, kwargs)
        else:
            race = Race(len(plan), False)
            params = (core.notifier, core.ring, op, plan, args, kwargs, race)
            out = await self._timer.async_layer(lambda _a, _k: runner(*params))((), {})
            if type(out) is Failure and isinstance(out.error, ResiliencyTimeoutError):
                return race.outcomes(plan, out.error)  # the deadline: every outcome, none lost
        if type(out) is Failure:
            return raise_failure(out)
        outcomes: list[Outcome] = out
        return outcomes

    # -- sync ------------------------------------------------------------------------

    def _run_sync(self, runner: Callable[..., Any], params: tuple[Any, ...]) -> Any:
        if self._timer is None:
            out = runner(*params)
        else:
            out = self._timer.sync_layer(lambda _a, _k: runner(*params))((), {})
        if type(out) is Failure:
            return raise_failure(out)
        return out

    def execute_sync(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Sync form of ``execute``, for sync providers.

        Raises:
            AllProvidersFailedError, NoProviderError: as ``execute``.
            TypeError: a provider of ``op`` is async.
        """
        try:
            core = self._core
            params = (core.notifier, core.ring, op, self._plan(op, True), args, kwargs)
            if core.registry.listeners:  # observed: the same path between the two events
                return observe_sync(core, op, "sequential", self._run_sync, sequential_sync, params)
            return self._run_sync(sequential_sync, params)
        except AllProvidersFailedError as error:
            deferral = self._core.deferral
            if deferral is None or not deferral.wants(op, error):
                raise
            deferral.defer_sync(op, args, kwargs, error)

    def execute_any_sync(self, op: str, /, *args: Any, **kwargs: Any) -> Any:
        """Sync form of ``execute_any``: providers run on pool threads (at most 32 at once).

        A loser cannot be stopped: it is abandoned, its result discarded, and it starts
        no further retry attempt.

        Raises:
            AllProvidersFailedError, NoProviderError: as ``execute_any``.
            TypeError: a provider of ``op`` is async.
        """
        try:
            if self._core.registry.listeners:
                return observe_sync(self._core, op, "any", self._execute_any_sync, op, args, kwargs)
            return self._execute_any_sync(op, args, kwargs)
        except AllProvidersFailedError as error:
            deferral = self._core.deferral
            if deferral is None or not deferral.wants(op, error):
                raise
            deferral.defer_sync(op, args, kwargs, error)

    def _execute_any_sync(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        core = self._core
        params = (core.notifier, core.ring, op, self._plan(op, True), args, kwargs, self._hedge_delay)
        return self._run_sync(any_sync, params)

    def execute_all_sync(self, op: str, /, *args: Any, **kwargs: Any) -> list[Outcome]:
        """Sync form of ``execute_all``: providers run on pool threads (at most 32 at once).

        Under a group deadline the providers still running at the deadline are
        abandoned (they start no further attempt) and get a ``ResiliencyTimeoutError``
        outcome.

        Raises:
            NoProviderError: (an ``AllProvidersFailedError`` with no attempts) no
                provider implements ``op``, or none is left after narrowing; at once.
            TypeError: a provider of ``op`` is async.
            BaseException: a provider's own ``KeyboardInterrupt``, ``SystemExit``..., bare.
        """
        if self._core.registry.listeners:
            observed: list[Outcome] = observe_sync(self._core, op, "all", self._execute_all_sync, op, args, kwargs)
            return observed
        return self._execute_all_sync(op, args, kwargs)

    def _execute_all_sync(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Outcome]:
        core = self._core
        out = all_sync(core.notifier, core.ring, op, self._plan(op, True), args, kwargs, self._timeout)
        if type(out) is Failure:
            return raise_failure(out)
        outcomes: list[Outcome] = out
        return outcomes

    # -- options, stats, events ------------------------------------------------------

    def with_options(
        self,
        providers: Iterable[str] | None = None,
        hedge_delay: float | None = None,
        timeout: float | None = None,
    ) -> FailoverGroupView:
        """Return a view of this group with call options (unset ones are kept).

        Args:
            providers: names of the providers to use (the group's order is kept); a
                known provider lacking an op is skipped for that op.
            hedge_delay: ``execute_any`` only: seconds (float or timedelta, >= 0) to
                wait for provider ``i`` before starting provider ``i + 1``.
            timeout: seconds (float or timedelta, > 0): a deadline for the whole group
                call (``ResiliencyTimeoutError`` when passed).

        Raises:
            ValueError: an unknown provider name (the message lists the known ones); a
                negative ``hedge_delay``; a ``timeout`` <= 0.
            TypeError: ``providers`` is a str or holds a non-str.
        """
        names = self._providers
        if providers is not None:
            if isinstance(providers, str):
                raise TypeError(message("providers", "a list of provider names", providers))
            wanted = list(providers)
            for item in wanted:
                if not isinstance(item, str):
                    raise TypeError(message("providers", "a list of provider names (str)", wanted))
            known = self._core.provider_names()
            unknown = [n for n in wanted if n not in known]
            if unknown:
                raise ValueError(
                    f"unknown provider(s) {', '.join(map(repr, unknown))} for group {self.name!r} "
                    f"(known: {', '.join(known) or 'none'})"
                )
            names = frozenset(wanted)
        hedge = self._hedge_delay if hedge_delay is None else check_duration("hedge_delay", hedge_delay)
        limit = self._timeout if timeout is None else check_duration("timeout", timeout, allow_zero=False)
        return FailoverGroupView(self._core, names, hedge, limit)

    def stats(self) -> GroupStats:
        """Return per provider and op: calls, successes, failures, cancelled, p50/p95, last error."""
        place = {name: index for index, name in enumerate(self._core.provider_names())}
        bindings = sorted(self._core.ordered(), key=lambda b: (place[b.provider], b.op))
        return GroupStats(self.name, tuple(b.recorder.snapshot(b.provider, b.op) for b in bindings))

    def events(self, limit: int = 100) -> list[Event]:
        """Return the most recent attempt events (``ProviderSucceeded``, ``ProviderFailed``,
        ``AllProvidersFailed``), oldest first, at most ``limit`` (int >= 0; 1,000 are kept).
        """
        limit = check_count("limit", limit, minimum=0)
        records = list(self._core.ring)
        return to_events(self.name, records[len(records) - limit :] if limit else [])
