"""The demo (the README's main job) runs every scenario against real loopback servers."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from resiliency._cli import main


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
    assert "3 real failures" in out
    assert "served by" in out
    assert threading.active_count() <= threads_before + 1  # servers stopped


def test_demo_refuses_the_same_name_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-live", "--down", "a", "--slow", "a", "--flaky", "b", "--scenario", "all"]) == 2
    assert "three different names" in capsys.readouterr().out


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
