"""``ccenter loadtest``: drive one site's gateway, ACD and agent desktops over a broker and say what held."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        parents=[common],
        help="load one site's processes over the broker: routed calls, event latency, lost, double offers",
        description="Starts the CTI gateway on a simulated PBX with calls arriving, `ccenter acd` and scripted "
        "agent desktops (one broker connection each), on a site of its own on the broker of --mqtt, and prints "
        "calls offered and routed, the latency from the gateway's publish to the desktop (p50, p99), events "
        "lost, double offers, and each process's CPU and peak memory.",
    )
    parser.add_argument("--agents", type=int, default=200, metavar="N", help="agent desktops (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                        help="seconds of arriving calls (default 60; warm-up and drain come on top)")
    parser.add_argument("--handle", type=float, default=8.0, metavar="SECONDS",
                        help="mean handle time of a call (default 8, so that a minute holds many calls)")
    parser.add_argument("--rate", type=float, metavar="CALLS_PER_S",
                        help="arrivals per second (default: 85%% occupancy of the agents at the handle time)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--profile", metavar="FOLDER", type=Path,
                        help="run each process under cProfile and write its statistics to FOLDER/<process>.prof")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bus.errors import BusError

    from ..cli import settings_from
    from ..config import IN_PROCESS_BUS
    from ..loadtest import run_load

    settings = settings_from(args)
    if settings.mqtt_url.startswith(IN_PROCESS_BUS):
        raise BusError("ccenter loadtest runs processes joined by a broker: give --mqtt mqtt://host:1883")
    if args.agents < 1 or args.agents > 999 or args.duration <= 0 or args.handle <= 0:
        raise BusError("--agents is 1 to 999, --duration and --handle are positive")
    result = run_load(settings.mqtt_url, agents=args.agents, duration_s=args.duration, handle_s=args.handle,
                      arrivals_per_s=args.rate, profile=args.profile)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    for name, value in result.to_dict().items():
        if name == "processes":
            for process, usage in value.items():
                print(f"{process + ' CPU':<22} {usage['cpu_percent']:10.1f} %")
                print(f"{process + ' peak memory':<22} {usage['peak_mb']:10.1f} MB")
        elif name == "command_errors":
            for error in value:
                print(f"{'command failed':<22} {error}")
        else:
            print(f"{name:<22} {value:10.2f}" if isinstance(value, float) else f"{name:<22} {value:10}")
    return 0 if result.lost == 0 and result.double_offers == 0 else 1
