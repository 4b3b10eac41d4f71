"""``classify`` / ``is_transient`` and the presets that retry on them."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import types
from typing import Any

import httpx
import pytest
import redis.exceptions

from resiliency import (
    BulkheadFullError,
    CircuitOpenError,
    RateLimitedError,
    RetryPolicy,
    classify,
    is_transient,
    retry,
)


class Status(Exception):
    def __init__(self, **attrs: Any) -> None:
        super().__init__("status")
        self.__dict__.update(attrs)


class Response:
    def __init__(self, status_code: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.headers = headers or {}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionResetError(), "transient"),
        (ConnectionRefusedError(), "transient"),
        (TimeoutError(), "transient"),
        (OSError(errno.EHOSTUNREACH, "no route"), "transient"),
        (OSError(errno.ENETUNREACH, "unreachable"), "transient"),
        (socket.gaierror(socket.EAI_AGAIN, "try again"), "transient"),
        (socket.gaierror(socket.EAI_NONAME, "no such host"), "permanent"),
        (FileNotFoundError(errno.ENOENT, "gone"), "permanent"),
        (PermissionError(errno.EACCES, "no"), "permanent"),
        (OSError("no errno"), "permanent"),
        (TypeError("bad argument"), "permanent"),
        (ValueError(), "permanent"),
        (KeyError("k"), "permanent"),
    ],
)
def test_standard_library_errors(error: BaseException, expected: str) -> None:
    assert classify(error) == expected
    assert is_transient(error) is (expected != "permanent")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        *[(408, "transient"), (500, "transient"), (502, "transient"), (504, "transient")],
        *[(429, "throttled"), (503, "throttled")],
        *[(400, "permanent"), (401, "permanent"), (404, "permanent"), (501, "permanent"), (200, "permanent")],
    ],
)
def test_http_statuses_from_each_place_an_error_keeps_them(status: int, expected: str) -> None:
    assert classify(Status(response=Response(status))) == expected
    assert classify(Status(status_code=status)) == expected
    assert classify(Status(status=status)) == expected


def test_a_status_wins_over_the_error_class() -> None:
    # A 404 carried by a ConnectionError subclass is still a permanent answer of the server.
    error = ConnectionError("x")
    error.status_code = 404  # type: ignore[attr-defined]
    assert classify(error) == "permanent"


def test_anything_with_a_retry_after_is_throttled() -> None:
    assert classify(Status(retry_after=2.0)) == "throttled"
    assert classify(Status(response=Response(400, {"Retry-After": "3"}))) == "throttled"
    assert classify(Status(headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == "throttled"


def test_an_attribute_that_raises_counts_as_missing() -> None:
    class Broken(ConnectionError):
        @property
        def response(self) -> object:
            raise RuntimeError("no response here")

    assert classify(Broken()) == "transient"  # by its class, as if it had no status


def test_bool_status_is_not_a_status() -> None:
    assert classify(Status(status=True)) == "permanent"


def test_the_librarys_rejections_are_throttled() -> None:
    assert classify(RateLimitedError(None, 1.0)) == "throttled"
    assert classify(CircuitOpenError(None, 3.0)) == "throttled"
    assert classify(CircuitOpenError(None, float("inf"))) == "throttled"
    assert classify(BulkheadFullError(None, "full")) == "throttled"


def test_httpx_errors() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/")
    assert classify(httpx.ConnectError("refused", request=request)) == "transient"
    assert classify(httpx.ReadTimeout("slow", request=request)) == "transient"
    assert classify(httpx.RemoteProtocolError("bad", request=request)) == "transient"
    assert classify(httpx.InvalidURL("nope")) == "permanent"
    for status, expected in ((503, "throttled"), (502, "transient"), (404, "permanent")):
        response = httpx.Response(status, request=request)
        error = httpx.HTTPStatusError("status", request=request, response=response)
        assert classify(error) == expected


def test_requests_and_redis_errors() -> None:
    requests = pytest.importorskip("requests")
    assert classify(requests.exceptions.ConnectionError()) == "transient"
    assert classify(requests.exceptions.ReadTimeout()) == "transient"
    assert classify(requests.exceptions.InvalidURL()) == "permanent"
    assert classify(redis.exceptions.ConnectionError()) == "transient"
    assert classify(redis.exceptions.TimeoutError()) == "transient"
    assert classify(redis.exceptions.BusyLoadingError()) == "transient"
    assert classify(redis.exceptions.ResponseError("WRONGTYPE")) == "permanent"


def test_a_library_is_looked_up_only_once_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClientConnectionError(Exception):
        pass

    class ServerTimeoutError(Exception):
        pass

    assert classify(ClientConnectionError()) == "permanent"
    fake = types.ModuleType("aiohttp")
    fake.ClientConnectionError = ClientConnectionError  # type: ignore[attr-defined]
    fake.ServerTimeoutError = ServerTimeoutError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aiohttp", fake)
    assert classify(ClientConnectionError()) == "transient"
    assert classify(ServerTimeoutError()) == "transient"


def test_classifying_imports_no_third_party_library() -> None:
    code = (
        "import sys, resiliency\n"
        "for e in (ConnectionError(), TypeError(), OSError(5, 'x')):\n"
        "    resiliency.classify(e)\n"
        "print(sorted(m for m in ('httpx', 'requests', 'aiohttp', 'redis') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_network_preset_retries_httpx_connect_errors_but_not_type_errors() -> None:
    # Regression: RetryPolicy.network() retried only OSError, and httpx.ConnectError is none.
    calls: list[str] = []
    request = httpx.Request("GET", "http://127.0.0.1/")

    @retry(policy=RetryPolicy.network(base_delay=0.0, max_delay=0.0))
    def fetch(kind: str) -> str:
        calls.append(kind)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request) if kind == "net" else TypeError("bad argument")
        return "ok"

    assert fetch("net") == "ok"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(TypeError):
        fetch("arg")
    assert calls == ["arg"]


@pytest.mark.parametrize("preset", [RetryPolicy.network, RetryPolicy.http])
def test_presets_honour_retry_after_and_skip_the_librarys_rejections(preset: Any) -> None:
    policy = preset()
    assert policy.next_delay(1, Status(status_code=503, retry_after=4.0), None, 0.0, 0.0, None) == 4.0
    assert policy.next_delay(1, CircuitOpenError(None, 1.0), None, 0.0, 0.0, None) is None
    assert policy.next_delay(1, BulkheadFullError(None, "full"), None, 0.0, 0.0, None) is None
    assert policy.next_delay(1, Status(status_code=404), None, 0.0, 0.0, None) is None
    assert policy.next_delay(1, RateLimitedError(None, 0.5), None, 0.0, 0.0, None) == 0.5
