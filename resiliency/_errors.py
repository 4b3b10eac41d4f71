"""Every error the library raises, each with a stable ``.code``.

The tree::

    Exception
    └── ResiliencyError                      RESILIENCY_ERROR
        ├── CircuitOpenError                 CIRCUIT_OPEN
        ├── BulkheadFullError                BULKHEAD_FULL
        │   └── WorkerLimitError             WORKER_LIMIT
        ├── ResiliencyTimeoutError           TIMEOUT          (also TimeoutError)
        ├── RateLimitedError                 RATE_LIMITED
        ├── ProviderAttemptError             PROVIDER_ATTEMPT_FAILED
        ├── NoProviderError                  NO_PROVIDER      (also LookupError)
        ├── AllProvidersFailedError          ALL_PROVIDERS_FAILED (also ExceptionGroup)
        └── WriteDeferredError               DEFERRED
        └── AllProvidersFailedError          ALL_PROVIDERS_FAILED (also ExceptionGroup)
            └── NoProviderError              NO_PROVIDER      (also LookupError)
                └── NoEndpointError          NO_ENDPOINT      (endpoint pools, in _pool)

A rejection raises a fresh instance every time; an error from the user's function is
never wrapped on the way out of a strategy, it is re-raised unchanged.

A rejection holds the live object that refused the call (``.breaker``, ``.bulkhead``,
``.limiter``). Pickled (to another process), it carries a ``DetachedSource`` in its
place instead, with the object's kind and name; ``copy.copy`` and ``copy.deepcopy``
keep the live object (a lock cannot be copied, and a copy of a breaker would be
another breaker).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "AllProvidersFailedError",
    "BulkheadFullError",
    "CircuitOpenError",
    "DetachedSource",
    "NoProviderError",
    "ProviderAttemptError",
    "RateLimitedError",
    "ResiliencyError",
    "ResiliencyTimeoutError",
    "WorkerLimitError",
    "WriteDeferredError",
]


def _label(source: object) -> str | None:
    """The name a strategy reports under: its name, else the callable it decorates."""
    label = getattr(source, "label", None) or getattr(source, "name", None)
    return label if isinstance(label, str) else None


class ResiliencyError(Exception):
    """Base of every error the library raises; ``.code`` is a stable string."""

    code: ClassVar[str] = "RESILIENCY_ERROR"


@dataclass(frozen=True)
class DetachedSource:
    """What a pickled rejection keeps of the breaker, bulkhead or limiter that raised it.

    Attributes:
        kind: the live object's class name ("CircuitBreaker", "Bulkhead", "RateLimiter").
        name: its registry name, or None for a private one.
        label: the name its messages and events carry (the registry name, else the
            decorated callable's qualified name).
    """

    kind: str
    name: str | None
    label: str | None = None

    def __repr__(self) -> str:
        shown = self.label or self.name
        label = f" {shown!r}" if shown else ""
        return f"<{self.kind}{label} (detached)>"


def _detach(source: object) -> object:
    if source is None or isinstance(source, (DetachedSource, str)):
        return source
    return DetachedSource(type(source).__name__, getattr(source, "name", None), _label(source))


class _Rejection(ResiliencyError):
    """A rejection whose ``args[0]`` is the live object that refused the call."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The live object holds locks and a clock: it stays in this process.
        return (type(self), (_detach(self.args[0]), *self.args[1:]), self.__dict__ or None)

    def __copy__(self) -> Any:
        twin = type(self)(*self.args)
        twin.__dict__.update(self.__dict__)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        twin = type(self)(*self.args)  # the same live object: a copied lock would guard nothing
        twin.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return twin


class CircuitOpenError(_Rejection):
    """A circuit breaker rejected the call.

    Built on the rejection path, so it is cheap: no ``__init__`` of its own, the
    attributes read from ``args``, the message made only when it is shown.

    Attributes:
        breaker: the ``CircuitBreaker`` that rejected the call.
        retry_after: seconds until the breaker lets a probe through (``inf`` when it was
            forced open).
    """

    code: ClassVar[str] = "CIRCUIT_OPEN"
    args: tuple[Any, float]

    if TYPE_CHECKING:

        def __init__(self, breaker: Any, retry_after: float) -> None: ...

    @property
    def breaker(self) -> Any:
        """The breaker that rejected the call."""
        return self.args[0]

    @property
    def retry_after(self) -> float:
        """Seconds until the breaker lets a probe through."""
        return float(self.args[1])

    def __str__(self) -> str:
        name = _label(self.breaker)
        label = f"circuit {name!r}" if name else "circuit"
        if self.retry_after == float("inf"):
            return f"{label} is forced open; it rejects every call until reset()"
        return f"{label} is open; retry after {self.retry_after:.3f}s"

    def __repr__(self) -> str:
        # Short: the breaker's own repr carries its whole policy.
        return f"CircuitOpenError(breaker={getattr(self.breaker, 'name', None)!r}, retry_after={self.retry_after!r})"


class BulkheadFullError(_Rejection):
    """A bulkhead had no free slot and no room (or time) left in its queue.

    Attributes:
        bulkhead: the ``Bulkhead`` that rejected the call.
        reason: "full" (no slot, no room in the queue) or "queue_timeout".
    """

    code: ClassVar[str] = "BULKHEAD_FULL"
    args: tuple[Any, str]

    if TYPE_CHECKING:

        def __init__(self, bulkhead: Any, reason: str = "full") -> None: ...

    @property
    def bulkhead(self) -> Any:
        """The bulkhead that rejected the call."""
        return self.args[0]

    @property
    def reason(self) -> str:
        """Why: "full" or "queue_timeout"."""
        return str(self.args[1]) if len(self.args) > 1 else "full"

    def __str__(self) -> str:
        name = _label(self.bulkhead)
        label = f"bulkhead {name!r}" if name else "bulkhead"
        return f"{label} rejected the call: {self.reason}"


class WorkerLimitError(BulkheadFullError):
    """A thread-mode ``@timeout`` found no free worker thread before its deadline; the call never ran.

    Its workers were all busy, most often with calls abandoned at their deadline that
    still run inside a hung dependency. A ``BulkheadFullError`` (``reason``
    "no_worker", ``bulkhead`` None): like a full bulkhead it sheds load, so a retry
    does not retry it by default. Not a ``TimeoutError``: the call did not time out,
    it never started.

    Attributes:
        name: the timeout's name (None: unnamed).
        limit: the worker limit it met (``max_workers``, or 64 for the shared pool).
        abandoned: of those workers, how many their callers had given up on.
        waited: seconds the call waited for a worker.
    """

    code: ClassVar[str] = "WORKER_LIMIT"

    def __init__(self, name: str | None, limit: int, abandoned: int, waited: float) -> None:
        super().__init__(None, "no_worker")
        self.name = name
        self.limit = limit
        self.abandoned = abandoned
        self.waited = waited

    def __str__(self) -> str:
        what = f"timeout {self.name!r}" if self.name else "timeout"
        return (
            f"{what} found no free worker thread in {self.waited:.3f}s: all {self.limit} are busy "
            f"({self.abandoned} abandoned by calls that timed out); the call did not run"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.limit, self.abandoned, self.waited), self.__dict__)


