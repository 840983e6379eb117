"""Outbound campaigns in ``ccenter simulate``: the real Pacer and ACD engine in simulated time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ccenter.cli import main
from routing.errors import ScenarioError
from routing.scenario import load_scenario, parse_scenario
from routing.simulate import simulate

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "scenarios" / "outbound_predictive.yaml"


def scenario(mode: str, **campaign: Any) -> dict[str, Any]:
    body = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    body["duration_hours"] = 6
    body["campaigns"][0].update({"dial_mode": mode, **campaign})
    return body


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_predictive_stays_under_the_abandon_cap_and_beats_progressive(seed: int) -> None:
    progressive = simulate(parse_scenario(scenario("progressive")), seed=seed).campaigns["spring"].to_dict()
    predictive = simulate(parse_scenario(scenario("predictive")), seed=seed).campaigns["spring"].to_dict()
    assert progressive["abandoned"] == 0  # a connected call always has its agent
    assert 0 < predictive["abandon_rate"] < 0.03
    assert predictive["contacts_per_agent_hour"] > 1.1 * progressive["contacts_per_agent_hour"]
    assert predictive["attempts"] > progressive["attempts"]
    # Connects are about the connect rate of the dials.
    assert 0.25 < predictive["connects"] / predictive["attempts"] < 0.35


def test_a_tighter_cap_gives_less_abandonment() -> None:
    loose = simulate(parse_scenario(scenario("predictive", abandon_target=0.05)), seed=4).campaigns["spring"]
    tight = simulate(parse_scenario(scenario("predictive", abandon_target=0.01)), seed=4).campaigns["spring"]
    assert tight.to_dict()["abandon_rate"] < loose.to_dict()["abandon_rate"] < 0.05
    assert tight.to_dict()["abandon_rate"] <= 0.01, "a 1 % cap holds too"
    assert tight.connects < loose.connects


@pytest.mark.parametrize(("cap", "seed"), [(0.03, 1), (0.03, 2), (0.01, 1), (0.01, 2)])
def test_pacing_uses_the_cap_to_keep_agents_busy_and_never_crosses_it(cap: float, seed: int) -> None:
    """The shipped scenario (20 agents, 120 s calls, 30 % connect, 15 s ring): the feedback aims at 90 % of
    the cap, so abandonment uses the cap without crossing it, and agents are busier than progressive's
    (84.8-85.3 % by seed with a 3 % cap, against 70 % progressive; about 91 % with 50 agents)."""
    body = scenario("predictive", abandon_target=cap)
    body["duration_hours"] = 10
    predictive = simulate(parse_scenario(body), seed=seed)
    body["campaigns"][0]["dial_mode"] = "progressive"
    progressive = simulate(parse_scenario(body), seed=seed)
    rate = predictive.campaigns["spring"].to_dict()["abandon_rate"]
    assert 0.6 * cap < rate <= cap, "the cap is used, never crossed"
    assert predictive.occupancy > progressive.occupancy + (0.1 if cap >= 0.03 else 0.05)
    if cap >= 0.03:
        assert predictive.occupancy > 0.845


@pytest.mark.parametrize("seed", [1, 3])
def test_with_fifty_agents_predictive_keeps_them_about_ninety_percent_busy(seed: int) -> None:
    body = scenario("predictive")
    body["duration_hours"] = 10
    body["agents"][0]["count"] = 50
    result = simulate(parse_scenario(body), seed=seed)
    spring = result.campaigns["spring"].to_dict()
    assert spring["abandon_rate"] <= 0.03 and spring["abandon_target"] == 0.03
    assert result.occupancy > 0.895


def test_the_model_of_agents_coming_free_keeps_twenty_agents_85_percent_busy_under_the_cap() -> None:
    """Over four seeds of the shipped scenario (20 agents, 120 s calls, 30 % connect, 15 s ring, 3 % cap),
    the pacer that dials each call whose chance of finding no agent is under its learned threshold keeps
    agents at least 85 % busy on average (84.8-85.3 % by seed), each seed under the cap (2.7-2.8 %).
    The margin in standard deviations it replaced reached 84.2 % (82.9-85.0 %) at 2.7 %."""
    body = scenario("predictive")
    body["duration_hours"] = 10
    runs = [simulate(parse_scenario(body), seed=seed) for seed in (1, 2, 3, 4)]
    rates = [r.campaigns["spring"].to_dict()["abandon_rate"] for r in runs]
    assert all(0.6 * 0.03 < rate <= 0.03 for rate in rates), rates
    assert sum(r.occupancy for r in runs) / len(runs) >= 0.85, [r.occupancy for r in runs]


def test_list_runs_out() -> None:
    result = simulate(parse_scenario(scenario("progressive", list_size=50)), seed=1).campaigns["spring"]
    assert result.list_remaining == 0 and result.attempts <= 50


def test_json_reports_the_outbound_kpis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(SAMPLE), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    spring = body["campaigns"]["spring"]
    assert {"attempts", "connects", "abandon_rate", "contacts_per_agent_hour"} <= set(spring)
    assert spring["dial_mode"] == "predictive" and spring["abandon_rate"] < spring["abandon_target"] == 0.03
    assert 0.8 < body["agents"]["occupancy"] < 1.0
    assert body["queues"]["sales"]["answered"] == spring["connects"]
    assert load_scenario(SAMPLE).campaigns[0].queue == "sales"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"queue": "nowhere"}, "campaigns.spring.queue"),
        ({"dial_mode": "preview"}, "campaigns.spring.dial_mode"),
        ({"list_size": 0}, "campaigns.spring.list_size"),
        ({"connect_rate": 0.8, "answering_machine_rate": 0.5}, "campaigns.spring.connect_rate"),
        ({"abandon_target": 1.5}, "campaigns.spring.abandon_target"),
        ({"pace": 2}, "campaigns.spring.pace"),
    ],
)
def test_bad_campaigns_are_refused_with_the_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario("predictive", **change))
    assert info.value.key == key
