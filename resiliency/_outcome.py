"""The private outcome that travels between strategies in a pipeline.

A layer returns the call's value as it is on success (nothing allocated) and a
:class:`Failure` holding the exception otherwise. Only the outermost driver raises it.
User code can never produce a ``Failure``, so the check ``type(r) is Failure`` is exact.
"""

from __future__ import annotations

__all__ = ["Failure"]


class Failure:
    """A failed call's exception, passed up the pipeline instead of being raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Failure({self.error!r})"
