"""``ccenter acd explain``: why a call or an agent is where it is."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from routing.engine import AcdEngine, Explanation, explain_agent, explain_call, waiting_call_ids
from routing.errors import RoutingError
from routing.model import AgentId, AgentStatus, CallId
from routing.scenario import load_scenario
from routing.simulate import simulate

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    acd = subparsers.add_parser("acd", help="the ACD: explain routing decisions")
    acd_sub = acd.add_subparsers(dest="acd_command", metavar="ACTION")
    explain = acd_sub.add_parser(
        "explain",
        help="why a call waits or went to its agent, why an agent is idle",
        description=(
            "Runs SCENARIO.yaml in simulated time up to --at and explains the engine's state then: "
            "a given --call or --agent, or else the longest-waiting calls and the idle agents."
        ),
    )
    explain.add_argument("scenario", metavar="SCENARIO.yaml")
    explain.add_argument("--at", type=float, required=True, metavar="SECONDS", help="simulated time to stop at")
    explain.add_argument("--seed", type=int, default=1)
    explain.add_argument("--call", metavar="CALL_ID", help="explain this call (simulated ids are c1, c2, ...)")
    explain.add_argument("--agent", metavar="AGENT_ID", help="explain this agent (ids are <group>-<n>)")
    explain.add_argument("--limit", type=int, default=5, help="how many waiting calls to explain (default 5)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=run_explain)
    acd.set_defaults(func=lambda args: acd.print_help() or 2)


def run_explain(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    found: list[Explanation] = []
    stats: dict[str, Any] = {}

    def inspect(engine: AcdEngine, now: float) -> None:
        stats.update({name: engine.queue_statistics(name, now).to_dict() for name in engine.queues})
        if args.call:
            found.append(explain_call(engine, CallId(args.call), now))
        if args.agent:
            found.append(explain_agent(engine, AgentId(args.agent), now))
        if not args.call and not args.agent:
            found.extend(explain_call(engine, c, now) for c in waiting_call_ids(engine, args.limit))
            for agent_id in engine.agent_ids():
                if engine.agent_status(agent_id) is AgentStatus.READY and any(s["waiting"] for s in stats.values()):
                    found.append(explain_agent(engine, agent_id, now))

    simulate(scenario, seed=args.seed, until_s=args.at, on_stop=inspect, keep_calls=True)
    if not found and (args.call or args.agent):
        raise RoutingError("nothing to explain")
    if args.json:
        body = {
            "at_s": args.at,
            "queues": stats,
            "explanations": [{"subject": e.subject, "text": e.text, "data": e.data} for e in found],
        }
        print(json.dumps(body, indent=2, default=str))
        return 0
    for name, s in stats.items():
        print(
            f"{name}: {s['waiting']} waiting (longest {s['longest_waiting_s']:.0f} s), offered {s['offered']}, "
            f"answered {s['answered']}, abandoned {s['abandoned']}"
        )
    if not found:
        print("No call is waiting and no agent is idle while calls wait.")
    for e in found:
        print(f"- {e.text}")
    return 0