class ResiliencyTimeoutError(ResiliencyError, TimeoutError):
    """The call did not finish before its deadline.

    Attributes:
        timeout: the timeout in seconds that was exceeded.
        elapsed: seconds from the start of the call to when it was given up.
    """

    code: ClassVar[str] = "TIMEOUT"

    def __init__(self, timeout: float, elapsed: float, name: str | None = None) -> None:
        what = f"{name!r} " if name else ""
        super().__init__(f"call {what}timed out after {elapsed:.3f}s (timeout {timeout:g}s)")
        self.timeout = timeout
        self.elapsed = elapsed
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.timeout, self.elapsed, self.name), self.__dict__)


class RateLimitedError(_Rejection):
    """A rate limiter had no token for the call.

    Attributes:
        limiter: the ``RateLimiter`` that rejected the call.
        retry_after: seconds until a token is available.
    """

    code: ClassVar[str] = "RATE_LIMITED"
    args: tuple[Any, float]

    if TYPE_CHECKING:

        def __init__(self, limiter: Any, retry_after: float) -> None: ...

    @property
    def limiter(self) -> Any:
        """The limiter that rejected the call."""
        return self.args[0]

    @property
    def retry_after(self) -> float:
        """Seconds until a token is available."""
        return float(self.args[1])

    def __str__(self) -> str:
        name = _label(self.limiter)
        label = f"rate limiter {name!r}" if name else "rate limiter"
        return f"{label} has no token; retry after {self.retry_after:.3f}s"


