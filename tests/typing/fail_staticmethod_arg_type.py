"""mypy must reject: a stacked, decorated async staticmethod called with a wrong argument type."""

from resiliency import fallback, retry


class Hashing:
    @fallback(value=0)
    @retry(max_attempts=2)
    @staticmethod
    async def digest(data: bytes) -> int:
        return len(data)


async def main() -> None:
    await Hashing.digest("text")  # expect: arg-type
