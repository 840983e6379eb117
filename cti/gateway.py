"""The CTI gateway: one link bridged to the bus.

Events go out on ``ccenter/v1/<site>/calls/<call_id>`` (call and queue events) and
``ccenter/v1/<site>/agents/<agent_id>/events`` (agent states). The call events of a call an agent is
part of (the agent's extension or agent id appears on it) are also republished on that agent's
events topic, after one ``call.data`` event with what the site knows of the call so far (calling and
called number, the caller's name, queue, attached data, including what the IVR attached on the call topic): an agent's
broker account reads its own topics, not every call of the site (docs/security.md).

Commands (:class:`bus.messages.Command`, ``name`` a :class:`~cti.model.Capability` value, ``args``
its arguments; see :func:`cti.link.dispatch`) come in on two kinds of topic, and the topic says who
sent them, since only its owner may write it (the broker's ACL):

- ``ccenter/v1/<site>/cti/commands``: the ACD's and the dialer's. Only there do ``deliver``,
  ``withdraw``, ``fallback`` and ``dial_out`` run, and only there is an ACD epoch (``args.epoch``)
  heeded: a command of an older epoch than the leader's is refused (``StaleLeader``), one more than a
  step ahead of the epoch known from the commands and the leader record (``acd/leader``) too
  (``BadEpoch``);
- ``ccenter/v1/<site>/agents/<agent_id>/commands``: that agent's. It acts only for that agent
  (another ``agent_id`` is refused), only on the extension the agent is logged in on (``device``,
  ``from_device``, a login's ``extension`` held by nobody else) and only on the calls the agent is
  part of; with ``extensions`` (the agents table's, ``ccenter cti-gateway --pin-extensions``) only on
  an extension assigned to that agent; anything else is refused with ``Forbidden``.

Every command gets a :class:`bus.messages.CommandResult` (QoS 1), malformed ones too (``kind``
``LocalProtocolError``): on the agent's events topic ``ccenter/v1/<site>/agents/<agent_id>/events``
for an agent's command or a command that names an agent, otherwise on ``ccenter/v1/<site>/cti/results``
(:func:`bus.topics.cti_results`). It follows the events the command caused that the link already knew
of. A command delivered twice (QoS 1) runs once; a duplicate delivery of a command that is done gets
the same result again. Nothing a sender writes stops the command loop.

The link's capabilities are published retained on ``ccenter/v1/<site>/cti/capabilities``
(:func:`bus.topics.cti_capabilities`) as :class:`bus.messages.CtiCapabilities` while the gateway runs
(again after every reconnection to the broker, which may have forgotten them), with ``online``
false once it stopped. While the link has lost the telephone system (:attr:`cti.link.CtiLink.link_up`,
an AMI session dropped) it is published again with ``online`` and ``link_up`` false, since when and why
(``link_since``, ``link_reason``), and commands are refused (``LinkUnavailable``): desktops grey their
buttons out and the ACD offers no call until the link is back and ``online`` again. The gateway's bus
connection leaves the same message with ``online`` false as its MQTT last will (:func:`gateway_will`,
given to ``open_bus``): a gateway killed, or whose machine is gone, is seen as offline by desktops
and the ACD from the capabilities alone. The capabilities never name the gateway's MQTT client id.
:class:`cti.buslink.BusLink` is the client side of all this.

A broker away longer than the bus's publish timeout (10 s) loses no call event: the gateway keeps its PBX
link and what it knows of every call, says once that its publishes wait, and sends them, in order on
each topic, once the broker is back; commands are served again at once (``Gateway._send_after``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bus import topics
from bus.errors import BrokerUnavailable, BusError
from bus.messages import (
    AcdLeader,
    AgentState,
    AgentStateName,
    CallEvent,
    CallEventType,
    Command,
    CommandResult,
    CtiCapabilities,
    Message,
    encode,
)
from bus.transport import QOS_COMMAND, QOS_EVENT, Bus, Envelope, LastWill, Subscription
from crm.masking import mask, mask_text

from .errors import CtiError, LocalProtocolError
from .link import CtiLink, dispatch
from .model import CallState, CallTracker, Capability, LinkEvent

logger = logging.getLogger(__name__)

#: Call events and agent states go at QoS 1: a subscriber whose link is being re-established (its broker
#: restarted) gets them from its persistent session, so an ACD does not miss a call's end and leave the
#: agent reserved. Receivers take a repeated event for what it is (call life-cycles only move forward).
QOS_CALL_EVENT = QOS_COMMAND

_SEEN_COMMANDS = 4096
#: How long a command's result waits for the events the command caused to be published first.
_EVENTS_FIRST_S = 2.0
#: Call events and results sent and not yet acknowledged by the broker, at most (see ``Gateway._send``).
_IN_FLIGHT = 512
#: Calls remembered for the agents' view (parties and what the site knows of them).
_KNOWN_CALLS = 10_000
# The event that brings an agent joining a live call to its state.
_EVENT_OF_STATE = {
    CallState.OFFERED: CallEventType.OFFERED,
    CallState.ALERTING: CallEventType.ALERTING,
    CallState.CONNECTED: CallEventType.ANSWERED,
    CallState.HELD: CallEventType.HELD,
}

#: A desktop asks which of its calls are still up, after it may have missed events.
LIVE_CALLS = "live_calls"
#: What an agent may ask for on its own command topic.
AGENT_COMMANDS = frozenset(c.value for c in Capability) | {LIVE_CALLS}
#: Arguments naming a device: for an agent, its own extension only.
_DEVICE_ARGS = ("device", "from_device")
#: Arguments naming a call: for an agent, one of its calls only.
_CALL_ARGS = ("call_id", "consult_call_id")


#: A link's state as published: up, since when, why it is down.
_LinkState = tuple[bool, float | None, str]


class Forbidden(CtiError):
    """A command its sender may not give (another agent, another extension, a call not its own)."""


class BadEpoch(CtiError):
    """An ACD epoch that cannot be: not an integer, or more than one step ahead of the leader's."""


