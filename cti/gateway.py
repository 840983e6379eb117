"""The CTI gateway: one link bridged to the bus.

Events go out on ``ccenter/v1/<site>/calls/<call_id>`` (call and queue events) and
``ccenter/v1/<site>/agents/<agent_id>/events`` (agent states); commands come in on
``ccenter/v1/<site>/cti/commands`` as :class:`bus.messages.Command` (``name`` is a
:class:`~cti.model.Capability` value, ``args`` its arguments; see :func:`cti.link.dispatch`). A
command delivered twice (QoS 1) runs once.

Every command gets a :class:`bus.messages.CommandResult` (QoS 1): on the commanding agent's events
topic ``ccenter/v1/<site>/agents/<agent_id>/events`` when the command names an agent, otherwise on
``ccenter/v1/<site>/cti/results`` (:func:`bus.topics.cti_results`). It follows the events the command caused
that the link already knew of. A duplicate delivery of a command that is done gets the same result
again. The link's capabilities are published retained on ``ccenter/v1/<site>/cti/capabilities``
(:func:`bus.topics.cti_capabilities`) as :class:`bus.messages.CtiCapabilities` while the gateway runs, with
``online`` false once it stopped. :class:`cti.buslink.BusLink` is the client side of all this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

from bus import topics
from bus.messages import AgentState, CallEvent, Command, CommandResult, CtiCapabilities
from bus.transport import QOS_COMMAND, QOS_EVENT, Bus, Subscription

from .errors import CtiError, LocalProtocolError
from .link import CtiLink, dispatch
from .model import CallTracker, LinkEvent

logger = logging.getLogger(__name__)

_SEEN_COMMANDS = 4096
#: How long a command's result waits for the events the command caused to be published first.
_EVENTS_FIRST_S = 2.0


def result_topic(site: str, command: Command) -> str:
    """Where the result of ``command`` is published."""
    if command.agent_id:
        return topics.agent_events(site, command.agent_id)
    return topics.cti_results(site)


#: A desktop asks which of its calls are still up, after it may have missed events.
LIVE_CALLS = "live_calls"


class Gateway:
    def __init__(self, link: CtiLink, bus: Bus, *, site: str = "main", client_id: str = "") -> None:
        self.link = link
        self.bus = bus
        self.site = site
        self.client_id = client_id
        self.published = 0
        self.commands_done = 0
        self.commands_failed = 0
        self.acd_epoch = 0  # the highest ACD leader epoch seen on a command
        self.tracker = CallTracker()  # the live calls, as this gateway published them
        # command_id -> its result (None while it runs)
        self._seen: OrderedDict[str, CommandResult | None] = OrderedDict()
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the command topic (before the link speaks, so no command is missed)."""
        self._subscription = await self.bus.subscribe(topics.cti_commands(self.site), qos=QOS_COMMAND)

    async def run(self) -> None:
        """Bridge until the link's events end (the link closed) or the task is cancelled."""
        if self._subscription is None:
            await self.start()
        commands = asyncio.create_task(self._serve_commands())
        await self._announce(online=True)
        try:
            async for event in self.link.events():
                await self._publish(event)
        finally:
            commands.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commands
            if self._subscription is not None:
                await self._subscription.close()
            with contextlib.suppress(Exception):
                await self._announce(online=False)

    async def _announce(self, *, online: bool) -> None:
        message = CtiCapabilities(
            online=online,
            ts=time.time(),
            capabilities=sorted(c.value for c in self.link.capabilities),
            link=type(self.link).__name__,
            client_id=self.client_id,
        )
        await self.bus.publish(topics.cti_capabilities(self.site), message, qos=QOS_COMMAND, retain=True)

    async def _publish(self, event: LinkEvent) -> None:
        try:
            if isinstance(event, CallEvent):
                topic = topics.call(self.site, event.call_id)
            elif isinstance(event, AgentState):
                topic = topics.agent_events(self.site, event.agent_id)
            else:
                return
        except ValueError as exc:
            logger.error("cannot publish %s: %s", event.message_type, exc)
            return
        self.tracker.apply(event)
        await self.bus.publish(topic, event, qos=QOS_EVENT)
        self.published += 1

    async def _serve_commands(self) -> None:
        assert self._subscription is not None
        async for envelope in self._subscription:
            message = envelope.message
            if not isinstance(message, Command):
                logger.warning("ignored a %s message on %s", message.message_type, envelope.topic)
                continue
            epoch = message.args.get("epoch")
            if isinstance(epoch, int) and not isinstance(epoch, bool):
                if epoch < self.acd_epoch:
                    # A deposed ACD leader still talking: its decisions are no longer the site's.
                    logger.info("command %s from ACD epoch %d ignored: epoch %d leads", message.command_id,
                                epoch, self.acd_epoch)
                    await self._reply(message, CommandResult(
                        command_id=message.command_id, ok=False, ts=time.time(), result={"kind": "StaleLeader"},
                        error=f"ACD epoch {epoch} is no longer the leader (epoch {self.acd_epoch} is)",
                        agent_id=message.agent_id, name=message.name,
                    ))
                    continue
                self.acd_epoch = epoch
            if message.command_id in self._seen:
                logger.info("command %s delivered again: already done", message.command_id)
                previous = self._seen[message.command_id]
                if previous is not None:
                    await self._reply(message, previous)
                continue
            self._seen[message.command_id] = None
            while len(self._seen) > _SEEN_COMMANDS:
                self._seen.popitem(last=False)
            try:
                if message.name == LIVE_CALLS:
                    asked = message.args.get("call_ids")
                    if not isinstance(asked, list) or not all(isinstance(c, str) for c in asked):
                        raise LocalProtocolError(f"command {LIVE_CALLS} ({message.command_id}) needs call_ids")
                    result: dict[str, Any] = {"live": sorted(c for c in asked if self.tracker.get(c) is not None)}
                else:
                    result = await dispatch(self.link, message)
            except Exception as exc:
                self.commands_failed += 1
                if isinstance(exc, CtiError):
                    logger.warning("command %s (%s) failed: %s", message.command_id, message.name, exc)
                else:
                    logger.exception("command %s (%s) failed unexpectedly", message.command_id, message.name)
                reply = CommandResult(
                    command_id=message.command_id,
                    ok=False,
                    ts=time.time(),
                    result={"kind": type(exc).__name__},
                    error=str(exc),
                    agent_id=message.agent_id,
                    name=message.name,
                )
            else:
                self.commands_done += 1
                logger.info("command %s (%s) done %s", message.command_id, message.name, result or "")
                reply = CommandResult(
                    command_id=message.command_id,
                    ok=True,
                    ts=time.time(),
                    result=result,
                    agent_id=message.agent_id,
                    name=message.name,
                )
            if message.command_id in self._seen:
                self._seen[message.command_id] = reply
            await self.link.events_taken(_EVENTS_FIRST_S)
            await self._reply(message, reply)

    async def _reply(self, command: Command, reply: CommandResult) -> None:
        try:
            topic = result_topic(self.site, command)
        except ValueError as exc:
            logger.error("cannot answer command %s: %s", command.command_id, exc)
            return
        await self.bus.publish(topic, reply, qos=QOS_COMMAND)

