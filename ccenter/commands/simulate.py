"""``ccenter simulate SCENARIO.yaml``: the real ACD engine in simulated time."""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

from routing.scenario import load_scenario
from routing.simulate import simulate

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run the ACD engine on a scenario in simulated time and print the KPIs",
        description="Runs the real ACD engine on SCENARIO.yaml in simulated time (see docs/routing.md).",
    )
    parser.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1): same seed, same figures")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.set_defaults(func=run)


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern % value


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    started = time.perf_counter()
    result = simulate(scenario, seed=args.seed)
    elapsed = time.perf_counter() - started
    logger.info("simulated %.1f h, %d calls in %.2f s", scenario.duration_hours, result.simulated_calls, elapsed)
    body = result.to_dict()
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    print(
        f"{scenario.duration_hours:g} simulated hours, {result.simulated_calls} calls, seed {args.seed} "
        f"({elapsed:.2f} s)"
    )
    print(f"{'queue':<16}{'offered':>9}{'answered':>10}{'abandoned':>10}{'SL':>8}{'ASA s':>8}{'P(wait)':>9}")
    for name, q in body["queues"].items():
        print(
            f"{name:<16}{q['offered']:>9}{q['answered']:>10}{q['abandoned']:>10}"
            f"{_fmt(q['service_level'], '%.3f'):>8}"
            f"{_fmt(q['asa_s'], '%.1f'):>8}{_fmt(q['p_wait'], '%.3f'):>9}"
        )
    print(f"agents: {body['agents']['count']}, occupancy {body['agents']['occupancy']:.3f}")
    return 0
