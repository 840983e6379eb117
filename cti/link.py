"""The async link interface every telephony adapter implements, and the bus-command dispatcher.

A link is connected with ``await link.connect()``, yields normalized events from ``link.events()``
(an async iterator of :class:`bus.messages.CallEvent` and :class:`bus.messages.AgentState`) and
carries commands through its methods. ``link.capabilities`` says which commands it can carry; the
others raise :class:`~cti.errors.UnsupportedCommand` without touching the PBX.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Self

from bus.messages import AgentState, AgentStateName, CallEvent, Command

from .errors import CtiError, LinkUnavailable, LocalProtocolError, UnsupportedCommand
from .model import Capability, LinkEvent, ListenMode

logger = logging.getLogger(__name__)

#: Events buffered for a slow consumer before the oldest are dropped (with an error log).
EVENT_QUEUE_LIMIT = 10_000

_CLOSED = object()

#: Told of every change of a link's up/down state: ``listener(up, reason)``.
LinkStateListener = Callable[[bool, str], None]


class _Mark:
    """A place in the event queue: its future resolves once the consumer has taken every earlier event."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future


class CtiLink(ABC):
    """One connection to one telephone system, speaking the normalized model.

    Subclasses implement ``connect``/``close`` and the commands of their ``capabilities``, and
    hand events to :meth:`_emit`. Methods a link does not support keep the default body, which
    raises :class:`UnsupportedCommand`.
    """

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._dropped = 0
        #: Whether the telephone system is reachable now (a link that reconnects by itself says when it
        #: is not); ``link_since`` is when that last changed (None: never), ``link_reason`` why it is down.
        self.link_up = True
        self.link_since: float | None = None
        self.link_reason = ""
        self._state_listeners: list[LinkStateListener] = []

    # -- up/down ---------------------------------------------------------------------------
    def on_link_state(self, listener: LinkStateListener) -> None:
        """Call ``listener(up, reason)`` on every change of :attr:`link_up` (on the link's loop)."""
        self._state_listeners.append(listener)

    def _set_link_state(self, up: bool, reason: str = "", *, ts: float | None = None) -> None:
        """The link lost (``up`` false, with why) or regained the telephone system; listeners are told
        of changes only."""
        if up == self.link_up and (up or reason == self.link_reason):
            return
        changed = up != self.link_up
        self.link_up = up
        self.link_reason = "" if up else reason
        if changed:
            self.link_since = time.time() if ts is None else ts
        for listener in list(self._state_listeners):
            try:
                listener(up, self.link_reason)
            except Exception:  # one listener's bug must not stop the link
                logger.exception("a link state listener failed")

    # -- lifecycle -------------------------------------------------------------------------
    @abstractmethod
    async def connect(self) -> None:
        """Open the link (and log in, start monitors); returns once events can flow."""

    @abstractmethod
    async def close(self) -> None:
        """Close the link; ``events()`` then ends."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- events ----------------------------------------------------------------------------
    def _emit(self, event: LinkEvent) -> None:
        if self._queue.qsize() >= EVENT_QUEUE_LIMIT:
            self._queue.get_nowait()
            self._dropped += 1
            logger.error("event consumer too slow: dropped %d events so far", self._dropped)
        self._queue.put_nowait(event)

    def _end_events(self) -> None:
        self._queue.put_nowait(_CLOSED)

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Normalized events, in the order the link learnt them, until the link is closed."""
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            if isinstance(item, _Mark):
                if not item.future.done():
                    item.future.set_result(None)
                continue
            assert isinstance(item, CallEvent | AgentState)
            yield item

    async def events_taken(self, timeout: float) -> bool:
        """Wait until the consumer of ``events()`` has taken (and handled) every event emitted so far.

        The gateway uses it to publish a command's result after the events the command caused.
        Returns False after ``timeout`` seconds (nobody is reading, or the link closed).
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Mark(future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    # -- commands --------------------------------------------------------------------------
    def _unsupported(self, capability: Capability) -> UnsupportedCommand:
        return UnsupportedCommand(f"{type(self).__name__} cannot {capability.value.replace('_', ' ')}")

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        """Dial ``to_number`` from ``from_device``; returns the new call's ``call_id``."""
        raise self._unsupported(Capability.MAKE_CALL)

    async def answer(self, call_id: str, device: str) -> None:
        raise self._unsupported(Capability.ANSWER)

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        """Clear ``device``'s part of the call, or the whole call without a device."""
        raise self._unsupported(Capability.HANGUP)

    async def hold(self, call_id: str, device: str) -> None:
        raise self._unsupported(Capability.HOLD)

    async def retrieve(self, call_id: str, device: str) -> None:
        raise self._unsupported(Capability.RETRIEVE)

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        """Hold ``call_id`` and dial ``to_number`` from ``device``; returns the consultation call's id."""
        raise self._unsupported(Capability.CONSULT)

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        raise self._unsupported(Capability.BLIND_TRANSFER)

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        """Join the held call and the consultation call, and drop ``device`` out of both."""
        raise self._unsupported(Capability.ATTENDED_TRANSFER)

    async def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        raise self._unsupported(Capability.CONFERENCE)

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        raise self._unsupported(Capability.SEND_DTMF)

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        raise self._unsupported(Capability.SET_AGENT_STATE)

    async def attach_data(self, call_id: str, data: Mapping[str, str]) -> None:
        raise self._unsupported(Capability.ATTACH_DATA)

    async def live_calls(self, call_ids: Sequence[str]) -> set[str]:
        """Which of ``call_ids`` are still up (a desktop checks its calls after missing events)."""
        raise UnsupportedCommand(f"{type(self).__name__} cannot say which calls are live")

    async def mute(self, call_id: str, device: str, on: bool) -> None:
        """Stop (or restart) sending ``device``'s voice to the other parties; they still hear nothing else."""
        raise self._unsupported(Capability.MUTE)

    async def listen(self, extension: str, supervisor: str, mode: ListenMode) -> None:
        """Ring the ``supervisor``'s phone into the call of the agent at ``extension``, listening in as ``mode``."""
        raise self._unsupported(Capability.LISTEN)

    # -- for the ACD (``ccenter acd`` sends these; they are not the desktop's capabilities) ------
    async def deliver(self, call_id: str, extension: str) -> None:
        """Ring ``extension`` with a call waiting in a queue (the ACD chose that agent)."""
        raise UnsupportedCommand(f"{type(self).__name__} cannot deliver queued calls for the ACD")

    async def withdraw(self, call_id: str, extension: str) -> None:
        """Stop ringing ``extension`` with a delivered call; the call waits in its queue again."""
        raise UnsupportedCommand(f"{type(self).__name__} cannot withdraw a delivered call for the ACD")

    async def fallback(self, call_id: str, action: str) -> None:
        """The call waited too long: send it to ``voicemail``, end it with a ``callback`` promised, or
        (``abandoned``, the dialer's) play the recorded message of an outbound call no agent could take
        and hang up."""
        raise UnsupportedCommand(f"{type(self).__name__} cannot carry out the ACD's fallback")

    async def dial_out(self, number: str, queue: str, data: Mapping[str, Any] | None = None) -> str:
        """Dial ``number`` on a trunk for the dialer; returns the new call's ``call_id`` at once.

        If the far end answers (a person), the call joins ``queue`` with ``data`` attached: a
        ``call.data`` whose data is ``data`` plus ``routing: {queue, ...}``, then ``queue.joined``; the
        ACD then delivers it like any queued call. Otherwise it ends (``call.ended``) with the outcome
        as its cause: ``busy``, ``no_answer``, ``answering_machine`` or ``failed``.
        """
        raise UnsupportedCommand(f"{type(self).__name__} cannot dial out into a queue for the dialer")


