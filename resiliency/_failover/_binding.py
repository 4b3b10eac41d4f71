"""One provider's implementation of one op, compiled once at registration.

A ``Binding`` holds the per-attempt chain (the strategies under ``@provider`` other than
``@retry``, over the bound function) and the provider's one retry loop (a
``RetryStrategy`` with the resolved policy). ``arun`` / ``srun`` time each attempt,
count it, record it in the group's ring buffer and tell the hooks; a failed attempt is
also appended to the call's ``attempts`` list (``ProviderAttemptError``) in the order
attempts happen, and its exception gets a note naming the group, provider, op and
attempt, so the traceback of an ``AllProvidersFailedError`` says where each
sub-exception came from. The first attempt runs inline; the retry loop starts only after a
failure, so the success path allocates nothing of its own.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .. import _clock
from .._clock import SYSTEM_CLOCK, Clock
from .._engine import Pipeline, Strategy, returned_awaitable
from .._errors import ProviderAttemptError
from .._outcome import Failure
from .._retry import RetryStrategy
from .._retry_policy import RetryPolicy
from ._hooks import Notifier, discard, with_provider_hooks
from ._pool import run_in_pool
from ._stats import FAILED, SUCCEEDED, OpRecorder
from ._summary import summarize

__all__ = ["Abandoned", "Binding"]

_monotonic = time.monotonic


def _label(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class Abandoned(BaseException):
    """Raised inside a sync loser's thread to end its retry loop once the race is decided."""


