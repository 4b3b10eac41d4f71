"""mypy must reject: a function under bare @timeout called with a wrong argument type."""

from resiliency import timeout


@timeout
def read(path: str) -> int:
    return len(path)


read(42)  # expect: arg-type
