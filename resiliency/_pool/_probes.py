"""The socket work of the health checks: a TCP connect, an HTTP/1.1 GET, kept-alive connections.

Probes to a host name use anyio sockets, so they run on asyncio and trio alike. To an
IP address they use the backend's own non-blocking socket calls instead (a measured
fast path: ~200 us of CPU per HTTP probe through anyio's ``connect_tcp`` on the
reference machine, ~100 us with ``loop.sock_connect``; on trio, ``trio.lowlevel``'s
``wait_readable`` / ``wait_writable`` on a plain socket), and the background health loop
keeps each endpoint's HTTP connection open between probes when the server allows it
(HTTP/1.1, a ``Content-Length``, no ``Connection: close``): ~20 us per probe. A kept
connection that the server closed meanwhile is replaced by a new one within the same
probe.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import os
import socket
import sys
from typing import Any

import anyio

__all__ = ["Connections", "http_status_line", "tcp_connect"]

_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio
MAX_HEAD = 16 * 1024
"""Most bytes of status line and headers read from a health endpoint."""
MAX_BODY = 64 * 1024
"""Largest body read to keep a connection; a longer one closes it."""


@functools.lru_cache(maxsize=4096)
def _family(host: str) -> int | None:
    """The address family of an IP literal, None for a host name (which needs resolving)."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


class Connections:
    """Idle kept-alive sockets by endpoint id: owned by one health loop, closed with it."""

    def __init__(self) -> None:
        self._idle: dict[str, tuple[str, socket.socket]] = {}

    def take(self, key: str, address: str) -> socket.socket | None:
        """Take endpoint ``key``'s idle socket to ``address``, if any (the caller owns it now)."""
        kept = self._idle.pop(key, None)
        if kept is None:
            return None
        if kept[0] != address:  # the endpoint moved (update): that connection is stale
            kept[1].close()
            return None
        return kept[1]

    def give(self, key: str, address: str, sock: socket.socket) -> None:
        """Keep ``sock`` (connected to ``address``) for endpoint ``key``'s next probe."""
        self.discard(key)
        self._idle[key] = (address, sock)

    def discard(self, key: str) -> None:
        """Close endpoint ``key``'s idle socket (it left the pool)."""
        kept = self._idle.pop(key, None)
        if kept is not None:
            kept[1].close()

    def close(self) -> None:
        """Close every idle socket."""
        idle, self._idle = self._idle, {}
        for _, sock in idle.values():
            sock.close()


class _AsyncioIO:
    """Non-blocking socket calls through the running asyncio loop."""

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def connect(self, sock: socket.socket, address: tuple[str, int]) -> None:
        await self.loop.sock_connect(sock, address)

    async def sendall(self, sock: socket.socket, data: bytes) -> None:
        await self.loop.sock_sendall(sock, data)

    async def recv(self, sock: socket.socket, size: int) -> bytes:
        return await self.loop.sock_recv(sock, size)


class _TrioIO:
    """Non-blocking socket calls that wait through ``trio.lowlevel`` when the socket is not ready."""

    __slots__ = ("lowlevel",)

    def __init__(self, lowlevel: Any) -> None:
        self.lowlevel = lowlevel

    async def connect(self, sock: socket.socket, address: tuple[str, int]) -> None:
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            await self.lowlevel.wait_writable(sock)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        else:
            await self.lowlevel.checkpoint()
        if code:
            raise OSError(code, os.strerror(code))

    async def sendall(self, sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                await self.lowlevel.wait_writable(sock)
        await self.lowlevel.checkpoint()

    async def recv(self, sock: socket.socket, size: int) -> bytes:
        while True:
            try:
                data = sock.recv(size)
            except BlockingIOError:
                await self.lowlevel.wait_readable(sock)
                continue
            await self.lowlevel.checkpoint()
            return data


IO = _AsyncioIO | _TrioIO


def _native_io() -> IO | None:
    """The running backend's own socket calls (asyncio or trio), else None (use anyio)."""
    loop = _running_loop()
    if loop is not None:
        return _AsyncioIO(loop)
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            return None
        return _TrioIO(trio.lowlevel)
    return None


def _native(host: str) -> tuple[IO, int] | None:
    """The native calls and address family for a probe to ``host`` (an IP literal), or None."""
    family = _family(host)
    if family is None:
        return None
    io = _native_io()
    return None if io is None else (io, family)


async def tcp_connect(host: str, port: int) -> None:
    """Open a TCP connection to ``host:port`` and close it.

    Raises:
        OSError: the connection was refused or failed.
    """
    native = _native(host)
    if native is None:
        stream = await anyio.connect_tcp(host, port)
        await stream.aclose()
        return
    io, family = native
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await io.connect(sock, (host, port))
    finally:
        sock.close()


def _request(path: str, address: str, keep: bool) -> bytes:
    close = "" if keep else "Connection: close\r\n"
    return f"GET {path} HTTP/1.1\r\nHost: {address}\r\n{close}\r\n".encode("ascii")


async def http_status_line(
    host: str, port: int, path: str, address: str, connections: Connections | None, key: str = ""
) -> bytes:
    """GET ``path`` from ``host:port``; return the response's status line (b"" when there was none).

    With ``connections`` (an IP address) the connection is kept, under ``key`` (the
    endpoint id), for the next probe when the response allows it.

    Raises:
        OSError: the connection failed.
    """
    native = _native(host)
    if native is None:
        async with await anyio.connect_tcp(host, port) as stream:
            await stream.send(_request(path, address, False))
            head = b""
            while b"\r\n" not in head and len(head) < MAX_HEAD:
                chunk = await stream.receive()
                head += chunk
        return head.split(b"\r\n", 1)[0]
    io, family = native
    request = _request(path, address, connections is not None)
    sock = connections.take(key, address) if connections is not None else None
    if sock is not None:
        try:
            line, keep = await _round_trip(io, sock, request)
        except OSError:
            line, keep = b"", False
        except BaseException:
            sock.close()
            raise
        if line:
            _release(connections, key, address, sock, keep)
            return line
        sock.close()  # the server closed the kept connection meanwhile: a new one
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await io.connect(sock, (host, port))
        line, keep = await _round_trip(io, sock, request)
    except BaseException:
        sock.close()
        raise
    _release(connections, key, address, sock, keep)
    return line


def _release(connections: Connections | None, key: str, address: str, sock: socket.socket, keep: bool) -> None:
    if keep and connections is not None:
        connections.give(key, address, sock)
    else:
        sock.close()


async def _round_trip(io: IO, sock: socket.socket, request: bytes) -> tuple[bytes, bool]:
    """Send ``request``, read the response; return its status line and whether the socket may be reused."""
    await io.sendall(sock, request)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = await io.recv(sock, 4096)
        if not chunk or len(buffer) > MAX_HEAD:
            return (buffer.split(b"\r\n", 1)[0] if b"\r\n" in buffer else b""), False
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {name.strip().lower(): value.strip().lower() for name, _, value in (x.partition(b":") for x in lines[1:])}
    length = headers.get(b"content-length", b"")
    keep = (
        lines[0].startswith(b"HTTP/1.1 ")
        and headers.get(b"connection") != b"close"
        and b"transfer-encoding" not in headers
        and length.isdigit()
        and int(length) <= MAX_BODY
    )
    if keep:
        missing = int(length) - len(body)
        while missing > 0:
            chunk = await io.recv(sock, missing)
            if not chunk:
                return lines[0], False
            missing -= len(chunk)
        keep = missing == 0
    return lines[0], keep
