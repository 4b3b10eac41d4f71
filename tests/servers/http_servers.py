"""Real HTTP servers on loopback: a scripted raw-socket server and uvicorn serving an ASGI app.

``ScriptedServer`` speaks HTTP/1.1 with keep-alive over plain sockets and answers each
request with the next scripted action (``reply``, ``reset``, ``stall``), then with 200
"ok". It counts connections and requests, so a test can see that retried responses gave
their connection back (one connection serves every attempt).

``serve_asgi(app)`` runs uvicorn in a thread on a free port and stops it on exit.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import free_port, wait_until

__all__ = ["ScriptedServer", "serve_asgi"]


@dataclass
class Reply:
    """Answer with ``status``, ``headers`` and ``body``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class Reset:
    """Reset the connection (RST) instead of answering."""


@dataclass
class Stall:
    """Send the status line and headers, then no body until the server stops."""

    length: int = 10


class ScriptedServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering from a script of actions."""

    def __init__(self) -> None:
        self.script: deque[Reply | Reset | Stall] = deque()
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.open_connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="scripted-http-accept", daemon=True)

    def add(self, *actions: Reply | Reset | Stall) -> None:
        """Queue actions for the next requests, in order."""
        self.script.extend(actions)

    def start(self) -> None:
        self._accept.start()

    def stop(self) -> None:
        self._stop.set()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open_connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), name="scripted-http-conn", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytearray) -> tuple[str, str, dict[str, str]] | None:
        while b"\r\n\r\n" not in buffer:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                if self._stop.is_set():
                    return None
                continue
            if not chunk:
                return None
            buffer.extend(chunk)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        buffer[:] = rest[length:]
        return method, path, headers

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        buffer = bytearray()
        try:
            while not self._stop.is_set():
                request = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    action = self.script.popleft() if self.script else Reply()
                if isinstance(action, Reset):
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if isinstance(action, Stall):
                    conn.sendall(f"HTTP/1.1 200 OK\r\ncontent-length: {action.length}\r\n\r\n".encode())
                    self._stop.wait()
                    return
                head = [f"HTTP/1.1 {action.status} X", f"content-length: {len(action.body)}"]
                head += [f"{k}: {v}" for k, v in action.headers.items()]
                conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + action.body)
        except OSError:
            return
        finally:
            conn.close()
            with self._lock:
                self.open_connections -= 1


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    """A ``ScriptedServer`` on a free loopback port, stopped (threads joined) after the test."""
    server = ScriptedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=20.0, what="uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
