"""mypy must reject: a field that does not exist."""

from resiliency import retry

retry(max_tries=3)  # expect: call-overload
