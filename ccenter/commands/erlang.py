"""``ccenter erlang``: staffing figures from Erlang C, or Erlang A with ``--patience``."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "erlang",
        help="staffing figures (Erlang C; Erlang A with --patience)",
        description=(
            "Prints JSON with traffic_erlangs, p_wait, asa_s, service_level, occupancy "
            "(abandon_rate with --patience, agents_required with --target-sl)."
        ),
    )
    parser.add_argument("--arrivals-per-hour", type=float, required=True, metavar="R", help="calls offered per hour")
    parser.add_argument("--aht", type=float, required=True, metavar="S", help="average handle time, seconds")
    parser.add_argument("--agents", type=int, required=True, metavar="N", help="agents on the queue")
    parser.add_argument(
        "--sl-seconds", type=float, default=20.0, metavar="T", help="service-level threshold, seconds (default 20)"
    )
    parser.add_argument(
        "--patience", type=float, metavar="P", help="mean caller patience, seconds (Erlang A: callers abandon)"
    )
    parser.add_argument(
        "--target-sl", type=float, metavar="X", help="target service level (0..1): also print agents_required"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from routing.erlang import agents_required, kpis

    result = kpis(args.agents, args.arrivals_per_hour, args.aht, args.sl_seconds, args.patience)
    out: dict[str, Any] = {
        "model": "erlang_a" if args.patience is not None else "erlang_c",
        "traffic_erlangs": result.traffic_erlangs,
        "agents": result.agents,
        "p_wait": result.p_wait,
        "asa_s": result.asa_s,
        "service_level": result.service_level,
        "sl_seconds": args.sl_seconds,
        "occupancy": result.occupancy,
    }
    if args.patience is not None:
        out["abandon_rate"] = result.abandon_rate
        out["mean_wait_s"] = result.mean_wait_s
    if args.target_sl is not None:
        out["target_sl"] = args.target_sl
        out["agents_required"] = agents_required(
            args.arrivals_per_hour, args.aht, args.sl_seconds, args.target_sl, args.patience
        )
    print(json.dumps(out, indent=2))
    return 0
