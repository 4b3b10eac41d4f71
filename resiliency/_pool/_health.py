"""Active health checks (HTTP, TCP, a callable) and the threshold rule they feed.

A check's ``probe(endpoint)`` answers one ``HealthStatus`` (an exception or a timeout
is ``UNHEALTHY``); ``next_status`` turns the answers into the endpoint's status:

- an endpoint never checked (``UNKNOWN``) takes the first answer as it is;
- a usable endpoint (``HEALTHY``, ``DEGRADED``) becomes ``UNHEALTHY`` after
  ``unhealthy_threshold`` unhealthy answers in a row, and moves between ``HEALTHY``
  and ``DEGRADED`` at once;
- an ``UNHEALTHY`` endpoint becomes usable again after ``healthy_threshold`` usable
  answers in a row.

The socket work (and its asyncio fast path, and kept-alive HTTP connections) is in
``_probes``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container
from typing import Any

import anyio

from .._validate import check_callable, check_count, check_duration, check_number, message
from ._endpoint import Endpoint, HealthStatus, split_address
from ._probes import Connections, http_status_line, tcp_connect

__all__ = ["CallableHealthCheck", "HealthCheck", "HttpHealthCheck", "TcpHealthCheck", "next_status"]

_HEALTHY, _UNHEALTHY, _UNKNOWN = HealthStatus.HEALTHY, HealthStatus.UNHEALTHY, HealthStatus.UNKNOWN


def next_status(
    current: HealthStatus, answer: HealthStatus, ok_streak: int, fail_streak: int, healthy: int, unhealthy: int
) -> tuple[HealthStatus, int, int]:
    """Apply one probe ``answer``; return the new status and the new ok / fail streaks.

    Args:
        current: the endpoint's status before the answer.
        answer: what the probe said.
        ok_streak: usable answers in a row so far.
        fail_streak: unhealthy answers in a row so far.
        healthy: the check's ``healthy_threshold``.
        unhealthy: the check's ``unhealthy_threshold``.
    """
    if answer is _UNHEALTHY:
        fail_streak, ok_streak = fail_streak + 1, 0
        if current is _UNKNOWN or fail_streak >= unhealthy:
            return _UNHEALTHY, ok_streak, fail_streak
        return current, ok_streak, fail_streak
    ok_streak, fail_streak = ok_streak + 1, 0
    if current is _UNHEALTHY and ok_streak < healthy:
        return current, ok_streak, fail_streak
    return answer, ok_streak, fail_streak


class HealthCheck:
    """Base of the health checks: timing, thresholds and jitter.

    Args:
        interval: seconds between two probes of one endpoint (float or timedelta, > 0).
        timeout: seconds a probe may take before it counts as unhealthy (> 0).
        healthy_threshold: usable answers in a row that bring an unhealthy endpoint back.
        unhealthy_threshold: unhealthy answers in a row that take a usable one out.
        jitter: each interval is stretched or shrunk at random by up to this fraction
            (0 to 1, default 0.1), and the first probe of each endpoint starts at a
            random point of the first interval, so many endpoints are not probed at
            the same instant.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(
        self,
        *,
        interval: float = 5.0,
        timeout: float = 1.0,
        healthy_threshold: int = 2,
        unhealthy_threshold: int = 3,
        jitter: float = 0.1,
    ) -> None:
        self.interval: float = check_duration("interval", interval, allow_zero=False)
        self.timeout: float = check_duration("timeout", timeout, allow_zero=False)
        self.healthy_threshold: int = check_count("healthy_threshold", healthy_threshold)
        self.unhealthy_threshold: int = check_count("unhealthy_threshold", unhealthy_threshold)
        jitter = check_number("jitter", jitter, "a number in [0, 1]")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(message("jitter", "a number in [0, 1]", jitter))
        self.jitter: float = jitter

    async def probe(self, endpoint: Endpoint, connections: Connections | None = None) -> HealthStatus:
        """Probe ``endpoint`` once, within ``timeout``; an exception or timeout is ``UNHEALTHY``.

        Args:
            endpoint: the endpoint to probe.
            connections: (the background loop's) kept-alive connections to reuse, or None.
        """
        try:
            with anyio.fail_after(self.timeout):
                return await self._probe(endpoint, connections)
        except Exception:
            return _UNHEALTHY

    async def _probe(self, endpoint: Endpoint, connections: Connections | None) -> HealthStatus:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} interval={self.interval} timeout={self.timeout}>"


class TcpHealthCheck(HealthCheck):
    """Healthy when a TCP connection to the endpoint's address opens within ``timeout``.

    Args: as ``HealthCheck``.
    """

    async def _probe(self, endpoint: Endpoint, connections: Connections | None) -> HealthStatus:
        host, port = split_address(endpoint.address)
        await tcp_connect(host, port)
        return _HEALTHY


class HttpHealthCheck(HealthCheck):
    """Healthy when ``GET http://{address}{path}`` answers a status in ``expect``.

    A plain HTTP/1.1 request on a socket: no HTTP client library is needed. The
    background checks keep the connection open between probes when the server allows
    it; ``check()`` opens one per probe.

    Args:
        path: the path to request (default "/health").
        expect: the statuses that mean healthy (default ``range(200, 300)``).
        **timing: ``interval``, ``timeout``, thresholds and ``jitter`` as ``HealthCheck``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(self, path: str = "/health", *, expect: Container[int] = range(200, 300), **timing: Any) -> None:
        super().__init__(**timing)
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(message("path", 'a str starting with "/"', path))
        if not isinstance(expect, Container) or isinstance(expect, (str, bytes)):
            raise TypeError(message("expect", "a container of HTTP status codes", expect))
        self.path = path
        self.expect = expect

    async def _probe(self, endpoint: Endpoint, connections: Connections | None) -> HealthStatus:
        host, port = split_address(endpoint.address)
        line = await http_status_line(host, port, self.path, endpoint.address, connections, endpoint.id)
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            return _UNHEALTHY
        return _HEALTHY if int(parts[1]) in self.expect else _UNHEALTHY


class CallableHealthCheck(HealthCheck):
    """Ask ``fn(endpoint)`` (sync or async): it returns a ``HealthStatus`` (or a bool), or raises.

    A sync ``fn`` runs in the event loop's thread: keep it quick.

    Args:
        fn: the check; ``True`` means healthy, ``False`` unhealthy, an exception unhealthy.
        **timing: ``interval``, ``timeout``, thresholds and ``jitter`` as ``HealthCheck``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(self, fn: Callable[[Endpoint], Any], **timing: Any) -> None:
        super().__init__(**timing)
        self.fn = check_callable("fn", fn)

    async def _probe(self, endpoint: Endpoint, connections: Connections | None) -> HealthStatus:
        answer = self.fn(endpoint)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, HealthStatus):
            return answer
        if isinstance(answer, bool):
            return _HEALTHY if answer else _UNHEALTHY
        raise TypeError(f"health check {self.fn!r} returned {answer!r}; expected a HealthStatus or a bool")
