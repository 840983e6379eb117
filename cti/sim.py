"""The simulated PBX: the embedded default link, deterministic and driven by the clock you give it.

:class:`SimPbx` models trunks (a fixed number of outside lines), extensions, ringing, answer, hold,
consultation, blind and attended transfer, conference, hang-up by either side, the outcome of
outbound calls (answered, busy, no answer, answering machine, each after a scripted delay) and
scripted inbound traffic. Nothing happens by itself: :meth:`SimPbx.advance` moves time forward to
``now`` and runs what was due, in order; commands act at the current time. It never sleeps and
never reads a clock, so the routing simulator can run it millions of times faster than real time.

:class:`SimLink` is the :class:`~cti.link.CtiLink` over it. With ``realtime=True`` (the demo,
``ccenter cti-gateway --link sim://``) it advances the PBX from the event loop's clock; otherwise
the test or simulator calls ``pbx.advance(t)`` itself.

Rules: call ids are ``sim-1``, ``sim-2``... in creation order; a call ends (``call.ended``) when
fewer than two parties are left; ``cause`` is ``normal`` for a hang-up (``data.by`` says who), or
the :class:`~cti.model.DialOutcome` of an outbound call that reached nobody.

Ring no answer: an extension that does not answer within ``ring_timeout`` stops ringing. A queued
call that was delivered to it (:meth:`SimPbx.deliver`) is not lost: it goes back to its queue, and
``queue.joined`` is emitted again with the same ``queue``, ``cause`` ``no_answer``, ``extension``
the extension that did not answer and ``data.no_answer`` the same, so the ACD learns it and can
deliver the call elsewhere. A call that rang an extension without a queue ends with cause
``no_answer`` when nobody else is on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType

from .errors import CommandFailed, LocalProtocolError
from .link import CtiLink
from .model import Capability, ConnectionState, DialOutcome, LinkEvent, ListenMode

logger = logging.getLogger(__name__)

#: The far end of an outside call, as a party of the call.
FAR = "far"

_DTMF = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class NumberScript:
    """How the far end treats calls to one number: ``outcome`` after ``after`` seconds of ringing."""

    outcome: DialOutcome = DialOutcome.ANSWERED
    after: float = 5.0
    hangup_after: float | None = None  # the far end hangs up this long after answering


@dataclass(slots=True)
class _Call:
    call_id: str
    calling: str | None
    called: str | None
    trunk: int | None = None
    parties: dict[str, ConnectionState] = field(default_factory=dict)
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dtmf: list[str] = field(default_factory=list)
    muted: set[str] = field(default_factory=set)
    listeners: dict[str, ListenMode] = field(default_factory=dict)  # supervisor's extension -> mode
    answered: bool = False
    ended: bool = False

    def live_parties(self) -> list[str]:
        return [p for p, s in self.parties.items() if s is not ConnectionState.NULL]


class SimPbx:
    """A deterministic PBX model. All times are seconds on the caller's clock."""

    def __init__(
        self,
        *,
        extensions: Iterable[str] = (),
        trunks: int = 8,
        ring_timeout: float = 20.0,
        now: float = 0.0,
        listener: Callable[[LinkEvent], None] | None = None,
    ) -> None:
        self.extensions: set[str] = set(extensions)
        self.trunks = trunks
        self.ring_timeout = ring_timeout
        self.now = now
        self.listener = listener
        self.rejected = 0
        self._calls: dict[str, _Call] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._scripts: dict[str, NumberScript] = {}
        self._events: list[LinkEvent] = []
        self._agents: dict[str, AgentState] = {}

    # -- time and events -------------------------------------------------------------------
    def advance(self, now: float) -> list[LinkEvent]:
        """Run everything due up to ``now`` (in time order).

        Returns the events since the last drain (none when a ``listener`` takes them as they happen).
        """
        if now < self.now:
            raise ValueError(f"time goes forward only: {now} < {self.now}")
        while self._timers and self._timers[0][0] <= now:
            at, _, action = heapq.heappop(self._timers)
            self.now = at
            action()
        self.now = now
        return self.drain()

    def drain(self) -> list[LinkEvent]:
        events, self._events = self._events, []
        return events

    @property
    def next_due(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), action))

    def _emit(self, event: LinkEvent) -> None:
        if self.listener is not None:
            self.listener(event)
        else:
            self._events.append(event)

    def _event(self, kind: CallEventType, call: _Call, **kw: Any) -> None:
        self._emit(CallEvent(type=kind, call_id=call.call_id, ts=self.now, **kw))

    # -- inspection ------------------------------------------------------------------------
    @property
    def live_calls(self) -> list[str]:
        return [c for c, call in self._calls.items() if not call.ended]

    def parties(self, call_id: str) -> dict[str, ConnectionState]:
        return dict(self._call(call_id).parties)

    def call_data(self, call_id: str) -> dict[str, Any]:
        return dict(self._call(call_id).data)

    def dtmf_sent(self, call_id: str) -> str:
        return "".join(self._call(call_id).dtmf)

    def trunks_in_use(self) -> int:
        return sum(1 for c in self._calls.values() if not c.ended and c.trunk is not None)

    # -- scripting -------------------------------------------------------------------------
    def script_number(self, number: str, script: NumberScript) -> None:
        """How calls to ``number`` end (default: answered after 5 s)."""
        self._scripts[number] = script

    def schedule_inbound(
        self,
        at: float,
        calling: str,
        called: str,
        *,
        ring: str | None = None,
        queue: str | None = None,
        caller_hangs_up_after: float | None = None,
        data: Mapping[str, str] | None = None,
    ) -> None:
        """An outside call arrives at ``at``; it rings ``ring`` or waits (in ``queue``) for :meth:`deliver`."""

        def arrive() -> None:
            self._inbound(calling, called, ring, queue, caller_hangs_up_after, dict(data or {}))

        heapq.heappush(self._timers, (at, next(self._seq), arrive))

    def script(self, traffic: Iterable[Mapping[str, Any]]) -> None:
        """Scripted inbound traffic: ``{at, calling, called, ring?, queue?, hangup_after?, data?}`` each."""
        for item in traffic:
            self.schedule_inbound(
                float(item["at"]),
                str(item["calling"]),
                str(item["called"]),
                ring=item.get("ring"),
                queue=item.get("queue"),
                caller_hangs_up_after=item.get("hangup_after"),
                data=item.get("data"),
            )

    def _new_call(self, calling: str | None, called: str | None) -> _Call:
        call = _Call(f"sim-{next(self._ids)}", calling, called)
        self._calls[call.call_id] = call
        return call

    def _take_trunk(self) -> int | None:
        used = {c.trunk for c in self._calls.values() if not c.ended and c.trunk is not None}
        return next((t for t in range(1, self.trunks + 1) if t not in used), None)

    def _inbound(
        self,
        calling: str,
        called: str,
        ring: str | None,
        queue: str | None,
        hangs_up_after: float | None,
        data: dict[str, str],
    ) -> None:
        trunk = self._take_trunk()
        if trunk is None:
            self.rejected += 1
            logger.info("sim: all %d trunks busy, call from %s rejected", self.trunks, calling)
            return
        call = self._new_call(calling, called)
        call.trunk = trunk
        call.parties[FAR] = ConnectionState.CONNECTED
        self._event(CallEventType.OFFERED, call, calling=calling, called=called)
        if data:
            call.data.update(data)
            self._event(CallEventType.DATA, call, data=dict(data))
        if queue:
            call.queue = queue
            self._event(CallEventType.QUEUE_JOINED, call, queue=queue, calling=calling)
        if hangs_up_after is not None:
            self._at(hangs_up_after, lambda: self.far_hangup(call.call_id) if not call.answered else None)
        if ring:
            self._ring(call, ring)

    # -- internals -------------------------------------------------------------------------
    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            raise CommandFailed(f"no live call {call_id!r} on the simulated PBX")
        return call

    def _busy(self, device: str) -> bool:
        return any(
            not c.ended and c.parties.get(device, ConnectionState.NULL) is not ConnectionState.NULL
            for c in self._calls.values()
        )

    def _check_extension(self, device: str) -> None:
        if device not in self.extensions:
            raise CommandFailed(f"{device!r} is not an extension of the simulated PBX")

    def _ring(self, call: _Call, device: str) -> None:
        if device not in self.extensions:
            raise CommandFailed(f"{device!r} is not an extension of the simulated PBX")
        if self._busy(device):
            raise CommandFailed(f"extension {device} is busy")
        call.parties[device] = ConnectionState.ALERTING
        self._event(CallEventType.ALERTING, call, extension=device, called=call.called, queue=call.queue)

        def no_answer() -> None:
            if not call.ended and call.parties.get(device) is ConnectionState.ALERTING:
                call.parties[device] = ConnectionState.NULL
                logger.info("sim: %s did not answer %s", device, call.call_id)
                if call.queue and not call.answered and FAR in call.live_parties():
                    # Back in its queue, waiting for the ACD to deliver it again.
                    self._event(
                        CallEventType.QUEUE_JOINED,
                        call,
                        queue=call.queue,
                        calling=call.calling,
                        extension=device,
                        cause=DialOutcome.NO_ANSWER.value,
                        data={"no_answer": device},
                    )
                elif FAR not in call.parties or len(call.live_parties()) < 2:
                    self._end(call, DialOutcome.NO_ANSWER.value, by=device)

        self._at(self.ring_timeout, no_answer)

    def _dial_out(self, call: _Call, number: str, *, on_answer: Callable[[], None] | None = None) -> None:
        trunk = self._take_trunk() if call.trunk is None else call.trunk
        if trunk is None:
            self._end(call, DialOutcome.FAILED.value, by="pbx")
            return
        call.trunk = trunk
        call.parties[FAR] = ConnectionState.ALERTING
        self._event(CallEventType.ALERTING, call, called=number)
        script = self._scripts.get(number, NumberScript())
        delay = min(script.after, self.ring_timeout) if script.outcome is DialOutcome.NO_ANSWER else script.after

        def outcome() -> None:
            if call.ended or call.parties.get(FAR) is not ConnectionState.ALERTING:
                return
            if script.outcome is DialOutcome.ANSWERED:
                call.parties[FAR] = ConnectionState.CONNECTED
                call.answered = True
                self._event(CallEventType.ANSWERED, call, called=number)
                if on_answer is not None:
                    on_answer()
                if script.hangup_after is not None:
                    self._at(script.hangup_after, lambda: self.far_hangup(call.call_id) if not call.ended else None)
            else:
                call.parties[FAR] = ConnectionState.NULL
                self._end(call, script.outcome.value, by=FAR)

        self._at(delay, outcome)

    def _end(self, call: _Call, cause: str, *, by: str) -> None:
        if call.ended:
            return
        call.ended = True
        for party in call.parties:
            call.parties[party] = ConnectionState.NULL
        self._event(CallEventType.ENDED, call, cause=cause, data={"by": by})

    def _leave(self, call: _Call, party: str) -> None:
        call.parties[party] = ConnectionState.NULL
        if len(call.live_parties()) < 2:
            cause = "normal" if call.answered else "abandoned"
            self._end(call, cause, by=party)

    def _party(self, call: _Call, device: str, *states: ConnectionState) -> None:
        state = call.parties.get(device, ConnectionState.NULL)
        if state not in states:
            wanted = " or ".join(s.value for s in states)
            raise CommandFailed(f"{device} is {state.value} on {call.call_id}, not {wanted}")

    # -- the far end -----------------------------------------------------------------------
    def far_hangup(self, call_id: str) -> None:
        """The outside party hangs up."""
        call = self._calls.get(call_id)
        if call is None or call.ended or FAR not in call.live_parties():
            return
        if call.queue and not call.answered:
            self._event(CallEventType.QUEUE_LEFT, call, queue=call.queue, cause="abandoned")
            call.queue = None
        self._leave(call, FAR)

    # -- commands --------------------------------------------------------------------------
    def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        self._check_extension(from_device)
        if self._busy(from_device):
            raise CommandFailed(f"extension {from_device} is busy")
        call = self._new_call(from_device, to_number)
        call.parties[from_device] = ConnectionState.CONNECTED
        self._event(CallEventType.OFFERED, call, calling=from_device, called=to_number, extension=from_device)
        if data:
            self.attach_data(call.call_id, data)
        if to_number in self.extensions:
            try:
                self._ring(call, to_number)
            except CommandFailed:
                self._end(call, DialOutcome.BUSY.value, by=to_number)
        else:
            self._dial_out(call, to_number)
        return call.call_id

    def dial_out(self, number: str, queue: str, data: Mapping[str, Any] | None = None) -> str:
        """The dialer's call: a trunk dials ``number``; when a person answers, the call joins ``queue``.

        Answered: ``call.answered`` (the customer, no extension), then ``call.data`` with ``data`` and
        ``routing: {queue, ...}`` (the dialer's routing keys kept), then ``queue.joined``: the ACD
        delivers it like an inbound call. Busy, no answer, answering machine (or no free trunk):
        ``call.ended`` with that outcome as the cause.
        """
        if not queue:
            raise LocalProtocolError("dial_out needs a queue for the answered call")
        attached: dict[str, Any] = dict(data or {})
        call = self._new_call(None, number)
        self._event(CallEventType.OFFERED, call, called=number, data={"direction": "outbound"})

        def answered() -> None:
            call.queue = queue
            routing = attached.get("routing")
            attached["routing"] = {**(routing if isinstance(routing, Mapping) else {}), "queue": queue}
            call.data.update(attached)
            self._event(CallEventType.DATA, call, data=dict(attached))
            self._event(CallEventType.QUEUE_JOINED, call, queue=queue, called=number)

        self._dial_out(call, number, on_answer=answered)
        return call.call_id

    def deliver(self, call_id: str, extension: str) -> None:
        """Ring ``extension`` with a waiting call (what the ACD asks the CTI link to do)."""
        self._ring(self._call(call_id), extension)

    def fallback(self, call_id: str, action: str) -> None:
        """The ACD gives up on a waiting call: voicemail takes it, or it ends with a callback promised;
        ``abandoned`` (the dialer's) plays the recorded message of a call no agent could take, then ends."""
        call = self._call(call_id)
        if call.queue:
            self._event(CallEventType.QUEUE_LEFT, call, queue=call.queue, cause=action)
            call.queue = None
        self._end(call, action, by="pbx")

    def withdraw(self, call_id: str, extension: str) -> None:
        """Stop ringing ``extension`` with a delivered call (the ACD took the offer back)."""
        call = self._call(call_id)
        self._party(call, extension, ConnectionState.ALERTING)
        call.parties[extension] = ConnectionState.NULL
        logger.info("sim: %s withdrawn from %s", call_id, extension)

    def answer(self, call_id: str, device: str) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.ALERTING)
        call.parties[device] = ConnectionState.CONNECTED
        call.answered = True
        if call.queue:
            self._event(CallEventType.QUEUE_LEFT, call, queue=call.queue)
            call.queue = None
        agent = next((a.agent_id for a in self._agents.values() if a.extension == device), None)
        self._event(CallEventType.ANSWERED, call, extension=device, agent_id=agent)

    def hangup(self, call_id: str, device: str | None = None) -> None:
        call = self._call(call_id)
        if device is None:
            self._end(call, "normal", by="pbx")
            return
        self._party(call, device, ConnectionState.CONNECTED, ConnectionState.HOLD, ConnectionState.ALERTING)
        if call.parties[device] is ConnectionState.ALERTING:
            call.parties[device] = ConnectionState.NULL  # rejected the ringing call
            if len(call.live_parties()) < 2:
                self._end(call, "rejected", by=device)
            return
        self._leave(call, device)

    def hold(self, call_id: str, device: str) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.CONNECTED)
        call.parties[device] = ConnectionState.HOLD
        self._event(CallEventType.HELD, call, extension=device)

    def retrieve(self, call_id: str, device: str) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.HOLD)
        call.parties[device] = ConnectionState.CONNECTED
        self._event(CallEventType.RETRIEVED, call, extension=device)

    def consult(self, call_id: str, device: str, to_number: str) -> str:
        call = self._call(call_id)
        if call.parties.get(device) is ConnectionState.CONNECTED:
            self.hold(call_id, device)
        self._party(call, device, ConnectionState.HOLD)
        consult = self._new_call(device, to_number)
        consult.parties[device] = ConnectionState.CONNECTED
        consult.data["consult_of"] = call_id
        self._event(CallEventType.OFFERED, consult, calling=device, called=to_number, extension=device)
        if to_number in self.extensions:
            self._ring(consult, to_number)
        else:
            self._dial_out(consult, to_number)
        return consult.call_id

    def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.CONNECTED, ConnectionState.HOLD)
        if to_number in self.extensions and self._busy(to_number):
            raise CommandFailed(f"extension {to_number} is busy")
        call.parties[device] = ConnectionState.NULL
        self._event(CallEventType.TRANSFERRED, call, called=to_number, data={"kind": "blind", "by": device})
        call.answered = False
        if to_number in self.extensions:
            self._ring(call, to_number)
        else:
            self._dial_out(call, to_number)

    def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        held, consult = self._call(held_call_id), self._call(consult_call_id)
        self._party(held, device, ConnectionState.HOLD, ConnectionState.CONNECTED)
        self._party(consult, device, ConnectionState.CONNECTED, ConnectionState.HOLD)
        targets = [p for p in consult.live_parties() if p != device]
        if not targets:
            raise CommandFailed(f"consultation call {consult_call_id} has nobody to transfer to")
        held.parties[device] = ConnectionState.NULL
        for target in targets:
            held.parties[target] = consult.parties[target]
            consult.parties[target] = ConnectionState.NULL
        if held.trunk is None and consult.trunk is not None:
            held.trunk = consult.trunk
        consult.trunk = None
        self._end(consult, "transferred", by=device)
        target = targets[0]
        self._event(
            CallEventType.TRANSFERRED,
            held,
            extension=target,
            data={"kind": "attended", "by": device, "consult_call_id": consult_call_id},
        )

    def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        held, consult = self._call(held_call_id), self._call(consult_call_id)
        self._party(held, device, ConnectionState.HOLD, ConnectionState.CONNECTED)
        self._party(consult, device, ConnectionState.CONNECTED, ConnectionState.HOLD)
        if held.parties[device] is ConnectionState.HOLD:
            self.retrieve(held_call_id, device)
        for party in consult.live_parties():
            if party != device:
                held.parties[party] = consult.parties[party]
            consult.parties[party] = ConnectionState.NULL
        if held.trunk is None and consult.trunk is not None:
            held.trunk = consult.trunk
        consult.trunk = None
        self._end(consult, "conferenced", by=device)
        self._event(CallEventType.CONFERENCED, held, extension=device, data={"parties": sorted(held.live_parties())})

    def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.CONNECTED)
        bad = set(digits) - _DTMF
        if bad or not digits:
            raise LocalProtocolError(f"DTMF digits are 0-9 * # A-D, not {digits!r}")
        call.dtmf.append(digits)

    def mute(self, call_id: str, device: str, on: bool) -> None:
        call = self._call(call_id)
        self._party(call, device, ConnectionState.CONNECTED, ConnectionState.HOLD)
        (call.muted.add if on else call.muted.discard)(device)

    def listen(self, extension: str, supervisor: str, mode: ListenMode) -> str:
        """The ``supervisor``'s phone joins the connected call of ``extension`` as ``mode``; returns the call id.

        Monitor: the supervisor hears both and nobody hears the supervisor; whisper: the agent hears the
        supervisor too, the customer does not; barge: everybody hears everybody (:meth:`hears`)."""
        self._check_extension(extension)
        self._check_extension(supervisor)
        if supervisor == extension:
            raise CommandFailed("a supervisor cannot listen in on their own extension")
        call = next((c for c in self._calls.values()
                     if not c.ended and c.parties.get(extension) is ConnectionState.CONNECTED), None)
        if call is None:
            raise CommandFailed(f"extension {extension} is on no connected call")
        if self._busy(supervisor) and supervisor not in call.listeners:
            raise CommandFailed(f"extension {supervisor} is busy")
        call.listeners[supervisor] = ListenMode(mode)
        return call.call_id

    def listeners(self, call_id: str) -> dict[str, ListenMode]:
        return dict(self._calls[call_id].listeners)

    def hears(self, call_id: str, device: str) -> set[str]:
        """Whose voice ``device`` hears on the call (its parties and the supervisors listening in)."""
        call = self._calls[call_id]
        parties = {p for p in call.live_parties() if p not in call.muted}
        spoken = {sup for sup, mode in call.listeners.items()
                  if mode is ListenMode.BARGE or (mode is ListenMode.WHISPER and device in self.extensions)}
        if device in call.listeners:
            return parties - {device}
        return (parties | spoken) - {device}

    def muted(self, call_id: str) -> set[str]:
        """The parties of a call whose voice is not sent (for tests and the simulator)."""
        return set(self._calls[call_id].muted)

    def set_agent_state(
        self, agent_id: str, state: AgentStateName, *, reason: str | None = None, extension: str | None = None
    ) -> None:
        previous = self._agents.get(agent_id)
        extension = extension or (previous.extension if previous else None)
        if extension is not None:
            self._check_extension(extension)
        event = AgentState(agent_id=agent_id, state=state, ts=self.now, reason=reason, extension=extension)
        self._agents[agent_id] = event
        self._emit(event)

    def attach_data(self, call_id: str, data: Mapping[str, str]) -> None:
        call = self._call(call_id)
        call.data.update(data)
        self._event(CallEventType.DATA, call, data=dict(data))


