"""The link a production desktop uses: the CTI gateway, reached over the bus.

:class:`BusLink` is a :class:`~cti.link.CtiLink` that speaks to ``ccenter cti-gateway`` instead of
to the PBX, so a desktop (or any other client) drives the telephone system the same way whether the
link is in its own process (``SimLink`` in ``ccenter demo``) or behind a gateway on another machine:

- events: with an ``agent_id`` (a desktop), it subscribes to that agent's
  ``ccenter/v1/<site>/agents/<agent_id>/events`` only, where the gateway republishes the events of the
  agent's calls (its broker account reads nothing else of the site's calls); without one (tools,
  tests), to ``ccenter/v1/<site>/calls/+`` and every agent's events. It yields the
  :class:`~bus.messages.CallEvent` and :class:`~bus.messages.AgentState` messages it gets;
- commands: each becomes a :class:`~bus.messages.Command` (QoS 1, a fresh ``command_id``) on the
  agent's own ``ccenter/v1/<site>/agents/<agent_id>/commands`` (the gateway acts on it only for that
  agent's extension and calls), or ``ccenter/v1/<site>/cti/commands`` without an ``agent_id`` (a
  topic the broker lets only the ACD and dialer write); the method returns when the gateway's
  :class:`~bus.messages.CommandResult` arrives (on the agent's events topic, or
  ``ccenter/v1/<site>/cti/results`` for a command that names no agent), and raises the gateway's
  error (:class:`~cti.errors.CommandFailed`, :class:`~cti.errors.UnsupportedCommand`,
  :class:`~cti.errors.LocalProtocolError`...) with the gateway's reason when it failed, or
  :class:`~cti.errors.CommandFailed` when no result came within ``command_timeout``. A command whose
  result is late is sent again (same ``command_id``) every ``resend_after`` seconds meanwhile: one
  lost in a broker restart without persistence still arrives, and the gateway does each id once;
- capabilities: read from the gateway's retained :class:`~bus.messages.CtiCapabilities` on
  ``ccenter/v1/<site>/cti/capabilities``, and kept up to date (empty while no gateway is online).
  ``on_capabilities`` is called on every change, so a desktop can grey out buttons again. The link's
  up/down state (:attr:`~cti.link.CtiLink.link_up`, told to :meth:`~cti.link.CtiLink.on_link_state`
  listeners) follows the gateway's: down while no gateway is online or while the gateway's own link
  has lost the telephone system (with since when and why). A gateway that dies is seen from the
  capabilities too: its MQTT last will is its capabilities offline (no presence topic is read);
- the desktop's own presence: a desktop's link made by :meth:`BusLink.from_url` with an ``agent_id``
  (``ccenter desktop``) says on ``ccenter/v1/<site>/agents/<agent_id>/presence`` (retained, a topic
  only that agent may write) that it is online on every connection, and leaves ``online: false`` there
  as its MQTT last will: the ACD stops offering calls to an agent whose desktop died and logs the agent
  off after a grace period (:mod:`routing.server`). Should a previous desktop's late will overwrite it,
  the link says online again.

A command the gateway's link cannot carry raises :class:`~cti.errors.UnsupportedCommand` before
anything is sent; with no gateway online, :class:`~cti.errors.LinkUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bus import topics
from bus.errors import BusError
from bus.messages import AgentPresence, AgentState, AgentStateName, CallEvent, Command, CommandResult, CtiCapabilities
from bus.transport import QOS_COMMAND, Bus, LastWill, Subscription, open_bus

from . import errors
from .errors import CommandFailed, CtiError, LinkUnavailable
from .gateway import result_topic
from .link import CtiLink, link_down_text
from .model import Capability

logger = logging.getLogger(__name__)

#: The gateway's error kinds (``CommandResult.result["kind"]``) raised as themselves.
_ERRORS: dict[str, type[CtiError]] = {
    cls.__name__: cls
    for cls in (
        errors.CommandFailed,
        errors.UnsupportedCommand,
        errors.LocalProtocolError,
        errors.RemoteProtocolError,
        errors.LinkUnavailable,
    )
}


class BusLink(CtiLink):
    """A :class:`CtiLink` carried over the bus to ``ccenter cti-gateway`` (see the module docstring).

    ``bus`` is started and closed by its owner, unless the link was made by :meth:`from_url`.
    ``agent_id`` is the desktop's agent: commands go on its own command topic and carry it (so
    results come back on that agent's events topic, the only agent topic its broker account may
    read), and events are those of that agent and its calls. Without it, commands go on
    ``ccenter/v1/<site>/cti/commands``, results come on ``ccenter/v1/<site>/cti/results`` and every
    call's and agent's events are yielded (tests, tools, trusted services).
    """

    def __init__(
        self,
        bus: Bus,
        *,
        site: str = "main",
        agent_id: str | None = None,
        command_timeout: float = 10.0,
        resend_after: float = 2.0,
        capabilities_timeout: float = 5.0,
        on_capabilities: Callable[[frozenset[Capability]], None] | None = None,
        on_supervisor_message: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__()
        topics.cti_commands(site)  # a site that cannot be a topic segment fails here
        if agent_id is not None:
            topics.agent_events(site, agent_id)
        self.bus = bus
        self.site = site
        self.agent_id = agent_id
        self.command_timeout = command_timeout
        self.resend_after = resend_after
        self.resent = 0
        self.capabilities_timeout = capabilities_timeout
        self.on_capabilities = on_capabilities
        #: ``(sender, text)`` of each message a supervisor sends this agent (``supervisor_message`` on its events).
        self.on_supervisor_message = on_supervisor_message
        self.capabilities: frozenset[Capability] = frozenset()
        self.gateway: CtiCapabilities | None = None
        #: The gateway as it was online, while its presence says it left the broker (its last will).
        self._away: CtiCapabilities | None = None
        self.connected = False
        self._owns_bus = False
        self._announced = asyncio.Event()
        self._ready = asyncio.Event()
        self._connecting = False
        self._pending: dict[str, asyncio.Future[CommandResult]] = {}
        self._readers: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        #: This desktop's presence (:func:`desktop_will`), when its bus carries it as its last will.
        self.presence: LastWill | None = None

    @classmethod
    def from_url(
        cls,
        bus_url: str,
        *,
        site: str = "main",
        agent_id: str | None = None,
        client_id: str | None = None,
        **options: Any,
    ) -> BusLink:
        """A link on its own bus connection (``inproc://`` or ``mqtt://...``), opened by ``connect``."""
        client = client_id or f"desktop-{agent_id or uuid.uuid4().hex[:8]}"
        will = desktop_will(site, agent_id) if agent_id is not None else None
        link = cls(
            open_bus(bus_url, client_id=client, site=site, role="desktop", will=will),
            site=site, agent_id=agent_id, **options,
        )
        link._owns_bus = True
        link.presence = will
        return link

    # -- lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Subscribe to events, results and capabilities; waits up to ``capabilities_timeout`` for a gateway.

        Without a gateway online it still connects (with no capabilities) and picks the gateway up
        when it starts.
        """
        if self.connected:
            return
        self._connecting = True
        if self._owns_bus:
            try:
                await self.bus.start()
            except BusError as exc:
                self._connecting = False
                raise LinkUnavailable(str(exc)) from None
        site = self.site
        # A gateway that dies says so there too: its last will is its capabilities offline.
        await self._listen(topics.cti_capabilities(site), events=False)
        if self.presence is not None:  # a previous desktop's late will must not stand for this one
            await self._listen(self.presence.topic, events=False)
        if self.agent_id is not None:
            await self._listen(topics.agent_events(site, self.agent_id), events=True)
        else:
            await self._listen(topics.calls(site), events=True)
            await self._listen(topics.all_agent_events(site), events=True)
            await self._listen(topics.cti_results(site), events=False)
        self.connected = True
        self._connecting = False
        self._ready.set()
        try:
            await asyncio.wait_for(self._announced.wait(), self.capabilities_timeout)
        except TimeoutError:
            logger.info("no CTI gateway online for site %s yet: commands wait until one starts", site)

    async def close(self) -> None:
        if not self.connected:
            return
        self.connected = False
        self._ready.clear()
        readers, self._readers = list(self._readers.values()), {}
        for subscription, task in readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await subscription.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkUnavailable("the CTI link was closed before the gateway answered"))
        self._pending.clear()
        if self._owns_bus:
            await self.bus.close()
        self._end_events()

    async def _listen(self, pattern: str, *, events: bool) -> None:
        if pattern in self._readers:
            return
        subscription = await self.bus.subscribe(pattern, qos=QOS_COMMAND)
        task = asyncio.create_task(self._read(subscription, events), name=f"buslink {pattern}")
        self._readers[pattern] = (subscription, task)

    async def _read(self, subscription: Subscription, events: bool) -> None:
        async for envelope in subscription:
            message = envelope.message
            if isinstance(message, CommandResult):
                future = self._pending.get(message.command_id)
                if future is not None and not future.done():
                    future.set_result(message)
            elif isinstance(message, CtiCapabilities):
                was = self.gateway
                self._on_announce(message)
                if not message.online and message.link_up and was is not None and was.online:
                    self._away = was  # the gateway left the broker (its last will, or it stopped)
            elif isinstance(message, AgentPresence):
                await self._presence_heard(message)
            elif events and isinstance(message, CallEvent | AgentState):
                if isinstance(message, CallEvent):
                    self._gateway_heard_again()
                self._emit(message)
            elif (events and isinstance(message, Command) and message.name == "supervisor_message"
                  and self.on_supervisor_message is not None):
                text, sender = message.args.get("text"), message.args.get("from")
                if isinstance(text, str) and isinstance(sender, str):
                    self.on_supervisor_message(sender, text)
            else:
                logger.debug("ignored a %s message on %s", message.message_type, envelope.topic)

    def _gateway_heard_again(self) -> None:
        """A call event after the gateway's last will: the gateway is on the broker again.

        Only the gateway writes call events on the agent's events topic, and the broker delivers what it
        sent before its will before the will, so this one comes from the gateway connected again (its link
        to the broker broke, not itself: a broker restart). It is online as it was; its capabilities,
        published again after its reconnection, follow and say what changed. Without this, an answer
        pressed on a call event the gateway held over the outage was refused as "no gateway online".
        """
        away, gateway = self._away, self.gateway
        if away is not None and gateway is not None and not gateway.online:
            self._on_announce(replace(away, ts=time.time()))

    def _on_announce(self, message: CtiCapabilities) -> None:
        self._away = None
        known = {c.value for c in Capability}
        capabilities = (
            frozenset(Capability(c) for c in message.capabilities if c in known) if message.online else frozenset()
        )
        self.gateway = message
        if message.online:
            self._announced.set()
            self._set_link_state(True, ts=message.ts)
        else:
            self._announced.clear()
            self._set_link_state(False, self._offline_text(message),
                                 ts=message.link_since if not message.link_up and message.link_since else message.ts)
        if capabilities != self.capabilities:
            self.capabilities = capabilities
            logger.info(
                "CTI gateway (%s) for site %s is %s: %s",
                message.link or "no link",
                self.site,
                "online" if message.online else "offline",
                ", ".join(sorted(capabilities)) or "no commands",
            )
            if self.on_capabilities is not None:
                self.on_capabilities(capabilities)

    async def _presence_heard(self, message: AgentPresence) -> None:
        """Our presence topic says offline while we are connected (an earlier desktop's will, sent late
        when its machine went): say online again."""
        will = self.presence
        if will is None or message.online or will.alive is None or not self.connected:
            return
        logger.info("agent %s: an earlier desktop's last will said offline; this desktop is online", self.agent_id)
        with contextlib.suppress(BusError):
            await self.bus.publish(will.topic, will.alive(), qos=QOS_COMMAND, retain=True)

    def _offline_text(self, gateway: CtiCapabilities) -> str:
        if not gateway.link_up:
            return link_down_text(gateway.link_reason, gateway.link_since)
        return f"no CTI gateway is online for site {self.site} (is `ccenter cti-gateway` running?)"

    # -- commands --------------------------------------------------------------------------
    async def _command(
        self, capability: Capability, *, call_id: str | None = None, agent_id: str | None = None, **args: Any
    ) -> dict[str, Any]:
        await self._gateway_ready()
        if capability not in self.capabilities:
            link = self.gateway.link if self.gateway is not None else "unknown"
            raise errors.UnsupportedCommand(
                f"the CTI link of site {self.site} ({link or 'unknown'}) cannot {capability.value.replace('_', ' ')}"
            )
        command = Command(
            command_id=uuid.uuid4().hex,
            name=capability.value,
            ts=time.time(),
            call_id=call_id,
            agent_id=agent_id or self.agent_id,
            args={k: v for k, v in args.items() if v is not None},
        )
        return await self._round_trip(command)

    async def _gateway_ready(self) -> None:
        if not self.connected:
            if not self._connecting:
                raise LinkUnavailable("the CTI link over the bus is not connected")
            # The gateway's capabilities can arrive (and a desktop act on them) while the link still
            # subscribes to its other topics: wait for the subscriptions rather than fail.
            try:
                await asyncio.wait_for(self._ready.wait(), self.command_timeout)
            except TimeoutError:
                raise LinkUnavailable("the CTI link over the bus did not finish connecting") from None
        if self.gateway is None or not self.gateway.online:
            if self.gateway is not None:
                raise LinkUnavailable(self._offline_text(self.gateway))
            raise LinkUnavailable(f"no CTI gateway is online for site {self.site} (is `ccenter cti-gateway` running?)")

    def _command_topic(self) -> str:
        if self.agent_id is not None:
            return topics.agent_commands(self.site, self.agent_id)
        return topics.cti_commands(self.site)

    async def _round_trip(self, command: Command) -> dict[str, Any]:
        """Send ``command`` to the gateway and wait for its result; failures raise the gateway's error."""
        reply_topic = result_topic(self.site, command)
        if not any(topics.matches(pattern, reply_topic) for pattern in self._readers):
            await self._listen(reply_topic, events=False)
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[command.command_id] = future
        try:
            reply = await asyncio.wait_for(self._send_until_answered(command, future), self.command_timeout)
        except TimeoutError:
            raise CommandFailed(
                f"the CTI gateway did not answer {command.name} ({command.command_id}) within "
                f"{self.command_timeout:g} s: is `ccenter cti-gateway` running for site {self.site}?"
            ) from None
        except BusError as exc:
            raise LinkUnavailable(f"cannot send {command.name} to the CTI gateway: {exc}") from None
        finally:
            self._pending.pop(command.command_id, None)
        if reply.ok:
            logger.debug("command %s (%s) done: %s", command.command_id, command.name, reply.result)
            return reply.result
        kind = _ERRORS.get(str(reply.result.get("kind")), CommandFailed)
        raise kind(reply.error or f"{command.name} failed")

    async def _send_until_answered(self, command: Command, future: asyncio.Future[CommandResult]) -> CommandResult:
        while True:
            await self.bus.publish(self._command_topic(), command, qos=QOS_COMMAND)
            done, _ = await asyncio.wait({future}, timeout=self.resend_after)
            if done:
                return future.result()
            self.resent += 1
            logger.info("no result for %s (%s) yet: sent again", command.command_id, command.name)

    async def _new_call(self, capability: Capability, **kw: Any) -> str:
        result = await self._command(capability, **kw)
        call_id = result.get("call_id")
        if not isinstance(call_id, str):
            raise CommandFailed(f"the CTI gateway answered {capability.value} without a call id")
        return call_id

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        return await self._new_call(
            Capability.MAKE_CALL, from_device=from_device, to_number=to_number, data=dict(data) if data else None
        )

    async def answer(self, call_id: str, device: str) -> None:
        await self._command(Capability.ANSWER, call_id=call_id, device=device)

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        await self._command(Capability.HANGUP, call_id=call_id, device=device)

    async def hold(self, call_id: str, device: str) -> None:
        await self._command(Capability.HOLD, call_id=call_id, device=device)

    async def retrieve(self, call_id: str, device: str) -> None:
        await self._command(Capability.RETRIEVE, call_id=call_id, device=device)

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        return await self._new_call(Capability.CONSULT, call_id=call_id, device=device, to_number=to_number)

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        await self._command(Capability.BLIND_TRANSFER, call_id=call_id, device=device, to_number=to_number)

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        await self._command(
            Capability.ATTENDED_TRANSFER, call_id=held_call_id, consult_call_id=consult_call_id, device=device
        )

    async def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        await self._command(Capability.CONFERENCE, call_id=held_call_id, consult_call_id=consult_call_id, device=device)

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        await self._command(Capability.SEND_DTMF, call_id=call_id, device=device, digits=digits)

    async def live_calls(self, call_ids: Sequence[str]) -> set[str]:
        """Ask the gateway which of ``call_ids`` are still up (its own record of what it published)."""
        await self._gateway_ready()
        command = Command(command_id=uuid.uuid4().hex, name="live_calls", ts=time.time(), agent_id=self.agent_id,
                          args={"call_ids": list(call_ids)})
        result = await self._round_trip(command)
        return {str(c) for c in result.get("live", [])}

    async def mute(self, call_id: str, device: str, on: bool) -> None:
        await self._command(Capability.MUTE, call_id=call_id, device=device, state="on" if on else "off")

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        await self._command(
            Capability.SET_AGENT_STATE,
            agent_id=agent_id,
            state=AgentStateName(state).value,
            reason=reason,
            extension=extension,
            queue=queue,
        )

    async def attach_data(self, call_id: str, data: Mapping[str, str]) -> None:
        await self._command(Capability.ATTACH_DATA, call_id=call_id, data={str(k): str(v) for k, v in data.items()})


def desktop_will(site: str, agent_id: str) -> LastWill:
    """A desktop's presence for its agent: online on every connection, offline as its last will. Each
    desktop has its own ``instance`` (random, not its MQTT client id)."""
    topic = topics.agent_presence(site, agent_id)
    instance = secrets.token_hex(4)
    return LastWill(
        topic,
        gone=lambda: AgentPresence(agent_id=agent_id, online=False, ts=time.time(), instance=instance),
        alive=lambda: AgentPresence(agent_id=agent_id, online=True, ts=time.time(), instance=instance),
    )
