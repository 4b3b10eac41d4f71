"""mypy must reject: the result of a fallback-decorated function used as the wrong type."""

from resiliency import fallback


@fallback(value="")
def greet(name: str) -> str:
    return f"hello {name}"


length: int = greet("ada")  # expect: assignment
