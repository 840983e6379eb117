"""A queue that overflows to itself, or whose fallback queues come back round, is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ccenter.cli import main
from routing.acd_config import parse_acd_config
from routing.errors import ScenarioError
from routing.scenario import parse_scenario

AGENTS = [{"id": "a1", "skills": {"sales": 5}}]


def test_overflow_to_itself_is_refused() -> None:
    body = {"queues": [{"name": "sales", "overflow_after_s": 30, "overflow_to": ["sales"]}], "agents": AGENTS}
    with pytest.raises(ScenarioError, match=r"queues.sales.overflow_to.*cannot overflow to itself"):
        parse_acd_config(body)


@pytest.mark.parametrize(
    ("links", "loop"),
    [
        ({"sales": "sales"}, "sales -> sales"),
        ({"sales": "billing", "billing": "sales"}, "sales -> billing -> sales"),
        ({"sales": "billing", "billing": "support", "support": "billing"}, "billing -> support -> billing"),
    ],
)
def test_fallback_loops_are_refused(links: dict[str, str], loop: str) -> None:
    queues = [
        {"name": name, "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": target}
        for name, target in links.items()
    ]
    queues += [{"name": n} for n in {"billing", "support"} - set(links)]
    with pytest.raises(ScenarioError, match=f"fallback queues loop: {loop}"):
        parse_acd_config({"queues": queues, "agents": AGENTS})


def test_a_chain_of_fallbacks_and_mutual_overflow_are_fine() -> None:
    config = parse_acd_config({
        "queues": [
            {"name": "sales", "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": "billing",
             "overflow_after_s": 20, "overflow_to": ["billing"]},
            {"name": "billing", "max_wait_s": 60, "fallback": "overflow_queue", "fallback_queue": "support",
             "overflow_after_s": 20, "overflow_to": ["sales"]},
            {"name": "support"},
        ],
        "agents": AGENTS,
    })
    assert [q.name for q in config.queues] == ["sales", "billing", "support"]


def test_simulator_scenarios_with_a_loop_are_refused_by_ccenter_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same check for `ccenter simulate`: a loop made its statistics show 601 calls as 1,076,201 offered."""
    scenario = tmp_path / "loop.yaml"
    scenario.write_text(
        "duration_hours: 1\n"
        "queues:\n"
        "  - {name: sales, arrivals_per_hour: 60, handle_time: {distribution: exponential, mean_s: 60},\n"
        "     max_wait_s: 30, fallback: overflow_queue, fallback_queue: billing}\n"
        "  - {name: billing, arrivals_per_hour: 60, handle_time: {distribution: exponential, mean_s: 60},\n"
        "     max_wait_s: 30, fallback: overflow_queue, fallback_queue: sales}\n"
        "agents:\n"
        "  - {count: 1, skills: {sales: 5, billing: 5}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"queues.sales.fallback_queue: fallback queues loop: sales -> billing"):
        parse_scenario(yaml.safe_load(scenario.read_text(encoding="utf-8")))
    assert main(["simulate", str(scenario), "--json"]) != 0
    err = capsys.readouterr().err.strip()
    assert "fallback queues loop: sales -> billing -> sales" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_a_scenario_overflowing_to_itself_is_refused() -> None:
    body = {
        "duration_hours": 1,
        "queues": [{"name": "sales", "arrivals_per_hour": 60, "handle_time": {"distribution": "exponential",
                                                                             "mean_s": 60},
                    "overflow_after_s": 30, "overflow_to": "sales"}],
        "agents": [{"count": 1, "skills": {"sales": 5}}],
    }
    with pytest.raises(ScenarioError, match=r"queues.sales.overflow_to.*cannot overflow to itself"):
        parse_scenario(body)
