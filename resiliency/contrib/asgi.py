"""Starlette / FastAPI integration: the library's errors as HTTP statuses, and a health route.

::

    app = FastAPI(exception_handlers=exception_handlers(), routes=[health_route()])

=========================  ======  ===========================================
error                      status  headers and body
=========================  ======  ===========================================
``CircuitOpenError``       503     Retry-After: its ``retry_after`` (else 1)
``BulkheadFullError``      503     Retry-After: 1
``RateLimitedError``       429     Retry-After: its ``retry_after`` (else 1)
``ResiliencyTimeoutError`` 504
``WriteDeferredError``     202     ``item_id`` in the body
=========================  ======  ===========================================

Retry-After is whole seconds, rounded up, at least 1. Every body is JSON:
``{"error": <code>, "detail": <message>}``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._errors import BulkheadFullError, CircuitOpenError, RateLimitedError, ResiliencyTimeoutError, WriteDeferredError
from .._registry import Registry, default_registry
from .._validate import message

__all__ = ["exception_handlers", "health_route"]

# The handler type FastAPI's ``exception_handlers=`` asks for (Starlette's accepts it too).
Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


def _retry_after(exc: Exception) -> str:
    """Whole seconds (rounded up, >= 1) from ``exc.retry_after``; 1 when it has none."""
    seconds = getattr(exc, "retry_after", None)
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "1"
    return str(max(1, math.ceil(seconds)))


def _body(exc: Exception) -> dict[str, Any]:
    return {"error": getattr(exc, "code", type(exc).__name__), "detail": str(exc)}


async def _unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse(_body(exc), status_code=503, headers={"Retry-After": _retry_after(exc)})


async def _throttled(request: Request, exc: Exception) -> Response:
    return JSONResponse(_body(exc), status_code=429, headers={"Retry-After": _retry_after(exc)})


async def _timed_out(request: Request, exc: Exception) -> Response:
    return JSONResponse(_body(exc), status_code=504)


async def _deferred(request: Request, exc: Exception) -> Response:
    return JSONResponse({**_body(exc), "item_id": getattr(exc, "item_id", None)}, status_code=202)


def exception_handlers() -> dict[int | type[Exception], Handler]:
    """Return the handlers for ``Starlette(exception_handlers=...)`` / ``FastAPI(exception_handlers=...)``.

    Maps ``CircuitOpenError`` and ``BulkheadFullError`` to 503, ``RateLimitedError``
    to 429 (each with Retry-After), ``ResiliencyTimeoutError`` to 504 and
    ``WriteDeferredError`` to 202. Merge with your own
    handlers: ``{**exception_handlers(), MyError: my_handler}``.

    Returns:
        A new dict of exception class to async handler.
    """
    handlers: dict[int | type[Exception], Handler] = {
        CircuitOpenError: _unavailable,
        BulkheadFullError: _unavailable,
        RateLimitedError: _throttled,
        ResiliencyTimeoutError: _timed_out,
        WriteDeferredError: _deferred,
    }
    return handlers


def _jsonable(report: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    return dict(vars(report))


def health_route(registry: Registry | None = None, path: str = "/health") -> Route:
    """Return a Starlette ``Route`` serving ``registry.health()`` as JSON.

    The status is 200 while the report says "healthy" or "degraded" and 503 when it
    says "unhealthy"; the body holds every field of the ``HealthReport``.

    Args:
        registry: the registry reported on (default ``resiliency.registry``).
        path: the route's path (default "/health").

    Returns:
        A ``starlette.routing.Route`` for GET (and HEAD) to add to an app's routes.

    Raises:
        TypeError, ValueError: a registry that is not a ``Registry``, a path without a
            leading "/".
    """
    if registry is not None and not isinstance(registry, Registry):
        raise TypeError(message("registry", "a Registry or None", registry))
    if not isinstance(path, str) or not path.startswith("/"):
        raise (TypeError if not isinstance(path, str) else ValueError)(message("path", 'a str starting with "/"', path))
    table = registry if registry is not None else default_registry

    async def health(request: Request) -> Response:
        report = table.health()
        status = 503 if report.status == "unhealthy" else 200
        body = json.dumps(_jsonable(report), default=str)
        return Response(body, status_code=status, media_type="application/json")

    return Route(path, health, methods=["GET"], name="resiliency_health")
