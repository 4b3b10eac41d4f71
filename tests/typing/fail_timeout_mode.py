"""mypy must reject: an unknown timeout mode."""

from resiliency import timeout

timeout(1.0, mode="fast")  # expect: call-overload
