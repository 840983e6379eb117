"""The process components, each built once from settings, a bus and the database.

The production commands (``ccenter cti-gateway``, ``ccenter acd``, ``ccenter dialer``) and
``ccenter demo`` build their parts here, so the demo runs what production runs and a change to the
wiring lands once. Each function returns the component unstarted; the caller owns the loop, starts
it (``await component.start()``) and stops it. Imports are inside the functions: a command pays only
for what it builds.
"""

from __future__ import annotations

import logging
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
    from routing.adapter import Promise
    from routing.dialer_service import DialerService, RecordCallback
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
    desktop_grace_s: float | None = None,
) -> AcdServer:
    """``ccenter acd``: the ACD server of ``settings.site``; ``election=False`` leads at once. With
    ``sessions`` it also carries out supervisors' actions (routing.supervision), audited in the database.
    ``desktop_grace_s``: how long an agent whose desktop died stays logged on, offered nothing (default
    :data:`routing.server.DESKTOP_GRACE_S`).

    Its presence and leader records name it by the bus's own client id (unless ``client_id`` says
    otherwise): the broker's ACL lets a client write only the presence of its own client id."""
    from routing.server import AcdServer
    from routing.supervision import SupervisorDesk

    name = client_id or str(getattr(bus, "client_id", "") or "") or None
    desk = SupervisorDesk(sessions, site=settings.site) if sessions is not None else None
    keep = None
    if sessions is not None:
        factory = sessions

        async def keep(promise: Promise) -> None:
            await _keep_queue_promise(factory, settings, promise)

    from routing.server import DESKTOP_GRACE_S

    return AcdServer(bus, config, settings.site, client_id=name, election=election, record=record,
                     supervision=desk, keep_promise=keep,
                     desktop_grace_s=DESKTOP_GRACE_S if desktop_grace_s is None else desktop_grace_s)


def explain_client(bus: Bus, settings: Settings, *, timeout_s: float = 5.0, login: str | None = None) -> ExplainClient:
    """The supervisor window's questions to the site's leading ACD (``await client.start()`` first): a
    supervisor's (``login``) on their own topics, answered about their own team's agents only."""
    from routing.server import ExplainClient

    return ExplainClient(bus, settings.site, timeout_s=timeout_s, login=login)


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


async def _keep_queue_promise(sessions: SessionFactory, settings: Settings, promise: Promise) -> None:
    """A queue's ``callback`` fallback is a promise the ACD writes itself before the gateway ends the call,
    so that it does not depend on the dialer hearing the gateway's result (which it also writes, once)."""
    from datetime import UTC, datetime

    from routing.dialer_service import RecordCallback, customer_of

    if not promise.calling:
        logging.getLogger("ccenter.acd").error(
            "call %s: a callback was promised in queue %s but the caller's number is unknown", promise.call_id,
            promise.queue)
        return
    record = RecordCallback(promise.call_id, promise.calling, "queue", promise.queue,
                            datetime.fromtimestamp(promise.ts, UTC), customer_of(promise.data), promise.data)
    await _write_promise(sessions, settings, record, "ccenter.acd")


async def _write_promise(sessions: SessionFactory, settings: Settings, promise: RecordCallback, log_name: str
                         ) -> None:
    """Write a promised callback in its own transaction, off the loop; a failure is logged (the dialer,
    when it hears of the promise, writes it too)."""
    import asyncio

    from crm import db
    from crm.errors import CrmError
    from routing.dialer_service import keep_promise

    def write() -> int:
        with db.transaction(sessions) as session:
            return keep_promise(session, promise, region=settings.default_region, site=settings.site)

    log = logging.getLogger(log_name)
    try:
        item = await asyncio.to_thread(write)
    except CrmError as exc:
        log.error("call %s: the callback promised to %s cannot be recorded: %s", promise.call_id, promise.number, exc)
    except Exception as exc:  # the database away: the dialer keeps the promise from the bus
        log.error("call %s: the callback promised to %s is not written yet (%s); the dialer will write it",
                  promise.call_id, promise.number, type(exc).__name__)
    else:
        log.info("call %s: the callback promised to %s is work item %d", promise.call_id, promise.number, item)


async def _keep_ivr_promise(sessions: SessionFactory, settings: Settings, event: CallEvent) -> None:
    """A callback the IVR promises ("press 8") is written by the IVR itself, in its own transaction, so
    that it does not depend on the dialer receiving the hand-off. Should the database refuse, the
    hand-off still goes out and the running dialer writes it (one promise per call either way)."""
    import time

    from routing.dialer_service import promised_in_handoff

    promise = promised_in_handoff(event, time.time())
    if promise is not None:
        await _write_promise(sessions, settings, promise, "ccenter.ivr")


def ivr_server(
    bus: Bus,
    settings: Settings,
    sessions: SessionFactory,
    flows: Sequence[Flow],
    lookup: CustomerLookup,
    *,
    default_flow: str | None = None,
    also_on_handoff: Callable[[CallEvent], Awaitable[None] | None] | None = None,
    outbox: Path | None = None,
) -> FastAgiServer:
    """The IVR's FastAGI server: each hand-off is published on the call's topic (QoS 1), each session
    recorded in the database (off the loop) through the outbox file ``outbox`` (kept there while the
    database is away, written once when it answers; a temporary file if None). ``also_on_handoff`` sees
    each hand-off after it is published. ``await server.start(host, port)`` to listen."""
    import asyncio
    import inspect

    from bus import topics
    from bus.transport import QOS_COMMAND
    from ivr.fastagi import FastAgiServer
    from ivr.record import SessionRecord
    from ivr.reporting import SessionStore

    store = SessionStore(sessions, outbox, site=settings.site)

    async def publish(event: CallEvent) -> None:
        await _keep_ivr_promise(sessions, settings, event)  # written before it is told: the dialer may be down
        await bus.publish(topics.call(settings.site, event.call_id), event, qos=QOS_COMMAND)
        if also_on_handoff is not None:
            result = also_on_handoff(event)
            if inspect.isawaitable(result):
                await result

    async def record(session_record: SessionRecord) -> None:
        await asyncio.to_thread(store.store, session_record)

    by_name: Mapping[str, Flow] = {flow.name: flow for flow in flows}
    return FastAgiServer(by_name, lookup, default_flow=default_flow, on_handoff=publish, on_record=record,
                         housekeeping=store.keep_flushing)

