"""A real DNS server (Debian's ``dnsmasq``) serving SRV records, and loopback HTTP servers.

``dns_server`` starts ``dnsmasq`` on a free loopback port with the ``--srv-host``
records a test gives it, waits until it answers a DNS query, and can change its records
(a restart on the same port, as an operator would) or stop it. ``health_servers`` makes
small HTTP servers on loopback whose ``/health`` answer a test can switch, and that can
be stopped (port closed) and started again on the same port: the endpoints of the
endpoint-pool tests.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from . import free_port, require_binary, stop_process, wait_until

__all__ = ["DnsServer", "HealthServer", "SrvRecord"]

# (name, target, port, priority, weight), as dnsmasq's --srv-host takes them
SrvRecord = tuple[str, str, int, int, int]


class DnsServer:
    """A ``dnsmasq`` process on 127.0.0.1 serving ``records`` (restartable on its port)."""

    def __init__(self, binary: str, records: Sequence[SrvRecord] = ()) -> None:
        self.binary = binary
        self.port = free_port()
        self.records = list(records)
        self.proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        command = [
            self.binary,
            "--no-daemon",
            f"--port={self.port}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--txt-record=ready.test,ok",
        ]
        command += [f"--srv-host={n},{t},{p},{prio},{w}" for n, t, p, prio, w in self.records]
        return command

    def ready(self) -> bool:
        """Whether the server answers a DNS query."""
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 0.5
        return len(resolver.resolve("ready.test", "TXT")) > 0

    def start(self) -> DnsServer:
        """Start dnsmasq and wait until it answers."""
        self.proc = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(self.ready, timeout=20.0, what="dnsmasq")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop dnsmasq (queries then time out)."""
        if self.proc is not None:
            stop_process(self.proc)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None

    def set_records(self, records: Sequence[SrvRecord]) -> None:
        """Serve ``records`` instead: restart dnsmasq on the same port."""
        self.stop()
        self.records = list(records)
        self.start()


@pytest.fixture
def dns_server() -> Iterator[Callable[..., DnsServer]]:
    """A factory: ``dns_server(records)`` starts a dnsmasq serving them; all stop after the test."""
    binary = require_binary("dnsmasq", "dnsmasq")
    started: list[DnsServer] = []

    def start(records: Sequence[SrvRecord] = ()) -> DnsServer:
        server = DnsServer(binary, records).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class HealthServer:
    """A loopback HTTP server: ``GET /health`` answers ``status``; any other path answers 200 with the port.

    With ``keep_alive`` it speaks HTTP/1.1 and keeps connections open; ``drop_every``
    closes a kept connection after that many requests without saying so (as a server
    whose idle timeout passed). ``connections`` counts the connections accepted.
    """

    def __init__(self, port: int | None = None, *, keep_alive: bool = False, drop_every: int | None = None) -> None:
        self.port = port or free_port()
        self.status = 200
        self.hits = 0
        self.connections = 0
        self.keep_alive = keep_alive
        self.drop_every = drop_every
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """ "127.0.0.1:port"."""
        return f"127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if owner.keep_alive else "HTTP/1.0"

            def setup(self) -> None:
                owner.connections += 1
                self.served = 0
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                owner.hits += 1
                self.served += 1
                if owner.drop_every is not None and self.served >= owner.drop_every:
                    self.close_connection = True  # without a Connection: close header
                status = owner.status if self.path == "/health" else 200
                body = str(owner.port).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self) -> HealthServer:
        """Listen on ``port`` (again, after ``stop``)."""
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name=f"health-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None


@pytest.fixture
def health_servers() -> Iterator[Callable[..., list[HealthServer]]]:
    """A factory: ``health_servers(n, **options)`` starts n loopback HTTP servers; all stop after the test."""
    made: list[HealthServer] = []

    def start(count: int, **options: Any) -> list[HealthServer]:
        servers = [HealthServer(**options).start() for _ in range(count)]
        made.extend(servers)
        return servers

    yield start
    for server in made:
        server.stop()
