"""``ccenter doctor``: check a configuration and name what is broken.

It only looks: a database that does not exist is reported, not created. The checks:

- **database**: reachable, and its schema at the newest migration;
- **broker**: reachable with this configuration's credentials, and the identity's access rules work:
  every topic its role reads (``ccenter broker provision``'s table) is granted on subscribe, and a
  message published on its own presence topic comes back (not retained: nothing is left behind);
- **flows**: every queue the configured IVR flows name is routed;
- **prompts**: every audio prompt of those flows is a file in the PBX's sounds directory;
- **link** (``--link``, or ``CCENTER_LINK``): the telephony link answers; for AMI, its account has the
  permissions; a CSTA server accepts a connection; a serial device is there and may be opened.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
        help="also check this telephony link (default: CCENTER_LINK, as the gateway's environment file sets it): "
        "log in to AMI and name the permissions its account lacks, reach a CSTA server, find a serial device",
    )
    parser.add_argument(
        "--sounds",
        metavar="DIR",
        help="the PBX's sounds directory, where every prompt of the flows must be "
        "(default: [ivr] sounds_dir of the configuration)",
    )
    parser.add_argument(
        "--role",
        metavar="ROLE",
        help="the broker identity's role, whose topics are probed: cti-gateway, acd, dialer, ivr, supervisor "
        "or agent (default: from the user name, svc-acd-1 is acd; other users are agents)",
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
            names = {queue.name for queue in repository.list_queues(session, settings.site)}
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


def broker_role(username: str | None, role: str | None) -> str | None:
    """The role whose topics the doctor probes: given, or read from a service user's name."""
    from .broker import DEFAULT_SERVICES, SERVICE_PREFIX, SERVICE_RULES

    if role:
        if role != "agent" and role not in SERVICE_RULES:
            raise BusError(f"unknown role {role!r} (known: agent, {', '.join(SERVICE_RULES)})")
        return role
    if not username:
        return None
    if username in DEFAULT_SERVICES:
        return DEFAULT_SERVICES[username]
    if username.startswith(SERVICE_PREFIX):
        name = username[len(SERVICE_PREFIX):]
        base = name.rstrip("0123456789").rstrip("-")
        for candidate in (name, base):
            if candidate in SERVICE_RULES:
                return candidate
        raise BusError(f"cannot tell the role of {username!r}: give --role")
    return "agent"


@dataclass(frozen=True, slots=True)
class ProbePlan:
    """What the doctor subscribes to and publishes on a probe site, and which of those prove a rule."""

    site: str
    reads: tuple[str, ...]  # filters subscribed
    writes: tuple[str, ...]  # topics published
    round_trips: tuple[str, ...]  # the writes that a read filter covers: they must come back


def probe_plan(role: str | None, probe_site: str, username: str, client_id: str) -> ProbePlan:
    """The role's access rules (``ccenter broker provision``'s table) as topics of ``probe_site``.

    Processes subscribe on their own site only, so nothing but the doctor sees the probe site's
    messages; the ACL's rules name every site (``ccenter/v1/+``), so they apply to it as to the real one.
    """
    from bus import topics

    from .broker import _P, AGENT_PATTERNS, SERVICE_RULES

    rules = list(AGENT_PATTERNS) + (list(SERVICE_RULES[role]) if role is not None and role in SERVICE_RULES else [])
    site = f"{topics.PREFIX}/{probe_site}"
    reads: list[str] = []
    writes: list[str] = []
    for access, rule in rules:
        pattern = f"{_P}/#" if rule == f"{topics.PREFIX}/#" else rule
        topic = pattern.replace(_P, site, 1).replace("%u", username).replace("%c", client_id)
        if "read" in access and topic not in reads:
            reads.append(topic)
        if "write" in access:
            concrete = topic.replace("+", "probe").replace("#", "probe")
            if concrete not in writes:
                writes.append(concrete)
    covered = tuple(w for w in writes if any(topics.matches(r, w) for r in reads))
    return ProbePlan(probe_site, tuple(reads), tuple(writes), covered)


