"""The race core of the parallel modes: who won, what gets cancelled, what the caller gets.

One ``Race`` per ``execute_any`` / ``execute_all`` call holds the call's state (each
provider's outcome, duration and failed attempts) and takes every decision; the three
runners (anyio task groups in ``_parallel``, asyncio tasks in ``_native``, threads in
``_threads``) only start, wait and cancel. The rules:

- ``any``: the first provider to return a value wins; the race is then decided and
  every other provider is cancelled (a thread is abandoned: it starts no further
  attempt). If every provider fails, the caller gets ``AllProvidersFailedError``.
- ``all``: every provider runs to its end; one ``Outcome`` each, in provider order.
- A provider that raises a ``BaseException`` that is not an ``Exception`` and not the
  race's own cancellation (``KeyboardInterrupt``, ``SystemExit``, a custom one) decides
  the race in both modes: the others are cancelled and the caller gets that exception,
  bare (never inside a ``BaseExceptionGroup``). The first one is kept.
- A caller interrupted while it waits (cancelled, or ``KeyboardInterrupt`` in a sync
  caller) decides the race too: every provider is cancelled, and the interruption goes
  on, unless a provider's own ``BaseException`` came first (that one is raised).

The core does no I/O and takes no lock: the thread runner calls it under its own lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ProviderAttemptError, ResiliencyTimeoutError
from .._outcome import Failure
from ._binding import Binding
from ._stats import Outcome

__all__ = ["UNFINISHED", "Race", "skipped_outcome"]

UNFINISHED: Any = Failure(RuntimeError("the provider did not finish"))
"""The outcome slot of a provider that has not ended (yet)."""


class Race:
    """The state and decisions of one parallel call.

    Args:
        size: the number of providers in the plan.
        first_wins: ``any`` mode (the first value decides) rather than ``all``.
    """

    __slots__ = (
        "attempts",
        "closed",
        "crash",
        "decided",
        "durations",
        "first_wins",
        "left",
        "outs",
        "value",
        "won",
    )

    def __init__(self, size: int, first_wins: bool) -> None:
        self.first_wins = first_wins
        self.outs: list[Any] = [UNFINISHED] * size
        self.durations = [0.0] * size
        self.attempts: list[ProviderAttemptError] = []
        self.left = 0
        self.decided = False
        self.won = False
        self.value: Any = None
        self.crash: BaseException | None = None
        self.closed = False

    def start(self) -> bool:
        """Count a provider about to start; ``False``: the race is decided, start no more."""
        if self.decided:
            return False
        self.left += 1
        return True

    def end(self, index: int, out: Any, duration: float = 0.0) -> bool:
        """Provider ``index`` ended with ``out`` (its value or its last ``Failure``).

        Returns:
            Whether the others must be cancelled now (this provider won).
        """
        self.left -= 1
        self.outs[index] = out
        self.durations[index] = duration
        if self.first_wins and not self.decided and type(out) is not Failure:
            self.decided = self.won = True
            self.value = out
            return True
        return False

    def crashed(self, index: int, error: BaseException, duration: float = 0.0) -> bool:
        """Provider ``index`` raised ``error``, a ``BaseException`` other than our cancellation.

        Returns:
            Whether the others must be cancelled now (the race is decided); ``False``
            once the caller has its verdict (``close``): nobody can get ``error``, the
            runner logs it.
        """
        self.left -= 1
        self.durations[index] = duration
        if self.closed:
            return False
        if self.crash is None:
            self.crash = error
        self.decided = True
        return True

    def cancelled(self, index: int, duration: float = 0.0) -> None:
        """Provider ``index`` ended by the race's own cancellation (or was abandoned)."""
        self.left -= 1
        self.durations[index] = duration

    def interrupt(self) -> None:
        """The caller stopped waiting: start nothing more, cancel every provider."""
        self.decided = True

    def close(self) -> Failure | None:
        """The caller takes its verdict: the race is decided, later crashes are not its own.

        Returns:
            The provider's ``BaseException`` the caller must raise, if any.
        """
        self.decided = self.closed = True
        return self.failure()

    @property
    def over(self) -> bool:
        """Whether the caller can stop waiting for the providers it started."""
        return self.left == 0 or self.decided

    def failure(self) -> Failure | None:
        """The provider's ``BaseException`` the caller must get, if any."""
        return None if self.crash is None else Failure(self.crash)

    def interrupted(self, error: BaseException) -> BaseException:
        """What an interrupted caller raises: a provider's ``BaseException`` first, else ``error``."""
        self.decided = True
        return self.crash if self.crash is not None else error

    def outcomes(self, plan: Sequence[Binding], deadline: ResiliencyTimeoutError | None = None) -> list[Outcome]:
        """One ``Outcome`` per provider, in provider order.

        Args:
            plan: the providers, in order.
            deadline: the group deadline's error when it passed; the providers that had
                not ended get a fresh ``ResiliencyTimeoutError`` each.
        """
        failed_by: dict[str, int] = {}
        for record in self.attempts:
            failed_by[record.provider] = failed_by.get(record.provider, 0) + 1
        outcomes: list[Outcome] = []
        for binding, out, duration in zip(plan, self.outs, self.durations, strict=True):
            failed = failed_by.get(binding.provider, 0)
            if out is UNFINISHED:
                error: BaseException = (
                    ResiliencyTimeoutError(deadline.timeout, deadline.elapsed, f"{deadline.name}.{binding.provider}")
                    if deadline is not None
                    else ResiliencyTimeoutError(0.0, 0.0, binding.provider)
                )
                elapsed = deadline.elapsed if deadline is not None else 0.0
                outcomes.append(Outcome(binding.provider, False, None, error, failed, elapsed))
            elif type(out) is Failure:
                outcomes.append(Outcome(binding.provider, False, None, out.error, failed, duration))
            else:
                outcomes.append(Outcome(binding.provider, True, out, None, failed + 1, duration))
        return outcomes


def skipped_outcome(binding: Binding) -> Outcome:
    """The outcome of a provider that never started: the deadline had passed."""
    return Outcome(binding.provider, False, None, ResiliencyTimeoutError(0.0, 0.0, binding.provider), 0, 0.0)
