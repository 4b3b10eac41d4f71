"""Real redis-server fixtures: one server, a throw-away server to kill, a 3-master cluster.

- ``redis_server`` (session): one ``redis-server`` on a free loopback port; tests use
  ``redis_url`` / ``redis_client`` which flush it first.
- ``redis_fresh`` (function): a server of the test's own, with ``kill()`` (SIGKILL) and
  ``restart()`` (same port), for outage tests.
- ``redis_cluster`` (session): three ``redis-server --cluster-enabled yes`` joined by
  ``redis-cli --cluster create``, ready once every node reports ``cluster_state:ok``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from . import free_port, require_binary, stop_process, wait_until

__all__ = ["RedisCluster", "RedisServer"]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 <= 65535 and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisServer:
    """A ``redis-server`` process on 127.0.0.1 (no persistence)."""

    def __init__(self, *, port: int | None = None, cluster: bool = False) -> None:
        self.binary = require_binary("redis-server", "redis-server")
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self.cluster = cluster
        self._dir = tempfile.TemporaryDirectory(prefix="resiliency-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        import redis

        args = [self.binary, "--port", str(self.port), "--bind", self.host, "--save", "", "--appendonly", "no"]
        args += ["--dir", self._dir.name, "--protected-mode", "no"]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf"]
            args += ["--cluster-node-timeout", "3000"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            with redis.Redis(host=self.host, port=self.port, socket_timeout=1) as client:
                return bool(client.ping())

        wait_until(ready, timeout=20.0, what=f"redis-server on port {self.port}")

    def kill(self) -> None:
        """SIGKILL the server (connections drop at once; nothing is saved)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        """Start it again on the same port (empty: no persistence)."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.proc is not None:
            stop_process(self.proc)
        self._dir.cleanup()


class RedisCluster:
    """Three cluster-enabled ``redis-server`` masters on loopback, joined into one cluster."""

    def __init__(self) -> None:
        self.nodes = [RedisServer(port=_cluster_port(), cluster=True) for _ in range(3)]

    @property
    def host(self) -> str:
        """The nodes' address."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The first node's port (any node serves as a startup node)."""
        return self.nodes[0].port

    def start(self) -> None:
        """Start the nodes, create the cluster and wait for ``cluster_state:ok`` everywhere."""
        import redis

        cli = require_binary("redis-cli", "redis-tools")
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

        def ok() -> bool:
            for node in self.nodes:
                with redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=1) as client:
                    info = client.execute_command("CLUSTER INFO")
                    state = info.get("cluster_state") if isinstance(info, dict) else None
                    if state is None:  # a raw reply: "cluster_state:ok\r\n..."
                        text = info.decode() if isinstance(info, bytes) else str(info)
                        state = "ok" if "cluster_state:ok" in text else "fail"
                    if state not in ("ok", b"ok"):
                        return False
            return True

        wait_until(ok, timeout=30.0, what="redis cluster")

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (use ``redis_url`` to get it flushed)."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session server's URL, flushed for this test."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def redis_fresh() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to kill and restart."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A real 3-master Redis Cluster on loopback, for the session."""
    cluster = RedisCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
