"""FastAGI server: Asterisk runs IVR flows through ``AGI(agi://HOST:PORT/FLOW)``.

Each connection is one call. The server reads the AGI environment, picks the flow named by the
script part of the URL (or the default flow), and drives an :class:`~ivr.engine.IvrSession`,
mapping its actions to AGI commands:

- :class:`~ivr.engine.Play` with audio: ``STREAM FILE audio ""``; without audio it is skipped
  (Asterisk has no text-to-speech of its own).
- :class:`~ivr.engine.Collect` for a menu (one key): ``STREAM FILE prompt "0123456789*#"`` (a key
  interrupts the prompt), then ``WAIT FOR DIGIT timeout_ms``; for several digits:
  ``GET DATA prompt timeout_ms max_digits`` (``#`` ends the input).
- :class:`~ivr.engine.Transfer`: channel variables for the dialplan, which then runs ``Queue()``:
  ``CCENTER_QUEUE``, ``QUEUE_PRIO`` (Asterisk's own queue priority) and ``CCENTER_PRIORITY``,
  ``CCENTER_DATA`` (the attached values as compact ASCII JSON), and ``CCENTER_<FIELD>`` for scalar
  fields (``CCENTER_LANGUAGE``, ``CCENTER_CUSTOMER_ID``, ``CCENTER_VERIFIED`` as 1/0, ...).
  The full ``call.data`` event, with provenance, goes to ``on_handoff`` for the bus.
- :class:`~ivr.engine.RequestCallback`: the same variables plus ``CCENTER_CALLBACK=1``.
- :class:`~ivr.engine.Hangup`: ``HANGUP``.

The session (its record, its look-ups, the hand-off's ``call.data`` for the bus) names the call by
its ``Linkedid``, the ``call_id`` the AMI link uses for every leg: ``GET VARIABLE CHANNEL(linkedid)``,
the first command of every session, asks it (the AGI environment has only the channel's own
``Uniqueid``, a different id when the AGI runs on a later leg or a ``Local/`` channel); the
``Uniqueid`` stays the fallback when Asterisk does not answer it.

A ``HANGUP`` line from Asterisk, a ``511`` reply or a closed connection end the session as
abandoned. A prompt Asterisk cannot play (``result=-1`` with no ``HANGUP``: the sound file is
missing) is logged and skipped: a menu still waits for its key, a digit collect still collects
(without the prompt). Were the caller gone after all, the next command says so.

The engine's look-up requests are answered from the ports (:class:`~ivr.ports.Ports`) in a worker
thread, so a slow database never stalls other calls, and within the request's
``timeout_s``: a look-up that takes longer is a timeout for the session (the flow's error exit).
Replies to sensitive collects are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from bus.messages import CallEvent
from crm.masking import mask_text

from .agi import (
    AgiConnection,
    AgiEnvironment,
    AgiReply,
    ConnectionClosed,
    EnvironmentReceived,
    HangupReceived,
    NeedData,
    ReplyReceived,
    set_variable,
)
from .engine import (
    Action,
    CallInfo,
    Collect,
    Hangup,
    IvrSession,
    Play,
    Request,
    RequestCallback,
    SessionState,
    Transfer,
)
from .errors import AgiError, IvrError
from .flow import Flow
from .lookup import CustomerLookup
from .ports import Ports, feed
from .record import SessionRecord
from .rest import HttpRestClient, RestClient

logger = logging.getLogger(__name__)

MENU_KEYS = "0123456789*#"
#: Longest CCENTER_DATA value sent; beyond it the dialplan gets the per-field variables only.
MAX_DATA_VARIABLE = 1500
SCALAR_FIELDS = ("language", "customer_id", "account", "tier", "verified", "intent", "identified_by")

Callback = Callable[[Any], Awaitable[None] | None]


class _Hungup(Exception):
    """The channel is gone: HANGUP, 511, failure result or closed connection."""


@dataclass(frozen=True, slots=True)
class _Digits:
    value: str


@dataclass(frozen=True, slots=True)
class _Timeout:
    pass


@dataclass(frozen=True, slots=True)
class _LookUp:
    request: Request


class AgiChannel:
    """One FastAGI connection: the sans-I/O :class:`AgiConnection` over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply_timeout_s: float) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = AgiConnection()
        self.reply_timeout_s = reply_timeout_s

    async def _event(self) -> EnvironmentReceived | ReplyReceived | HangupReceived | ConnectionClosed:
        while True:
            event = self.conn.next_event()
            if not isinstance(event, NeedData):
                return event
            data = await asyncio.wait_for(self.reader.read(4096), self.reply_timeout_s)
            self.conn.receive_data(data)

    async def environment(self) -> AgiEnvironment:
        event = await self._event()
        if not isinstance(event, EnvironmentReceived):
            raise AgiError("connection closed before the AGI environment")
        return event.environment

    async def send(self, data: bytes, *, sensitive: bool = False) -> AgiReply:
        """Send a command line and return its reply; raise _Hungup when the channel is gone."""
        if self.conn.hung_up:
            raise _Hungup
        logger.debug("agi > %s", data.decode("utf-8", "replace").rstrip("\n"))
        self.writer.write(data)
        await self.writer.drain()
        while True:
            event = await self._event()
            if isinstance(event, HangupReceived):
                logger.debug("agi < HANGUP")
                continue  # the reply to the command still follows
            if isinstance(event, ConnectionClosed):
                raise _Hungup
            if isinstance(event, EnvironmentReceived):  # pragma: no cover - the codec sends it once
                raise AgiError("AGI environment received twice")
            reply = event.reply
            logger.debug("agi < %s", "(sensitive reply)" if sensitive else mask_text(reply.text))
            if reply.code == 511:
                raise _Hungup
            return reply

    async def command(self, *words: str, sensitive: bool = False) -> AgiReply:
        return await self.send(self.conn.send_command(*words), sensitive=sensitive)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def handoff_variables(action: Transfer | RequestCallback) -> list[tuple[str, str]]:
    """The channel variables that tell the dialplan the IVR's hand-off."""
    fields: Mapping[str, Any] = action.data.get("fields", {})
    values = {name: entry.get("value") for name, entry in fields.items()}
    variables = [
        ("CCENTER_QUEUE", action.queue),
        ("QUEUE_PRIO", str(action.priority)),
        ("CCENTER_PRIORITY", str(action.priority)),
    ]
    for name in SCALAR_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        variables.append((f"CCENTER_{name.upper()}", text))
    data = json.dumps(values, ensure_ascii=True, separators=(",", ":"))
    if len(data) <= MAX_DATA_VARIABLE:
        variables.append(("CCENTER_DATA", data))
    else:
        logger.info("attached data of %d bytes is too long for CCENTER_DATA: fields only", len(data))
    if isinstance(action, RequestCallback):
        variables += [("CCENTER_CALLBACK", "1"), ("CCENTER_CALLBACK_NUMBER", action.number)]
    return variables