class Binding:
    """Provider ``provider``'s compiled implementation of ``op``."""

    __slots__ = (
        "achain",
        "breaker",
        "clock",
        "direct",
        "is_async",
        "notifier",
        "op",
        "owner",
        "policy",
        "priority",
        "provider",
        "recorder",
        "retry",
        "ring",
        "schain",
        "sdirect",
        "seq",
        "single",
        "strategies",
    )

    def __init__(
        self,
        *,
        provider: str,
        op: str,
        priority: int,
        seq: int,
        owner: object,
        raw: Callable[..., Any],
        strategies: tuple[Strategy, ...],
        is_async: bool,
        policy: RetryPolicy,
        group: str,
        clock: Clock | None,
        notifier: Notifier,
        ring: deque[tuple[Any, ...]],
    ) -> None:
        self.provider = provider
        self.op = op
        self.priority = priority
        self.seq = seq
        self.owner = owner
        self.is_async = is_async
        self.strategies = strategies
        self.breaker = next((s for s in strategies if s.kind == "circuit_breaker"), None)  # for events
        self.policy = policy
        self.clock = clock
        self.notifier = notifier
        self.ring = ring
        self.recorder = OpRecorder()
        self.retry = RetryStrategy(policy, clock=clock, registry=notifier.registry, name=f"{group}.{provider}.{op}")
        self.single = policy.max_attempts == 1
        leaf = with_provider_hooks(raw, owner, op, is_async)
        # With no per-attempt strategy the leaf is awaited (called) directly: no chain.
        self.direct = leaf if is_async and not strategies else None
        self.sdirect = leaf if not is_async and not strategies else None
        if is_async:
            self.achain = Pipeline(leaf, strategies, True).chain
            self.schain: Any = None
        else:
            sync_chain = Pipeline(leaf, strategies, False, label=f"provider {provider!r} ({_label(raw)})").chain
            self.schain = sync_chain

            async def in_thread(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return await run_in_pool(sync_chain, args, kwargs)  # daemon threads: never delays exit

            self.achain = in_thread

    def __repr__(self) -> str:
        return f"<Binding {self.provider}.{self.op} priority={self.priority}>"

    def breaker_open(self) -> bool:
        """Whether a circuit breaker in the per-attempt chain is open now (half-open is not)."""
        for strategy in self.strategies:
            state = getattr(strategy, "state", None) if strategy.kind == "circuit_breaker" else None
            if state is not None and getattr(state, "value", None) == "open":
                return True
        return False

    # -- recording, shared by both paths ---------------------------------------------

    def _succeeded(self, attempt: int, duration: float, delay: float, args: Any, kwargs: Any, value: Any) -> Any:
        self.recorder.success(duration)
        self.ring.append((SUCCEEDED, self.provider, self.op, attempt, duration, None))
        notifier = self.notifier
        if notifier.hooks is None and not notifier.registry.listeners:
            return None
        return notifier.success(self.provider, self.op, attempt, duration, delay, args, kwargs, value, self.breaker)

    def _failed(
        self, attempt: int, duration: float, delay: float, args: Any, kwargs: Any, error: BaseException, into: list[Any]
    ) -> Any:
        self.recorder.failure(duration, error)
        try:  # so a traceback of AllProvidersFailedError says where each sub-exception came from
            error.add_note(
                f"failover group {self.notifier.group!r}: provider {self.provider!r}, op {self.op!r}, attempt {attempt}"
            )
        except TypeError:  # __notes__ set to something that is not a list
            pass
        into.append(ProviderAttemptError(self.provider, self.op, attempt, error))
        self.ring.append((FAILED, self.provider, self.op, attempt, duration, summarize(error)))
        notifier = self.notifier
        if notifier.hooks is None and not notifier.registry.listeners:
            return None
        return notifier.failure(self.provider, self.op, attempt, duration, delay, args, kwargs, error, self.breaker)

    # -- async -----------------------------------------------------------------------

    async def arun(self, args: tuple[Any, ...], kwargs: dict[str, Any], attempts: list[Any]) -> Any:
        """Run this provider's retry loop; return its value or its last ``Failure``.

        The first attempt is ``attempt_async`` written out inline: this is the hot path
        of ``execute`` (one coroutine frame less, the system clock read directly).
        """
        clock = self.clock or _clock._current  # get_clock() is one Python call more
        now = _monotonic if clock is SYSTEM_CLOCK else clock.monotonic
        start = now()
        try:
            direct = self.direct
            if direct is not None:
                try:
                    out = await direct(*args, **kwargs)
                except Exception as exc:
                    out = Failure(exc)
            else:
                out = await self.achain(args, kwargs)
        except BaseException:
            self.recorder.cancel()
            raise
        duration = now() - start
        if type(out) is Failure:
            return await self._retry_async(out, duration, args, kwargs, attempts, clock)
        recorder = self.recorder  # recorder.success(duration), inline
        next(recorder.successes)
        recorder.durations.append(duration)
        self.ring.append((SUCCEEDED, self.provider, self.op, 1, duration, None))
        notifier = self.notifier
        if notifier.hooks is not None or notifier.registry.listeners:
            pending = notifier.success(self.provider, self.op, 1, duration, 0.0, args, kwargs, out, self.breaker)
            if pending is not None:
                await pending
        return out

    async def _retry_async(
        self, first: Failure, duration: float, args: Any, kwargs: Any, attempts: list[Any], clock: Clock
    ) -> Any:
        pending = self._failed(1, duration, 0.0, args, kwargs, first.error, attempts)
        if pending is not None:
            await pending
        if self.single:
            return first
        return await self.retry.run_async(_AsyncAttempts(self, attempts, clock), args, kwargs, None, first)

    async def _call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        direct = self.direct
        if direct is None:
            return await self.achain(args, kwargs)
        try:
            return await direct(*args, **kwargs)
        except Exception as exc:
            return Failure(exc)

    async def attempt_async(
        self, attempt: int, delay: float, args: tuple[Any, ...], kwargs: dict[str, Any], into: list[Any], clock: Clock
    ) -> Any:
        """Run one attempt through the per-attempt chain and record it."""
        start = clock.monotonic()
        try:
            out = await self._call_async(args, kwargs)
        except BaseException:
            self.recorder.cancel()
            raise
        duration = clock.monotonic() - start
        if type(out) is Failure:
            pending = self._failed(attempt, duration, delay, args, kwargs, out.error, into)
        else:
            pending = self._succeeded(attempt, duration, delay, args, kwargs, out)
        if pending is not None:
            await pending
        return out

    # -- sync ------------------------------------------------------------------------

    def srun(self, args: tuple[Any, ...], kwargs: dict[str, Any], attempts: list[Any], race: Any = None) -> Any:
        """Run this provider's retry loop in the calling thread; value or last ``Failure``.

        ``race`` (parallel sync modes) has a ``decided`` flag: once set, no further
        attempt starts and ``Abandoned`` ends the loop.
        """
        clock = self.clock or _clock._current
        out = self.attempt_sync(1, 0.0, args, kwargs, attempts, clock)
        if type(out) is not Failure or self.single:
            return out
        return self.retry.run_sync(_SyncAttempts(self, attempts, clock, race), args, kwargs, None, out)

    def attempt_sync(
        self, attempt: int, delay: float, args: tuple[Any, ...], kwargs: dict[str, Any], into: list[Any], clock: Clock
    ) -> Any:
        """Run one sync attempt through the per-attempt chain and record it."""
        now = _monotonic if clock is SYSTEM_CLOCK else clock.monotonic
        start = now()
        try:
            direct = self.sdirect
            if direct is not None:
                try:
                    out = direct(*args, **kwargs)
                except Exception as exc:
                    out = Failure(exc)
                if inspect.isawaitable(out):  # a sync provider handing back a coroutine
                    raise returned_awaitable(direct, out, f"provider {self.provider!r} ({_label(direct)})")
            else:
                out = self.schain(args, kwargs)
        except BaseException:
            self.recorder.cancel()
            raise
        duration = now() - start
        if type(out) is Failure:
            discard(self._failed(attempt, duration, delay, args, kwargs, out.error, into))
        else:
            discard(self._succeeded(attempt, duration, delay, args, kwargs, out))
        return out


class _AsyncAttempts:
    """The layer the retry loop calls for attempts 2, 3, ...: runs and records each."""

    __slots__ = ("attempt", "attempts", "binding", "clock", "ended")

    def __init__(self, binding: Binding, attempts: list[Any], clock: Clock) -> None:
        self.binding = binding
        self.attempts = attempts
        self.clock = clock
        self.attempt = 1
        self.ended = clock.monotonic()

    async def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.attempt += 1
        delay = self.clock.monotonic() - self.ended
        out = await self.binding.attempt_async(self.attempt, delay, args, kwargs, self.attempts, self.clock)
        self.ended = self.clock.monotonic()
        return out


class _SyncAttempts:
    """Sync form of ``_AsyncAttempts``; ends the loop with ``Abandoned`` once a race is decided."""

    __slots__ = ("attempt", "attempts", "binding", "clock", "ended", "race")

    def __init__(self, binding: Binding, attempts: list[Any], clock: Clock, race: Any) -> None:
        self.binding = binding
        self.attempts = attempts
        self.clock = clock
        self.race = race
        self.attempt = 1
        self.ended = clock.monotonic()

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.race is not None and self.race.decided:
            raise Abandoned
        self.attempt += 1
        delay = self.clock.monotonic() - self.ended
        out = self.binding.attempt_sync(self.attempt, delay, args, kwargs, self.attempts, self.clock)
        self.ended = self.clock.monotonic()
        return out
