"""Predictive pacing on the shipped outbound scenario (``resources/scenarios/outbound_predictive.yaml``:
120 s exponential calls, 30 % connect, 15 s ring, abandoned after 2 s without an agent), run by
``routing.simulate`` with the real ``Pacer`` and ACD engine: agent occupancy, contacts per agent hour and
abandonment beside the cap, as the mean and the range over the same seeds for every variant (the same
simulated population), with progressive dialling for comparison.

``python -m bench --only pacing`` (``--quick``: two seeds of four hours instead of four of ten).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from routing.scenario import parse_scenario
from routing.simulate import simulate

SCENARIO = Path(__file__).resolve().parents[1] / "resources" / "scenarios" / "outbound_predictive.yaml"

#: (agents, dial mode, abandonment cap) measured.
VARIANTS = ((20, "predictive", 0.03), (50, "predictive", 0.03), (20, "predictive", 0.01), (20, "progressive", 0.03))


def _body(agents: int, mode: str, cap: float, hours: float) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    body["duration_hours"] = hours
    body["agents"][0]["count"] = agents
    body["campaigns"][0].update({"dial_mode": mode, "abandon_target": cap})
    return body


def _spread(values: list[float], scale: float = 100.0) -> str:
    return f"{sum(values) / len(values) * scale:.2f} ({min(values) * scale:.2f}-{max(values) * scale:.2f})"


def run(quick: bool = False) -> list[tuple[str, object, str]]:
    seeds, hours = ((1, 2), 4.0) if quick else ((1, 2, 3, 4), 10.0)
    rows: list[tuple[str, object, str]] = []
    for agents, mode, cap in VARIANTS:
        occupancy, abandoned, contacts = [], [], []
        for seed in seeds:
            result = simulate(parse_scenario(_body(agents, mode, cap, hours)), seed=seed)
            campaign = result.campaigns["spring"].to_dict()
            occupancy.append(result.occupancy)
            abandoned.append(float(campaign["abandon_rate"]))
            contacts.append(float(campaign["contacts_per_agent_hour"]))
        label = f"{agents} agents, {mode}, cap {cap:.0%}, seeds {seeds[0]}-{seeds[-1]}"
        rows.append((f"occupancy, {label}", _spread(occupancy), "% mean (range)"))
        rows.append((f"abandonment, {label}", _spread(abandoned), f"% mean (range), cap {cap * 100:.0f} %"))
        rows.append((f"contacts per agent hour, {label}", _spread(contacts, 1.0), "mean (range), 30 if never idle"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pacing", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    if args.json:
        print(json.dumps([{"figure": f, "value": v, "unit": u} for f, v, u in rows], indent=2))
    else:
        for figure, value, unit in rows:
            print(f"{figure:<70} {value!s:>22}  {unit}")


if __name__ == "__main__":
    main()
