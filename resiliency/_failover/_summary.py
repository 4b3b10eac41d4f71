"""What a group's event buffer keeps of a failed attempt: a summary, never the exception.

An exception holds its traceback, the traceback the frames of the call, the frames the
call's arguments: 1,000 buffered failures of uploads of fresh 1 MiB payloads would pin
1 GiB. The buffer (``group.events()``) therefore keeps the error's type name and message
(and the provider and attempt it came from) as an ``ErrorSummary``; registry listeners
and hooks still get the live exception, as it happens.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ErrorSummary", "summaries", "summarize"]


class ErrorSummary(Exception):
    """The summary of a failed attempt's error that ``group.events()`` returns.

    It stands in for the exception in ``ProviderFailed.error`` and in the
    ``ProviderAttemptError.error`` of ``AllProvidersFailed.attempts``: it holds no
    traceback, frames or arguments, so the buffer never keeps a call's data alive.

    Args:
        type_name: the error's class, qualified (``"ConnectionError"``,
            ``"mymodule.QuotaError"``).
        message: ``str()`` of the error.
        provider: the provider whose attempt failed.
        attempt: the 1-based attempt number.
    """

    def __init__(self, type_name: str, message: str, provider: str, attempt: int) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message
        self.provider = provider
        self.attempt = attempt

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.type_name, self.message, self.provider, self.attempt))


def summarize(error: BaseException) -> tuple[str, str]:
    """``(type name, message)`` of ``error``; a ``__str__`` that raises gives its repr-less form."""
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not break the call that failed
        message = f"<{name} with an unprintable message>"
    return name, message


def summaries(attempts: Any) -> tuple[tuple[str, str, int, str, str], ...]:
    """The buffer's record of ``AllProvidersFailedError.attempts``: (provider, op, attempt, type, message)."""
    return tuple((a.provider, a.op, a.attempt, *summarize(a.error)) for a in attempts)