class FastAgiServer:
    """Serves flows to Asterisk; ``on_handoff`` gets each ``call.data`` event, ``on_record`` each record."""

    def __init__(
        self,
        flows: Mapping[str, Flow],
        lookup: CustomerLookup,
        *,
        default_flow: str | None = None,
        rest: RestClient | None = None,
        clock: Callable[[], float] = time.time,
        on_handoff: Callable[[CallEvent], Awaitable[None] | None] | None = None,
        on_record: Callable[[SessionRecord], Awaitable[None] | None] | None = None,
        reply_timeout_s: float = 300.0,
        housekeeping: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        if default_flow is not None and default_flow not in flows:
            raise IvrError(f"default flow {default_flow!r} is not among the served flows")
        self.flows = dict(flows)
        self.lookup = lookup
        self.default_flow = default_flow
        self._own_rest = rest is None
        self.rest: RestClient = rest if rest is not None else HttpRestClient()
        self.ports = Ports(lookup, self.rest)
        self.clock = clock
        self.on_handoff = on_handoff
        self.on_record = on_record
        self.reply_timeout_s = reply_timeout_s
        self.housekeeping = housekeeping  # runs from start() to close() (the session records' outbox)
        self._housekeeper: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        try:
            self._server = await asyncio.start_server(self._accept, host, port)
        except OSError as exc:
            raise IvrError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        if self.housekeeping is not None:
            self._housekeeper = asyncio.create_task(self.housekeeping(), name="fastagi-housekeeping")
        logger.info("FastAGI server listening on %s:%d", host, self.port)

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeper
            self._housekeeper = None
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._own_rest and isinstance(self.rest, HttpRestClient):
            self.rest.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handle(AgiChannel(reader, writer, self.reply_timeout_s))
        except asyncio.CancelledError:
            # The server is closing (close() cancels and then awaits every call's task). This task is
            # the stream server's own, which nobody else awaits: ending it cancelled would be
            # reported by asyncio as an error in its callback, so the call's channel just closes.
            writer.close()
        finally:
            self._tasks.discard(task)

    async def _notify(self, callback: Callable[[Any], Awaitable[None] | None] | None, value: Any) -> None:
        if callback is None:
            return
        try:
            result = callback(value)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("FastAGI hand-off callback failed")

    def _flow_for(self, env: AgiEnvironment) -> Flow | None:
        name = env.script or (env.arguments[0] if env.arguments else "")
        flow = self.flows.get(name)
        if flow is None and self.default_flow is not None:
            flow = self.flows[self.default_flow]
        return flow

    async def handle(self, channel: AgiChannel) -> None:
        session: IvrSession | None = None
        try:
            env = await channel.environment()
            flow = self._flow_for(env)
            if flow is None:
                logger.warning("FastAGI: no flow for script %r; hanging up", env.script)
                await channel.command("HANGUP")
                return
            # The call is named by its Linkedid, the AMI link's call_id, also when the AGI runs on a later
            # leg or a Local channel: the session record, the look-ups and the hand-off all join the
            # desktop's screen pop by it.
            linkedid = await self._linkedid(channel)
            call = CallInfo(linkedid or env.uniqueid or env.channel or "agi", env.callerid, env.extension)
            session = IvrSession(flow, call)
            logger.info("FastAGI: call %s on %s runs flow %s", call.call_id, env.channel, flow.name)
            await channel.command("ANSWER")
            actions = session.started(self.clock())
            while True:
                outcome = await self._perform(channel, session, actions)
                if outcome is None:
                    break
                if isinstance(outcome, _LookUp):
                    actions = await self._look_up(session, outcome.request)
                elif isinstance(outcome, _Digits):
                    actions = session.digits(outcome.value, self.clock())
                else:
                    actions = session.timeout(self.clock())
        except _Hungup:
            logger.info("FastAGI: caller hung up")
        except AgiError as exc:
            logger.warning("FastAGI: %s", exc)
        except (TimeoutError, ConnectionError) as exc:
            logger.warning("FastAGI: connection lost: %s", type(exc).__name__)
        finally:
            if session is not None:
                if session.state is not SessionState.DONE:
                    session.hangup(self.clock())
                if session.record is not None:
                    await self._notify(self.on_record, session.record)
            await channel.close()

    async def _look_up(self, session: IvrSession, request: Request) -> list[Action]:
        """Answer ``request`` in a worker thread, within its timeout; return what the session does next."""
        call_id = session.call.call_id
        try:
            outcome = await asyncio.wait_for(asyncio.to_thread(self.ports.perform, request, call_id), request.timeout_s)
        except TimeoutError:
            logger.warning("FastAGI: call %s: look-up %s took over %g s", call_id, request.node, request.timeout_s)
            return session.timeout(self.clock())
        return feed(session, outcome, self.clock())

    async def _perform(self, channel: AgiChannel, session: IvrSession, actions: list[Action]) -> Any:
        """Carry out ``actions``; return the caller's input for a Collect, the request that ends them, or
        None when the call left the IVR."""
        pending_audio: str | None = None
        for index, action in enumerate(actions):
            if isinstance(action, Play):
                following = actions[index + 1] if index + 1 < len(actions) else None
                if isinstance(following, Collect) and action.audio:
                    pending_audio = action.audio  # played by the collect, so a key can interrupt it
                    continue
                if action.audio:
                    reply = await channel.command("STREAM FILE", action.audio, "")
                    if reply.number is not None and reply.number < 0:
                        self._missing(channel, action.audio)
                else:
                    logger.debug("FastAGI: prompt %s has no audio; skipped", action.node)
            elif isinstance(action, Collect):
                return await self._collect(channel, action, pending_audio)
            elif isinstance(action, Transfer | RequestCallback):
                for name, value in handoff_variables(action):
                    try:
                        line = set_variable(name, value)
                    except AgiError as exc:
                        logger.warning("FastAGI: %s not set: %s", name, exc)
                        continue
                    await channel.send(line)
                await self._notify(self.on_handoff, session.handoff_event(self.clock()))
            elif isinstance(action, Hangup):
                await channel.command("HANGUP")
            else:
                return _LookUp(action)
        return None

    async def _linkedid(self, channel: AgiChannel) -> str | None:
        """The call's ``Linkedid`` (``CHANNEL(linkedid)``), or None when Asterisk does not say."""
        reply = await channel.command("GET VARIABLE", "CHANNEL(linkedid)")
        if reply.ok and reply.number == 1 and reply.data:
            return reply.data
        return None

    @staticmethod
    def _missing(channel: AgiChannel, audio: str) -> None:
        """``result=-1``: the caller hung up (Asterisk sent ``HANGUP``), else the prompt cannot be played."""
        if channel.conn.hung_up:
            raise _Hungup
        logger.warning("FastAGI: prompt %r could not be played (no such sound file?): skipped", audio)

    async def _collect(self, channel: AgiChannel, collect: Collect, audio: str | None) -> _Digits | _Timeout:
        timeout_ms = str(int(collect.timeout_s * 1000))
        if collect.menu:
            if audio:
                reply = await channel.command("STREAM FILE", audio, MENU_KEYS)
                key = self._key(channel, reply, audio)
                if key:
                    return _Digits(key)
            reply = await channel.command("WAIT FOR DIGIT", timeout_ms)
            key = self._key(channel, reply, None)
            return _Digits(key) if key else _Timeout()
        prompt = audio or "silence/1"
        reply = await channel.command(
            "GET DATA", prompt, timeout_ms, str(collect.max_length), sensitive=collect.sensitive
        )
        if reply.ok and reply.number == -1:
            self._missing(channel, prompt)  # raises when the caller hung up
            reply = await channel.command(
                "GET DATA", "silence/1", timeout_ms, str(collect.max_length), sensitive=collect.sensitive
            )
            if reply.ok and reply.number == -1:
                raise _Hungup
        if not reply.ok:
            return _Timeout()
        digits = reply.result or ""
        return _Digits(digits) if digits else _Timeout()

    @classmethod
    def _key(cls, channel: AgiChannel, reply: AgiReply, audio: str | None) -> str | None:
        if not reply.ok:
            return None
        number = reply.number
        if number is None or number == 0:
            return None
        if number < 0:
            if audio is None:  # WAIT FOR DIGIT fails only when the channel is gone
                raise _Hungup
            cls._missing(channel, audio)
            return None
        return chr(number)
