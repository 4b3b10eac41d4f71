"""``FaultProxy``: a TCP proxy on loopback that puts real network faults on a connection.

What Toxiproxy gives, in process: start it in front of a real server, point the client
at ``proxy.address``, and switch toxics while the test runs. The proxy runs an asyncio
loop on a daemon thread of its own, so it serves sync and async tests alike (trio
included) and its toxics may be switched from any thread.

Toxics act on open and new connections: ``latency`` delays every chunk, ``bandwidth``
paces them, ``blackhole`` keeps connections open and drops their data, ``reset`` resets
the open connections (a one-off), ``down`` closes them and refuses new ones, ``heal``
removes every toxic.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from types import TracebackType
from typing import Any

from .._validate import check_duration, check_number, message

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy:
    """A loopback TCP proxy to ``upstream_host:upstream_port`` with switchable faults.

    Args:
        upstream_host: the real server's host.
        upstream_port: the real server's port.
        port: the port to listen on (default: a free one).
        rng: the random source of the latency jitter.

    Use as ``with FaultProxy(host, port) as proxy:`` or ``async with``; ``start()`` and
    ``stop()`` do the same by hand. ``host``, ``port`` and ``address`` ("host:port") say
    where clients connect.
    """

    def __init__(
        self, upstream_host: str, upstream_port: int, *, port: int = 0, rng: random.Random | None = None
    ) -> None:
        if not isinstance(upstream_host, str) or not upstream_host:
            raise TypeError(message("upstream_host", "a host name (str)", upstream_host))
        if isinstance(upstream_port, bool) or not isinstance(upstream_port, int) or not 0 < upstream_port < 65536:
            raise ValueError(message("upstream_port", "a port number in 1..65535", upstream_port))
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = port
        self._rng = rng if rng is not None else random.Random()
        self._latency = 0.0
        self._jitter = 0.0
        self._rate: float | None = None
        self._blackholed = False
        self._down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.connections_total = 0
        self.bytes_forwarded = 0

    @property
    def address(self) -> str:
        """``"host:port"`` of the proxy."""
        return f"{self.host}:{self.port}"

    # -- toxics (thread-safe: plain attribute writes, or work handed to the loop) -------

    def latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Delay every chunk of data by ``seconds`` (plus or minus up to ``jitter``)."""
        self._latency = check_duration("seconds", seconds)
        self._jitter = check_duration("jitter", jitter)

    def bandwidth(self, bytes_per_second: float) -> None:
        """Pace data to ``bytes_per_second`` in each direction of each connection."""
        rate = check_number("bytes_per_second", bytes_per_second, "a rate > 0")
        if not rate > 0:
            raise ValueError(message("bytes_per_second", "a rate > 0", bytes_per_second))
        self._rate = rate

    def blackhole(self) -> None:
        """Keep connections open but drop all their data, both ways."""
        self._blackholed = True

    def reset(self) -> None:
        """Reset every open connection (the client sees ECONNRESET)."""
        self._call(self._reset_all)

    def down(self) -> None:
        """Close every open connection and refuse new ones."""
        self._down = True
        self._call(self._go_down)

    def heal(self) -> None:
        """Remove every toxic; accept connections again after ``down()``."""
        self._latency = self._jitter = 0.0
        self._rate = None
        self._blackholed = False
        if self._down:
            self._down = False
            self._call(self._listen)

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start the proxy's thread and listen; return self."""
        if self._thread is not None:
            raise RuntimeError("FaultProxy is already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=f"resiliency-fault-proxy-{id(self)}", daemon=True)
        self._thread.start()
        self._call(self._listen)
        return self

    def stop(self) -> None:
        """Close every connection, stop listening and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._call(self._shutdown)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FaultProxy:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FaultProxy {self.address} -> {self.upstream[0]}:{self.upstream[1]}>"

    # -- on the proxy's loop -------------------------------------------------------

    def _call(self, fn: Any) -> None:
        """Run the coroutine function ``fn`` on the proxy's loop and wait for it."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(fn(), self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._serve, sock=sock, limit=_CHUNK)

    async def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _go_down(self) -> None:
        await self._close_listener()
        for client, upstream in list(self._conns):
            for w in (client, upstream):
                w.close()

    async def _reset_all(self) -> None:
        for client, upstream in list(self._conns):
            for w in (client, upstream):
                sock = w.get_extra_info("socket")
                if sock is not None:  # SO_LINGER 0: close sends RST
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.transport.abort()

    async def _shutdown(self) -> None:
        await self._go_down()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:  # closed connections end their pumps; cancel what is still waiting
            _done, pending = await asyncio.wait(tasks, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream, limit=_CHUNK)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._conns.add(pair)
        self.connections_total += 1
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except asyncio.CancelledError:
            pass  # the proxy is stopping: this task is its own, nobody awaits it
        finally:
            self._conns.discard(pair)
            for w in pair:
                w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if self._latency or self._jitter:
                    delay = self._latency + self._rng.uniform(-self._jitter, self._jitter)
                    await asyncio.sleep(max(0.0, delay))
                rate = self._rate
                if rate is not None:
                    await asyncio.sleep(len(data) / rate)
                if self._blackholed:
                    continue
                writer.write(data)
                await writer.drain()
                self.bytes_forwarded += len(data)
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            writer.close()
