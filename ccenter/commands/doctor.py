"""``ccenter doctor``: check a configuration and name what is broken."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bus.errors import BusError
from crm.errors import CrmError

from ..cli import settings_from
from ..config import IN_PROCESS_BUS, Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "doctor", parents=[common], help="check the configuration: database, schema, message broker"
    )
    parser.add_argument(
        "--link",
        metavar="URL",
        help="also log in to this telephony link (ami://...) and name the permissions its account lacks",
    )
    parser.set_defaults(func=run)


def check_database(settings: Settings) -> str:
    from crm import db

    engine = db.connect(settings.db_url)
    try:
        if not db.is_current(engine):
            raise CrmError(
                f"schema is at revision {db.current_revision(engine) or 'none'}, the software needs "
                f"{db.head_revision()}: run `ccenter db upgrade`"
            )
        return f"{db.safe_url(settings.db_url)}, schema at {db.current_revision(engine)}"
    finally:
        engine.dispose()


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
    settings = settings_from(args)
    checks: list[tuple[str, Callable[[Settings], str]]] = [("database", check_database), ("broker", check_broker)]
    link_url = getattr(args, "link", None)
    if link_url:
        checks.append(("link", lambda _settings: check_link(link_url)))
    broken = 0
    for name, check in checks:
        try:
            detail = check(settings)
        except (CrmError, BusError, LinkBroken) as exc:
            broken += 1
            print(f"BROKEN  {name:<9} {exc}")
        else:
            print(f"ok      {name:<9} {detail}")
    return 1 if broken else 0