class _StaleLeader(CtiError):
    """A command of a deposed ACD leader."""


def _masked(event: LinkEvent) -> LinkEvent:
    """``event`` with card numbers masked in its free text: the PBX's attached data and the digits
    callers keyed (``data``), the caller's name, the cause, a state's reason. Numbers and ids stay."""
    if isinstance(event, CallEvent):
        data = mask(event.data) if event.data else event.data
        name = mask_text(event.calling_name) if event.calling_name else event.calling_name
        cause = mask_text(event.cause) if event.cause else event.cause
        if data == event.data and name == event.calling_name and cause == event.cause:
            return event
        logger.info("masked a card number in %s of call %s", event.type, event.call_id)
        return replace(event, data=data, calling_name=name, cause=cause)
    if isinstance(event, AgentState) and event.reason:
        reason = mask_text(event.reason)
        return event if reason is event.reason else replace(event, reason=reason)
    return event


def result_topic(site: str, command: Command) -> str:
    """Where the result of ``command`` is published."""
    if command.agent_id:
        return topics.agent_events(site, command.agent_id)
    return topics.cti_results(site)


def _check_shape(command: Command) -> None:
    """Refuse a command whose fields are not of their types (it came from anybody's JSON)."""
    if not isinstance(command.command_id, str) or not command.command_id:
        raise LocalProtocolError("a command needs a command_id (text)")
    if not isinstance(command.name, str) or not command.name:
        raise LocalProtocolError(f"command {command.command_id!r} needs a name (text)")
    if not isinstance(command.args, dict):
        raise LocalProtocolError(f"command {command.name!r} ({command.command_id}): 'args' must be an object")
    data = command.args.get("data")
    if data is not None and not (isinstance(data, dict) and all(isinstance(k, str) for k in data)):
        raise LocalProtocolError(f"command {command.name!r} ({command.command_id}): 'data' must be an object")
    for field in ("call_id", "agent_id"):
        value = getattr(command, field)
        if value is not None and not isinstance(value, str):
            raise LocalProtocolError(f"command {command.name!r} ({command.command_id}): {field!r} must be text")


