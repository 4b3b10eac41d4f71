"""mypy must reject: a decorated classmethod called without its argument."""

from resiliency import retry


class Client:
    @retry
    @classmethod
    def connect(cls, url: str) -> "Client":
        return cls()


Client.connect()  # expect: call-arg
