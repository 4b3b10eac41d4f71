"""Discovery: a static list, and DNS SRV records served by a real dnsmasq (changed and restarted)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from servers.dns_server import DnsServer

from resiliency import DnsSrvDiscovery, Endpoint, EndpointPool, Registry, StaticDiscovery

NAME = "_http._tcp.web.test"


def test_static_discovery(registry: Registry) -> None:
    endpoints = [Endpoint("a", "10.0.0.1:80"), Endpoint("b", "10.0.0.2:80")]
    pool = EndpointPool("static", discovery=StaticDiscovery(endpoints), registry=registry)
    assert pool.endpoints() == []
    with pool:
        assert pool.endpoints() == endpoints
    with pytest.raises(TypeError, match="endpoints"):
        StaticDiscovery(["a"])  # type: ignore[list-item]


def test_refresh_needs_a_discovery(registry: Registry) -> None:
    with pytest.raises(TypeError, match="no discovery"):
        EndpointPool("nodisc", registry=registry).refresh_sync()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"port": 0}, ValueError, "port"),
        ({"refresh": 0}, ValueError, "refresh"),
        ({"nameservers": "127.0.0.1"}, TypeError, "nameservers"),
    ],
)
def test_dns_discovery_bad_arguments(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        DnsSrvDiscovery(NAME, **kwargs)


def test_dnspython_is_imported_only_when_srv_discovery_resolves() -> None:
    code = (
        "import sys, resiliency; resiliency.DnsSrvDiscovery('x.test'); "
        "print('dns' in sys.modules or any(m.startswith('dns.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


class FlakySource:
    """A custom discovery (the protocol): fails when told to."""

    refresh = 0.01

    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints
        self.fail = False
        self.calls = 0

    async def resolve(self) -> list[Endpoint]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("registry unreachable")
        return list(self.endpoints)


@pytest.mark.anyio
async def test_custom_discovery_refreshes_and_keeps_last_known_on_failure(registry: Registry) -> None:
    source = FlakySource([Endpoint("a", "10.0.0.1:80")])
    pool = EndpointPool("custom", [Endpoint("manual", "10.9.9.9:80")], discovery=source, registry=registry)
    async with pool:
        assert [e.id for e in pool.endpoints()] == ["manual", "a"]
        source.endpoints = [Endpoint("b", "10.0.0.2:80")]
        with anyio.fail_after(20):
            while [e.id for e in pool.endpoints()] != ["manual", "b"]:
                await anyio.sleep(0.01)
        source.fail = True
        seen = source.calls
        with anyio.fail_after(20):
            while source.calls < seen + 3:
                await anyio.sleep(0.01)
        assert [e.id for e in pool.endpoints()] == ["manual", "b"]  # kept: the manual one and the last known
    with pytest.raises(ConnectionError):
        await pool.refresh()
    assert [e.id for e in pool.endpoints()] == ["manual", "b"]


# -- a real DNS server --------------------------------------------------------------------


def ids(pool: EndpointPool) -> list[str]:
    return sorted(e.id for e in pool.endpoints())


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.mark.anyio
async def test_srv_records_become_endpoints(registry: Registry, dns_server: Callable[..., DnsServer]) -> None:
    server = dns_server(
        [(NAME, "127.0.0.1", 8001, 0, 5), (NAME, "127.0.0.1", 8002, 0, 1), (NAME, "127.0.0.2", 9000, 1, 0)]
    )
    discovery = DnsSrvDiscovery(NAME, nameservers=["127.0.0.1"], port=server.port, timeout=5.0)
    found = await discovery.resolve()
    assert [(e.id, e.address, e.weight, e.priority) for e in found] == [
        ("127.0.0.1:8001", "127.0.0.1:8001", 5.0, 0),
        ("127.0.0.1:8002", "127.0.0.1:8002", 1.0, 0),
        ("127.0.0.2:9000", "127.0.0.2:9000", 0.01, 1),  # weight 0: a very small share
    ]
    pool = EndpointPool("web", discovery=discovery, strategy="weighted", registry=registry)
    await pool.refresh()
    picks = [pool.select().id for _ in range(60)]
    assert picks.count("127.0.0.1:8001") == 50  # weight 5 of 6 in the lowest priority
    assert "127.0.0.2:9000" not in picks  # priority 1 is used only when priority 0 has nothing usable


def test_endpoints_appear_and_leave_as_records_change(
    registry: Registry, dns_server: Callable[..., DnsServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = dns_server([(NAME, "127.0.0.1", 8001, 0, 1), (NAME, "127.0.0.1", 8002, 0, 1)])
    discovery = DnsSrvDiscovery(NAME, nameservers=["127.0.0.1"], port=server.port, refresh=0.05, timeout=0.5)
    pool = EndpointPool("live", discovery=discovery, registry=registry)
    with pool:
        assert ids(pool) == ["127.0.0.1:8001", "127.0.0.1:8002"]
        server.set_records([(NAME, "127.0.0.1", 8002, 0, 1), (NAME, "127.0.0.1", 8003, 0, 3)])
        wait_for(lambda: ids(pool) == ["127.0.0.1:8002", "127.0.0.1:8003"])
        assert pool.get("127.0.0.1:8003").weight == 3.0
        server.stop()  # the DNS server is gone: refreshes fail, the last known endpoints stay
        caplog.clear()
        wait_for(lambda: sum("refresh failed" in r.getMessage() for r in caplog.records) >= 2)
        assert ids(pool) == ["127.0.0.1:8002", "127.0.0.1:8003"]
        server.set_records([(NAME, "127.0.0.1", 8004, 0, 1)])  # back, with other records
        wait_for(lambda: ids(pool) == ["127.0.0.1:8004"])
    kinds = [type(e).__name__ for e in pool.events(1000)]
    assert kinds.count("EndpointDeregistered") == 3
    assert kinds.count("EndpointRegistered") == 4


def test_unknown_name_fails_the_refresh(registry: Registry, dns_server: Callable[..., DnsServer]) -> None:
    import dns.exception

    server = dns_server([(NAME, "127.0.0.1", 8001, 0, 1)])
    discovery = DnsSrvDiscovery("_nope._tcp.web.test", nameservers=["127.0.0.1"], port=server.port, timeout=2.0)
    pool = EndpointPool("nx", [Endpoint("kept", "10.0.0.1:80")], discovery=discovery, registry=registry)
    with pytest.raises(dns.exception.DNSException):
        pool.refresh_sync()
    assert ids(pool) == ["kept"]
