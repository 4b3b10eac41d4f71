"""mypy must reject: a function under @timeout(seconds) called with a wrong argument type."""

from resiliency import timeout


@timeout(2.0)
def read(path: str) -> int:
    return len(path)


read(42)  # expect: arg-type
