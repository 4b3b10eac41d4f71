"""mypy must reject: a bare ``@fallback`` method answers ``None`` too."""

from resiliency import fallback


class Prices:
    @fallback
    def latest(self, symbol: str) -> float:
        return 1.0


price: float = Prices().latest("X")  # expect: assignment
