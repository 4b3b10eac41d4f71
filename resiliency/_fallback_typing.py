"""The static type of ``@fallback``: the decorated return type widens by the fallback's answer.

``@fallback(value=None)`` on a ``-> float`` function makes it ``-> float | None``;
``handler=`` widens by the handler's return type (awaited, for an ``async def``
handler). Run time does not look at any of this: ``fallback`` returns what
``apply_strategy`` makes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, Protocol, TypeVar, overload

__all__ = ["Widening"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C")
V_co = TypeVar("V_co", covariant=True)


class Widening(Protocol[V_co]):
    """A fallback decorator: what it returns answers ``R | V`` where the callable answered ``R``.

    Signatures are kept; async callables stay async (their awaited value widens);
    classmethod and staticmethod objects keep their kind.
    """

    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> Callable[P, Coroutine[Any, Any, R | V_co]]: ...
    @overload
    def __call__(self, fn: Callable[P, R], /) -> Callable[P, R | V_co]: ...
    @overload
    def __call__(
        self, fn: classmethod[C, P, Coroutine[Any, Any, R]], /
    ) -> classmethod[C, P, Coroutine[Any, Any, R | V_co]]: ...
    @overload
    def __call__(self, fn: classmethod[C, P, R], /) -> classmethod[C, P, R | V_co]: ...
    @overload
    def __call__(
        self, fn: staticmethod[P, Coroutine[Any, Any, R]], /
    ) -> staticmethod[P, Coroutine[Any, Any, R | V_co]]: ...
    @overload
    def __call__(self, fn: staticmethod[P, R], /) -> staticmethod[P, R | V_co]: ...
