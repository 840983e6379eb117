"""``ccenter loadtest`` briefly: the gateway, the ACD and scripted desktops in processes of their own
over the real broker, every figure reported, nothing lost and no call offered twice."""

from __future__ import annotations

import pytest

from ccenter.cli import main
from ccenter.loadtest import run_load

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(300)]


def test_a_short_load_routes_every_call_once_and_loses_nothing(mqtt_url: str) -> None:
    result = run_load(mqtt_url, agents=20, duration_s=6.0, handle_s=1.5, arrivals_per_s=4.0)
    assert result.offered > 10 and result.routed == result.offered == result.answered
    assert result.lost == 0 and result.double_offers == 0 and result.command_failures == 0
    # alerting, answered and ended reach the agent of every call, at least
    assert result.events_to_desktops >= 3 * result.routed
    assert 0 < result.latency_p50_ms <= result.latency_p99_ms
    assert result.answer_p50_ms > 0 and result.command_errors == []
    # agents take more than one call each: the turn from a call's end to the next is measured
    assert 0 < result.next_call_p50_ms <= result.next_call_p99_ms
    assert result.logon_s > 0 and set(result.processes) == {"acd", "cti-gateway", "desktops"}
    assert all(usage["peak_mb"] > 10 and usage["cpu_percent"] > 0 for usage in result.processes.values())


def test_loadtest_needs_a_broker(capsys) -> None:
    assert main(["loadtest", "--mqtt", "inproc://"]) == 1
    assert "runs processes joined by a broker" in capsys.readouterr().err