def link_down_text(reason: str, since: float | None) -> str:
    """One line for users: the link to the telephone system is down, since when and why."""
    when = f" since {time.strftime('%H:%M:%S', time.localtime(since))}" if since is not None else ""
    return f"the link to the telephone system is down{when}: {reason or 'reason unknown'}"


#: Commands of the ACD (``routing/server.py``) and of the dialer (``routing/dialer_service.py``) that the
#: link carries out, besides the capabilities.
ACD_COMMANDS = frozenset({"deliver", "withdraw", "fallback", "dial_out"})
FALLBACK_ACTIONS = frozenset({"voicemail", "callback", "abandoned"})


def _arg(command: Command, name: str, *, required: bool = True) -> Any:
    if name == "call_id" and command.call_id is not None:
        return command.call_id
    if name == "agent_id" and command.agent_id is not None:
        return command.agent_id
    value = command.args.get(name)
    if value is None and required:
        raise LocalProtocolError(f"command {command.name!r} ({command.command_id}) lacks {name!r}")
    if value is not None and not isinstance(value, str):
        raise LocalProtocolError(f"command {command.name!r} ({command.command_id}): {name!r} must be text")
    return value


async def dispatch(link: CtiLink, command: Command) -> dict[str, Any]:
    """Carry out a bus :class:`~bus.messages.Command` on ``link``; returns the result fields.

    ``name`` is a :class:`~cti.model.Capability` value, or one of :data:`ACD_COMMANDS` (``deliver``
    and ``withdraw`` with ``call_id`` and ``args.extension``; ``fallback`` with ``args.action``;
    ``dial_out`` with ``args.number``, ``args.queue`` and the optional ``args.data`` object, whose
    result is ``{"call_id": <the new call>}``).

    Raises :class:`CtiError` (unknown command, missing argument, unsupported, refused by the PBX), and
    :class:`LinkUnavailable` without touching the link while it is down (:attr:`CtiLink.link_up`).
    """
    if not link.link_up:
        raise LinkUnavailable(link_down_text(link.link_reason, link.link_since))
    if command.name == "fallback":
        action = _arg(command, "action")
        if action not in FALLBACK_ACTIONS:
            raise LocalProtocolError(
                f"unknown fallback {action!r} ({command.command_id}): voicemail, callback or abandoned"
            )
        await link.fallback(_arg(command, "call_id"), action)
        return {"action": action}  # the dialer keeps a promised callback from this result
    if command.name == "dial_out":
        data = command.args.get("data") or {}
        if not isinstance(data, dict):
            raise LocalProtocolError(f"command dial_out ({command.command_id}): 'data' must be an object")
        call_id = await link.dial_out(_arg(command, "number"), _arg(command, "queue"), data)
        return {"call_id": call_id}
    if command.name in ACD_COMMANDS:
        call_id, extension = _arg(command, "call_id"), _arg(command, "extension")
        await (link.deliver if command.name == "deliver" else link.withdraw)(call_id, extension)
        return {}
    try:
        name = Capability(command.name)
    except ValueError:
        raise CtiError(f"unknown CTI command {command.name!r} ({command.command_id})") from None
    if name not in link.capabilities:
        raise link._unsupported(name)
    a = _arg
    if name is Capability.MAKE_CALL:
        data = command.args.get("data") or {}
        call_id = await link.make_call(a(command, "from_device"), a(command, "to_number"), data=data)
        return {"call_id": call_id}
    if name is Capability.LISTEN:
        try:
            mode = ListenMode(a(command, "mode"))
        except ValueError:
            raise LocalProtocolError(f"command listen ({command.command_id}): mode is monitor, whisper or "
                                     f"barge, not {command.args.get('mode')!r}") from None
        await link.listen(a(command, "extension"), a(command, "supervisor"), mode)
        return {}
    if name is Capability.ANSWER:
        await link.answer(a(command, "call_id"), a(command, "device"))
    elif name is Capability.HANGUP:
        await link.hangup(a(command, "call_id"), a(command, "device", required=False))
    elif name is Capability.HOLD:
        await link.hold(a(command, "call_id"), a(command, "device"))
    elif name is Capability.RETRIEVE:
        await link.retrieve(a(command, "call_id"), a(command, "device"))
    elif name is Capability.CONSULT:
        consult_id = await link.consult(a(command, "call_id"), a(command, "device"), a(command, "to_number"))
        return {"call_id": consult_id}
    elif name is Capability.BLIND_TRANSFER:
        await link.blind_transfer(a(command, "call_id"), a(command, "device"), a(command, "to_number"))
    elif name is Capability.ATTENDED_TRANSFER:
        await link.attended_transfer(a(command, "call_id"), a(command, "consult_call_id"), a(command, "device"))
    elif name is Capability.CONFERENCE:
        await link.conference(a(command, "call_id"), a(command, "consult_call_id"), a(command, "device"))
    elif name is Capability.SEND_DTMF:
        await link.send_dtmf(a(command, "call_id"), a(command, "device"), a(command, "digits"))
    elif name is Capability.MUTE:
        state = a(command, "state")
        if state not in ("on", "off"):
            raise LocalProtocolError(f"command mute ({command.command_id}): state is on or off, not {state!r}")
        await link.mute(a(command, "call_id"), a(command, "device"), state == "on")
    elif name is Capability.SET_AGENT_STATE:
        try:
            state = AgentStateName(a(command, "state"))
        except ValueError:
            raise LocalProtocolError(f"unknown agent state {command.args.get('state')!r}") from None
        await link.set_agent_state(
            a(command, "agent_id"),
            state,
            reason=a(command, "reason", required=False),
            extension=a(command, "extension", required=False),
            queue=a(command, "queue", required=False),
        )
    elif name is Capability.ATTACH_DATA:
        data = command.args.get("data")
        if not isinstance(data, dict):
            raise LocalProtocolError(f"command attach_data ({command.command_id}) lacks a 'data' object")
        await link.attach_data(a(command, "call_id"), {str(k): str(v) for k, v in data.items()})
    return {}
