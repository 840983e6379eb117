"""``ccenter cti decode`` (what a raw capture says, as normalized events) and ``ccenter cti-gateway``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from cti.gateway import Gateway, LinkUnreachable

    from ..config import Settings

logger = logging.getLogger(__name__)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    cti = subparsers.add_parser("cti", help="telephony link tools")
    cti_sub = cti.add_subparsers(dest="cti_command", metavar="COMMAND", required=True)
    decode = cti_sub.add_parser(
        "decode",
        help="print the normalized events of a raw capture, one JSON object per line",
        description="Reads a raw AMI, CSTA (length-framed XML) or modem/SMDR capture from FILE or stdin and "
        "prints one JSON object per normalized event. Malformed frames are reported on stderr and skipped.",
    )
    decode.add_argument("--protocol", required=True, choices=["ami", "csta", "modem"])
    decode.add_argument("file", nargs="?", metavar="FILE", help="capture file (default: stdin)")
    decode.set_defaults(func=run_decode)

    gateway = subparsers.add_parser(
        "cti-gateway",
        parents=[common],
        help="bridge one telephony link to the bus",
        description="Publishes the link's normalized events on the bus and carries out the commands sent "
        "to ccenter/v1/<site>/cti/commands. Link URLs: sim://, ami://user:secret@host:5038, "
        "csta://host:port, serial:///dev/ttyUSB0?baud=9600.",
    )
    gateway.add_argument("--link", required=True, metavar="URL", help="the telephony link (see above)")
    gateway.add_argument(
        "--pin-extensions",
        action="store_true",
        help="let each agent log in only on the extensions the agents table assigns it (its extension and "
        "those set by `ccenter broker extensions`), read from the database and again every minute",
    )
    gateway.set_defaults(func=run_gateway)


def run_decode(args: argparse.Namespace) -> int:
    from cti.codec import ProtocolIssue
    from cti.decode import decode_chunks, read_chunks
    from cti.errors import CtiError

    stream: BinaryIO
    if args.file:
        try:
            stream = Path(args.file).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CtiError(f"cannot read {args.file}: {exc.strerror}") from None
    else:
        stream = sys.stdin.buffer
    out = sys.stdout
    issues = 0
    # Issues are printed below, once each; the codecs' own warnings would repeat them.
    cti_logger = logging.getLogger("cti")
    level = cti_logger.level
    cti_logger.setLevel(logging.ERROR)
    try:
        for item in decode_chunks(args.protocol, read_chunks(stream)):
            if isinstance(item, ProtocolIssue):
                issues += 1
                print(f"offset {item.offset} ({item.length} bytes): {item.reason}", file=sys.stderr)
            else:
                out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    finally:
        cti_logger.setLevel(level)
        if stream is not sys.stdin.buffer:
            stream.close()
    out.flush()
    if issues:
        logger.info("%d malformed frames skipped", issues)
    return 0


#: Seconds between two tries to reach a PBX that did not answer at start: doubling up to the last.
LINK_RETRY_S = (2.0, 4.0, 8.0, 15.0, 30.0)


def _say(text: str) -> None:
    print(f"ccenter cti-gateway: {text}", file=sys.stderr, flush=True)


def _warn_about_setup(link_url: str, bus_url: str) -> None:
    """Say at once what would otherwise make the gateway run uselessly or silently."""
    from cti.url import open_link

    from ..config import IN_PROCESS_BUS

    open_link(link_url)  # a URL that cannot be used is the one error to report, before any warning

    if bus_url.startswith(IN_PROCESS_BUS):
        _say(
            "no broker given: on the in-process bus no IVR, ACD or desktop can reach this gateway; give --mqtt "
            "URL (or CCENTER_MQTT) in production, or run everything in one process with `ccenter demo`"
        )
    if link_url.startswith("serial"):
        from cti.serial.link import SerialSettings

        port = SerialSettings.from_url(link_url).port
        if port.startswith("/") and not Path(port).exists():
            _say(f"serial port {port} does not exist: waiting for the device, trying to open it again and again")


def run_gateway(args: argparse.Namespace) -> int:
    import time

    from cti.errors import LinkUnavailable
    from cti.gateway import LinkUnreachable

    from ..cli import settings_from
    from ..loop import run

    settings = settings_from(args)
    _warn_about_setup(args.link, settings.mqtt_url)
    attempt = 0
    unreachable = LinkUnreachable()  # while the link cannot connect, the gateway's goodbye on the bus says why
    while True:
        try:
            run(_serve_gateway(args.link, settings, pin_extensions=args.pin_extensions, unreachable=unreachable))
            return 0
        except LinkUnavailable as exc:
            if type(exc).__name__ == "AuthenticationFailed":
                raise  # a wrong account or secret is not fixed by trying again
            delay = LINK_RETRY_S[min(attempt, len(LINK_RETRY_S) - 1)]
            attempt += 1
            _say(f"{exc}; trying again in {delay:g} s (Ctrl+C to stop)")
            time.sleep(delay)


#: Seconds a stopping gateway waits to say goodbye on the bus (its broker may be away) before it exits.
STOP_GRACE_S = 2.0

#: How often ``--pin-extensions`` reads the agents' extensions again.
EXTENSIONS_EVERY_S = 60.0


def _load_extensions(db_url: str, site: str = "main") -> dict[str, frozenset[str]]:
    from crm import db
    from crm.repository.extensions import agent_extensions

    engine = db.connect(db_url)
    try:
        with db.session_factory(engine)() as session:
            return agent_extensions(session, site)
    finally:
        engine.dispose()


async def _reload_extensions(gateway: Gateway, db_url: str, site: str) -> None:
    import asyncio

    from crm.errors import CrmError

    while True:
        await asyncio.sleep(EXTENSIONS_EVERY_S)
        try:
            gateway.extensions = await asyncio.to_thread(_load_extensions, db_url, site)
        except CrmError as exc:  # the database is away: keep the last assignment
            logger.warning("cti-gateway: could not read the agents' extensions again: %s", exc)


async def _serve_gateway(link_url: str, settings: Settings, *, pin_extensions: bool = False,
                         unreachable: LinkUnreachable | None = None) -> None:
    """Bridge the link at ``link_url`` to the bus until SIGINT/SIGTERM."""
    import asyncio
    import contextlib
    import signal

    from bus.transport import open_bus
    from cti.errors import LinkUnavailable
    from cti.gateway import gateway_will
    from cti.url import open_link

    from ..components import cti_gateway

    client_id = f"cti-gateway-{settings.site}"
    link = open_link(link_url)
    # Its last will is its capabilities offline: desktops and the ACD learn of its death from them.
    bus = open_bus(settings.mqtt_url, client_id=client_id, site=settings.site, role="cti-gateway",
                   will=gateway_will(settings.site, unreachable))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, stop.set)
    extensions = await asyncio.to_thread(_load_extensions, settings.db_url, settings.site) if pin_extensions else None
    if extensions is not None:
        logger.info("cti-gateway: agents log in only on their assigned extensions (%d agents)", len(extensions))
    async with bus:
        gateway = cti_gateway(link, bus, settings, client_id=client_id, extensions=extensions)
        reloader = (asyncio.create_task(_reload_extensions(gateway, settings.db_url, settings.site))
                    if pin_extensions else None)
        await gateway.start()
        try:
            await link.connect()
        except LinkUnavailable as exc:  # said on the bus as the connection closes; run_gateway tries again
            if unreachable is not None:
                unreachable.failed(str(exc))
            raise
        if unreachable is not None:
            unreachable.reached()
        logger.info("cti-gateway: %s bridged to %s (site %s)", link_url.split("@")[-1],
                    settings.mqtt_url.split("@")[-1], settings.site)
        runner = asyncio.create_task(gateway.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if reloader is not None:
                reloader.cancel()
            await link.close()
            stopper.cancel()
            # The gateway says goodbye on the bus (capabilities offline) as it ends; with the broker away
            # that publish would wait for the link: a stop is not held up longer than STOP_GRACE_S.
            done, _ = await asyncio.wait({runner}, timeout=STOP_GRACE_S)
            if not done:
                logger.info("cti-gateway: the broker is away: stopping without saying goodbye on the bus")
                runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
