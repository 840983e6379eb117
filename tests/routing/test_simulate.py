"""The simulator against the mathematics: Erlang C and Erlang A within batch-means confidence bounds."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from ccenter.cli import main
from routing.engine import AcdEngine, QueueStatistics
from routing.erlang import erlang_a_kpis, erlang_c_kpis
from routing.errors import ScenarioError
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAnswered,
    CallEnded,
    CallId,
    CallQueued,
    OfferCall,
    QueueConfig,
)
from routing.scenario import load_scenario, parse_scenario
from routing.simulate import simulate

SCENARIOS = Path(__file__).resolve().parents[2] / "resources" / "scenarios"
#: Student t quantile, two-sided 99 %, 19 degrees of freedom (20 batches).
T_99_19 = 2.861
BATCHES = 20


def scenario(
    agents: int, per_hour: float, aht: float, patience: float | None, hours: float, handle: str = "exponential"
) -> Any:
    q: dict[str, Any] = {
        "name": "q",
        "arrivals_per_hour": per_hour,
        "handle_time": {"distribution": handle, "mean_s": aht},
        "service_level_s": 20,
    }
    if patience is not None:
        q["patience"] = {"distribution": "exponential", "mean_s": patience}
    return parse_scenario(
        {"duration_hours": hours, "warmup_hours": 1, "queues": [q], "agents": [{"count": agents, "skills": {"q": 5}}]}
    )


def batch_interval(batches: list[dict[str, QueueStatistics]], figure: str) -> tuple[float, float]:
    """Mean and 99 % half-width of a figure over the batches (batch means method)."""
    values = []
    for batch in batches:
        s = batch["q"]
        if figure == "abandon_rate":
            values.append(s.abandoned / (s.answered + s.abandoned))
        else:
            value = getattr(s, figure)
            assert value is not None
            values.append(value)
    mean = statistics.fmean(values)
    half = T_99_19 * statistics.stdev(values) / math.sqrt(len(values))
    return mean, half


def test_single_queue_fifo_agrees_with_erlang_c() -> None:
    # 8 erlangs on 10 agents, callers never hang up: 400 simulated hours, ~64,000 calls.
    result = simulate(scenario(10, 160, 180, None, 401), seed=11, batches=BATCHES)
    theory = erlang_c_kpis(10, 160, 180, 20)
    for figure, expected, max_half in (
        ("service_level", theory.service_level, 0.05),
        ("p_wait", theory.p_wait, 0.06),
        ("asa_s", theory.asa_s, 0.25 * theory.asa_s),
    ):
        mean, half = batch_interval(result.batches, figure)
        assert half < max_half, f"{figure}: confidence interval too wide to prove anything ({half})"
        assert abs(mean - expected) <= half, f"{figure}: simulated {mean:.4f} ± {half:.4f}, Erlang C {expected:.4f}"
    assert result.occupancy == pytest.approx(theory.occupancy, abs=0.02)


def test_single_queue_with_patience_agrees_with_erlang_a() -> None:
    # The DESIGN.md scenario: 18 erlangs on 20 agents, mean patience 120 s; 150 simulated hours.
    result = simulate(scenario(20, 360, 180, 120, 151), seed=5, batches=BATCHES)
    theory = erlang_a_kpis(20, 360, 180, 120, 20)
    assert theory.abandon_rate is not None
    for figure, expected, max_half in (
        ("abandon_rate", theory.abandon_rate, 0.02),
        ("service_level", theory.service_level, 0.03),
        ("p_wait", theory.p_wait, 0.04),
        ("asa_s", theory.asa_s, 1.5),
    ):
        mean, half = batch_interval(result.batches, figure)
        assert half < max_half, f"{figure}: confidence interval too wide ({half})"
        assert abs(mean - expected) <= half, f"{figure}: simulated {mean:.4f} ± {half:.4f}, Erlang A {expected:.4f}"


def test_same_seed_same_figures_and_sample_scenario_runs_fast() -> None:
    loaded = load_scenario(SCENARIOS / "single_queue.yaml")
    first = simulate(loaded, seed=3)
    assert first.simulated_calls > 30_000  # 100 h at 360 calls/h
    assert simulate(loaded, seed=3).to_dict() == first.to_dict()
    assert simulate(loaded, seed=4).to_dict() != first.to_dict()


def test_agents_are_treated_fairly_under_longest_idle() -> None:
    # Constant handle times: the spread between agents comes from routing alone, not from luck.
    result = simulate(scenario(10, 160, 180, None, 30, handle="constant"), seed=2)
    handled = [h for h, _ in result.per_agent.values()]
    occupancy = [o for _, o in result.per_agent.values()]
    assert max(handled) - min(handled) <= 0.03 * statistics.fmean(handled)
    assert max(occupancy) - min(occupancy) < 0.03


def test_low_priority_call_is_not_starved_under_aging() -> None:
    """One agent, a high-priority call every 50 s taking 60 s each (overload), one low-priority call."""

    def run(aging: float) -> float | None:
        engine = AcdEngine([QueueConfig("q", aging_per_minute=aging, ring_timeout_s=None)])
        engine.handle(AgentLoggedOn(ts=0, agent_id=AgentId("a"), skills={"q": 5}, ready=False))
        engine.handle(CallQueued(ts=0, call_id=CallId("low"), queue="q", priority=0))
        engine.handle(CallQueued(ts=0, call_id=CallId("h0"), queue="q", priority=5))
        events: list[tuple[float, Any]] = [
            (50.0 * k, CallQueued(ts=50.0 * k, call_id=CallId(f"h{k}"), queue="q", priority=5)) for k in range(1, 200)
        ]
        events.append((1.0, AgentStateRequested(ts=1.0, agent_id=AgentId("a"), state=AgentStatus.READY)))
        while events:
            events.sort(key=lambda e: e[0])
            ts, item = events.pop(0)
            if isinstance(item, OfferCall):
                if item.call_id == "low":
                    return ts
                engine.handle(CallAnswered(ts=ts, call_id=item.call_id))
                events.append((ts + 60, CallEnded(ts=ts + 60, call_id=item.call_id)))
                continue
            events.extend((d.ts, d) for d in engine.handle(item) if isinstance(d, OfferCall))
        return None

    starved = run(aging=0.0)  # without aging: only once the high-priority stream has dried up
    assert starved is not None and starved > 199 * 50
    answered_at = run(aging=1.0)
    # It overtakes the high-priority calls that arrived after t = 300 s (5 priority points of aging).
    assert answered_at is not None and 300 < answered_at < 600


def test_simulate_command_prints_the_documented_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text((SCENARIOS / "single_queue.yaml").read_text().replace("duration_hours: 100", "duration_hours: 5"))
    assert main(["simulate", str(path), "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sales = out["queues"]["sales"]
    assert set(sales) >= {"offered", "answered", "abandoned", "service_level", "asa_s", "p_wait"}
    assert sales["offered"] == sales["answered"] + sales["abandoned"] + sales["waiting_at_end"]
    assert 0.6 < out["agents"]["occupancy"] < 1.0


def test_multi_queue_scenario_with_overflow_runs() -> None:
    result = simulate(load_scenario(SCENARIOS / "two_queues_overflow.yaml"), seed=1)
    assert set(result.queues) == {"sales", "support"}
    assert result.queues["sales"].answered > 0 and result.queues["support"].answered > 0


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        ({"queues": []}, "duration_hours", "is required"),
        ({"duration_hours": -1}, "duration_hours", "must be positive"),
        ({"duration_hours": 1, "queues": [], "agents": []}, "queues", "non-empty list"),
        (
            {
                "duration_hours": 1,
                "queues": [{"name": "s", "handle_time": {"mean_s": 5}}],
                "agents": [{"count": 1, "skills": {"s": 1}}],
            },
            "queues.s.arrivals_per_hour",
            "is required",
        ),
        (
            {
                "duration_hours": 1,
                "queues": [
                    {"name": "s", "arrivals_per_hour": 5, "handle_time": {"distribution": "gamma", "mean_s": 5}}
                ],
                "agents": [{"count": 1, "skills": {"s": 1}}],
            },
            "queues.s.handle_time.distribution",
            "must be exponential",
        ),
        (
            {
                "duration_hours": 1,
                "queues": [{"name": "s", "arrivals_per_hour": 5, "handle_time": {"mean_s": 5}}],
                "agents": [{"count": 1, "skills": {"t": 1}}],
            },
            "queues.s.skill",
            "no agent has skill 's'",
        ),
        (
            {
                "duration_hours": 1,
                "queues": [{"name": "s", "arrivals_per_hour": 5, "handle_time": {"mean_s": 5}}],
                "agents": [{"count": 0, "skills": {"s": 1}}],
            },
            "agents[0].count",
            "positive integer",
        ),
        (
            {
                "duration_hours": 1,
                "queues": [{"name": "s", "arrivals_per_hour": 5, "handle_time": {"mean_s": 5}, "wrapup": 3}],
                "agents": [{"count": 1, "skills": {"s": 1}}],
            },
            "queues.s.wrapup",
            "unknown key",
        ),
    ],
)
def test_bad_scenarios_name_the_key_and_reason(body: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(body)
    assert info.value.key == key
    assert reason in info.value.reason


def test_bad_scenario_file_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "duration_hours: 10\n"
        "queues: [{name: s, arrivals_per_hour: -3, handle_time: {mean_s: 5}}]\n"
        "agents: [{count: 1, skills: {s: 1}}]\n"
    )
    assert main(["simulate", str(path)]) == 1
    assert capsys.readouterr().err == "ccenter: error: queues.s.arrivals_per_hour: must be positive, got -3\n"
