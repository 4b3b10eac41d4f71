"""httpx transports with retries, Retry-After, a breaker per host and the caller's deadline.

::

    client = httpx.AsyncClient(transport=AsyncResilientTransport())

Each request runs the library's own pipeline, built once per "host:port": the retry
strategy (``RetryStrategy``, the loop ``@retry`` runs) over that host's
``CircuitBreaker`` over one attempt. An attempt sets the request's timeouts to at most
``resiliency.remaining()`` and sends through the wrapped transport; a response whose
status is in ``statuses`` (429, 502, 503, 504) fails the attempt as an error carrying
the response, so ``RetryPolicy.http()`` retries it, honouring its Retry-After, and the
breaker counts it. A response that is retried is closed before the next attempt (its
connection goes back to the pool); when attempts run out, the last response is returned
as it is. Only idempotent requests are retried (``methods``, or any request carrying an
``Idempotency-Key`` header); the others go through the breaker once.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any, ClassVar

import anyio
import httpx

from .._circuit_breaker import CircuitBreaker, CircuitBreakerPolicy
from .._clock import Clock
from .._deadline import remaining
from .._engine import Pipeline, Strategy
from .._errors import ResiliencyError
from .._outcome import Failure
from .._retry import RetryStrategy
from .._retry_policy import RetryPolicy
from .._validate import message

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "AsyncResilientTransport",
    "ResilientTransport",
    "RetryableStatusError",
]

IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
"""Methods retried without an ``Idempotency-Key`` header (RFC 9110's idempotent methods)."""

RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})
"""Response statuses that fail an attempt (and are retried when the policy agrees)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTP_POLICY = RetryPolicy.http()
_MIN_TIMEOUT = 0.001  # a deadline that just passed still gets a valid (tiny) timeout
_DRAIN_LIMIT = 64 * 1024  # bytes of a retried response read to keep its connection


class RetryableStatusError(ResiliencyError):
    """An attempt's response had a retryable status; ``.response`` is that response.

    The transports never raise it: when attempts run out they return the response. A
    ``retry_on`` predicate and ``RetryScheduled`` events see it (``resiliency.classify``
    reads the status and Retry-After from ``.response``).
    """

    code: ClassVar[str] = "RETRYABLE_STATUS"

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _host_key(url: httpx.URL) -> str:
    """Return "host:port" of ``url`` (the scheme's default port when none is given)."""
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    return f"{url.host}:{port}"


def _with_deadline(request: httpx.Request) -> None:
    """Cap every timeout of ``request`` at the caller's deadline, if one is set."""
    left = remaining()
    if left is None:
        return
    left = max(left, _MIN_TIMEOUT)
    current = request.extensions.get("timeout") or {}
    capped = {
        key: left if (value := current.get(key)) is None else min(value, left)
        for key in ("connect", "read", "write", "pool")
    }
    request.extensions = {**request.extensions, "timeout": capped}


def _drainable(response: httpx.Response) -> bool:
    """Whether a retried response's body is small enough to read so its connection is reused."""
    length = response.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= _DRAIN_LIMIT


def _release(response: httpx.Response) -> None:
    """Free a retried response's connection: read a small body (keep-alive), then close."""
    try:
        if _drainable(response):
            response.read()
    except httpx.HTTPError:
        pass  # the connection is closed below either way; the next attempt opens another
    finally:
        response.close()


async def _arelease(response: httpx.Response) -> None:
    """Async form of ``_release``."""
    try:
        if _drainable(response):
            await response.aread()
    except httpx.HTTPError:
        pass
    finally:
        await response.aclose()


class _Resilience:
    """What both transports share: the settings, the breakers and the per-host chains."""

    def __init__(
        self,
        retry: RetryPolicy | None,
        breaker: str | CircuitBreakerPolicy | CircuitBreaker | None,
        methods: Collection[str],
        statuses: Collection[int],
        clock: Clock | None,
    ) -> None:
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(message("retry", "a RetryPolicy or None", retry))
        accepted = '"per_host", a CircuitBreakerPolicy, a CircuitBreaker or None'
        if isinstance(breaker, str) and breaker != "per_host":
            raise ValueError(message("breaker", accepted, breaker))
        if not isinstance(breaker, (str, CircuitBreakerPolicy, CircuitBreaker, type(None))):
            raise TypeError(message("breaker", accepted, breaker))
        if isinstance(methods, str) or not all(isinstance(m, str) for m in methods):
            raise TypeError(message("methods", "a collection of HTTP method names", methods))
        if not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
            raise ValueError(message("statuses", "a collection of HTTP statuses (100-599)", statuses))
        self.retry = None if retry is None else RetryStrategy(retry, clock=clock)
        self.breaker = breaker
        self.methods = frozenset(m.upper() for m in methods)
        self.statuses = frozenset(statuses)
        self.clock = clock
        self.breakers: dict[str, CircuitBreaker] = {}
        self.chains: dict[str, tuple[Any, Any]] = {}
        self.lock = threading.Lock()

    def _breaker_for(self, key: str) -> CircuitBreaker | None:
        spec = self.breaker
        if spec is None:
            return None
        if isinstance(spec, CircuitBreaker):
            return spec
        policy = spec if isinstance(spec, CircuitBreakerPolicy) else None  # "per_host": the defaults
        breaker = CircuitBreaker(policy=policy, clock=self.clock)
        self.breakers[key] = breaker
        return breaker

    def build(self, key: str, attempt: Any, is_async: bool) -> tuple[Any, Any]:
        """Return (chain with retries, chain without) for ``key``, built on first use."""
        with self.lock:
            chains = self.chains.get(key)
            if chains is None:
                breaker = self._breaker_for(key)
                once: list[Strategy] = [] if breaker is None else [breaker]
                retried = once if self.retry is None else [self.retry, *once]
                chains = (
                    Pipeline(attempt, retried, is_async).chain,
                    Pipeline(attempt, once, is_async).chain,
                )
                self.chains[key] = chains
            return chains

    def retries(self, request: httpx.Request) -> bool:
        """Whether ``request`` may be sent more than once."""
        return request.method in self.methods or "idempotency-key" in request.headers


def _finish(result: Any) -> httpx.Response:
    """Return the response a chain ended with, or raise its error (traceback intact)."""
    if type(result) is Failure:
        error, result = result.error, None
        if type(error) is RetryableStatusError:
            return error.response  # attempts ran out on a status: the caller sees it
        try:
            raise error
        finally:
            del error
    response: httpx.Response = result
    return response


class ResilientTransport(httpx.BaseTransport):
    """A sync httpx transport that retries, honours Retry-After, and breaks per host.

    Args:
        transport: the transport to send through (default ``httpx.HTTPTransport()``).
        retry: the ``RetryPolicy`` of idempotent requests (default
            ``RetryPolicy.http()``: 4 attempts, full jitter, transient errors and
            retryable statuses, Retry-After up to 60 s); None: no retries.
        breaker: "per_host" (default: one ``CircuitBreaker`` with the default policy
            per "host:port"), a ``CircuitBreakerPolicy`` (one breaker per host with
            it), a ``CircuitBreaker`` (one for every host), or None.
        methods: the methods retried (default ``IDEMPOTENT_METHODS``); a request with
            an ``Idempotency-Key`` header is retried whatever its method.
        statuses: response statuses that fail an attempt (default ``RETRY_STATUSES``).
        clock: the ``Clock`` for retry sleeps and breakers (default: the process clock).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = _HTTP_POLICY,
        breaker: str | CircuitBreakerPolicy | CircuitBreaker | None = "per_host",
        methods: Collection[str] = IDEMPOTENT_METHODS,
        statuses: Collection[int] = RETRY_STATUSES,
        clock: Clock | None = None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise TypeError(message("transport", "an httpx.BaseTransport", transport))
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self._core = _Resilience(retry, breaker, methods, statuses, clock)

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """The per-host breakers made so far, by "host:port" (a copy)."""
        return dict(self._core.breakers)

    def _attempt(self, request: httpx.Request, sent: list[httpx.Response]) -> httpx.Response:
        if sent:  # the previous attempt's response is being retried: free its connection
            _release(sent.pop())
        _with_deadline(request)
        response = self._transport.handle_request(request)
        if response.status_code in self._core.statuses:
            sent.append(response)
            raise RetryableStatusError(response)
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with retries (idempotent requests), the host's breaker and the deadline."""
        core = self._core
        key = _host_key(request.url)
        chains = core.chains.get(key) or core.build(key, self._attempt, False)
        chain = chains[0] if core.retries(request) else chains[1]
        sent: list[httpx.Response] = []
        try:
            result = chain((request, sent), {})
        except BaseException:
            for response in sent:
                response.close()
            raise
        if sent and type(result) is Failure and type(result.error) is not RetryableStatusError:
            sent.pop().close()  # e.g. a breaker that opened after a 503 refused the retry
        return _finish(result)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._transport.close()


class AsyncResilientTransport(httpx.AsyncBaseTransport):
    """The async form of ``ResilientTransport`` (asyncio and trio); same arguments.

    ``transport`` defaults to ``httpx.AsyncHTTPTransport()``.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = _HTTP_POLICY,
        breaker: str | CircuitBreakerPolicy | CircuitBreaker | None = "per_host",
        methods: Collection[str] = IDEMPOTENT_METHODS,
        statuses: Collection[int] = RETRY_STATUSES,
        clock: Clock | None = None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise TypeError(message("transport", "an httpx.AsyncBaseTransport", transport))
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._core = _Resilience(retry, breaker, methods, statuses, clock)

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """The per-host breakers made so far, by "host:port" (a copy)."""
        return dict(self._core.breakers)

    async def _attempt(self, request: httpx.Request, sent: list[httpx.Response]) -> httpx.Response:
        if sent:  # the previous attempt's response is being retried: free its connection
            await _arelease(sent.pop())
        _with_deadline(request)
        response = await self._transport.handle_async_request(request)
        if response.status_code in self._core.statuses:
            sent.append(response)
            raise RetryableStatusError(response)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with retries (idempotent requests), the host's breaker and the deadline."""
        core = self._core
        key = _host_key(request.url)
        chains = core.chains.get(key) or core.build(key, self._attempt, True)
        chain = chains[0] if core.retries(request) else chains[1]
        sent: list[httpx.Response] = []
        try:
            result = await chain((request, sent), {})
        except BaseException:
            with anyio.CancelScope(shield=True):
                for response in sent:
                    await response.aclose()
            raise
        if sent and type(result) is Failure and type(result.error) is not RetryableStatusError:
            await sent.pop().aclose()  # e.g. a breaker that opened after a 503 refused the retry
        return _finish(result)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._transport.aclose()