#: Seconds the doctor waits for its probe messages to come back.
PROBE_TIMEOUT_S = 5.0


async def broker_probe(url: str, site: str, role: str | None, timeout: float = PROBE_TIMEOUT_S) -> str:
    """Connect as ``url``'s user and try the role's access rules on a probe site of its own: every
    topic the role writes and also reads must come back. :class:`BusError` names a refused rule.

    ``site`` is the configured one; the probe uses a site of its own beside it, so that no process
    of the site sees the probe.
    """
    import asyncio
    import secrets
    import time

    import aiomqtt

    from bus.errors import BrokerUnavailable
    from bus.messages import Presence, encode
    from bus.mqtt import parse_address, safe_url, unique_client_id

    address = parse_address(url)
    user = address.username or ""
    client_id = unique_client_id(f"doctor-{user or 'anonymous'}", user or None)
    plan = probe_plan(role, f"doctor-probe-{secrets.token_hex(4)}", user, client_id)
    payload = encode(Presence(client_id=client_id, online=True, ts=time.time(), role="doctor"))
    client = aiomqtt.Client(
        address.host, address.port, username=address.username, password=address.password,
        identifier=client_id, timeout=timeout, tls_context=address.tls_context(),
    )
    waiting = set(plan.round_trips)
    try:
        async with client:
            for topic in plan.reads:
                await client.subscribe(topic, qos=1)
            for topic in plan.writes:
                await client.publish(topic, payload, qos=1)

            async def echoed() -> None:
                async for message in client.messages:
                    waiting.discard(str(message.topic))
                    if not waiting:
                        return

            if waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(echoed(), timeout)
    except aiomqtt.MqttError as exc:
        raise BrokerUnavailable(f"cannot connect to the MQTT broker {safe_url(url)} (site {site}): {exc}") from None
    who = user or "anonymous"
    if waiting:
        refused = ", ".join(sorted(t.replace(plan.site, "<site>", 1) for t in waiting))
        raise BusError(
            f"{who} (role {role or 'agent'}) may not both write and read {refused}: a message published there "
            f"did not come back within {timeout:.0f} s (check the broker's ACL: `ccenter broker provision`)"
        )
    shown = f"as {who}" if user else "anonymously (a production broker refuses anonymous clients)"
    alone = len(plan.reads) + len(plan.writes) - 2 * len(plan.round_trips)
    return (
        f"connected to {safe_url(url)} {shown}; role {role or 'agent'}: {len(plan.round_trips)} topics written and "
        f"read back, {alone} more subscribed or published that this identity cannot read back alone"
    )


def check_broker(settings: Settings, role: str | None = None) -> str:
    if settings.mqtt_url.startswith(IN_PROCESS_BUS):
        return "in-process bus (single-process mode)"
    import asyncio

    from bus.mqtt import parse_address

    if not settings.mqtt_url.startswith(("mqtt://", "mqtts://")):
        raise BusError(f"unsupported bus URL {settings.mqtt_url!r}: use inproc:// or mqtt://host:port")
    who = broker_role(parse_address(settings.mqtt_url).username, role)
    # A selector loop, as the desktop's network thread uses: aiomqtt needs add_reader, which the
    # default loop on Windows (proactor) lacks, and the desktop runs this check before its login.
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        return runner.run(broker_probe(settings.mqtt_url, settings.site, who))


#: Extensions of sound files Asterisk plays (it picks the best format it finds for a name).
SOUND_EXTENSIONS = ("wav", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "mp3", "wav16")


def flow_audio(flow: Any) -> list[tuple[str, str, str]]:
    """Every (node, language, sound name) a flow plays."""
    from ivr.flow import Prompt

    found: list[tuple[str, str, str]] = []
    for node in flow.nodes.values():
        for name in getattr(type(node), "__dataclass_fields__", {}):
            prompt = getattr(node, name, None)
            if isinstance(prompt, Prompt):
                found += [(node.id, language, sound) for language, sound in prompt.audio.items()]
    return found


