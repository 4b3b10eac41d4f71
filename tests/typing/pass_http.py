"""Never run: ``mypy --strict tests/typing/pass_http.py`` must report no error.

The HTTP and batch API type-checks as documented: classification, retry blocks (``for``
and ``async for``), concurrent maps, the breaker's one-off forms, the httpx transports
in clients, and the ASGI handlers in FastAPI and Starlette apps.
"""

from __future__ import annotations

from typing import Literal, assert_type

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Route

from resiliency import (
    Attempt,
    CircuitBreaker,
    Outcome,
    RetryPolicy,
    amap_concurrent,
    classify,
    is_transient,
    map_concurrent,
    retrying,
)
from resiliency.contrib.asgi import exception_handlers, health_route
from resiliency.contrib.httpx import AsyncResilientTransport, ResilientTransport

assert_type(classify(ValueError()), Literal["transient", "throttled", "permanent"])
assert_type(is_transient(ValueError()), bool)


def block() -> int:
    for attempt in retrying(max_attempts=3):
        assert_type(attempt, Attempt)
        with attempt:
            return attempt.number
    return 0


async def ablock() -> None:
    async for attempt in retrying(policy=RetryPolicy.http()):
        with attempt:
            attempt.set_result(1)


def square(n: int) -> int:
    return n * n


async def asquare(n: int) -> int:
    return n * n


outcomes: list[Outcome] = map_concurrent(square, [1, 2], limit=2, rate=10.0, batch_size=1)


async def amap() -> list[Outcome]:
    return await amap_concurrent(asquare, range(3), limit=2, on_progress=lambda done, total: None)


breaker = CircuitBreaker()
assert_type(breaker.call(square, 3), int)


async def acall() -> int:
    with breaker.calling():
        pass
    async with breaker.calling():
        pass
    return await breaker.acall(asquare, 3)


client = httpx.Client(transport=ResilientTransport(retry=RetryPolicy.http(max_attempts=2)))
aclient = httpx.AsyncClient(transport=AsyncResilientTransport(breaker=None))
route: Route = health_route()
fastapi_app = FastAPI(exception_handlers=exception_handlers(), routes=[route])
starlette_app = Starlette(exception_handlers=exception_handlers(), routes=[route])
