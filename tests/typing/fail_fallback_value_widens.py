"""mypy must reject: ``@fallback(value=None)`` on ``-> float`` answers ``float | None``, not ``float``."""

from resiliency import fallback


@fallback(value=None)
def ratio(a: float, b: float) -> float:
    return a / b


exact: float = ratio(1.0, 2.0)  # expect: assignment
