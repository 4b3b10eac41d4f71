"""The endpoint-pool demo scenario: real loopback servers, one killed and restarted."""

from __future__ import annotations

import threading

import pytest

from resiliency._cli import main


@pytest.mark.timeout(60)
def test_pool_scenario_shows_health_flips_and_the_distribution(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps table cells to the terminal width
    threads_before = threading.active_count()
    assert main(["demo", "--no-live", "--scenario", "pool"]) == 0
    out = capsys.readouterr().out
    assert "Endpoint pool" in out
    assert "healthy -> unhealthy -> healthy" in out  # b's health flips
    assert "served a/b/c: 30/20/10 before" in out  # smooth weighted round robin, 3:2:1 over 60 calls
    assert "then 45/0/15;" in out  # b out of the pool: a and c share 3:1
    assert "then 30/20/10" in out  # b back
    assert threading.active_count() <= threads_before + 1  # servers stopped


def test_pool_scenario_is_listed() -> None:
    from resiliency._demo._scenarios import SCENARIOS

    assert "pool" in [s.name for s in SCENARIOS]
