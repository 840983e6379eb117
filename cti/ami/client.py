"""The Asterisk AMI link: asyncio TCP around the sans-I/O codec and mapper.

``AmiLink(AmiSettings.from_url("ami://user:secret@host:5038"))``: logs in (MD5 challenge by
default, ``?auth=plain`` for a plain secret), keeps the session alive with ``Ping``, reconnects with
backoff when the connection drops or stops answering, and after every login resyncs
(``CoreShowChannels``, ``QueueStatus``) so that calls already up reappear with their state and the
same ``call_id`` (the ``Linkedid``), and calls that ended while the link was down are ended.

Permissions: after every login the link asks ``ListCommands`` which actions its account may run
(:mod:`cti.ami.permissions`), advertises only the capabilities whose actions are allowed, refuses
the others before sending them, and skips the call resync (with an error that names the missing
``write`` class) when ``CoreShowChannels`` is denied, instead of failing to start.

Numbers and devices that end up in a channel string (``Local/<number>@<context>``,
``<tech>/<device>``) are refused unless they are plain dial strings: an ``@`` or ``/`` in them
would pick another context or add channel options. Variable values with a comma are refused by
the codec (Asterisk splits ``Variable:`` headers at commas).

Commands: ``Originate`` (with ``ChannelId``, so the new call's ``call_id`` is known at once),
``Hangup``, ``Redirect`` (blind transfer), ``Bridge`` (attended transfer of two calls),
``PlayDTMF``, ``QueueAdd``/``QueueRemove``/``QueuePause`` (agent state) and ``Setvar`` (attached
data, as inherited ``__CC_<key>`` channel variables). Every header value is checked by the codec:
CR, LF and other control characters are refused before anything is sent.

Asterisk has no AMI action that puts a channel on hold (hold is the phone's re-INVITE), so hold
is done in the PBX with what AMI does have:

- ``hold``: ``Redirect`` the other party to ``<hold_context>,s,1`` (the dialplan plays
  ``MusicOnHold()`` there) and ``Hangup`` the agent's leg, so the phone is free;
  ``call.held`` is emitted once Asterisk accepted both.
- ``retrieve``: ``Originate`` from the agent's device into the ``Bridge(<held channel>)``
  application: the phone rings (auto-answer on agent phones) and is bridged back to the customer;
  ``call.retrieved`` follows.
- ``consult``: hold as above, then ``Originate`` from the agent's device to the number (a new
  call with its own ``call_id``).
- ``attended_transfer``: ``Bridge`` the held party with the consultation call's other party, then
  hang up the agent's legs. ``Atxfer`` is not used: it dials the number itself from the agent's
  channel (the DTMF transfer feature), gives no id for the consultation call and completes only
  when the agent hangs up, which does not fit a consult the desktop already made.
- ``conference``: ``Redirect`` the held party, and the consultation call's two parties
  (``ExtraChannel``), into ``<conference_context>,cc<call id>,1``, where the dialplan runs
  ``ConfBridge(${EXTEN})``; the mapper reports ``call.conferenced`` when three parties are bridged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bus.messages import AgentStateName, CallEvent, CallEventType
from bus.reconnect import BackoffPolicy, Reconnector, describe

from ..codec import NeedData, ProtocolIssue
from ..errors import BadLinkUrl, CommandFailed, CtiError, LinkUnavailable, LocalProtocolError
from ..link import CtiLink
from ..model import Capability, ListenMode
from .codec import ActionCompleted, AmiMessage, AmiProtocol, Banner
from .mapper import HOLD_REASON, WRAP_UP_REASON, AmiMapper, device_of
from .permissions import ACTION_CLASSES, Missing, missing
from .permissions import capabilities as permitted_capabilities

logger = logging.getLogger(__name__)

_DIALABLE = re.compile(r"^\+?[0-9A-Za-z*#_.-]{1,64}$")


def _dialable(value: str, what: str) -> str:
    """``value`` if it is a plain number or device name, safe inside a channel string."""
    if not _DIALABLE.match(value):
        raise LocalProtocolError(
            f"refusing {what} {value[:40]!r}: digits, letters, + * # _ . - only (an @ or / would pick "
            "another dialplan context or add channel options)"
        )
    return value


class AuthenticationFailed(LinkUnavailable):
    """The AMI account or secret was refused."""


@dataclass(frozen=True, slots=True)
class AmiSettings:
    host: str
    port: int = 5038
    username: str = ""
    secret: str = ""
    auth: str = "md5"  # md5 | plain
    context: str = "from-internal"  # where Originate, Redirect dial numbers
    tech: str = "PJSIP"  # channel technology of the agents' devices
    ping_interval: float = 20.0
    action_timeout: float = 10.0
    connect_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    data_prefix: str = "CC_"
    hold_context: str = "ccenter-hold"  # s,1 plays MusicOnHold() to a held party
    conference_context: str = "ccenter-conference"  # _cc.,1 runs ConfBridge(${EXTEN})
    outbound_context: str = "ccenter-outbound"  # <queue>,1 takes an answered dial_out call into the queue
    #: queue member name -> agent id (URL ``agent.<member>=<id>``); others get a topic-safe id
    agent_ids: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str) -> AmiSettings:
        """``ami://user:secret@host:5038?auth=md5&context=from-internal&tech=PJSIP&ping=20``."""
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname:
            raise BadLinkUrl(f"not an AMI link URL: {url!r} (ami://user:secret@host:5038)")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        agent_ids = {k.removeprefix("agent."): v for k, v in q.items() if k.startswith("agent.")}
        q = {k: v for k, v in q.items() if not k.startswith("agent.")}
        try:
            settings = cls(
                host=parts.hostname,
                port=parts.port or 5038,
                username=unquote(parts.username or ""),
                secret=unquote(parts.password or ""),
                auth=q.pop("auth", "md5"),
                context=q.pop("context", "from-internal"),
                tech=q.pop("tech", "PJSIP"),
                ping_interval=float(q.pop("ping", "20")),
                hold_context=q.pop("hold_context", "ccenter-hold"),
                conference_context=q.pop("conference_context", "ccenter-conference"),
                outbound_context=q.pop("outbound_context", "ccenter-outbound"),
                agent_ids=agent_ids,
            )
        except ValueError as exc:
            raise BadLinkUrl(f"AMI link URL {url!r}: {exc}") from None
        if q:
            raise BadLinkUrl(f"AMI link URL {url!r}: unknown option(s) {', '.join(sorted(q))}")
        if settings.auth not in ("md5", "plain") or not settings.username:
            raise BadLinkUrl(f"AMI link URL {url!r}: needs a user, and auth is md5 or plain")
        return settings


