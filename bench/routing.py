"""ACD routing benchmark: decisions per second and decision latency, and simulator speed.

``python -m bench.routing`` prints the figures; ``run(quick=True)`` is what ``python -m bench`` calls
for a fast pass. The engine is driven exactly as in production, one event at a time, on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from routing.engine import AcdEngine
from routing.model import (
    AgentId,
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAnswered,
    CallEnded,
    CallId,
    CallQueued,
    Decision,
    OfferCall,
    QueueConfig,
)
from routing.scenario import parse_scenario
from routing.simulate import simulate

Row = tuple[str, float, str]


def _offer(decisions: list[Decision]) -> OfferCall | None:
    for d in decisions:
        if isinstance(d, OfferCall):
            return d
    return None


def _busy_center(agents: int, skills: int, waiting: int, measured: int, seed: int) -> tuple[float, list[float]]:
    """All agents busy, ``waiting`` calls queued: each call end frees an agent, who takes the best call.

    Every cycle feeds three events (a new call arrives, the offered call is answered, an agent's call
    ends, which yields the next offer), so throughput counts all the engine work per decision.
    """
    rng = random.Random(seed)
    names = [f"s{k}" for k in range(skills)]
    engine = AcdEngine(
        [QueueConfig(n, aging_per_minute=rng.choice((0.0, 0.5, 1.0)), ring_timeout_s=None) for n in names]
    )
    calls = 0

    def new_call(now: float) -> list[Decision]:
        nonlocal calls
        calls += 1
        return engine.handle(
            CallQueued(ts=now, call_id=CallId(f"c{calls}"), queue=rng.choice(names), priority=rng.randrange(10))
        )

    for a in range(agents):
        agent_skills = {s: rng.randint(1, 10) for s in rng.sample(names, 3)}
        engine.handle(AgentLoggedOn(ts=0.0, agent_id=AgentId(f"a{a}"), skills=agent_skills, ready=False))
    for _ in range(waiting):
        new_call(0.0)
    # Every agent becomes ready once and takes a call: now all are on calls and `waiting` remain.
    on_call: list[CallId] = []
    now = 1.0
    for a in range(agents):
        offer = _offer(engine.handle(AgentStateRequested(ts=now, agent_id=AgentId(f"a{a}"), state=AgentStatus.READY)))
        if offer is not None:
            engine.handle(CallAnswered(ts=now, call_id=offer.call_id))
            on_call.append(offer.call_id)
        new_call(now)
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    decisions = 0
    for _ in range(measured):
        now += 0.01
        new_call(now)
        index = rng.randrange(len(on_call))
        ending = on_call[index]
        t0 = clock()
        decisions_out = engine.handle(CallEnded(ts=now, call_id=ending))
        latencies.append(clock() - t0)
        offer = _offer(decisions_out)
        if offer is None:
            on_call.pop(index)
            continue
        decisions += 1
        engine.handle(CallAnswered(ts=now, call_id=offer.call_id))
        on_call[index] = offer.call_id
        engine.forget_call(ending)
    elapsed = clock() - started
    return decisions / elapsed, latencies


def _idle_center(agents: int, skills: int, measured: int, seed: int) -> tuple[float, list[float]]:
    """Agents waiting for calls: each arriving call picks the longest-idle eligible agent."""
    rng = random.Random(seed)
    names = [f"s{k}" for k in range(skills)]
    engine = AcdEngine([QueueConfig(n, ring_timeout_s=None) for n in names])
    for a in range(agents):
        agent_skills = {s: rng.randint(1, 10) for s in rng.sample(names, 3)}
        engine.handle(AgentLoggedOn(ts=0.0, agent_id=AgentId(f"a{a}"), skills=agent_skills))
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    decisions = 0
    now = 1.0
    for k in range(measured):
        now += 0.01
        call_id = CallId(f"c{k}")
        t0 = clock()
        out = engine.handle(CallQueued(ts=now, call_id=call_id, queue=rng.choice(names), priority=rng.randrange(10)))
        latencies.append(clock() - t0)
        offer = _offer(out)
        if offer is not None:
            decisions += 1
            engine.handle(CallAnswered(ts=now, call_id=call_id))
            engine.handle(CallEnded(ts=now, call_id=call_id))
        engine.forget_call(call_id)
    return decisions / (clock() - started), latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    measured = 5_000 if quick else 50_000
    for label, agents, waiting in (("2k agents/50 skills/5k calls", 2_000, 5_000), ("10x", 20_000, 50_000)):
        rate, lat = _busy_center(agents, 50, waiting, measured, seed=1)
        rows.append((f"routing decisions/s, agent frees, {label}", rate, "decisions/s"))
        rows.append((f"decision latency p50, agent frees, {label}", statistics.median(lat) * 1e6, "µs"))
        rows.append((f"decision latency p99, agent frees, {label}", _percentile(lat, 0.99) * 1e6, "µs"))
    for label, agents in (("2k idle agents/50 skills", 2_000), ("10x", 20_000)):
        rate, lat = _idle_center(agents, 50, measured, seed=2)
        rows.append((f"routing decisions/s, call arrives, {label}", rate, "decisions/s"))
        rows.append((f"decision latency p99, call arrives, {label}", _percentile(lat, 0.99) * 1e6, "µs"))
    hours = 20 if quick else 100
    scenario = parse_scenario(
        {
            "duration_hours": hours,
            "queues": [
                {
                    "name": "sales",
                    "arrivals_per_hour": 360,
                    "handle_time": {"distribution": "exponential", "mean_s": 180},
                    "patience": {"distribution": "exponential", "mean_s": 120},
                }
            ],
            "agents": [{"count": 20, "skills": {"sales": 5}}],
        }
    )
    started = time.perf_counter()
    result = simulate(scenario, seed=1)
    elapsed = time.perf_counter() - started
    rows.append(("simulator speed, 1 queue, 20 agents", result.simulated_calls / elapsed, "simulated calls/s"))
    rows.append((f"simulator wall time for {hours} simulated hours", elapsed, "s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    if args.json:
        print(json.dumps([{"figure": f, "value": v, "unit": u} for f, v, u in rows], indent=2))
        return
    for figure, value, unit in rows:
        print(f"{figure:<60} {value:>14,.1f} {unit}")


if __name__ == "__main__":
    main()
