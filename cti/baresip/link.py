"""The ``baresip://host:port`` link: one agent's baresip softphone, through its ``ctrl_tcp`` module.

The link keeps one TCP connection to the phone's ``ctrl_tcp_listen`` address (the module takes one
client at a time: a second one takes the place of the first), sends commands as netstrings with a
token and waits for the response with that token, and turns the phone's events into normalized
events (:mod:`.mapper`). baresip's call commands act on the phone's *current* call: each command
on a call first makes it current with ``callfind <SIP Call-ID>`` (after ``uafind <account>`` on a
phone with several accounts, where the call is on another line), under one lock, so two commands
never interleave.

When the phone goes away (baresip stopped or restarted) the link reconnects with backoff
(:class:`bus.reconnect.Reconnector`), then asks the phone about every call it knew of
(``callfind``): calls the phone still has go on with the same ``call_id``; the others end with
cause ``ended while the link was down``. A command while the phone is unreachable raises
:class:`~cti.errors.LinkUnavailable`; a command the phone refuses raises
:class:`~cti.errors.CommandFailed` with the phone's reason. The call state reported is only ever
what the phone said.

Agent states: a softphone knows nothing of them, so the link keeps the agent's state itself and
reports it back (``agent.state``), as the ACD needs it; it refuses a log-on to another extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bus.messages import AgentState, AgentStateName
from bus.reconnect import BackoffPolicy, Reconnector, describe

from ..codec import NeedData, ProtocolIssue
from ..errors import BadLinkUrl, CommandFailed, CtiError, LinkUnavailable, LocalProtocolError
from ..link import CtiLink
from ..model import Capability, DialOutcome
from .codec import BaresipDecoder, BaresipEvent, BaresipResponse, encode_command
from .mapper import BaresipMapper, Phase

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"^[0-9A-Za-z+*#_.-]{1,64}$")
_SIP_URI = re.compile(r"^sips?:[^\s<>\"]{1,250}$", re.IGNORECASE)
_DTMF = re.compile(r"^[0-9*#A-Da-d]{1,32}$")
LINK_DOWN_CAUSE = "ended while the link was down"


@dataclass(frozen=True, slots=True)
class BaresipSettings:
    host: str
    port: int
    extension: str | None = None  # the agent's extension; default: the user of the phone's account
    agent: str | None = None  # agent id put on call.answered
    domain: str | None = None  # numbers are dialled as sip:<number>@<domain> (default: the account's)
    ring_timeout: float = 30.0  # an outbound call not answered in this time ends as no_answer
    connect_timeout: float = 5.0
    command_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 10.0

    @classmethod
    def from_url(cls, url: str) -> BaresipSettings:
        """``baresip://127.0.0.1:4444?extension=1001&agent=a7&domain=pbx.example&ring_timeout=30``."""
        parts = urlsplit(url)
        if parts.scheme != "baresip":
            raise BadLinkUrl(f"not a baresip link URL: {url!r}")
        try:
            port = parts.port or 4444
        except ValueError as exc:
            raise BadLinkUrl(f"baresip link URL {url!r}: {exc}") from None
        if not parts.hostname:
            raise BadLinkUrl(f"baresip link URL {url!r} names no host, e.g. baresip://127.0.0.1:4444")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            settings = cls(
                host=parts.hostname,
                port=port,
                extension=q.pop("extension", None),
                agent=q.pop("agent", None),
                domain=q.pop("domain", None),
                ring_timeout=float(q.pop("ring_timeout", "30")),
                command_timeout=float(q.pop("timeout", "5")),
            )
        except ValueError as exc:
            raise BadLinkUrl(f"baresip link URL {url!r}: {exc}") from None
        if q:
            raise BadLinkUrl(
                f"baresip link URL {url!r}: unknown option(s) {', '.join(sorted(q))} "
                "(options: extension, agent, domain, ring_timeout, timeout)"
            )
        for what, value in (("extension", settings.extension), ("domain", settings.domain)):
            if value is not None and not re.fullmatch(r"[A-Za-z0-9_.:+-]{1,64}", value):
                raise BadLinkUrl(f"baresip link URL {url!r}: {what} {value!r} is not usable")
        return settings

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class BaresipLink(CtiLink):
    capabilities = frozenset(
        {
            Capability.MAKE_CALL,
            Capability.ANSWER,
            Capability.HANGUP,
            Capability.HOLD,
            Capability.RETRIEVE,
            Capability.CONSULT,
            Capability.BLIND_TRANSFER,
            Capability.ATTENDED_TRANSFER,
            Capability.SEND_DTMF,
            Capability.MUTE,
            Capability.SET_AGENT_STATE,
        }
    )

    def __init__(
        self,
        settings: BaresipSettings,
        *,
        clock: Callable[[], float] = time.time,
        reconnector: Reconnector | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.mapper = BaresipMapper(extension=settings.extension, agent_id=settings.agent, clock=clock)
        self.reconnector = reconnector or Reconnector(
            BackoffPolicy(initial=settings.reconnect_min, cap=settings.reconnect_max)
        )
        self._clock = clock
        self.ready = asyncio.Event()
        self.sessions = 0
        self.issues: list[ProtocolIssue] = []
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._first: asyncio.Future[None] | None = None
        self._caller_told = False
        self._lock = asyncio.Lock()
        self._waiters: dict[str, asyncio.Future[BaresipResponse]] = {}
        self._tokens = 0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._agents: dict[str, AgentState] = {}

    @classmethod
    def from_url(cls, url: str) -> BaresipLink:
        return cls(BaresipSettings.from_url(url))

    # -- lifecycle -------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect to the phone; raises :class:`LinkUnavailable` when it does not answer in time."""
        if self._task is not None:
            return
        self.reconnector.restart()
        self._closing = False
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._supervise(), name=f"baresip {self.settings.where}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first), self.settings.connect_timeout + 1)
        except (TimeoutError, CtiError) as exc:
            await self.close()
            if isinstance(exc, CtiError):
                raise
            raise LinkUnavailable(f"no baresip softphone answers at {self.settings.where}") from None

    async def close(self) -> None:
        self._closing = True
        self.reconnector.stop()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._end_events()

    async def _supervise(self) -> None:
        await self.reconnector.run(self._attempt, retry_on=(OSError, EOFError, CtiError), on_retry=self._on_retry)

    async def _attempt(self) -> None:
        self._caller_told = False
        try:
            await self._session()
        except (OSError, EOFError, CtiError) as exc:
            if self._first is not None and not self._first.done():
                self._first.set_exception(
                    LinkUnavailable(
                        f"cannot reach the baresip softphone at {self.settings.where} ({describe(exc)}): start "
                        "baresip with its ctrl_tcp module listening there (ctrl_tcp_listen)"
                    )
                )
                self._first.exception()
                self._caller_told = True
            if not self._closing and not self._caller_told:  # the phone is lost: the desktops must know it
                self._set_link_state(
                    False, f"the baresip softphone at {self.settings.where} is not connected ({describe(exc)})"
                )
            raise
        finally:
            self.ready.clear()
            for future in self._waiters.values():
                if not future.done():
                    future.set_exception(LinkUnavailable("the softphone's connection dropped before it answered"))
                    future.exception()
            self._waiters.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _on_retry(self, exc: BaseException | None, delay: float) -> None:
        if not self._caller_told:
            logger.warning(
                "baresip softphone at %s lost: %s; reconnecting in %.1f s", self.settings.where, describe(exc), delay
            )

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.settings.host, self.settings.port), self.settings.connect_timeout
        )
        self._writer = writer
        decoder = BaresipDecoder()
        reader_task = asyncio.create_task(self._read(reader, decoder))
        try:
            await self._resync()
            self.sessions += 1
            self.reconnector.established()
            self.ready.set()
            self._set_link_state(True)
            if self._first is not None and not self._first.done():
                self._first.set_result(None)
            logger.info("baresip softphone at %s connected (session %d)", self.settings.where, self.sessions)
            await reader_task
        finally:
            if not reader_task.done():
                reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task

    async def _resync(self) -> None:
        """Ask the phone about each call we knew of: those it still has go on, the others end."""
        for call_id, call in list(self.mapper.calls.items()):
            if call.sip_id is None:
                self._emit_all(self.mapper.gone(call_id, LINK_DOWN_CAUSE))
                continue
            async with self._lock:
                response = await self._find(call.sip_id, call.aor)
            if not _found(response):
                self._emit_all(self.mapper.gone(call_id, LINK_DOWN_CAUSE))

    async def _read(self, reader: asyncio.StreamReader, decoder: BaresipDecoder) -> None:
        while True:
            data = await reader.read(65536)
            decoder.receive_data(data)
            while not isinstance(item := decoder.next_event(), NeedData):
                if isinstance(item, ProtocolIssue):
                    self.issues.append(item)
                    del self.issues[:-100]
                    logger.warning(
                        "baresip %s: stream offset %d (%d bytes) skipped: %s",
                        self.settings.where, item.offset, item.length, item.reason,
                    )
                elif isinstance(item, BaresipResponse):
                    future = self._waiters.pop(item.token or "", None)
                    if future is not None and not future.done():
                        future.set_result(item)
                    else:
                        logger.debug("baresip response nobody waits for: %r", item)
                else:
                    self._map(item)
            if not data:
                raise EOFError("the softphone closed the connection")

    def _map(self, event: BaresipEvent) -> None:
        logger.debug("baresip <- %s %s", event.type, event.fields.get("id"))
        try:
            normalized = self.mapper.map(event)
        except Exception as exc:  # one event the mapper cannot take must not stop the link
            logger.warning("baresip %s event at stream offset %d skipped: %s", event.type, event.offset, describe(exc))
            return
        for problem in self.mapper.problems:
            logger.warning("baresip %s call %s: %s", self.settings.where, event.fields.get("id"), problem)
        self._emit_all(normalized)
        if event.type == "CALL_CLOSED" or event.type == "CALL_ESTABLISHED":
            for call_id in [c for c in self._timers if c not in self.mapper.calls or
                            self.mapper.calls[c].phase is not Phase.DIALING]:
                self._timers.pop(call_id).cancel()

    def _emit_all(self, events: Sequence[object]) -> None:
        for event in events:
            self._emit(event)  # type: ignore[arg-type]

    # -- commands --------------------------------------------------------------------------------
    async def _send(self, command: str, params: str | None = None) -> BaresipResponse:
        """Send one command and wait for its response (the caller holds the lock where order matters)."""
        writer = self._writer
        if writer is None:
            raise LinkUnavailable(
                f"the baresip softphone at {self.settings.where} is not connected (is baresip running?)"
            )
        self._tokens += 1
        token = f"cc{self._tokens}"
        data = encode_command(command, params, token)
        future: asyncio.Future[BaresipResponse] = asyncio.get_running_loop().create_future()
        self._waiters[token] = future
        try:
            logger.debug("baresip -> %s %s", command, params or "")
            writer.write(data)
            return await asyncio.wait_for(future, self.settings.command_timeout)
        except TimeoutError:
            raise LinkUnavailable(
                f"the baresip softphone at {self.settings.where} did not answer {command} within "
                f"{self.settings.command_timeout:g} s"
            ) from None
        finally:
            self._waiters.pop(token, None)

    async def _command(self, command: str, params: str | None = None) -> BaresipResponse:
        response = await self._send(command, params)
        if not response.ok:
            raise CommandFailed(f"the softphone refused {command}: {response.data.strip() or 'no reason given'}")
        return response

    async def _on_call(
        self, call_id: str, command: str, params: str | None = None, *, after: str | None = None
    ) -> BaresipResponse:
        """Make ``call_id`` the phone's current call, then send ``command`` (both under the lock).

        With ``after`` (the SIP Call-ID of another call), that call is made current first, so that it
        is the phone's previous call when ``command`` runs.
        """
        call = self.mapper.call(call_id)
        if call is None:
            raise CommandFailed(f"call {call_id} is not on the softphone at {self.settings.where}")
        if call.sip_id is None:
            raise CommandFailed(f"call {call_id} has not reached the far end yet; try again in a moment")
        async with self._lock:
            if after is not None:
                await self._find(after, call.aor)
            found = await self._find(call.sip_id, call.aor)
            if not _found(found):
                # The phone no longer has it: say so, rather than leave a call on the screen that is not there.
                self._emit_all(self.mapper.gone(call_id, "ended"))
                raise CommandFailed(f"call {call_id} is no longer on the softphone")
            return await self._command(command, params)

    async def _find(self, sip_id: str, aor: str | None) -> BaresipResponse:
        """``callfind`` looks among the calls of the phone's current account (line): on a phone with
        several accounts, the call's own account is made current first when it is not found."""
        response = await self._send("callfind", sip_id)
        if _found(response) or not aor:
            return response
        switched = await self._send("uafind", aor)
        if not switched.ok:
            return response
        return await self._send("callfind", sip_id)

    def _check_device(self, device: str | None) -> None:
        own = self.mapper.extension
        if device is not None and own is not None and device != own:
            raise LocalProtocolError(f"device {device!r} is not this softphone (extension {own})")

    def _target(self, number: str) -> str:
        if _SIP_URI.match(number):
            return number
        if not _NUMBER.match(number):
            raise LocalProtocolError(f"cannot dial {number!r}: digits, letters and + * # _ . - only, or a sip: URI")
        return f"sip:{number}@{self.settings.domain}" if self.settings.domain else number

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        self._check_device(from_device)
        uri = self._target(to_number)
        if self._writer is None:  # before the call is offered: there is no call to end
            raise LinkUnavailable(
                f"the baresip softphone at {self.settings.where} is not connected (is baresip running?)"
            )
        number = to_number.split(":", 1)[-1].split("@", 1)[0] if _SIP_URI.match(to_number) else to_number
        call_id, events = self.mapper.dialing(uri, number)
        self._emit_all(events)
        try:
            await self._command("dial", uri)
        except CtiError as exc:
            self._emit_all(self.mapper.dial_failed(call_id, str(exc)))
            raise
        loop = asyncio.get_running_loop()
        self._timers[call_id] = loop.call_later(self.settings.ring_timeout, self._ring_timeout, call_id)
        return call_id

    def _ring_timeout(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        call = self.mapper.call(call_id)
        if call is None or call.phase is not Phase.DIALING:
            return
        if call.sip_id is None:
            # The phone never reported the call (no answer at all from the far end): nothing to hang up.
            logger.info("call %s: the softphone reported nothing of it in %g s", call_id, self.settings.ring_timeout)
            self._emit_all(self.mapper.gone(call_id, DialOutcome.FAILED))
            return
        call.cause = DialOutcome.NO_ANSWER
        logger.info("call %s not answered within %g s: hanging up", call_id, self.settings.ring_timeout)
        task = asyncio.ensure_future(self._give_up(call_id))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _give_up(self, call_id: str) -> None:
        try:
            await self._on_call(call_id, "hangup")
        except CtiError as exc:
            logger.info("call %s: could not hang up after no answer: %s", call_id, exc)

    async def answer(self, call_id: str, device: str) -> None:
        self._check_device(device)
        call = self.mapper.call(call_id)
        if call is None or call.phase is not Phase.RINGING:
            raise CommandFailed(f"call {call_id} is not ringing on this softphone")
        # baresip's accept first puts the line's previous call on hold: make that a call that can be
        # held (or is already), and refuse when only a ringing call could be it (baresip would answer nothing).
        others = [c for c in self.mapper.calls.values() if c is not call and c.aor == call.aor]
        previous = next((c for c in others if c.phase is Phase.CONNECTED), None) or next(
            (c for c in others if c.phase is Phase.HELD), None
        )
        if previous is None and any(c.phase is Phase.RINGING for c in others):
            raise CommandFailed(
                f"call {call_id} cannot be answered while another call rings on the same line of the softphone "
                "(baresip would first put the ringing call on hold): decline that call first"
            )
        await self._on_call(call_id, "accept", after=previous.sip_id if previous is not None else None)
        if previous is not None and previous.phase is Phase.CONNECTED:
            self._emit_all(self.mapper.held(previous.call_id, True))  # baresip held it

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        self._check_device(device)
        await self._on_call(call_id, "hangup")

    async def hold(self, call_id: str, device: str) -> None:
        self._check_device(device)
        call = self.mapper.call(call_id)
        if call is None or call.phase is not Phase.CONNECTED:
            raise CommandFailed(f"call {call_id} is not connected on this softphone")
        await self._on_call(call_id, "hold")
        self._emit_all(self.mapper.held(call_id, True))

    async def retrieve(self, call_id: str, device: str) -> None:
        self._check_device(device)
        call = self.mapper.call(call_id)
        if call is None or call.phase is not Phase.HELD:
            raise CommandFailed(f"call {call_id} is not on hold on this softphone")
        await self._on_call(call_id, "resume")
        self._emit_all(self.mapper.held(call_id, False))

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        self._target(to_number)  # refuse a bad number before the customer is put on hold
        call = self.mapper.call(call_id)
        held_here = call is not None and call.phase is Phase.CONNECTED
        if held_here:
            await self.hold(call_id, device)
        try:
            return await self.make_call(device, to_number)
        except CtiError:
            if held_here:  # the consultation did not start: back to the customer
                with contextlib.suppress(CtiError):
                    await self.retrieve(call_id, device)
            raise

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        """SIP REFER to the other party; the call leaves this phone when the target answers."""
        self._check_device(device)
        uri = self._target(to_number)
        await self._transfer(call_id, uri, "blind")

    async def _transfer(self, call_id: str, uri: str, kind: str) -> None:
        call = self.mapper.call(call_id)
        if call is not None and call.phase not in (Phase.CONNECTED, Phase.HELD):
            # baresip 1.0 says ok to a REFER on a call not answered yet, and nothing comes of it.
            raise CommandFailed(f"call {call_id} is not connected on this softphone: answer it before transferring")
        if call is not None:
            # Known before the REFER goes out: the phone may report the transfer done right after it.
            call.transfer_to, call.transfer_kind = uri, kind
        try:
            await self._on_call(call_id, "transfer", uri)
        except CtiError:
            if call is not None:
                call.transfer_to, call.transfer_kind = None, "blind"
            raise

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        """Hang up the consultation and REFER the held party to the consulted one.

        baresip 1.0 sends no ``Replaces`` (nor understands one), so the consulted phone is rung again
        by the customer: see docs/sip.md.
        """
        self._check_device(device)
        held, consult = self.mapper.call(held_call_id), self.mapper.call(consult_call_id)
        if held is None or consult is None:
            raise CommandFailed("attended transfer needs the held call and the consultation call on this softphone")
        target = consult.peer
        held.data["consult_call_id"] = consult_call_id
        await self._on_call(consult_call_id, "hangup")
        await self._transfer(held_call_id, target, "attended")

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        self._check_device(device)
        if not _DTMF.match(digits):
            raise LocalProtocolError(f"DTMF digits are 0-9, *, # and A-D, not {digits!r}")
        await self._on_call(call_id, "sndcode", digits)

    async def mute(self, call_id: str, device: str, on: bool) -> None:
        """baresip's ``mute`` toggles: the link sends it until the phone says what was asked."""
        self._check_device(device)
        call = self.mapper.call(call_id)
        if call is None or call.phase not in (Phase.CONNECTED, Phase.HELD):
            raise CommandFailed(f"call {call_id} is not connected on this softphone")
        for _ in range(2):
            response = await self._on_call(call_id, "mute")
            muted = "un-muted" not in response.data
            call.muted = muted
            if muted == on:
                return
        raise CommandFailed(f"the softphone did not {'mute' if on else 'unmute'} call {call_id}")

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        own = self.mapper.extension
        if extension is not None and own is not None and extension != own:
            raise CommandFailed(f"this softphone is extension {own}, not {extension}")
        previous = self._agents.get(agent_id)
        event = AgentState(
            agent_id=agent_id,
            state=state,
            ts=self._clock(),
            reason=reason,
            extension=extension or own or (previous.extension if previous else None),
        )
        self._agents[agent_id] = event
        self._emit(event)

    async def live_calls(self, call_ids: Sequence[str]) -> set[str]:
        return {c for c in call_ids if self.mapper.call(c) is not None}


def _found(response: BaresipResponse) -> bool:
    """Whether ``callfind`` found the call (it answers ``ok`` with "call not found" when it did not)."""
    return response.ok and response.data.lstrip().startswith("setting current call")
