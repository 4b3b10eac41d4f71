"""Every error the library raises, each with a stable ``.code``.

The tree::

    Exception
    └── ResiliencyError                      RESILIENCY_ERROR
        ├── CircuitOpenError                 CIRCUIT_OPEN
        ├── BulkheadFullError                BULKHEAD_FULL
        ├── ResiliencyTimeoutError           TIMEOUT          (also TimeoutError)
        ├── RateLimitedError                 RATE_LIMITED
        ├── ProviderAttemptError             PROVIDER_ATTEMPT_FAILED
        ├── NoProviderError                  NO_PROVIDER      (also LookupError)
        │   └── NoEndpointError              NO_ENDPOINT      (endpoint pools, in _pool)
        └── AllProvidersFailedError          ALL_PROVIDERS_FAILED (also ExceptionGroup)

A rejection raises a fresh instance every time; an error from the user's function is
never wrapped on the way out of a strategy, it is re-raised unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "AllProvidersFailedError",
    "BulkheadFullError",
    "CircuitOpenError",
    "NoProviderError",
    "ProviderAttemptError",
    "RateLimitedError",
    "ResiliencyError",
    "ResiliencyTimeoutError",
]


class ResiliencyError(Exception):
    """Base of every error the library raises; ``.code`` is a stable string."""

    code: ClassVar[str] = "RESILIENCY_ERROR"


class CircuitOpenError(ResiliencyError):
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
        name = getattr(self.breaker, "name", None)
        label = f"circuit {name!r}" if name else "circuit"
        if self.retry_after == float("inf"):
            return f"{label} is forced open; it rejects every call until reset()"
        return f"{label} is open; retry after {self.retry_after:.3f}s"


class BulkheadFullError(ResiliencyError):
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
        name = getattr(self.bulkhead, "name", None)
        label = f"bulkhead {name!r}" if name else "bulkhead"
        return f"{label} rejected the call: {self.reason}"


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


class RateLimitedError(ResiliencyError):
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
        name = getattr(self.limiter, "name", None)
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


class NoProviderError(ResiliencyError, LookupError):
    """No provider in the group implements the op (or none is left after narrowing)."""

    code: ClassVar[str] = "NO_PROVIDER"


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
