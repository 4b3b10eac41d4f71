"""mypy must reject: a decorated method called with a wrong argument type."""

from resiliency import retry


class Storage:
    @retry(max_attempts=2)
    def upload(self, key: str, data: bytes) -> None:
        pass


Storage().upload("key", "not bytes")  # expect: arg-type