ALL_CAPABILITIES = frozenset(Capability)


class SimLink(CtiLink):
    """:class:`CtiLink` over a :class:`SimPbx`; with ``realtime`` it advances the PBX on the loop's clock."""

    capabilities = ALL_CAPABILITIES

    def __init__(self, pbx: SimPbx | None = None, *, realtime: bool = False, tick: float = 0.05) -> None:
        super().__init__()
        self.pbx = pbx or SimPbx(extensions=[str(n) for n in range(1001, 1011)])
        self.pbx.listener = self._emit
        self._realtime = realtime
        self._tick = tick
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def cut(self, reason: str = "simulated outage") -> None:
        """Lose the (simulated) telephone system, as a link does when its PBX goes away: the PBX's events
        are lost and commands refused until :meth:`restore`."""
        self._set_link_state(False, reason)

    def restore(self) -> None:
        """The telephone system is back (after :meth:`cut`)."""
        self._set_link_state(True)

    def _emit(self, event: LinkEvent) -> None:
        if self.link_up:
            super()._emit(event)

    async def connect(self) -> None:
        self.connected = True
        if self._realtime and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.connected:
            self.connected = False
            self._end_events()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() - self.pbx.now
        while True:
            self.pbx.advance(loop.time() - start)
            await asyncio.sleep(self._tick)

    async def make_call(self, from_device: str, to_number: str, *, data: Mapping[str, str] | None = None) -> str:
        return self.pbx.make_call(from_device, to_number, data=data)

    async def answer(self, call_id: str, device: str) -> None:
        self.pbx.answer(call_id, device)

    async def hangup(self, call_id: str, device: str | None = None) -> None:
        self.pbx.hangup(call_id, device)

    async def hold(self, call_id: str, device: str) -> None:
        self.pbx.hold(call_id, device)

    async def retrieve(self, call_id: str, device: str) -> None:
        self.pbx.retrieve(call_id, device)

    async def consult(self, call_id: str, device: str, to_number: str) -> str:
        return self.pbx.consult(call_id, device, to_number)

    async def blind_transfer(self, call_id: str, device: str, to_number: str) -> None:
        self.pbx.blind_transfer(call_id, device, to_number)

    async def attended_transfer(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        self.pbx.attended_transfer(held_call_id, consult_call_id, device)

    async def conference(self, held_call_id: str, consult_call_id: str, device: str) -> None:
        self.pbx.conference(held_call_id, consult_call_id, device)

    async def send_dtmf(self, call_id: str, device: str, digits: str) -> None:
        self.pbx.send_dtmf(call_id, device, digits)

    async def mute(self, call_id: str, device: str, on: bool) -> None:
        self.pbx.mute(call_id, device, on)

    async def listen(self, extension: str, supervisor: str, mode: ListenMode) -> None:
        self.pbx.listen(extension, supervisor, mode)

    async def live_calls(self, call_ids: Sequence[str]) -> set[str]:
        return set(call_ids) & set(self.pbx.live_calls)

    async def set_agent_state(
        self,
        agent_id: str,
        state: AgentStateName,
        *,
        reason: str | None = None,
        extension: str | None = None,
        queue: str | None = None,
    ) -> None:
        self.pbx.set_agent_state(agent_id, state, reason=reason, extension=extension)

    async def attach_data(self, call_id: str, data: Mapping[str, str]) -> None:
        self.pbx.attach_data(call_id, data)

    async def deliver(self, call_id: str, extension: str) -> None:
        self.pbx.deliver(call_id, extension)

    async def withdraw(self, call_id: str, extension: str) -> None:
        self.pbx.withdraw(call_id, extension)

    async def fallback(self, call_id: str, action: str) -> None:
        self.pbx.fallback(call_id, action)

    async def dial_out(self, number: str, queue: str, data: Mapping[str, Any] | None = None) -> str:
        return self.pbx.dial_out(number, queue, data)
