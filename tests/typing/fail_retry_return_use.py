"""mypy must reject: the decorated function's result used as the wrong type."""

from resiliency import retry


@retry(max_attempts=2)
def count(items: list[str]) -> int:
    return len(items)


name: str = count(["a"])  # expect: assignment
