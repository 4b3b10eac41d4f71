"""mypy must reject: a decorated function called with an argument of the wrong type."""

from resiliency import retry


@retry
def fetch(key: str, count: int) -> bytes:
    return key.encode() * count


fetch("key", "3")  # expect: arg-type