class AmiLink(CtiLink):
    capabilities = frozenset(
        {
            Capability.MAKE_CALL,
            Capability.HANGUP,
            Capability.HOLD,
            Capability.RETRIEVE,
            Capability.CONSULT,
            Capability.CONFERENCE,
            Capability.BLIND_TRANSFER,
            Capability.ATTENDED_TRANSFER,
            Capability.SEND_DTMF,
            Capability.MUTE,
            Capability.SET_AGENT_STATE,
            Capability.ATTACH_DATA,
            Capability.LISTEN,
        }
    )

    def __init__(
        self,
        settings: AmiSettings,
        *,
        clock: Callable[[], float] = time.time,
        reconnector: Reconnector | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.reconnector = reconnector or Reconnector(
            BackoffPolicy(initial=settings.reconnect_min, cap=settings.reconnect_max)
        )
        self._clock = clock
        self.mapper = AmiMapper(clock=clock, data_prefix=settings.data_prefix, agent_ids=settings.agent_ids)
        self.capabilities = type(self).capabilities
        #: the actions the account may run (lower case), from ListCommands; None: not known
        self.permitted: frozenset[str] | None = None
        self.logged_in = asyncio.Event()
        self.sessions = 0
        self.banner: str | None = None
        self._proto = AmiProtocol()
        self._writer: asyncio.StreamWriter | None = None
        self._waiters: dict[str, asyncio.Future[ActionCompleted]] = {}
        # action id -> run on the answer as it is read, before the events that follow it in the stream
        self._on_answer: dict[str, Callable[[ActionCompleted], None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._first_login: asyncio.Future[None] | None = None
        self._dropped_because: str | None = None
        self._caller_told = False  # the last session's failure went to connect()'s caller
        self._ids = itertools.count(1)
        # call_id -> (agent's device, the held party's channel) for calls this link put on hold
        self._held: dict[str, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # unpauses after a held call ended

    @classmethod
    def from_url(cls, url: str) -> AmiLink:
        return cls(AmiSettings.from_url(url))

    # -- lifecycle -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect and log in; raises LinkUnavailable (or AuthenticationFailed) if the first try fails."""
        if self._task is not None:
            return
        self._stopping = False
        self.reconnector.restart()
        self._first_login = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._supervise(), name=f"ami {self.settings.host}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first_login), self.settings.connect_timeout)
        except (TimeoutError, CtiError) as exc:
            await self.close()
            if isinstance(exc, CtiError):
                raise
            raise LinkUnavailable(
                f"no AMI session with {self.settings.host}:{self.settings.port} "
                f"within {self.settings.connect_timeout} s"
            ) from None

    async def close(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        self.reconnector.stop()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._write(self._proto.send("Logoff")[1])
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._end_events()

    async def _supervise(self) -> None:
        await self.reconnector.run(
            self._attempt, retry_on=(OSError, EOFError, LinkUnavailable, TimeoutError), on_retry=self._on_retry
        )

    async def _attempt(self) -> None:
        """One session; the reconnector pauses (with backoff, reset after a session that lasted) and calls again."""
        self._caller_told = False
        try:
            await self._session()
        except AuthenticationFailed as exc:
            if not self._fail_first(exc):
                logger.error("%s", exc)
            self._lost(str(exc))
            raise
        except (OSError, EOFError, LinkUnavailable, TimeoutError) as exc:
            self._fail_first(
                LinkUnavailable(f"cannot reach AMI at {self.settings.host}:{self.settings.port}: {describe(exc)}")
            )
            self._lost(describe(exc))
            raise
        finally:
            self.logged_in.clear()
            self._drop_waiters()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _lost(self, reason: str) -> None:
        if not self._stopping:
            self._set_link_state(False, f"AMI at {self.settings.host}:{self.settings.port}: {reason}")

    def _on_retry(self, exc: BaseException | None, delay: float) -> None:
        if self._caller_told or isinstance(exc, AuthenticationFailed):
            return  # connect() raises it to its caller, or it was logged as an error already
        logger.warning(
            "AMI link to %s:%d lost: %s; reconnecting in %.1f s",
            self.settings.host,
            self.settings.port,
            describe(exc),
            delay,
        )

    def _fail_first(self, exc: Exception) -> bool:
        """Hand ``exc`` to a ``connect()`` still waiting for its first session; True if there was one."""
        if self._first_login is not None and not self._first_login.done():
            self._first_login.set_exception(exc)
            self._first_login.exception()  # retrieved: connect() re-raises it
            self._caller_told = True
            return True
        return False

    def _drop_waiters(self, reason: str | None = None) -> None:
        self._proto.forget_pending()
        why = f": {reason}" if reason else ""
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(LinkUnavailable(f"the AMI connection dropped before the answer came{why}"))
                future.exception()
        self._waiters.clear()

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.settings.host, self.settings.port), self.settings.connect_timeout
        )
        self._writer = writer
        self._dropped_because = None  # set when we drop the connection ourselves
        self._proto = AmiProtocol(prefix=f"cc{next(self._ids)}")
        reader_task = asyncio.create_task(self._read(reader))
        try:
            await self._login()
            self.sessions += 1
            await self._check_permissions()
            await self._resync()
            self.reconnector.established()
            self.logged_in.set()
            self._set_link_state(True)
            if self._first_login is not None and not self._first_login.done():
                self._first_login.set_result(None)
            logger.info(
                "AMI session %d with %s:%d (Asterisk Call Manager/%s)",
                self.sessions,
                self.settings.host,
                self.settings.port,
                self.banner,
            )
            pinger = asyncio.create_task(self._keepalive())
            try:
                await reader_task
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
        finally:
            if not reader_task.done():
                reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(65536)
            self._proto.receive_data(data)
            self._dispatch()
            if not data:
                reason = self._dropped_because or "the AMI server closed the connection"
                self._drop_waiters(reason)  # an action in flight (the login too) fails now, not at its timeout
                raise EOFError(reason)

    def _dispatch(self) -> None:
        while not isinstance(event := self._proto.next_event(), NeedData):
            if isinstance(event, ActionCompleted):
                callback = self._on_answer.pop(event.action_id, None)
                if callback is not None:
                    callback(event)
                future = self._waiters.pop(event.action_id, None)
                if future is not None and not future.done():
                    future.set_result(event)
            elif isinstance(event, AmiMessage):
                for normalized in self.mapper.map(event):
                    if isinstance(normalized, CallEvent) and normalized.type == CallEventType.ENDED:
                        held = self._held.pop(normalized.call_id, None)
                        if held is not None:  # the customer hung up while held: the agent is free again
                            self.mapper.hold_over(held[0], on_call=False)
                            self._spawn(self._pause_for_hold(held[0], False))
                    self._emit(normalized)
            elif isinstance(event, Banner):
                self.banner = event.version
            elif isinstance(event, ProtocolIssue):
                pass  # logged by the codec

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write(self, data: bytes) -> None:
        if self._writer is None:
            raise LinkUnavailable("the AMI link is not connected")
        self._writer.write(data)

    async def action(
        self,
        name: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        variables: Mapping[str, str] | None = None,
        is_list: bool = False,
        check: bool = True,
        on_answer: Callable[[ActionCompleted], None] | None = None,
    ) -> ActionCompleted:
        """Send one action and wait for its answer; raises CommandFailed when Asterisk says Error."""
        if self.permitted is not None and ACTION_CLASSES.get(name.lower()) and name.lower() not in self.permitted:
            classes = " or ".join(sorted(ACTION_CLASSES[name.lower()]))
            raise CommandFailed(
                f"the AMI account {self.settings.username!r} may not run {name} (manager.conf: write = {classes})"
            )
        action_id, data = self._proto.send(name, headers, variables=variables, is_list=is_list)
        future: asyncio.Future[ActionCompleted] = asyncio.get_running_loop().create_future()
        self._waiters[action_id] = future
        if on_answer is not None:
            self._on_answer[action_id] = on_answer
        try:
            self._write(data)
            result = await asyncio.wait_for(future, self.settings.action_timeout)
        except TimeoutError:
            raise LinkUnavailable(f"AMI action {name} got no answer within {self.settings.action_timeout} s") from None
        finally:
            self._waiters.pop(action_id, None)
            self._on_answer.pop(action_id, None)
        if check and not result.ok:
            raise CommandFailed(f"Asterisk refused {name}: {result.message or result.response.name}")
        return result

    async def _login(self) -> None:
        s = self.settings
        if s.auth == "md5":
            challenge = await self.action("Challenge", {"AuthType": "MD5"}, check=False)
            token = challenge.response.get("Challenge")
            if not challenge.ok or not token:
                raise AuthenticationFailed(f"AMI at {s.host} offers no MD5 challenge: {challenge.message}")
            key = hashlib.md5((token + s.secret).encode()).hexdigest()
            result = await self.action("Login", {"AuthType": "MD5", "Username": s.username, "Key": key}, check=False)
        else:
            result = await self.action("Login", {"Username": s.username, "Secret": s.secret}, check=False)
        if not result.ok:
            raise AuthenticationFailed(
                f"AMI at {s.host}:{s.port} refused user {s.username!r}: {result.message or 'login failed'}"
            )

    @property
    def missing(self) -> list[Missing]:
        """What the account cannot do (empty when all is allowed, or before the first login)."""
        return [] if self.permitted is None else missing(self.permitted)

    async def _check_permissions(self) -> None:
        """``ListCommands`` lists the actions this account may run: advertise what they allow."""
        result = await self.action("ListCommands", check=False)
        if not result.ok:
            logger.warning("AMI ListCommands refused (%s): cannot check the account's permissions", result.message)
            self.permitted, self.capabilities = None, type(self).capabilities
            return
        self.permitted = frozenset(k.lower() for k, v in result.response.headers if "(Priv:" in v)
        self.capabilities = permitted_capabilities(self.permitted, type(self).capabilities)
        for gap in self.missing:
            logger.error("AMI account %r cannot carry out %s", self.settings.username, gap)

    def _map_list(self, answer: ActionCompleted) -> None:
        for event in answer.events:
            for normalized in self.mapper.map(event):
                self._emit(normalized)

    def _map_channels(self, answer: ActionCompleted) -> None:
        try:
            self._map_list(answer)
        finally:
            for normalized in self.mapper.end_resync():
                self._emit(normalized)

    async def _resync(self) -> None:
        """The calls up and the agents' states, mapped as the answers are read: events that follow
        the lists in the stream are newer and come out after them."""
        if self.permitted is None or "coreshowchannels" in self.permitted:
            self.mapper.begin_resync()
            await self.action("CoreShowChannels", is_list=True, on_answer=self._map_channels)
        # else: logged by _check_permissions; calls are not resynced after a reconnect
        await self.action("QueueStatus", is_list=True, check=False, on_answer=self._map_list)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            try:
                await self.action("Ping", check=False)
            except LinkUnavailable as exc:
                logger.warning("AMI keep-alive failed (%s): dropping the connection", exc)
                self._dropped_because = f"keep-alive failed ({exc})"
                if self._writer is not None:
                    self._writer.close()
                return

    # -- commands --------------------------------------------------------------------------
    def _channel(self, call_id: str, device: str | None, *, other: bool = False) -> str:
        channels = self.mapper.channels_of(call_id)
        if not channels:
            raise CommandFailed(f"no live call {call_id!r} on the AMI link")
        if device is None:
            return channels[0]
        mine = [c for c in channels if device_of(c) == device]
        theirs = [c for c in channels if device_of(c) != device and not c.startswith("Local/")]
        pick = theirs if other else mine
        if not pick:
            side = "other party" if other else f"device {device}"
            raise CommandFailed(f"call {call_id} has no channel for the {side}")
        return pick[0]

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        _dialable(from_device, "device")
        call_id = f"cc-{uuid.uuid4().hex[:20]}"
        variables = {f"__{self.settings.data_prefix}{k}": v for k, v in (data or {}).items()}
        await self.action(
            "Originate",
            {
                "Channel": f"{self.settings.tech}/{from_device}",
                "Exten": to_number,
                "Context": self.settings.context,
                "Priority": "1",
                "CallerID": from_device,
                "ChannelId": call_id,
                "OtherChannelId": f"{call_id}-b",
                "Async": "true",
            },
            variables=variables,
        )
        return call_id

    async def listen(self, extension: str, supervisor: str, mode: ListenMode) -> None:
        """Ring the supervisor's phone into ChanSpy on the agent's channel: ``q`` (quiet) to monitor,
        ``qw`` to whisper to the agent, ``qB`` to barge in (speak to both)."""
        _dialable(extension, "device")
        _dialable(supervisor, "device")
        options = {ListenMode.MONITOR: "q", ListenMode.WHISPER: "qw", ListenMode.BARGE: "qB"}[ListenMode(mode)]
        await self.action(
            "Originate",
            {
                "Channel": f"{self.settings.tech}/{supervisor}",
                "Application": "ChanSpy",
                "Data": f"{self.settings.tech}/{extension},{options}",
                "CallerID": f"listen {extension}",
                "Async": "true",
            },
        )

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        if device is None:
            for channel in self.mapper.channels_of(call_id):
                await self.action("Hangup", {"Channel": channel, "Cause": "16"}, check=False)
            return
        await self.action("Hangup", {"Channel": self._channel(call_id, device), "Cause": "16"})

    async def hold(self, call_id: str, device: str) -> None:
        if call_id in self._held:
            raise CommandFailed(f"call {call_id} is already on hold")
        party = self._channel(call_id, device, other=True)
        mine = self._channel(call_id, device)
        self.mapper.hold_started(device)
        try:
            await self.action(
                "Redirect", {"Channel": party, "Exten": "s", "Context": self.settings.hold_context, "Priority": "1"}
            )
        except BaseException:
            self.mapper.hold_over(device, on_call=True)
            raise
        self._held[call_id] = (device, party)
        await self._pause_for_hold(device, True)  # before the hang-up, so the queues never see the agent free
        with contextlib.suppress(CommandFailed):  # the leg may already be gone with the bridge
            await self.action("Hangup", {"Channel": mine, "Cause": "16"})
        self._emit(self._event(CallEventType.HELD, call_id, extension=device))

    async def retrieve(self, call_id: str, device: str) -> None:
        held = self._held.get(call_id)
        if held is None:
            raise CommandFailed(f"call {call_id} is not on hold by this link")
        if held[0] != device:
            raise CommandFailed(f"call {call_id} was put on hold by {held[0]}, not {device}")
        if held[1] not in self.mapper.channels_of(call_id):
            self._held.pop(call_id, None)
            raise CommandFailed(f"the held party of call {call_id} has hung up")
        await self.action(
            "Originate",
            {
                "Channel": f"{self.settings.tech}/{device}",
                "Application": "Bridge",
                "Data": held[1],
                "CallerID": device,
                "Async": "true",
            },
        )
        self._held.pop(call_id, None)
        self.mapper.hold_over(device, on_call=True)
        await self._pause_for_hold(device, False)
        self._emit(self._event(CallEventType.RETRIEVED, call_id, extension=device))

    async def _pause_for_hold(self, device: str, on: bool) -> None:
        """While the agent's leg is hung up for a hold, the agent still has the customer: pause the
        agent's queue memberships (reason ``on_hold``, which the mapper does not publish as a state)
        so that Asterisk's queues do not ring the free phone; ``retrieve`` unpauses them."""
        if self.permitted is not None and "queuepause" not in self.permitted:
            return
        for interface in sorted({i for i in self.mapper.agent_interfaces.values() if device_of(i) == device}):
            headers = {"Interface": interface, "Paused": "true" if on else "false"}
            if on:
                headers["Reason"] = HOLD_REASON
            try:
                await self.action("QueuePause", headers)
            except (CommandFailed, LinkUnavailable) as exc:
                logger.warning("AMI: %s stays %s in the queues: %s", interface, "free" if on else "paused", exc)

    async def _end_hold(self, call_id: str, *, on_call: bool = False) -> None:
        """The held call left the holding agent (transferred; conferenced, ``on_call``): the agent's queue
        memberships that ``hold`` paused are unpaused, or the agent would never be offered a call again."""
        held = self._held.pop(call_id, None)
        if held is not None:
            self.mapper.hold_over(held[0], on_call=on_call)
            await self._pause_for_hold(held[0], False)

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        if call_id not in self._held:
            await self.hold(call_id, device)
        return await self.make_call(device, to_number)

    async def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        held = self._held.get(held_call_id)
        party = held[1] if held else self._channel(held_call_id, device, other=True)
        mine = self._channel(consult_call_id, device)
        target = self._channel(consult_call_id, device, other=True)
        room = "cc" + "".join(ch for ch in held_call_id if ch.isalnum())
        where = {"Exten": room, "Context": self.settings.conference_context, "Priority": "1"}
        await self.action("Redirect", {"Channel": party, **where})
        await self.action(
            "Redirect",
            {
                "Channel": mine,
                "ExtraChannel": target,
                **where,
                "ExtraExten": room,
                "ExtraContext": self.settings.conference_context,
                "ExtraPriority": "1",
            },
        )
        await self._end_hold(held_call_id, on_call=True)

    async def _redirect_out(self, call_id: str, exten: str, context: str) -> None:
        """``Redirect`` the caller that waits (in ``Queue()``, or wherever the call is parked): Asterisk
        reports the caller's leaving the queue as ``QueueCallerAbandon``, which the mapper then knows
        for ours (``queue.left`` with ``data.reason`` ``redirected``, not an abandon)."""
        caller = self.mapper.waiting_channel(call_id)
        if caller is None:
            raise CommandFailed(f"no live call {call_id!r} on the AMI link")
        self.mapper.expect_redirect(call_id)
        try:
            await self.action("Redirect", {"Channel": caller, "Exten": exten, "Context": context, "Priority": "1"})
        except BaseException:
            self.mapper.redirect_failed(call_id)
            raise

    async def deliver(self, call_id: str, extension: str) -> None:
        """The ACD chose ``extension``: ``Redirect`` the waiting caller to it in ``context``."""
        await self._redirect_out(call_id, extension, self.settings.context)

    async def fallback(self, call_id: str, action: str) -> None:
        """The ACD gives up on the call: ``Redirect`` the caller to ``ccenter-fallback,<action>,1``
        (voicemail, or a goodbye that promises a callback), in the dialplan of docs/cti.md."""
        await self._redirect_out(call_id, action, "ccenter-fallback")

    async def dial_out(self, number: str, queue: str, data: Mapping[str, Any] | None = None) -> str:
        """The dialer's call: ``Originate`` a ``Local/<number>@<context>`` channel (the trunk dial of the
        dialplan); when it is answered the call continues at ``<outbound_context>,<queue>,1``, which puts
        it in the queue (docs/cti.md). ``data`` travels as inherited ``__CC_<key>`` channel variables
        (the values of an attached-data ``fields`` object, flattened), plus ``__CC_queue``."""
        _dialable(number, "number")
        call_id = f"cc-{uuid.uuid4().hex[:20]}"
        variables = {f"__{self.settings.data_prefix}{k}": v for k, v in _flat_data(data or {}).items()}
        variables[f"__{self.settings.data_prefix}queue"] = queue
        await self.action(
            "Originate",
            {
                "Channel": f"Local/{number}@{self.settings.context}",
                "Exten": queue,
                "Context": self.settings.outbound_context,
                "Priority": "1",
                "Timeout": "30000",
                "ChannelId": call_id,
                "OtherChannelId": f"{call_id}-b",
                "Async": "true",
            },
            variables=variables,
        )
        return call_id

    async def withdraw(self, call_id: str, extension: str) -> None:
        """The ACD took the offer back: ``Redirect`` the caller to the hold context, to wait again."""
        await self._redirect_out(call_id, "s", self.settings.hold_context)

    def _event(self, kind: CallEventType, call_id: str, **kw: Any) -> CallEvent:
        return CallEvent(type=kind, call_id=call_id, ts=self._clock(), **kw)

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        """``Redirect`` the other party to ``to_number``; Asterisk reports no transfer for a Redirect, so
        the link says ``call.transferred`` itself once Asterisk accepted it."""
        await self.action(
            "Redirect",
            {
                "Channel": self._channel(call_id, device, other=True),
                "Exten": to_number,
                "Context": self.settings.context,
                "Priority": "1",
            },
        )
        await self._end_hold(call_id)
        self._emit(
            self._event(CallEventType.TRANSFERRED, call_id, called=to_number, data={"kind": "blind", "by": device})
        )

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        customer = self._channel(held_call_id, device, other=True)
        target = self._channel(consult_call_id, device, other=True)
        await self.action("Bridge", {"Channel1": customer, "Channel2": target, "Tone": "no"})
        await self._end_hold(held_call_id)
        self._emit(
            self._event(
                CallEventType.TRANSFERRED,
                held_call_id,
                extension=device_of(target),
                data={"kind": "attended", "by": device, "consult_call_id": consult_call_id},
            )
        )
        for call_id in (held_call_id, consult_call_id):
            with contextlib.suppress(CommandFailed):
                await self.action("Hangup", {"Channel": self._channel(call_id, device), "Cause": "16"})

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        if not digits or set(digits) - set("0123456789*#ABCD"):
            raise LocalProtocolError(f"DTMF digits are 0-9 * # A-D, not {digits!r}")
        channel = self._channel(call_id, device, other=True)
        for digit in digits:
            await self.action("PlayDTMF", {"Channel": channel, "Digit": digit})

    async def mute(self, call_id: str, device: str, on: bool) -> None:
        """``MuteAudio`` on the agent's own channel, direction ``in`` (what the agent says)."""
        if Capability.MUTE not in self.capabilities:
            raise CommandFailed(
                f"the AMI account {self.settings.username!r} may not run MuteAudio (manager.conf: write = system)"
            )
        channel = self._channel(call_id, device)
        await self.action("MuteAudio", {"Channel": channel, "Direction": "in", "State": "on" if on else "off"})

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        known = self.mapper.agent_interfaces.get(agent_id)
        if extension:
            interface = f"{self.settings.tech}/{_dialable(extension, 'extension')}"
        elif known:
            interface = known  # the member's interface as the queues have it (IAX2/2001, Local/2001@agents/n)
        else:
            interface = f"{self.settings.tech}/{_dialable(agent_id, 'agent id')}"
        if state is AgentStateName.LOGGED_ON:
            if not queue:
                raise LocalProtocolError("logging an agent on through AMI needs the queue")
            member = self.mapper.agent_names.get(agent_id, agent_id)
            await self.action(
                "QueueAdd", {"Queue": queue, "Interface": interface, "MemberName": member, "Paused": "true"}
            )
        elif state is AgentStateName.LOGGED_OFF:
            headers = {"Interface": interface} | ({"Queue": queue} if queue else {})
            if not queue:
                raise LocalProtocolError("logging an agent off through AMI needs the queue")
            await self.action("QueueRemove", headers)
        elif state in (AgentStateName.READY, AgentStateName.NOT_READY, AgentStateName.WRAP_UP):
            # wrap-up is a pause with the reason "wrap_up": the queues ring the agent again on ready
            headers = {"Interface": interface, "Paused": "false" if state is AgentStateName.READY else "true"}
            if queue:
                headers["Queue"] = queue
            if state is AgentStateName.WRAP_UP:
                headers["Reason"] = WRAP_UP_REASON
            elif reason and state is AgentStateName.NOT_READY:
                headers["Reason"] = reason
            await self.action("QueuePause", headers)
        else:
            raise LocalProtocolError(f"Asterisk queues have no agent state {state.value!r} to set")

    async def attach_data(self, call_id: str, data: Mapping[str, str]) -> None:
        channel = self._channel(call_id, None)
        for key, value in data.items():
            await self.action(
                "Setvar", {"Channel": channel, "Variable": f"__{self.settings.data_prefix}{key}", "Value": value}
            )


def _flat_data(data: Mapping[str, Any]) -> dict[str, str]:
    """Attached data as channel variables: the values of a ``ccenter.attached/1`` ``fields`` object, or
    the flat keys; nested values (``routing``) are left out."""
    fields = data.get("fields")
    if isinstance(fields, Mapping):
        values = {k: v.get("value") for k, v in fields.items() if isinstance(v, Mapping)}
    else:
        values = {k: v for k, v in data.items() if k != "schema"}
    return {str(k): str(v) for k, v in values.items() if v is not None and not isinstance(v, Mapping | list)}
