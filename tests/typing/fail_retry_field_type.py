"""mypy must reject: a retry field of the wrong type."""

from resiliency import RetryPolicy, retry

retry(max_attempts="3")  # expect: call-overload
RetryPolicy(base_delay="1")  # expect: arg-type
