"""``ccenter dialer``: progressive and predictive outbound campaigns, paced on the ACD's ready agents."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    dialer = subparsers.add_parser(
        "dialer",
        parents=[common],
        help="the outbound dialer (production): dials progressive and predictive campaigns into the ACD's queues",
        description=(
            "Reads the active campaigns whose dial_mode is progressive or predictive and their work items from "
            "the database, paces calls on the ready agents the ACD publishes for each campaign's queue (under "
            "the campaign's abandon_target), sends dial_out commands to `ccenter cti-gateway` and records every "
            "attempt on its work item. Needs a broker (--mqtt) with the gateway and `ccenter acd` on it."
        ),
    )
    dialer.add_argument("--site", metavar="SITE", help="the site (default: CCENTER_SITE, the config's, or main)")
    dialer.add_argument("--client-id", metavar="ID", help="MQTT client id (default dialer-<host>-<pid>)")
    dialer.add_argument("--no-disposition-after", metavar="DURATION", type=_duration, default=None,
                        help="an answered call whose agent saved no contact within this time closes its work "
                             "item as no_disposition, never redialled: seconds or \"30m\", \"2h\" (default 2h)")
    dialer.add_argument("--keep-decisions", metavar="DAYS", type=_days, default=None,
                        help="how long every dial decision is kept for `ccenter campaign why` (default 90 days); "
                             "older ones are purged hourly")
    dialer.add_argument("--messages-url", metavar="URL", default=None,
                        help="the REST gateway that sends campaigns' sms and email messages (default: "
                             "CCENTER_MESSAGES_URL; none: those channels wait); its bearer token is read from "
                             "CCENTER_MESSAGES_TOKEN")
    dialer.add_argument("--outbox", metavar="FILE", default=None,
                        help="where attempts wait while the database is away, written when it answers again "
                             "(default: dialer-<site>.jsonl in the data folder's outbox/; one per dialer)")
    dialer.set_defaults(func=run_dialer)


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days > 0")
    return value


def _duration(text: str) -> float:
    from crm.campaigns.rules import Problems, seconds

    problems = Problems()
    value = seconds(text, "--no-disposition-after", problems)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f'{text!r} is not a duration: seconds > 0, or such as "30m", "2h"')
    return value


def run_dialer(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import os
    import signal
    import socket
    from dataclasses import replace

    from bus.transport import open_bus
    from crm import db

    from ..cli import settings_from
    from ..components import dialer_service
    from ..config import IN_PROCESS_BUS
    from ..loop import run

    settings = settings_from(args)
    if args.site:
        settings = replace(settings, site=args.site)
    if settings.mqtt_url.startswith(IN_PROCESS_BUS):
        print("ccenter: error: `ccenter dialer` reaches the CTI gateway and the ACD through a broker: give --mqtt "
              "URL (or CCENTER_MQTT); to run everything in one process, use `ccenter demo`", file=sys.stderr)
        return 1
    client_id = args.client_id or f"dialer-{socket.gethostname()}-{os.getpid()}"
    claimed = claim_outbox(args.outbox, "dialer", settings.site)
    if claimed is None:
        return 1
    outbox, lock = claimed
    engine = db.connect(settings.db_url)
    if not db.is_current(engine):
        engine.dispose()
        from crm.errors import DatabaseUnavailable

        url = db.safe_url(settings.db_url)
        raise DatabaseUnavailable(f"the database {url} is not migrated: run `ccenter db upgrade`")

    async def serve() -> None:
        bus = open_bus(settings.mqtt_url, client_id=client_id, site=settings.site, role="dialer")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
                loop.add_signal_handler(sig, stop.set)
        await bus.start()  # an unreachable broker is one clear error (BusError)
        service = dialer_service(bus, db.session_factory(engine), settings,
                                 no_disposition_after_s=args.no_disposition_after,
                                 keep_decisions_days=args.keep_decisions,
                                 messages_url=args.messages_url or os.environ.get("CCENTER_MESSAGES_URL"),
                                 messages_token=os.environ.get("CCENTER_MESSAGES_TOKEN"), outbox=outbox)
        try:
            await service.start()
            campaigns = ", ".join(f"{p.key} ({p.mode.value} into {p.queue})" for p in service.core.plans.values())
            print(f"ccenter dialer {client_id}: site {settings.site}; campaigns: {campaigns or 'none active yet'}",
                  flush=True)
            await stop.wait()
        finally:
            await service.stop()
            await bus.close()

    try:
        run(serve())
    finally:
        engine.dispose()
        lock.close()
    return 0


def claim_outbox(given: str | None, process: str, site: str) -> tuple[Any, Any] | None:
    """The outbox file of this ``process`` (``--outbox``, or ``<process>-<site>.jsonl`` in lower case in the
    data folder's ``outbox/``) and its lock, held by this process; None, said in one line, if another
    process holds it."""
    from pathlib import Path

    from ..config import data_dir

    outbox = Path(given) if given else data_dir() / "outbox" / f"{process.lower()}-{site}.jsonl"
    outbox.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock(outbox)
    if lock is None:
        print(f"ccenter: error: another {process} uses the outbox {outbox}: give each {process} its own "
              "--outbox FILE", file=sys.stderr)
        return None
    return outbox, lock


def _lock(path: Any) -> Any:
    """An open lock file beside ``path`` held exclusively by this process, or None if another holds it."""
    handle = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115 (held until the dialer stops)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; one dialer per outbox is documented
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle
