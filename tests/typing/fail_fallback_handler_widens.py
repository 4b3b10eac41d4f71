"""mypy must reject: an async function under a handler returning ``str`` answers ``int | str``."""

from resiliency import fallback


def from_cache(exc: BaseException | None, key: str) -> str:
    return "cached"


@fallback(handler=from_cache)
async def size(key: str) -> int:
    return len(key)


async def caller() -> None:
    exact: int = await size("k")  # expect: assignment
