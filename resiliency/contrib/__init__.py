"""Integrations with other libraries, each imported only when used.

``import resiliency`` imports none of these modules; each needs its extra installed:

- ``resiliency.contrib.httpx``: ``ResilientTransport`` / ``AsyncResilientTransport``
  (extra ``httpx``);
- ``resiliency.contrib.asgi``: ``exception_handlers()`` and ``health_route()`` for
  Starlette and FastAPI (extra ``asgi``);
- ``resiliency.contrib.logging``, ``.prometheus``, ``.otel``: ``instrument()`` turns the
  registry's events into logs, Prometheus metrics, or OpenTelemetry metrics and spans
  (extras ``prometheus`` and ``otel``; logging needs none).
"""
