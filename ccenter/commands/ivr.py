"""``ccenter ivr try`` (play a flow in the terminal) and ``ccenter ivr serve --fastagi HOST:PORT``.

``ccenter ivr --fastagi HOST:PORT`` is the same as ``ccenter ivr serve --fastagi HOST:PORT``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import resources
from ivr.errors import IvrError

if TYPE_CHECKING:
    from ivr.flow import Flow
    from ivr.lookup import CustomerLookup

logger = logging.getLogger(__name__)

#: The shipped flow served to FastAGI scripts that name no flow we know.
DEFAULT_FLOW = "telecom"
#: Simulated seconds between two caller inputs in ``ivr try``.
TRY_STEP_S = 3.0
OUTBOX_HELP = ("where session records wait while the database is away (default: ivr-<site>.jsonl in the data "
               "folder's outbox/; one per IVR process)")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "ivr",
        parents=[common],
        help="IVR: try a flow in the terminal, or serve flows to Asterisk over FastAGI",
        description="Without a sub-command, --fastagi HOST:PORT serves flows to Asterisk (same as 'ivr serve').",
    )
    parser.add_argument("--fastagi", dest="ivr_fastagi", metavar="HOST:PORT", help="serve flows over FastAGI")
    parser.add_argument(
        "--flow",
        dest="ivr_flows",
        action="append",
        metavar="FLOW",
        help="flow to serve (file or shipped name; repeatable; default: every shipped flow)",
    )
    parser.add_argument("--outbox", dest="ivr_outbox", metavar="FILE", help=OUTBOX_HELP)
    parser.set_defaults(func=run_ivr)
    commands = parser.add_subparsers(dest="ivr_command", metavar="COMMAND")

    try_ = commands.add_parser(
        "try",
        parents=[common],
        help="play a flow in the terminal and print each step and the hand-off as JSON lines",
        description="Plays FLOW (a YAML file, or the name of a shipped flow such as 'telecom') with the "
        "caller's inputs, printing one JSON object per step, then the hand-off and the session record.",
    )
    try_.add_argument("flow", metavar="FLOW", help="flow file, or the name of a shipped flow")
    try_.add_argument("--caller", default="+14155550100", metavar="NUMBER", help="calling number (E.164)")
    try_.add_argument("--called", default="", metavar="NUMBER", help="called number")
    try_.add_argument(
        "--input",
        default="",
        metavar="KEYS",
        help="caller inputs, comma separated: digits ('12345678#'), 'timeout' (or empty), 'hangup'",
    )
    try_.add_argument(
        "--data",
        choices=["demo", "db"],
        help="customer data: built-in demo customers, or the database (default: the database when one is "
        "configured by --db, CCENTER_DB or the config file, else demo)",
    )
    try_.set_defaults(func=run_try)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="serve flows to Asterisk over FastAGI",
        description="Asterisk reaches a flow with AGI(agi://HOST:PORT/FLOW); the hand-off comes back as "
        "channel variables (CCENTER_QUEUE, QUEUE_PRIO, CCENTER_DATA, ...).",
    )
    serve.add_argument("--fastagi", required=True, metavar="HOST:PORT", help="address to listen on, e.g. 0.0.0.0:4573")
    serve.add_argument(
        "--flow", action="append", metavar="FLOW", help="flow to serve (repeatable; default: every shipped flow)"
    )
    serve.add_argument(
        "--data",
        choices=["demo", "db"],
        default="db",
        help="customer data: the configured database (default), or built-in demo customers (for tests only)",
    )
    serve.add_argument("--outbox", metavar="FILE", help=OUTBOX_HELP)
    serve.set_defaults(func=run_serve)

    prompts = commands.add_parser(
        "prompts",
        parents=[common],
        help="make a flow's prompts as 8 kHz WAV files for Asterisk (espeak-ng and sox)",
        description="Speaks every prompt of FLOW that names an audio file, from the flow's own English and "
        "Chinese texts, into DIR/<audio name>.wav (8000 Hz, mono, 16-bit: Asterisk's wav format). DIR is "
        "Asterisk's sounds directory, e.g. /var/lib/asterisk/sounds. Needs espeak-ng and sox "
        "(apt-get install espeak-ng sox). With --check, only lists the prompts DIR lacks (status 1 if any).",
    )
    prompts.add_argument("flow", metavar="FLOW", help="flow file, or the name of a shipped flow")
    prompts.add_argument("directory", metavar="DIR", help="where to write (Asterisk's sounds directory)")
    prompts.add_argument("--check", action="store_true", help="only list the prompts missing in DIR")
    prompts.set_defaults(func=run_prompts)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="containment rate and exits of the recorded IVR sessions, as JSON",
        description="Reads the IVR sessions recorded in the database (by `ccenter ivr serve` and the demo).",
    )
    report.add_argument("--since", metavar="ISO", help="from this time (default: 24 hours ago), e.g. 2026-11-23T08:00Z")
    report.add_argument("--until", metavar="ISO", help="until this time (default: now)")
    report.add_argument("--flow", metavar="FLOW", help="only this flow")
    report.add_argument("--site", metavar="SITE",
                        help="this site's sessions (default: the configured site: CCENTER_SITE, the config's, or main)")
    report.set_defaults(func=run_report)


def _time(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IvrError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-11-23T08:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_report(args: argparse.Namespace) -> int:
    from crm import db, repository

    from ..cli import settings_from
    from ..config import check_site

    now = datetime.now(UTC)
    since, until = _time(args.since, now - timedelta(days=1)), _time(args.until, now)
    settings = settings_from(args)
    site = check_site(args.site, "--site") if args.site is not None else settings.site
    engine = db.connect(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            report = repository.ivr_report(session, since=since, until=until, flow=args.flow, site=site)
    finally:
        engine.dispose()
    body = {"site": site, "since": since.isoformat(), "until": until.isoformat(), "flow": args.flow,
            **dataclasses.asdict(report)}
    print(json.dumps(body, ensure_ascii=False))
    return 0


def run_prompts(args: argparse.Namespace) -> int:
    from ivr.prompts import generate, missing_prompts

    flow = resolve_flow(args.flow)
    if args.check:
        missing = missing_prompts(flow, args.directory)
        for audio in missing:
            print(f"missing: {Path(args.directory) / audio}.wav")
        if missing:
            print(f"{len(missing)} prompts of flow {flow.name} are missing: make them with "
                  f"`ccenter ivr prompts {args.flow} {args.directory}`", file=sys.stderr)
            return 1
        print(f"every prompt of flow {flow.name} is in {args.directory}")
        return 0
    for prompt, path in generate(flow, args.directory):
        print(f"{path}  ({prompt.language}, node {prompt.node})")
    return 0


def resolve_flow(name: str) -> Flow:
    """A flow file, or the name of a shipped flow (``telecom`` is ``resources/ivr/telecom.yaml``)."""
    from ivr.flow import load_flow

    path = Path(name)
    if path.exists():
        return load_flow(path)
    shipped = resources.path("ivr", f"{name}.yaml")
    if shipped.exists() and path.suffix != ".yaml" and "/" not in name:
        return load_flow(shipped)
    names = ", ".join(sorted(p.stem for p in resources.path("ivr").glob("*.yaml")))
    raise IvrError(f"no flow file {name!r} and no shipped flow of that name (shipped: {names})")


def shipped_flows() -> list[Flow]:
    from ivr.flow import load_flow

    return [load_flow(p) for p in sorted(resources.path("ivr").glob("*.yaml"))]


def make_lookup(args: argparse.Namespace, *, check: bool = True) -> CustomerLookup:
    """The customers the IVR looks callers up in: the configured database, demo data only when asked.

    ``ivr serve`` (and ``ivr --fastagi``) always reads the database unless ``--data demo`` says
    otherwise; ``ivr try`` uses the demo customers only when no database is configured anywhere.
    ``check=False``: do not wait for the database to answer (a look-up while it is away fails).
    """
    from ivr.lookup import demo_lookup

    from ..cli import settings_from
    from ..config import default_db_url

    settings = settings_from(args)
    source = args.data or ("db" if args.db or settings.db_url != default_db_url() else "demo")
    if source == "demo":
        logger.info("IVR callers are looked up in the built-in demo customers")
        return demo_lookup()
    from ivr.crm_lookup import CrmLookup

    return CrmLookup.from_url(settings.db_url, region=settings.default_region, check=check)


def _close(lookup: CustomerLookup) -> None:
    close = getattr(lookup, "close", None)
    if callable(close):
        close()


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def run_try(args: argparse.Namespace) -> int:
    from ivr.engine import CallInfo
    from ivr.inprocess import InProcessSession, parse_inputs, run_scripted
    from ivr.rest import HttpRestClient

    flow = resolve_flow(args.flow)
    inputs = parse_inputs(args.input)
    lookup = make_lookup(args)
    rest = HttpRestClient()
    now = time.time()
    session = InProcessSession(flow, CallInfo(f"try-{int(now)}", args.caller, args.called), lookup, rest=rest)
    try:
        for step in run_scripted(session, inputs, start=now, step_s=TRY_STEP_S):
            body = step.to_dict()
            if step.event == "started":
                body.update(flow=flow.name, caller=args.caller)
            _emit(body)
    finally:
        rest.close()
        _close(lookup)
    # The call.data event the IVR publishes at the end: with "routing" when the ACD takes the call.
    end = session.record.ended_at if session.record else now
    _emit({"handoff": session.handoff_event(end).to_dict()})
    if session.record is not None:
        _emit({"record": session.record.to_dict()})
    return 0


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise IvrError(f"--fastagi takes HOST:PORT, e.g. 0.0.0.0:4573, not {text!r}")
    return host.strip("[]"), int(port_text)


def run_ivr(args: argparse.Namespace) -> int:
    if not args.ivr_fastagi:
        print("ccenter ivr: give a sub-command (try, serve) or --fastagi HOST:PORT", file=sys.stderr)
        return 2
    args.fastagi = args.ivr_fastagi
    args.flow = args.ivr_flows
    args.outbox = args.ivr_outbox
    args.data = "db"
    return run_serve(args)


#: How often a serving IVR tries the database again until it can check its schema.
SCHEMA_CHECK_EVERY_S = 5.0


def _say(text: str) -> None:
    print(f"ccenter ivr: {text}", file=sys.stderr, flush=True)


async def check_schema(engine: Any, every_s: float = SCHEMA_CHECK_EVERY_S) -> str | None:
    """Once the database answers, what is wrong with its schema (None: it is this version's). Until it
    answers, tried again every ``every_s`` seconds; said once. Nothing here waits on the event loop."""
    import asyncio

    from crm import db
    from crm.errors import DatabaseUnavailable

    said = False
    while True:
        try:
            problem = await asyncio.to_thread(db.schema_problem_when_reachable, engine)
        except DatabaseUnavailable as exc:
            if not said:
                said = True
                logger.warning("%s: serving callers, their session records wait in the outbox; the schema is "
                               "checked once the database answers", exc)
            await asyncio.sleep(every_s)
            continue
        if problem is None:
            logger.info("database schema checked: revision %s", db.head_revision())
        return problem


def run_serve(args: argparse.Namespace) -> int:
    """Serve flows over FastAGI. The database is not needed to start: callers are served while it is away
    (look-ups fail as the flows say; session records wait in the outbox), and its schema is checked in
    the background once it answers. A schema older or newer than this version's stops the IVR with a
    clear message (status 1); the IVR never migrates the database (``ccenter db upgrade`` does)."""
    import asyncio
    import contextlib
    import signal
    import socket

    from bus.transport import open_bus
    from crm import db

    from ..cli import settings_from
    from ..components import ivr_server
    from ..loop import run
    from .dialer import claim_outbox

    host, port = parse_listen(args.fastagi)
    flows = [resolve_flow(name) for name in args.flow] if args.flow else shipped_flows()
    names = [flow.name for flow in flows]
    # A script name that is no flow's gets the first flow given, or the shipped main line.
    default = names[0] if args.flow or DEFAULT_FLOW not in names else DEFAULT_FLOW
    settings = settings_from(args)
    claimed = claim_outbox(args.outbox, "IVR", settings.site)
    if claimed is None:
        return 1
    outbox, lock = claimed
    try:
        lookup = make_lookup(args, check=False)
        engine = db.connect(settings.db_url, check=False)
    except BaseException:
        lock.close()
        raise

    async def serve() -> int:
        """Serve until SIGINT/SIGTERM (0), or until the database's schema is refused (1); sessions under
        way are cut, the bus closed."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
                loop.add_signal_handler(sig, stop.set)
        refused: list[str] = []

        async def schema() -> None:
            problem = await check_schema(engine)
            if problem is not None:
                refused.append(problem)
                stop.set()

        checking = asyncio.create_task(schema(), name="ivr schema check")
        bus = open_bus(settings.mqtt_url, client_id=f"ivr-{socket.gethostname()}", site=settings.site, role="ivr")
        try:
            await bus.start()
            server = ivr_server(bus, settings, db.session_factory(engine), flows, lookup, default_flow=default,
                                outbox=outbox)
            try:
                await server.start(host, port)
                print(f"FastAGI listening on {host}:{server.port}; flows: {', '.join(f.name for f in flows)}",
                      flush=True)
                await stop.wait()  # the server accepts calls from start() on
            finally:
                await server.close()
                await bus.close()
        finally:
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
        if refused:
            _say(f"error: {refused[0]}; the IVR stops (its pending session records stay in {outbox})")
            return 1
        return 0

    try:
        return run(serve())
    finally:
        _close(lookup)
        engine.dispose()
        lock.close()
