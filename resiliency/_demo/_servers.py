"""Real HTTP storage providers on loopback, each with a fault: down, slow or flaky.

Each provider is a ``ThreadingHTTPServer`` on 127.0.0.1 with an ephemeral port, run in
a daemon thread, serving a tiny object-store API:

- ``PUT /objects/<key>`` stores the body and answers ``{"provider", "key", "size"}``;
- ``GET /objects/<key>`` answers the stored body;
- ``GET /presign/<key>`` answers ``{"url": ...}``.

Faults: ``down`` answers every request with 503; ``slow`` waits ``latency`` seconds
before answering; ``flaky`` fails a share ``rate`` of requests (seeded) with a 500, or a
429 carrying ``Retry-After``.

Each server counts what it did with the requests it received: answered ok, answered
with an error, or abandoned: the client hung up before the answer (a cancelled loser of
a race), so nothing was served.
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fault", "ProviderServer"]


@dataclass
class Fault:
    """How a demo provider misbehaves: kind "ok", "down", "slow" or "flaky"."""

    kind: str = "ok"
    latency: float = 0.0
    rate: float = 0.0
    seed: int = 0


@dataclass
class _Stats:
    """Requests received, and what became of each: ok, an error status, or abandoned."""

    requests: int = 0
    ok: int = 0
    failures: int = 0
    abandoned: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def in_flight(self) -> int:
        """Requests received and not yet answered or abandoned."""
        with self.lock:
            return self.requests - self.ok - self.failures - self.abandoned


def _hung_up(sock: socket.socket) -> bool:
    """Whether the client closed its side: readable at once, and reading gives EOF.

    An HTTP/1.1 client sends nothing more while it waits for the answer, so a readable
    socket that reads empty means it gave up (httpx closes the connection of a
    cancelled request).
    """
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _QuietServer(ThreadingHTTPServer):
    """A server that does not print a traceback when a client hangs up (a cancelled loser)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class ProviderServer:
    """One object-store provider served over HTTP on loopback."""

    def __init__(self, name: str, fault: Fault) -> None:
        self.name = name
        self.fault = fault
        self.stats = _Stats()
        self._objects: dict[str, bytes] = {}
        self._rng = random.Random(fault.seed)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"demo-{name}", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:50123``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ProviderServer:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self, settle: float = 2.0) -> None:
        """Stop serving and close the socket.

        Waits up to ``settle`` seconds for requests still being handled (a slow answer
        to a client that already gave up), so the counts add up.
        """
        deadline = time.monotonic() + settle
        while self.stats.in_flight() and time.monotonic() < deadline:
            time.sleep(0.005)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def _decide(self) -> tuple[int, dict[str, str]] | None:
        """Return an error status and headers for this request, or None to serve it."""
        fault = self.fault
        if fault.kind == "down":
            return 503, {}
        if fault.kind == "slow" and fault.latency > 0:
            time.sleep(fault.latency)
        if fault.kind == "flaky":
            with self.stats.lock:
                roll = self._rng.random()
            if roll < fault.rate / 3:
                return 429, {"Retry-After": "0.05"}
            if roll < fault.rate:
                return 500, {}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                server.stats.count("requests")
                error = server._decide()
                if _hung_up(self.connection):
                    server.stats.count("abandoned")
                    self.close_connection = True
                    return
                if error is not None:
                    server.stats.count("failures")
                    status, headers = error
                    self._send(status, json.dumps({"error": status}).encode(), headers)
                    return
                kind, _, key = self.path.lstrip("/").partition("/")
                if method == "PUT" and kind == "objects":
                    server._objects[key] = payload
                    body = {"provider": server.name, "key": key, "size": len(payload)}
                elif method == "GET" and kind == "objects":
                    data = server._objects.get(key, b"")
                    body = {"provider": server.name, "key": key, "data": data.decode(errors="replace")}
                elif method == "GET" and kind == "presign":
                    body = {"provider": server.name, "url": f"{server.url}/objects/{key}?sig=demo"}
                else:
                    server.stats.count("failures")
                    self._send(404, b'{"error": 404}')
                    return
                server.stats.count("ok")
                self._send(200, json.dumps(body).encode())

            def do_GET(self) -> None:
                self._serve("GET")

            def do_PUT(self) -> None:
                self._serve("PUT")

        return Handler