class LinkUnreachable:
    """Why a gateway's link could not reach its telephone system at start (None: it did, or not tried yet)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.since: float | None = None

    def failed(self, reason: str) -> None:
        self.reason = reason
        self.since = self.since or time.time()

    def reached(self) -> None:
        self.reason = self.since = None


def gateway_will(site: str, unreachable: LinkUnreachable | None = None) -> LastWill:
    """The gateway's MQTT last will: its capabilities, retained, saying offline (no gateway online).

    With ``unreachable`` set (the link could not connect: a PBX away, a softphone not running) the
    goodbye says the link is down and why, so that desktops show that rather than "no gateway"."""

    def gone() -> CtiCapabilities:
        if unreachable is None or unreachable.reason is None:
            return CtiCapabilities(online=False, ts=time.time())
        return CtiCapabilities(online=False, ts=time.time(), link_up=False, link_since=unreachable.since,
                               link_reason=unreachable.reason)

    return LastWill(topics.cti_capabilities(site), gone=gone)


class Gateway:
    def __init__(
        self,
        link: CtiLink,
        bus: Bus,
        *,
        site: str = "main",
        client_id: str = "",
        extensions: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``extensions``: the extensions each agent may use (``crm.repository.extensions``); an agent
        not in it may use none. None: any extension no other agent holds."""
        self.link = link
        self.extensions = extensions
        self.bus = bus
        self.site = site
        # The bus's own client id (unique per instance) is the one its presence and last will name.
        self.client_id = str(getattr(bus, "client_id", "") or client_id)
        self.published = 0
        self.commands_done = 0
        self.commands_failed = 0
        self.acd_epoch = 0  # the ACD leader epoch heeded (0: none known yet)
        self.leader_epoch = 0  # the highest epoch of the ACD leader records (0: none seen)
        self.tracker = CallTracker()  # the live calls, as this gateway published them
        self.site_calls = CallTracker()  # every call event of the site (the IVR's too), for the agents' view
        # (source topic, command_id) -> its result (None while it runs)
        self._seen: OrderedDict[tuple[str, str], CommandResult | None] = OrderedDict()
        self._subscriptions: list[Subscription] = []
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue()
        self._readers: list[asyncio.Task[None]] = []
        self._at_extension: dict[str, str] = {}  # extension -> the agent logged in on it
        self._extension_of: dict[str, str] = {}  # agent -> its extension
        self._parties: OrderedDict[str, set[str]] = OrderedDict()  # call -> agents part of it
        self._own: OrderedDict[bytes, int] = OrderedDict()  # call events published, not yet echoed
        self._online = False
        self._announce_lock = asyncio.Lock()
        self._announcing: set[asyncio.Task[None]] = set()
        self._sending: dict[str, asyncio.Task[None]] = {}  # topic -> its newest publish not yet acknowledged
        self._window = asyncio.Semaphore(_IN_FLIGHT)
        self._holding = False  # a publish waits for the broker, away longer than the bus's publish timeout
        self.held = 0  # publishes the bus gave up on while the broker was away (each tried again)
        self._lanes: dict[str, asyncio.Task[None]] = {}  # command topic -> its newest command being served
        self._lanes_window = asyncio.Semaphore(_IN_FLIGHT)

    async def start(self) -> None:
        """Subscribe to the command topics (before the link speaks, so no command is missed)."""
        for pattern, qos in (
            (topics.cti_commands(self.site), QOS_COMMAND),
            (topics.all_agent_commands(self.site), QOS_COMMAND),
            (topics.acd_leader(self.site), QOS_COMMAND),
            (topics.calls(self.site), QOS_EVENT),
        ):
            subscription = await self.bus.subscribe(pattern, qos=qos)
            self._subscriptions.append(subscription)
            self._readers.append(asyncio.create_task(self._read(subscription), name=f"gateway {pattern}"))
        on_reconnect = getattr(self.bus, "on_reconnect", None)
        if on_reconnect is not None:
            on_reconnect(self._on_bus_reconnect)
        self.link.on_link_state(self._on_link_state)

    def _on_link_state(self, up: bool, reason: str) -> None:
        if up:
            logger.info("the CTI link has the telephone system again")
        else:
            logger.info("the CTI link lost the telephone system: %s", reason)  # the link warns itself
        if self._online:
            # This state, as of now: a drop and a quick reconnection are both published, in order.
            state = (up, self.link.link_since, reason)
            task = asyncio.create_task(self._announce_link_state(state), name="gateway link state")
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _read(self, subscription: Subscription) -> None:
        async for envelope in subscription:
            await self._queue.put(envelope)

    async def run(self) -> None:
        """Bridge until the link's events end (the link closed) or the task is cancelled."""
        if not self._subscriptions:
            await self.start()
        commands = asyncio.create_task(self._serve_commands())
        self._online = True
        await self._announce(online=True)
        try:
            async for event in self.link.events():
                await self._publish(event)
            await self._sent()
        finally:
            self._online = False
            commands.cancel()
            if self._sending:  # what was sent goes out, unless the broker is gone
                await asyncio.wait(set(self._sending.values()), timeout=_EVENTS_FIRST_S)
            for sending in list(self._sending.values()):
                sending.cancel()
            for task in self._readers:
                task.cancel()
            for task in self._announcing:
                task.cancel()
            for task in (commands, *self._readers, *self._announcing):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._readers.clear()
            for subscription in self._subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.close()
            self._subscriptions.clear()
            with contextlib.suppress(Exception):
                await self._announce(online=False)

    async def _announce_link_state(self, state: _LinkState) -> None:
        try:
            if self._online:
                await self._announce(state=state)
        except BusError as exc:  # the broker is away too: its reconnection publishes the state again
            logger.info("could not publish the CTI link's state: %s", exc)

    async def _on_bus_reconnect(self) -> None:
        if self._online:
            logger.info("reconnected to the broker: publishing the CTI capabilities again")
            await self._announce_again()

    async def _announce_again(self) -> None:
        """Publish the capabilities as they are now (after a broker reconnection, a link state change)."""
        if self._online:
            await self._announce()

    async def _announce(self, *, online: bool | None = None, state: _LinkState | None = None) -> None:
        """Publish the capabilities, with the link's state now (or ``state``: up, since, reason).

        One at a time, in the order asked (the lock is fair): the last one retained is the latest."""
        async with self._announce_lock:
            online = self._online if online is None else online
            link = self.link
            up, since, reason = state if state is not None else (link.link_up, link.link_since, link.link_reason)
            message = CtiCapabilities(
                online=online and up,
                ts=time.time(),
                capabilities=sorted(c.value for c in link.capabilities),
                link=type(link).__name__,
                link_up=up,
                link_since=since,
                link_reason=reason,
            )
            await self.bus.publish(topics.cti_capabilities(self.site), message, qos=QOS_COMMAND, retain=True)

    # -- events ----------------------------------------------------------------------------
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
        event = _masked(event)
        self.tracker.apply(event)
        if isinstance(event, AgentState):
            self._on_agent_state(event)
            await self._send(topic, event)
            if event.extension and self._extension_of.get(event.agent_id) == event.extension:
                await self._join_calls_at(event.agent_id, event.extension)
        else:
            known = self.site_calls.get(event.call_id) is not None
            self.site_calls.apply(event)
            key = encode(event)
            self._own[key] = self._own.get(key, 0) + 1
            while len(self._own) > _KNOWN_CALLS:
                self._own.popitem(last=False)
            await self._send(topic, event)
            await self._to_agents(event, catch_up=known)
        self.published += 1

    def _on_agent_state(self, event: AgentState) -> None:
        agent = event.agent_id
        if event.state == AgentStateName.LOGGED_OFF:
            extension = self._extension_of.pop(agent, None)
            if extension is not None and self._at_extension.get(extension) == agent:
                del self._at_extension[extension]
        elif event.extension:
            previous = self._extension_of.get(agent)
            if previous is not None and previous != event.extension and self._at_extension.get(previous) == agent:
                del self._at_extension[previous]
            self._extension_of[agent] = event.extension
            self._at_extension[event.extension] = agent

    async def _to_agents(self, event: CallEvent, *, catch_up: bool) -> None:
        """Republish ``event`` on the events topic of every agent part of its call.

        An agent joining a call the site knew before first gets what is known of it (``catch_up``).
        """
        parties = self._parties.get(event.call_id)
        joining = {a for a in (event.agent_id, self._at_extension.get(event.extension or "")) if a}
        if parties is None and joining:
            parties = self._parties[event.call_id] = set()
            while len(self._parties) > _KNOWN_CALLS:
                self._parties.popitem(last=False)
        if parties is None:
            return
        for agent in sorted(joining - parties):
            parties.add(agent)
            if catch_up:
                await self._catch_up(agent, event.call_id)
        for agent in sorted(parties):
            await self._to_agent(agent, event)
        if event.type == CallEventType.ENDED:
            self._parties.pop(event.call_id, None)

    async def _join_calls_at(self, agent: str, extension: str) -> None:
        """An agent now known on ``extension`` joins the live calls already there, and gets them as
        they are: after a restart the PBX resync reports the calls before the agents on them."""
        for call in self.tracker:
            parties = self._parties.get(call.call_id)
            if call.extension != extension or (parties is not None and agent in parties):
                continue
            if parties is None:
                parties = self._parties[call.call_id] = set()
                while len(self._parties) > _KNOWN_CALLS:
                    self._parties.popitem(last=False)
            parties.add(agent)
            await self._catch_up(agent, call.call_id)
            kind = _EVENT_OF_STATE.get(call.state)
            if kind is not None:
                await self._to_agent(agent, CallEvent(
                    type=kind, call_id=call.call_id, ts=time.time(), calling=call.calling,
                    calling_name=call.calling_name, called=call.called, queue=call.queue,
                    agent_id=call.agent_id, extension=call.extension))

    async def _catch_up(self, agent: str, call_id: str) -> None:
        """What the site knows of a call an agent joins: its numbers, the caller's name, queue and attached data."""
        call = self.site_calls.get(call_id)
        if call is None:
            return
        known = CallEvent(type=CallEventType.DATA, call_id=call_id, ts=time.time(), calling=call.calling,
                          calling_name=call.calling_name, called=call.called, queue=call.queue,
                          data=dict(call.data))
        await self._to_agent(agent, known)

    async def _to_agent(self, agent: str, event: CallEvent) -> None:
        try:
            topic = topics.agent_events(self.site, agent)
        except ValueError as exc:
            logger.error("cannot republish %s to agent %r: %s", event.type, agent, exc)
            return
        await self._send(topic, event)

    async def _send(self, topic: str, message: Message, qos: int = QOS_CALL_EVENT) -> None:
        """Publish ``message`` without waiting for the broker's acknowledgement before the next one.

        Awaiting each acknowledgement (a round trip to the broker) before sending the next capped the
        site at a few hundred events a second, and made every command wait behind that backlog. Now
        publishes on different topics overlap; on one topic each starts once the one before it is
        acknowledged, so a subscriber still gets a topic's messages in order (the bus resends an
        unacknowledged one after a reconnection, before the next on its topic goes). At most
        ``_IN_FLIGHT`` are unacknowledged; beyond that ``_send`` waits (the link's events wait in its queue).

        A broker away longer than the bus's publish timeout loses nothing: the publish is tried again
        until the broker takes it (see :meth:`_send_after`).
        """
        await self._window.acquire()
        before = self._sending.get(topic)
        task = asyncio.create_task(self._send_after(before, topic, message, qos), name=f"gateway publish {topic}")
        self._sending[topic] = task
        task.add_done_callback(lambda done: self._sent_one(topic, done))

    async def _send_after(self, before: asyncio.Task[None] | None, topic: str, message: Message, qos: int) -> None:
        """Publish after the one before on its topic; while the broker is away, wait for it.

        The bus gives up on a publish once its broker has been away for its publish timeout (10 s). The
        gateway used to take that as the end of its run, but only noticed at its next call event: an
        idle gateway then stayed up answering no command, and the events of a busy one were lost. A
        call event is not to be lost (the ACD's and the desktops' view of the calls, the queue
        statistics, are built from them), and this process still has its PBX link and knows every call:
        so the publish is tried again until the broker is back, the failure said once per outage, and
        everything then goes out in order on each topic. Commands are served again at once."""
        if before is not None:
            await asyncio.wait({before})  # its failure is reported by its own callback
        while True:
            try:
                await self.bus.publish(topic, message, qos=qos)
            except BrokerUnavailable as exc:
                self.held += 1
                if not self._holding:
                    self._holding = True
                    logger.error("a publish on %s failed: %s; call events and results wait for the broker and go "
                                 "out in order once it is back", topic, exc)
                continue  # the bus waits for its link again (up to its publish timeout each time)
            if self._holding:
                self._holding = False
                logger.info("the broker took the publishes that waited for it (%d tries since it was away)",
                            self.held)
            return

    def _sent_one(self, topic: str, done: asyncio.Task[None]) -> None:
        self._window.release()
        if self._sending.get(topic) is done:
            del self._sending[topic]
        if not done.cancelled() and done.exception() is not None:  # not the broker's absence: a bug, for one message
            logger.error("a publish on %s failed: %s", topic, done.exception())

    async def _sent(self) -> None:
        """Wait until everything sent so far is acknowledged (a command's result goes after its events,
        whatever their topics)."""
        pending = set(self._sending.values())
        if pending:
            await asyncio.wait(pending)

    async def _on_call_topic(self, event: CallEvent) -> None:
        """A call event from the bus: our own (echoed) or another process's (the IVR's), for the agents."""
        key = encode(event)
        count = self._own.get(key)
        if count is not None:
            if count > 1:
                self._own[key] = count - 1
            else:
                del self._own[key]
            return
        self.site_calls.apply(event)
        parties = self._parties.get(event.call_id)
        for agent in sorted(parties or ()):
            await self._to_agent(agent, event)

    # -- commands --------------------------------------------------------------------------
    async def _serve_commands(self) -> None:
        """Serve what comes in: the commands of each sender (an agent's topic, the ACD's) in the order it
        sent them, the senders side by side; the other messages in order, as they come.

        One command at a time for the whole site made every command wait for the round trips of those
        before it (its events published, its result acknowledged): the site's calls per second were
        capped by one broker round trip per command."""
        try:
            while True:
                envelope = await self._queue.get()
                if not envelope.topic.endswith("/commands"):  # call events, the ACD leader record
                    await self._serve(envelope)
                    continue
                await self._lanes_window.acquire()
                before = self._lanes.get(envelope.topic)
                task = asyncio.create_task(self._serve_after(before, envelope), name=f"gateway {envelope.topic}")
                self._lanes[envelope.topic] = task
                task.add_done_callback(functools.partial(self._served, envelope.topic))
        finally:
            for task in list(self._lanes.values()):
                task.cancel()

    async def _serve_after(self, before: asyncio.Task[None] | None, envelope: Envelope) -> None:
        if before is not None:
            await asyncio.wait({before})
        await self._serve(envelope)

    def _served(self, topic: str, done: asyncio.Task[None]) -> None:
        self._lanes_window.release()
        if self._lanes.get(topic) is done:
            del self._lanes[topic]

    async def _serve(self, envelope: Envelope) -> None:
        try:
            await self._on_envelope(envelope)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not stop the command loop: log it and serve the next
            logger.exception("failed on a message on %s", envelope.topic)

    async def _on_envelope(self, envelope: Envelope) -> None:
        message = envelope.message
        try:
            where = topics.parse(envelope.topic)
        except ValueError:
            logger.warning("ignored a message on %s", envelope.topic)
            return
        if isinstance(where, topics.CallTopic):
            if isinstance(message, CallEvent):
                await self._on_call_topic(message)
            return
        if isinstance(where, topics.AcdLeaderTopic):
            if isinstance(message, AcdLeader):
                self._on_leader(message)
            return
        if not isinstance(message, Command):
            logger.warning("ignored a %s message on %s", message.message_type, envelope.topic)
            return
        agent = where.agent_id if isinstance(where, topics.AgentCommandsTopic) else None
        if agent is None and not isinstance(where, topics.CtiCommandsTopic):
            return
        await self._on_command(message, agent, envelope.topic)

    def _on_leader(self, record: AcdLeader) -> None:
        """The leader record (only ACD identities may write it) is the measure of the epochs heeded."""
        epoch = record.epoch
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch <= self.leader_epoch:
            return
        logger.info("ACD %s leads with epoch %d", record.client_id, epoch)
        self.leader_epoch = epoch
        if self.acd_epoch > epoch + 1 or self.acd_epoch < epoch:
            self.acd_epoch = epoch

    async def _on_command(self, message: Command, agent: str | None, source: str) -> None:
        try:
            _check_shape(message)
        except LocalProtocolError as exc:
            await self._failed(message, agent, exc)
            return
        key = (source, message.command_id)
        if key in self._seen:
            logger.info("command %s delivered again: already done", message.command_id)
            previous = self._seen[key]
            if previous is not None:
                await self._reply(message, previous, agent)
            return
        try:
            if agent is None:
                self._check_epoch(message)
            else:
                self._authorize(message, agent)
        except CtiError as exc:
            await self._failed(message, agent, exc)
            return
        if agent is not None and message.agent_id is None:
            message = replace(message, agent_id=agent)
        self._seen[key] = None
        while len(self._seen) > _SEEN_COMMANDS:
            self._seen.popitem(last=False)
        try:
            if message.name == LIVE_CALLS:
                asked = message.args.get("call_ids")
                if not isinstance(asked, list) or not all(isinstance(c, str) for c in asked):
                    raise LocalProtocolError(f"command {LIVE_CALLS} ({message.command_id}) needs call_ids")
                live = {c for c in asked if self.tracker.get(c) is not None}
                if agent is not None:
                    live = {c for c in live if agent in self._parties.get(c, ())}
                result: dict[str, Any] = {"live": sorted(live)}
            else:
                result = await dispatch(self.link, message)
        except Exception as exc:
            reply = self._failure(message, agent, exc)
        else:
            self.commands_done += 1
            logger.info("command %s (%s) done %s", message.command_id, message.name, result or "")
            if message.name == Capability.SET_AGENT_STATE and isinstance(message.agent_id, str):
                # The PBX took the agent's state (and extension): links whose events do not say so
                # (not every PBX reports a log-on) still know the agent's extension from here.
                self._on_agent_state(AgentState(agent_id=message.agent_id, state=str(message.args.get("state")),
                                                ts=time.time(), extension=message.args.get("extension")))
            reply = CommandResult(command_id=message.command_id, ok=True, ts=time.time(), result=result,
                                  agent_id=agent or message.agent_id, name=message.name)
        if key in self._seen:
            self._seen[key] = reply
        if await self.link.events_taken(_EVENTS_FIRST_S):
            await self._sent()
        await self._reply(message, reply, agent)

    def _check_epoch(self, message: Command) -> None:
        if "epoch" not in message.args:
            return
        epoch = message.args["epoch"]
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            raise BadEpoch(f"command {message.command_id}: the ACD epoch must be an integer, not {epoch!r}")
        if epoch < self.acd_epoch:
            # A deposed ACD leader still talking: its decisions are no longer the site's.
            logger.info("command %s from ACD epoch %d ignored: epoch %d leads", message.command_id, epoch,
                        self.acd_epoch)
            raise _StaleLeader(f"ACD epoch {epoch} is no longer the leader (epoch {self.acd_epoch} is)")
        if self.acd_epoch and epoch > self.acd_epoch + 1:
            raise BadEpoch(f"command {message.command_id}: ACD epoch {epoch} is more than one step ahead of "
                           f"epoch {self.acd_epoch}")
        self.acd_epoch = epoch

    def _authorize(self, message: Command, agent: str) -> None:
        """Refuse what ``agent`` may not ask for on its own command topic (raises Forbidden)."""
        what = f"agent {agent}: command {message.name!r} ({message.command_id})"
        if message.agent_id is not None and message.agent_id != agent:
            raise Forbidden(f"{what} names agent {message.agent_id!r}: an agent commands only for itself")
        if message.name not in AGENT_COMMANDS:
            raise Forbidden(f"{what} is not an agent's command")
        if message.name == LIVE_CALLS:
            return
        own = self._extension_of.get(agent)
        if message.name == Capability.SET_AGENT_STATE:
            wanted = message.args.get("extension")
            if wanted is not None:
                self._check_assigned(what, agent, str(wanted))
                holder = self._at_extension.get(str(wanted))
                if holder is not None and holder != agent:
                    raise Forbidden(f"{what}: extension {wanted!r} is in use by another agent")
            return
        if own is None:
            raise Forbidden(f"{what}: the agent is not logged in on an extension")
        self._check_assigned(what, agent, own)  # logged in on the phone itself, on another's extension
        for name in _DEVICE_ARGS:
            device = message.args.get(name)
            if device is not None and device != own:
                raise Forbidden(f"{what}: {name} {device!r} is not the agent's extension {own!r}")
        for name in _CALL_ARGS:
            call_id = message.call_id if name == "call_id" and message.call_id is not None else message.args.get(name)
            if call_id is not None and agent not in self._parties.get(str(call_id), ()):
                raise Forbidden(f"{what}: call {call_id!r} is not one of the agent's calls")

    def _check_assigned(self, what: str, agent: str, extension: str) -> None:
        if self.extensions is None:
            return
        assigned = self.extensions.get(agent, frozenset())
        if extension not in assigned:
            mine = ", ".join(sorted(assigned)) or "none"
            raise Forbidden(f"{what}: extension {extension!r} is not assigned to the agent (assigned: {mine})")

    def _failure(self, message: Command, agent: str | None, exc: Exception) -> CommandResult:
        if isinstance(exc, _StaleLeader):
            pass  # logged as such: the normal end of a deposed leader's commands
        elif isinstance(exc, CtiError):
            self.commands_failed += 1
            logger.warning("command %s (%s) failed: %s", message.command_id, message.name, exc)
        else:
            self.commands_failed += 1
            logger.error("command %s (%s) failed unexpectedly", message.command_id, message.name, exc_info=exc)
        kind = "StaleLeader" if isinstance(exc, _StaleLeader) else type(exc).__name__
        return CommandResult(
            command_id=str(message.command_id),
            ok=False,
            ts=time.time(),
            result={"kind": kind},
            error=str(exc),
            agent_id=agent or (message.agent_id if isinstance(message.agent_id, str) else None),
            name=str(message.name),
        )

    async def _failed(self, message: Command, agent: str | None, exc: Exception) -> None:
        await self._reply(message, self._failure(message, agent, exc), agent)

    async def _reply(self, command: Command, reply: CommandResult, agent: str | None) -> None:
        topic = topics.cti_results(self.site)
        name = agent or command.agent_id
        if isinstance(name, str) and name:
            try:
                topic = topics.agent_events(self.site, name)
            except ValueError:
                logger.info("command %s names agent %r, which has no topic: answered on %s", command.command_id,
                            name, topic)
        await self._send(topic, reply, QOS_COMMAND)  # after what was sent before on its topic
