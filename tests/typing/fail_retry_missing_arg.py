"""mypy must reject: a called-form decorated function missing a required argument."""

from resiliency import retry


@retry(max_attempts=3, backoff="constant")
def charge(order_id: str, amount: float) -> str:
    return order_id


charge("order-1")  # expect: call-arg
