"""``ccenter acd``: the ACD server on the bus (``ccenter acd [run]``), and ``ccenter acd explain``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from routing.errors import RoutingError

logger = logging.getLogger(__name__)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queues",
        metavar="FILE",
        help="queues and agents' skills (YAML, or the [acd] table of a TOML file); default: the --config "
        "file's [acd] table, else the database",
    )
    parser.add_argument("--client-id", metavar="ID", help="this server's MQTT client id (default acd-<host>-<pid>)")
    parser.add_argument("--no-standby", action="store_true", help="lead at once, without the site's leader election")
    parser.add_argument("--record", metavar="FILE", help="append every input event as a JSON line (for --replay)")
    parser.add_argument("--desktop-grace", type=_seconds, default=None, metavar="SECONDS",
                        help="log an agent off when its desktop has been gone this long (default 60); it is "
                        "offered no call meanwhile")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < 86400:
        raise argparse.ArgumentTypeError(f"a grace of 0 to 86400 seconds, not {text!r}")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    acd = subparsers.add_parser(
        "acd",
        parents=[common],
        help="the ACD server (routes calls on the bus); explain routing decisions",
        description=(
            "Without an action, runs the ACD server on the bus (same as 'ccenter acd run'): it takes queue "
            "requests and call events from the IVR and CTI gateway, agent states from desktops, sends deliver "
            "commands and publishes queue statistics. Two servers for one site elect a leader; the other "
            "stands by and takes over."
        ),
    )
    _server_options(acd)
    acd_sub = acd.add_subparsers(dest="acd_command", metavar="ACTION")
    run = acd_sub.add_parser("run", parents=[common], help="run the ACD server on the bus (the default action)")
    _server_options(run)
    run.set_defaults(func=run_server)
    explain = acd_sub.add_parser(
        "explain",
        help="why a call waits or went to its agent, why an agent is idle",
        description=(
            "Runs SCENARIO.yaml in simulated time up to --at, or replays a recorded event log (--replay) up "
            "to --at seconds after its first line, and explains the engine's state then: a given --call or "
            "--agent, or else the longest-waiting calls and the idle agents."
        ),
    )
    explain.add_argument("scenario", metavar="SCENARIO.yaml", nargs="?", help="scenario file (not with --replay)")
    explain.add_argument("--at", type=float, required=True, metavar="SECONDS", help="simulated time to stop at")
    explain.add_argument("--replay", metavar="EVENTS.jsonl", help="event log written by 'ccenter acd --record FILE'")
    explain.add_argument(
        "--baseline", metavar="FILE", help="with --replay: the configuration the recording ran under (as --queues)"
    )
    explain.add_argument(
        "--candidate", dest="new_config", metavar="NEW.yaml", help="with --replay: explain under this configuration"
    )
    from .simulate import add_old_config_option

    add_old_config_option(explain)
    explain.add_argument("--seed", type=int, default=1)
    explain.add_argument("--call", metavar="CALL_ID", help="explain this call (simulated ids are c1, c2, ...)")
    explain.add_argument("--agent", metavar="AGENT_ID", help="explain this agent (ids are <group>-<n>)")
    explain.add_argument("--limit", type=int, default=5, help="how many waiting calls to explain (default 5)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=run_explain)
    acd.set_defaults(func=run_server)


def run_server(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import os
    import signal
    import socket

    from bus.transport import open_bus

    from ..cli import settings_from
    from ..components import acd_config, acd_server

    settings = settings_from(args)
    config = acd_config(settings, args.queues)
    client_id = args.client_id or f"acd-{socket.gethostname()}-{os.getpid()}"
    in_process = settings.mqtt_url.startswith("inproc:")
    if in_process:
        print(
            "ccenter acd: no broker given: on the in-process bus no gateway, IVR or desktop can reach this ACD; "
            "give --mqtt URL (or CCENTER_MQTT) in production, or run everything in one process with `ccenter demo`",
            file=sys.stderr, flush=True,
        )

    async def serve() -> None:
        bus = open_bus(settings.mqtt_url, client_id=client_id, site=settings.site, role="acd")
        record = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
                loop.add_signal_handler(sig, stop.set)
        await bus.start()
        # The election names this server by its bus's own client id (the given one with a random suffix):
        # the ACL lets it write that presence, and the broker's last will for that id (presence offline)
        # is what tells a standby that a killed leader is gone.
        from crm import db

        engine = db.connect(settings.db_url)  # supervisors' actions: teams, skills, queues, campaigns, audit
        server = acd_server(
            bus, config, settings, client_id=str(getattr(bus, "client_id", "") or client_id),
            election=not (args.no_standby or in_process), record=record, sessions=db.session_factory(engine),
            desktop_grace_s=args.desktop_grace,
        )
        try:
            await server.start()
            print(
                f"ccenter acd {server.client_id}: site {settings.site}, queues "
                f"{', '.join(q.name for q in config.queues)}, {len(config.agents)} agents configured",
                flush=True,
            )
            await stop.wait()
        finally:
            await server.stop()
            await bus.close()
            engine.dispose()
            if record is not None:
                record.close()

    from ..loop import run

    run(serve())
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from routing.engine import AcdEngine, Explanation, explain_agent, explain_call, waiting_call_ids
    from routing.model import AgentId, AgentStatus, CallId
    from routing.scenario import load_scenario
    from routing.simulate import simulate

    from .simulate import take_old_config_option

    take_old_config_option(args, "ccenter acd explain")
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

    if args.replay is not None:
        if args.scenario is not None:
            raise RoutingError("give either SCENARIO.yaml or --replay EVENTS.jsonl, not both")
        from routing.replay import load_recording, replay

        from .simulate import load_replay_configs, report_problems

        recording = load_recording(args.replay)
        report_problems(recording)
        recorded, new = load_replay_configs(recording, args.baseline, args.new_config)
        replay(recording, new or recorded, seed=args.seed, until_s=recording.start + args.at, on_stop=inspect,
               keep_calls=True)  # fmt: skip
    elif args.scenario is None:
        raise RoutingError("give a SCENARIO.yaml, or --replay EVENTS.jsonl, to explain")
    elif args.new_config or args.baseline:
        raise RoutingError("--candidate and --baseline go with --replay")
    else:
        scenario = load_scenario(args.scenario)
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
