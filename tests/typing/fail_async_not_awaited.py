"""mypy must reject: an async decorated function's coroutine used as its result."""

from resiliency import retry


@retry
async def fetch(key: str) -> bytes:
    return key.encode()


async def main() -> None:
    data: bytes = fetch("k")  # expect: assignment
    print(data)