def sound_present(sounds: Path, name: str, language: str) -> bool:
    """Whether Asterisk finds ``name`` under ``sounds``: ``<name>.<ext>`` or ``<lang>/<name>.<ext>``."""
    bases = [sounds / name]
    if language != "*":
        bases.append(sounds / language / name)
    else:
        bases += [d / name for d in sounds.iterdir() if d.is_dir() and len(d.name) <= 5] if sounds.is_dir() else []
    return any(base.with_name(f"{base.name}.{ext}").is_file() for base in bases for ext in SOUND_EXTENSIONS)


def check_prompts(settings: Settings, flows: list[str] | None, sounds: str | None) -> str:
    from .ivr import resolve_flow, shipped_flows

    directory = Path(sounds) if sounds else settings.sounds_dir
    names = flows or list(settings.flows)
    loaded = [resolve_flow(name) for name in names] if names else shipped_flows()
    if directory is None:
        return "not checked: no sounds directory (give --sounds DIR or [ivr] sounds_dir)"
    if not directory.is_dir():
        raise IvrConfigBroken(f"the sounds directory {directory} does not exist")
    missing: list[str] = []
    count = 0
    for flow in loaded:
        for node, language, sound in flow_audio(flow):
            count += 1
            if not sound_present(directory, sound, language):
                where = "" if language == "*" else f" ({language})"
                missing.append(f"{flow.name}: node {node}{where} plays {sound}")
    if missing:
        shown = "; ".join(missing[:10]) + (f"; and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise IvrConfigBroken(f"{len(missing)} of {count} prompts are not in {directory}: {shown}")
    return f"{', '.join(flow.name for flow in loaded)}: all {count} prompts are in {directory}"


class IvrConfigBroken(Exception):
    """The flows' prompts are not where the PBX looks for them."""


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
    """AMI: log in and read the account's permissions; CSTA: the PBX accepts a connection; serial:
    the device is there; sim: nothing to reach."""
    from urllib.parse import urlsplit

    scheme = url.split("://", 1)[0].lower()
    if scheme == "ami":
        import asyncio

        return asyncio.run(ami_permissions(url))
    if scheme == "csta":
        import socket

        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise LinkBroken(f"a CSTA link URL names a host and a port (csta://pbx:2555), not {url!r}")
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=5):
                pass
        except OSError as exc:
            raise LinkBroken(f"the CSTA server {parts.hostname}:{parts.port} cannot be reached: {exc}") from None
        return f"the CSTA server {parts.hostname}:{parts.port} accepts connections"
    if scheme == "serial":
        device = Path(urlsplit(url).path)
        if not device.exists():
            raise LinkBroken(f"no serial device {device} (is it plugged in, and is the user in group dialout?)")
        if not os.access(device, os.R_OK | os.W_OK):
            raise LinkBroken(f"the serial device {device} cannot be opened by this user (group dialout?)")
        return f"the serial device {device} is there and may be opened"
    if scheme == "sim":
        return "the simulated PBX: nothing to reach"
    return f"a {scheme}:// link: nothing more to check"


def run(args: argparse.Namespace) -> int:
    from ivr.errors import IvrError
    from routing.errors import RoutingError

    settings = settings_from(args)
    flows = args.flow or list(settings.flows) or None
    checks: list[tuple[str, Callable[[Settings], str]]] = [
        ("database", check_database),
        ("broker", lambda s: check_broker(s, args.role)),
        ("flows", lambda s: check_flows(s, flows)),
        ("prompts", lambda s: check_prompts(s, flows, args.sounds)),
    ]
    link_url = getattr(args, "link", None) or os.environ.get("CCENTER_LINK")
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
        except (CrmError, BusError, IvrError, RoutingError, LinkBroken, IvrConfigBroken) as exc:
            broken += 1
            broken_database = broken_database or name == "database"
            print(f"BROKEN  {name:<9} {exc}")
        else:
            print(f"ok      {name:<9} {detail}")
    return 1 if broken else 0
