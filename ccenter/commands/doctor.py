"""``ccenter doctor``: check a configuration and name what is broken.

It only looks: a database that does not exist is reported, not created.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bus.errors import BusError
from crm.errors import CrmError

from ..cli import settings_from
from ..config import IN_PROCESS_BUS, Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "doctor", parents=[common], help="check the configuration: database, schema, message broker"
    )
    parser.add_argument(
        "--flow",
        action="append",
        metavar="FLOW",
        help="an IVR flow (a file, or a shipped name) whose queues must exist; repeatable "
        "(default: the shipped flows)",
    )
    parser.add_argument(
        "--link",
        metavar="URL",
        help="also log in to this telephony link (ami://...) and name the permissions its account lacks",
    )
    parser.set_defaults(func=run)


def check_database(settings: Settings) -> str:
    from crm import db

    engine = db.open_current(settings.db_url)
    try:
        return f"{db.safe_url(settings.db_url)}, schema at {db.current_revision(engine)}"
    finally:
        engine.dispose()


def _acd_table(settings: Settings) -> bool:
    """Whether the configuration file has the ACD's queues (its [acd] table)."""
    if settings.config_file is None:
        return False
    import tomllib

    with open(settings.config_file, "rb") as fh:
        return "acd" in tomllib.load(fh)


def routed_queues(settings: Settings) -> tuple[str, set[str]]:
    """Where the ACD takes its queues from (as ``ccenter acd`` does without --queues) and their names."""
    from routing.server import load_acd_config

    config_file = settings.config_file
    if config_file is not None and _acd_table(settings):
        return f"[acd] of {config_file}", {q.name for q in load_acd_config(config_file).queues}
    from crm import db, repository

    engine = db.open_current(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            names = {queue.name for queue in repository.list_queues(session)}
    finally:
        engine.dispose()
    if not names:
        raise CrmError("the database holds no queue: run `ccenter db seed`, or add the queues the flows name")
    return "the database", names


def flow_queues(flow: Any) -> set[str]:
    """Every queue a flow transfers to or books a callback in."""
    return {queue for node in flow.nodes.values() if isinstance(queue := getattr(node, "queue", None), str)}


def check_flows(settings: Settings, flows: list[str] | None) -> str:
    from .ivr import resolve_flow, shipped_flows

    loaded = [resolve_flow(name) for name in flows] if flows else shipped_flows()
    source, queues = routed_queues(settings)
    missing = [
        f"{flow.name} names queue {queue!r}" for flow in loaded for queue in sorted(flow_queues(flow) - queues)
    ]
    if missing:
        raise CrmError(f"{'; '.join(missing)}, which {source} lacks (it has: {', '.join(sorted(queues))})")
    return f"{', '.join(flow.name for flow in loaded)}: every queue they name is in {source}"


def check_broker(settings: Settings) -> str:
    if settings.mqtt_url.startswith(IN_PROCESS_BUS):
        return "in-process bus (single-process mode)"
    import asyncio

    from bus.transport import open_bus

    async def probe() -> None:
        bus = open_bus(settings.mqtt_url, client_id="ccenter-doctor", site=settings.site, role="doctor")
        await bus.start()
        await bus.close()

    # A selector loop, as the desktop's network thread uses: aiomqtt needs add_reader, which the
    # default loop on Windows (proactor) lacks, and the desktop runs this check before its login.
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        runner.run(probe())
    from bus.mqtt import safe_url

    return f"connected to {safe_url(settings.mqtt_url)}"


class LinkBroken(Exception):
    """The telephony link cannot be reached, or its account lacks permissions."""


async def ami_permissions(url: str) -> str:
    """Log in to the AMI at ``url``; what the account may do, or :class:`LinkBroken` naming what it lacks."""
    from cti.ami.client import AmiLink
    from cti.errors import CtiError

    link = AmiLink.from_url(url)
    try:
        await link.connect()
    except CtiError as exc:
        raise LinkBroken(str(exc)) from None
    try:
        gaps = link.missing
        if gaps:
            raise LinkBroken(f"AMI account {link.settings.username!r} lacks permissions: " + "; ".join(map(str, gaps)))
        if link.permitted is None:
            return f"logged in as {link.settings.username!r}; Asterisk does not list its permitted actions"
        return f"logged in as {link.settings.username!r}; every command and the call resync are permitted"
    finally:
        await link.close()


def check_link(url: str) -> str:
    if not url.startswith("ami://"):
        return "not an AMI link: nothing more to check"
    import asyncio

    return asyncio.run(ami_permissions(url))


def run(args: argparse.Namespace) -> int:
    from ivr.errors import IvrError
    from routing.errors import RoutingError

    settings = settings_from(args)
    checks: list[tuple[str, Callable[[Settings], str]]] = [
        ("database", check_database),
        ("broker", check_broker),
        ("flows", lambda s: check_flows(s, args.flow)),
    ]
    link_url = getattr(args, "link", None)
    if link_url:
        checks.append(("link", lambda _settings: check_link(link_url)))
    broken = 0
    broken_database = False
    for name, check in checks:
        if name == "flows" and broken_database and not _acd_table(settings):
            print(f"skipped {name:<9} needs the database")
            continue
        try:
            detail = check(settings)
        except (CrmError, BusError, IvrError, RoutingError, LinkBroken) as exc:
            broken += 1
            broken_database = broken_database or name == "database"
            print(f"BROKEN  {name:<9} {exc}")
        else:
            print(f"ok      {name:<9} {detail}")
    return 1 if broken else 0
