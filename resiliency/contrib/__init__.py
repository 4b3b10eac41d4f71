"""Integrations with other libraries, each imported only when used.

``import resiliency`` imports none of these modules; each needs its extra installed:

- ``resiliency.contrib.httpx``: ``ResilientTransport`` / ``AsyncResilientTransport``
  (extra ``httpx``);
- ``resiliency.contrib.asgi``: ``exception_handlers()`` and ``health_route()`` for
  Starlette and FastAPI (extra ``asgi``).
"""