class ProviderAttemptError(ResiliencyError):
    """One provider's failed attempt at an op, as listed by ``AllProvidersFailedError``.

    Attributes:
        provider: the provider's name.
        op: the operation.
        attempt: 1-based attempt number within the provider's retry loop.
        error: the exception the attempt ended with.
    """

    code: ClassVar[str] = "PROVIDER_ATTEMPT_FAILED"

    def __init__(self, provider: str, op: str, attempt: int, error: BaseException) -> None:
        super().__init__(f"{provider}.{op} attempt {attempt}: {error!r}")
        self.provider = provider
        self.op = op
        self.attempt = attempt
        self.error = error

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.provider, self.op, self.attempt, self.error), self.__dict__)


class AllProvidersFailedError(ResiliencyError, ExceptionGroup):
    """Every provider failed the op; an ``ExceptionGroup`` of their errors.

    ``except* ConnectionError`` matches when any provider failed with one.

    Attributes:
        op: the operation.
        attempts: every ``ProviderAttemptError`` in the order they happened.
    """

    code: ClassVar[str] = "ALL_PROVIDERS_FAILED"
    op: str
    attempts: list[ProviderAttemptError]

    def __new__(cls, op: str, attempts: Sequence[ProviderAttemptError]) -> Self:
        errors = [a.error if isinstance(a.error, Exception) else a for a in attempts]
        if not errors:
            errors = [NoProviderError(f"no provider ran op {op!r}")]
        tried = ", ".join(dict.fromkeys(a.provider for a in attempts)) or "none"
        self = super().__new__(cls, f"all providers failed op {op!r} (tried: {tried})", errors)
        self.op = op
        self.attempts = list(attempts)
        return self

    def __init__(self, op: str, attempts: Sequence[ProviderAttemptError]) -> None:
        # ExceptionGroup takes its arguments in __new__; nothing more to set here.
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.op, self.attempts), self.__dict__)

    def derive(self, excs: Sequence[Exception]) -> ExceptionGroup[Exception]:  # type: ignore[override]
        """Build the split group ``except*`` hands over; it keeps ``op`` and ``attempts``."""
        kept = [a for a in self.attempts if a.error in excs or a in excs]
        return AllProvidersFailedError(self.op, kept)


class WriteDeferredError(ResiliencyError):
    """A write failed on every provider and was stored in the group's outbox instead.

    The call did not happen yet: an ``OutboxWorker`` applies it later, at least once,
    with the item's idempotency key (a random UUID unless one was given). The provider
    failures are its ``__cause__`` (an ``AllProvidersFailedError``). An ASGI app answers
    it with 202 Accepted.

    Attributes:
        item_id: the outbox item's id.
        op: the deferred operation.
    """

    code: ClassVar[str] = "DEFERRED"

    def __init__(self, item_id: str, op: str) -> None:
        super().__init__(item_id, op)
        self.item_id = item_id
        self.op = op

    def __str__(self) -> str:
        return f"op {self.op!r} failed on every provider and was deferred to the outbox as item {self.item_id}"


class NoProviderError(AllProvidersFailedError, LookupError):
    """No provider could run the op: none implements it, or none is left after narrowing.

    An ``AllProvidersFailedError`` with no attempts (seed 000: a call whose filtered
    providers are all incompatible fails at once with ``AllProvidersFailedError``), and
    a ``LookupError``. Its one sub-exception is a ``LookupError`` with the same reason.

    Args:
        reason: the message: why no provider could run the op.
        op: the operation ("" when unknown).

    Attributes:
        op: the operation.
        attempts: always empty: no provider was tried.
    """

    code: ClassVar[str] = "NO_PROVIDER"

    def __new__(cls, reason: str, op: str = "") -> Self:
        self = ExceptionGroup.__new__(cls, reason, [LookupError(reason)])
        self.op = op
        self.attempts = []
        return self

    def __init__(self, reason: str, op: str = "") -> None:
        pass

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.op), self.__dict__)

    def derive(self, excs: Sequence[Exception]) -> ExceptionGroup[Exception]:  # type: ignore[override]
        """Build the split group ``except*`` hands over: the same reason and op."""
        return NoProviderError(self.message, self.op)
