"""The demo (the README's main job) runs every scenario against real loopback servers."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import anyio
import httpx
import pytest

from resiliency._cli import main
from resiliency._demo._servers import Fault, ProviderServer
from resiliency._demo._tracker import Tracker
from resiliency._errors import CircuitOpenError
from resiliency._failover import ProviderContext


def test_help_lists_every_scenario_and_flag() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "resiliency", "demo", "--help"], capture_output=True, text=True, check=False, timeout=30
    )
    assert process.returncode == 0
    for word in ("sequential", "any", "all", "breaker", "hedging", "--down", "--slow", "--flaky", "--hedge-delay"):
        assert word in process.stdout


@pytest.mark.timeout(60)
def test_demo_runs_every_scenario_and_exits_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells to the terminal width
    threads_before = threading.active_count()
    code = main(["demo", "--no-live", "--latency", "0.1", "--hedge-delay", "0.03"])
    out = capsys.readouterr().out
    assert code == 0
    for title in ("Sequential failover", "Parallel-any", "Parallel-all", "Circuit breaker", "Hedging"):
        assert title in out
    # sequential: the down provider fails its two attempts, the next one serves
    assert "HTTP 503 x2" in out
    # the breaker opens on the down provider and then skips it without a request
    assert "skipped: circuit open" in out
    assert "3 real failures (3 requests), then skipped" in out
    assert "served by" in out
    # each panel states what its columns count, and the hedging panel that it was narrowed
    assert out.count("ms per call: its time in one call") == 6  # one legend per scenario
    assert "narrowed to two providers" in out
    # the servers' summary tells abandoned requests (cancelled losers) from served ones
    assert "abandoned (not served)" in out
    counts = re.findall(r"received (\d+): (\d+) answered ok, (\d+) answered with an error, (\d+) abandoned", out)
    assert len(counts) == 3
    for received, ok, failed, abandoned in counts:  # every request is in exactly one column
        assert int(received) == int(ok) + int(failed) + int(abandoned)
    assert threading.active_count() <= threads_before + 1  # servers stopped


def test_demo_refuses_the_same_name_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-live", "--down", "a", "--slow", "a", "--flaky", "b", "--scenario", "all"]) == 2
    assert "three different names" in capsys.readouterr().out


# -- issue 9, item 17: each column means one thing ------------------------------------------


class Ticks:
    """A clock for the tracker: seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ctx(provider: str, attempt: int, duration: float, delay: float = 0.0) -> ProviderContext:
    return ProviderContext(provider, "download", attempt, duration, delay, (), {}, "storage")


def attempt(tracker: Tracker, ticks: Ticks, provider: str, n: int, seconds: float, *, ok: bool) -> None:
    """One attempt that sends a request and takes ``seconds``."""
    tracker.started(provider)
    tracker.sent(provider)
    ticks.now += seconds
    if ok:
        tracker.on_success(ctx(provider, n, seconds), {})
    else:
        tracker.on_fail(ctx(provider, n, seconds), ConnectionError("503"))


def test_latency_is_per_call_not_summed_across_calls() -> None:
    ticks = Ticks()
    tracker = Tracker(clock=ticks)
    tracker.begin("Circuit breaker", ["s3", "r2"])
    for call in range(5):
        if call:
            tracker.new_call()
        if call < 2:
            attempt(tracker, ticks, "s3", 1, 0.003, ok=False)
            ticks.now += 0.05  # backoff
            attempt(tracker, ticks, "s3", 2, 0.003, ok=False)
        else:  # rejected at once by the open breaker: no start, no request
            tracker.on_fail(ctx("s3", 1, 0.0), CircuitOpenError(None, 30.0))
        attempt(tracker, ticks, "r2", 1, 0.4, ok=True)
    s3, r2 = tracker.rows["s3"], tracker.rows["r2"]
    assert (s3.calls, s3.attempts, s3.requests) == (5, 7, 4)
    assert s3.call_ms == pytest.approx([56.0, 56.0, 0.0, 0.0, 0.0])
    assert s3.ms_per_call == pytest.approx(22.4)  # not 112 ms summed, nor the whole scenario
    assert (r2.calls, r2.attempts, r2.requests) == (5, 5, 5)
    assert r2.ms_per_call == pytest.approx(400.0)


def test_a_race_loser_counts_its_attempt_and_request() -> None:
    ticks = Ticks()
    tracker = Tracker(clock=ticks)
    tracker.begin("Parallel-any", ["r2", "gcs"])
    tracker.started("r2")
    tracker.sent("r2")
    attempt(tracker, ticks, "gcs", 1, 0.006, ok=True)
    tracker.cancel_running()
    r2 = tracker.rows["r2"]
    assert (r2.calls, r2.attempts, r2.requests, r2.outcome) == (1, 1, 1, "cancelled (lost the race)")
    assert r2.ms_per_call == pytest.approx(6.0)


def test_a_narrowed_view_drops_the_rows_left_out() -> None:
    tracker = Tracker()
    tracker.begin("Hedging", ["s3", "r2", "gcs"])
    tracker.narrow(["r2", "gcs"], "narrowed to two providers")
    assert list(tracker.rows) == ["r2", "gcs"]
    assert tracker.note == "narrowed to two providers"


@pytest.mark.anyio
async def test_a_request_the_client_gave_up_on_is_abandoned_not_served() -> None:
    server = ProviderServer("r2", Fault("slow", latency=0.3)).start()
    try:
        async with httpx.AsyncClient() as client:
            with anyio.move_on_after(0.02):  # a loser of a race: cancelled mid-request
                await client.get(server.url + "/objects/a")
            assert (await client.get(server.url + "/objects/b")).status_code == 200
        deadline = time.monotonic() + 10
        while server.stats.abandoned == 0 and time.monotonic() < deadline:
            await anyio.sleep(0.005)
    finally:
        server.stop()
    stats = server.stats
    assert (stats.requests, stats.ok, stats.failures, stats.abandoned) == (2, 1, 0, 1)
@pytest.mark.timeout(60)
def test_demo_serves_prometheus_metrics_while_it_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    import urllib.error
    import urllib.request

    from servers import free_port

    monkeypatch.setenv("COLUMNS", "200")
    port = free_port()
    result: list[int] = []
    demo = threading.Thread(
        target=lambda: result.append(main(["demo", "--no-live", "--latency", "0.1", "--metrics", str(port)]))
    )
    demo.start()
    scraped: list[str] = []
    while demo.is_alive():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                scraped.append(response.read().decode())
        except urllib.error.HTTPError as error:
            error.close()
        except OSError:
            pass  # not serving yet, or already stopped
        time.sleep(0.02)
    demo.join()
    assert result == [0]
    assert f"metrics: http://127.0.0.1:{port}/metrics" in capsys.readouterr().out
    assert any('failover_provider_calls_total{group="storage"' in body for body in scraped)
    assert any('circuit_breaker_state{name="storage.' in body for body in scraped)
