"""The demo behind ``python -m resiliency demo`` (needs the ``demo`` extra: httpx, rich)."""
