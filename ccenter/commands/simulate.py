"""``ccenter simulate``: the real ACD engine in simulated time, on a scenario or on a recorded event log."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

from routing.errors import RoutingError

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run the ACD engine on a scenario, or replay a recorded event log, and print the KPIs",
        description=(
            "Runs the real ACD engine on SCENARIO.yaml in simulated time, or with --replay on the calls and "
            "agent states recorded by 'ccenter acd --record', under the recorded configuration and a new "
            "one side by side (see docs/routing.md)."
        ),
    )
    parser.add_argument("scenario", metavar="SCENARIO.yaml", nargs="?", help="scenario file (not with --replay)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1): same seed, same figures")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    replay = parser.add_argument_group("replay of a recorded event log")
    replay.add_argument("--replay", metavar="EVENTS.jsonl", help="event log written by 'ccenter acd --record FILE'")
    replay.add_argument(
        "--baseline",
        metavar="FILE",
        help="the ACD configuration the recording ran under (the file of 'ccenter acd --queues'); "
        'default: the log\'s own {"config": ...} line',
    )
    replay.add_argument(
        "--candidate", dest="new_config", metavar="NEW.yaml", help="the changed ACD configuration to compare"
    )
    add_old_config_option(replay)
    parser.set_defaults(func=run)


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern % value


def add_old_config_option(parser: argparse.ArgumentParser | Any) -> None:
    """``--config NEW.yaml``, the old spelling of ``--candidate``: everywhere else ``--config`` is the TOML
    settings file, so it still works here but says so."""
    parser.add_argument("--config", dest="old_candidate", metavar="NEW.yaml", help=argparse.SUPPRESS)


def take_old_config_option(args: argparse.Namespace, command: str) -> None:
    if getattr(args, "old_candidate", None) is None:
        return
    print(
        f"ccenter: warning: `{command} --config NEW.yaml` is now `{command} --candidate NEW.yaml` "
        "(--config is the TOML settings file in other commands); --config will go away",
        file=sys.stderr,
    )
    if args.new_config is not None:
        raise RoutingError("give the new configuration once, with --candidate")
    args.new_config = args.old_candidate


def run(args: argparse.Namespace) -> int:
    take_old_config_option(args, "ccenter simulate")
    if args.replay is not None:
        if args.scenario is not None:
            raise RoutingError("give either SCENARIO.yaml or --replay EVENTS.jsonl, not both")
        return run_replay(args)
    if args.scenario is None:
        raise RoutingError("give a SCENARIO.yaml to simulate, or --replay EVENTS.jsonl to replay a recording")
    if args.new_config or args.baseline:
        raise RoutingError("--candidate and --baseline go with --replay")
    from routing.scenario import load_scenario
    from routing.simulate import simulate

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
    campaigns = body.get("campaigns") or {}
    if campaigns:
        print(f"{'campaign':<16}{'mode':>12}{'attempts':>10}{'connects':>10}{'abandon':>9}{'contacts/agent h':>18}")
        for name, c in campaigns.items():
            print(
                f"{name:<16}{c['dial_mode']:>12}{c['attempts']:>10}{c['connects']:>10}"
                f"{c['abandon_rate']:>9.3f}{c['contacts_per_agent_hour']:>18.1f}"
            )
    return 0


def load_replay_configs(recording: Any, baseline: str | None, new: str | None) -> tuple[Any, Any]:
    """The recorded configuration (``--baseline`` or the log's own) and the new one (or None)."""
    from routing.server import load_acd_config

    recorded = load_acd_config(baseline) if baseline else recording.config
    if recorded is None:
        raise RoutingError(
            f"{recording.source} does not say which configuration it ran under: give it with --baseline FILE "
            "(the file given to 'ccenter acd --queues')"
        )
    return recorded, load_acd_config(new) if new else None


def report_problems(recording: Any) -> None:
    for problem in recording.problems:
        print(f"ccenter: warning: {recording.source}:{problem.line}: {problem.reason} (skipped)", file=sys.stderr)


_ROWS = (
    ("offered", "offered", "%d"),
    ("answered", "answered", "%d"),
    ("abandoned", "abandoned", "%d"),
    ("service level", "service_level", "%.3f"),
    ("ASA s", "asa_s", "%.1f"),
    ("P(wait)", "p_wait", "%.3f"),
    ("longest wait s", "longest_wait_s", "%.0f"),
)


def run_replay(args: argparse.Namespace) -> int:
    from routing.replay import compare, load_recording

    recording = load_recording(args.replay)
    report_problems(recording)
    recorded, new = load_replay_configs(recording, args.baseline, args.new_config)
    started = time.perf_counter()
    comparison = compare(recording, recorded, new, seed=args.seed)
    logger.info("replayed %s in %.2f s", args.replay, time.perf_counter() - started)
    body = comparison.to_dict()
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    columns = [body["recorded"]] + ([body["new"]] if body["new"] is not None else [])
    skipped = len(recording.problems)
    print(
        f"replay of {args.replay}: {recording.duration_s / 3600:.2f} h, {len(recording.calls)} calls, "
        f"{len(recording.agent_ids())} agents, seed {args.seed}" + (f"; {skipped} bad lines skipped" if skipped else "")
    )
    header = f"{'':<24}" + "".join(f"{c['label']:>18}" for c in columns)
    queues = list(dict.fromkeys(q for c in columns for q in c["queues"]))
    for queue in queues:
        print(f"{'queue ' + queue:<24}" + header[24:])
        for label, key, pattern in _ROWS:
            cells = "".join(f"{_fmt(c['queues'].get(queue, {}).get(key), pattern):>18}" for c in columns)
            print(f"  {label:<22}{cells}")
        priorities = list(dict.fromkeys(p for c in columns for p in c["queues"].get(queue, {}).get("by_priority", {})))
        if len(priorities) > 1:
            for p in priorities:
                cells = ""
                for c in columns:
                    s = c["queues"].get(queue, {}).get("by_priority", {}).get(p)
                    cells += f"{'-' if s is None else _priority_cell(s):>18}"
                print(f"  {'priority ' + p + ' ans/SL/ASA':<22}{cells}")
    print(f"{'agents':<24}" + "".join(f"{c['agents']['count']:>18}" for c in columns))
    print(f"  {'occupancy':<22}" + "".join(f"{c['agents']['occupancy']:>18.3f}" for c in columns))
    notes = [f"{c['label']}: {note}" for c in columns for note in c["notes"]]
    if notes:
        print("notes:")
        for note in notes:
            print(f"- {note}")
    return 0


def _priority_cell(s: dict[str, Any]) -> str:
    return f"{s['answered']}/{_fmt(s['service_level'], '%.2f')}/{_fmt(s['asa_s'], '%.0f')}"
