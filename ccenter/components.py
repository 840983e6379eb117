"""The process components, each built once from settings, a bus and the database.

The production commands (``ccenter cti-gateway``, ``ccenter acd``, ``ccenter dialer``) and
``ccenter demo`` build their parts here, so the demo runs what production runs and a change to the
wiring lands once. Each function returns the component unstarted; the caller owns the loop, starts
it (``await component.start()``) and stops it. Imports are inside the functions: a command pays only
for what it builds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from .config import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from bus.messages import CallEvent
    from bus.transport import Bus
    from crm.db import SessionFactory
    from cti.gateway import Gateway
    from cti.link import CtiLink
    from ivr.fastagi import FastAgiServer
    from ivr.flow import Flow
    from ivr.lookup import CustomerLookup
    from routing.acd_config import AcdConfig
    from routing.dialer_service import DialerService
    from routing.server import AcdServer, ExplainClient
    from routing.supervision import SupervisorClient


def acd_config(settings: Settings, queues_file: str | None = None) -> AcdConfig:
    """The ACD's queues and agents: ``queues_file``, else the ``[acd]`` table of the configuration
    file, else the database."""
    from routing.acd_config import acd_config_from_db, load_acd_config

    if queues_file:
        return load_acd_config(queues_file)
    if settings.config_file is not None:
        import tomllib

        with open(settings.config_file, "rb") as fh:
            if "acd" in tomllib.load(fh):
                return load_acd_config(settings.config_file)
    from crm import db

    engine = db.connect(settings.db_url)
    try:
        with db.session_factory(engine)() as session:
            return acd_config_from_db(session, settings.site)
    finally:
        engine.dispose()


def acd_server(
    bus: Bus,
    config: AcdConfig,
    settings: Settings,
    *,
    election: bool,
    record: IO[str] | None = None,
    client_id: str | None = None,
    sessions: SessionFactory | None = None,
) -> AcdServer:
    """``ccenter acd``: the ACD server of ``settings.site``; ``election=False`` leads at once. With
    ``sessions`` it also carries out supervisors' actions (routing.supervision), audited in the database.

    Its presence and leader records name it by the bus's own client id (unless ``client_id`` says
    otherwise): the broker's ACL lets a client write only the presence of its own client id."""
    from routing.server import AcdServer
    from routing.supervision import SupervisorDesk

    name = client_id or str(getattr(bus, "client_id", "") or "") or None
    desk = SupervisorDesk(sessions, site=settings.site) if sessions is not None else None
    return AcdServer(bus, config, settings.site, client_id=name, election=election, record=record,
                     supervision=desk)


def explain_client(bus: Bus, settings: Settings, *, timeout_s: float = 5.0) -> ExplainClient:
    """The supervisor window's questions to the site's leading ACD (``await client.start()`` first)."""
    from routing.server import ExplainClient

    return ExplainClient(bus, settings.site, timeout_s=timeout_s)


def supervisor_client(bus: Bus, settings: Settings, login: str) -> SupervisorClient:
    """The supervisor window's actions, on the topic only ``login``'s identity may write (``await client.start()``)."""
    from routing.supervision import SupervisorClient

    return SupervisorClient(bus, settings.site, login)


def dialer_service(
    bus: Bus, sessions: SessionFactory, settings: Settings, *, no_disposition_after_s: float | None = None,
    keep_decisions_days: float | None = None, messages_url: str | None = None, messages_token: str | None = None,
    outbox: Path | None = None,
) -> DialerService:
    """``ccenter dialer``: progressive and predictive campaigns of the database, paced on the ACD's agents,
    and the callbacks promised to callers.

    ``no_disposition_after_s``: how long an answered call may wait for its contact before its work item
    counts as "answered, no disposition"; ``keep_decisions_days``: how long dial decisions are kept (the
    service's defaults when None); ``messages_url``: the REST gateway that sends the ``sms`` and ``email``
    channels' messages (none: they wait); ``outbox``: the file where attempts wait while the database is
    away (a temporary one when None)."""
    from datetime import timedelta

    from routing.dialer_service import DialerService

    options: dict[str, Any] = {"region": settings.default_region, "outbox": outbox}
    if no_disposition_after_s is not None:
        options["no_disposition_after_s"] = no_disposition_after_s
    if keep_decisions_days is not None:
        options["keep_decisions_for"] = timedelta(days=keep_decisions_days)
    if messages_url:
        from routing.messaging import MessageConnector, MessageSender

        options["messages"] = MessageSender(MessageConnector(messages_url, token=messages_token), sessions,
                                           site=settings.site)
    return DialerService(bus, sessions, settings.site, **options)


def cti_gateway(
    link: CtiLink,
    bus: Bus,
    settings: Settings,
    *,
    client_id: str,
    extensions: Mapping[str, frozenset[str]] | None = None,
) -> Gateway:
    """``ccenter cti-gateway``: one telephony link bridged to the bus (``await gateway.run()`` after start);
    ``extensions``: each agent's assigned extensions, the only ones it may use (None: any)."""
    from cti.gateway import Gateway

    return Gateway(link, bus, site=settings.site, client_id=client_id, extensions=extensions)


def ivr_server(
    bus: Bus,
    settings: Settings,
    sessions: SessionFactory,
    flows: Sequence[Flow],
    lookup: CustomerLookup,
    *,
    default_flow: str | None = None,
    also_on_handoff: Callable[[CallEvent], Awaitable[None] | None] | None = None,
) -> FastAgiServer:
    """The IVR's FastAGI server: each hand-off is published on the call's topic (QoS 1), each session
    recorded in the database (off the loop). ``also_on_handoff`` sees each hand-off after it is published.
    ``await server.start(host, port)`` to listen."""
    import asyncio
    import inspect

    from bus import topics
    from bus.transport import QOS_COMMAND
    from ivr.fastagi import FastAgiServer
    from ivr.record import SessionRecord
    from ivr.reporting import SessionStore

    store = SessionStore(sessions)

    async def publish(event: CallEvent) -> None:
        await bus.publish(topics.call(settings.site, event.call_id), event, qos=QOS_COMMAND)
        if also_on_handoff is not None:
            result = also_on_handoff(event)
            if inspect.isawaitable(result):
                await result

    async def record(session_record: SessionRecord) -> None:
        await asyncio.to_thread(store.store, session_record)

    by_name: Mapping[str, Flow] = {flow.name: flow for flow in flows}
    return FastAgiServer(by_name, lookup, default_flow=default_flow, on_handoff=publish, on_record=record)

