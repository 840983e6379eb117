"""``ccenter acd explain`` on a scenario stopped at a moment in simulated time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccenter.cli import main

SCENARIO = str(Path(__file__).resolve().parents[2] / "resources" / "scenarios" / "single_queue.yaml")


def test_explain_waiting_calls(capsys: pytest.CaptureFixture[str]) -> None:
    # Seed 1 at 5134 s: all 20 agents are on calls and two callers wait.
    assert main(["acd", "explain", SCENARIO, "--at", "5134", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queues"]["sales"]["waiting"] == 2
    first, second = out["explanations"]
    assert first["data"]["status"] == "queued" and first["data"]["calls_ahead"] == 0
    assert second["data"]["calls_ahead"] == 1
    assert first["data"]["eligible_agents"] == {"on_call": 20}
    assert "the 20 eligible agents are 20 on_call" in first["text"]


def test_explain_an_answered_call_and_an_agent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acd", "explain", SCENARIO, "--at", "5134", "--call", "c400", "--agent", "g0-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("- Call c400 went to agent g0-")
    assert lines[2].startswith("- Agent g0-1 is on_call with call c")


def test_explain_unknown_call_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acd", "explain", SCENARIO, "--at", "100", "--call", "nope"]) == 1
    assert capsys.readouterr().err == "ccenter: error: unknown call 'nope'\n"
