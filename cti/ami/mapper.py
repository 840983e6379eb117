"""AMI events → normalized events (``call.*``, ``queue.*``, ``agent.state``), keyed by ``Linkedid``.

:class:`AmiMapper` is sans-I/O and stateful: it remembers the legs (channels) of each call, which
bridges they are in and which queues a caller waits in, so that it can say when a call is offered,
answered, conferenced or ended. Rules:

- ``call_id`` is the channel's ``Linkedid`` (the ``Uniqueid`` of the call's first leg), which
  Asterisk keeps for the life of the call and across AMI reconnects.
- Every call starts with ``call.offered`` (also when first seen mid-call, e.g. after a resync or in a
  capture that starts late) and ends with one ``call.ended`` when its last leg hangs up.
- ``call.alerting`` / ``call.answered`` are per leg, for legs other than the first. While a call
  waits in a queue, the queue's events (``AgentCalled``, ``AgentConnect``) are authoritative for the
  legs the queue dials, whatever the member's technology (``Local/`` members included): channel
  states and dial events of those legs say nothing, so alerting always carries agent and queue.
  Otherwise ``Local/`` plumbing channels never alert. ``extension`` is the device part of the
  channel name (``PJSIP/1001-0000002a`` → ``1001``, ``Local/2001@agents-…;1`` → ``2001``).
- ``LocalBridge`` pairs the two halves of a ``Local/`` channel: they are one party of one call.
- ``agent_id`` is the queue member's name (``MemberName``, or ``Name`` in ``QueueStatus`` replies),
  mapped through ``agent_ids`` (member name → agent id); a name that cannot be a bus topic segment
  (``Agent 2001``) becomes a topic-safe id (``Agent_2001``). :attr:`AmiMapper.agent_names` keeps
  the member name for display, :attr:`AmiMapper.agent_interfaces` the member's interface.
- ``call.offered`` carries ``calling`` and ``calling_name`` (the caller id). A first leg that
  appears down with no caller id (``Local/`` originations, which get theirs in ``NewCallerid`` next)
  holds its ``call.offered`` back until the caller id or any other event of the call comes.
- ``call.data`` is published once per value: the inherited copy of a variable on every leg
  (``__CC_x``) says nothing new.
- A ``QueueCallerAbandon`` that follows a ``Redirect`` the link made itself (:meth:`AmiMapper.expect_redirect`:
  the ACD's deliver takes the call out of ``Queue()``) is a plain ``queue.left`` with
  ``data.reason`` ``redirected``, not an abandon.
- A member paused with the reason ``on_hold`` (the AMI link's hold, which hangs up the agent's leg)
  changes no state, and neither do its member statuses until it is unpaused. The link says so before
  its hold's ``Redirect`` (:meth:`AmiMapper.hold_started`): the queue's ``AgentComplete`` for the
  hung-up leg, which comes before the pause, is no ``wrap_up`` (the agent still has the customer).
- A member paused with the reason ``wrap_up`` (how the AMI link sets ``wrap_up``) is in ``wrap_up``.
  After ``AgentComplete`` (``wrap_up``) the member's phone turning free (``QueueMemberStatus``) does
  not make it ``ready``: the unpause does, so ``wrap_up`` and ``ready`` come in the agent's order.
- A queue's ring of a member that ends unanswered (``DialEnd`` ``CANCEL``: the caller hung up, or another
  member answered) makes the member ``ready`` again (``Local/`` members send no member status for
  it); a member's ``NOANSWER`` is no outcome of the call, which still waits in the queue.
- An ``OriginateResponse`` ``Failure`` for a call that never had a channel ends it (``cause`` busy /
  no_answer / failed from its ``Reason``), so a failed ``make_call``/``dial_out`` leaves no call behind.
  The ``OutgoingSpoolFailed`` channel on which Asterisk then runs the Originate's ``failed`` extension
  is no call (it was a phantom call offered and ended on the bus).
- ``ts`` is Asterisk's ``Timestamp:`` header when the manager sends it (``timestampevents = yes`` in
  manager.conf), else the link's clock at the time the event is read.
- Attached data: channel variables named ``CC_<key>`` (inherited forms ``_CC_``/``__CC_`` too) and
  the custom headers of a ``UserEvent`` become ``call.data`` with ``{key: value}``.
- An unanswered outbound call ends with ``cause`` busy / no_answer / failed / answering_machine
  (from ``DialStatus`` and ``AMDSTATUS``); otherwise ``cause`` is Asterisk's ``Cause-txt``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType

from ..model import DialOutcome, LinkEvent
from .codec import AmiMessage

logger = logging.getLogger(__name__)

DATA_PREFIX = "CC_"
#: The pause reason that stands for the agent's wrap-up (Asterisk's queues know only paused or not).
WRAP_UP_REASON = "wrap_up"
#: The pause reason of an agent whose customer the AMI link holds: not a state change, no event.
HOLD_REASON = "on_hold"
# the channel Asterisk makes to run an Originate's ``failed`` extension when the call failed (busy, no
# answer): no call of anyone's (the failed Originate's call ends with its own legs, or its OriginateResponse)
_SPOOL_FAILED = "OutgoingSpoolFailed"

_SNAPSHOT = frozenset(
    h.lower()
    for h in [
        "Event",
        "Privilege",
        "UserEvent",
        "ActionID",
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
        "SequenceNumber",
        "File",
        "Line",
        "Func",
        "Timestamp",
        "SystemName",
    ]
)
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+$")
_DIAL_OUTCOME = {
    "BUSY": DialOutcome.BUSY,
    "NOANSWER": DialOutcome.NO_ANSWER,
    "CHANUNAVAIL": DialOutcome.FAILED,
    "CONGESTION": DialOutcome.FAILED,
    "INVALIDARGS": DialOutcome.FAILED,
    "MACHINE": DialOutcome.ANSWERING_MACHINE,
}
#: OriginateResponse ``Reason`` (Asterisk's control frame of the failed dial) -> the outcome
_ORIGINATE_REASON = {"3": DialOutcome.NO_ANSWER, "5": DialOutcome.BUSY, "8": DialOutcome.FAILED}
_ENDED_MEMORY = 1000
_UNKNOWN_NUMBERS = frozenset({"", "<unknown>", "unknown", "anonymous"})


def device_of(channel: str | None) -> str | None:
    """``PJSIP/1001-0000002a`` → ``1001``; ``Local/1001@agents-00000001;1`` → ``1001``."""
    if not channel:
        return None
    _tech, slash, rest = channel.partition("/")
    if not slash:
        return channel
    rest = rest.split(";", 1)[0]
    if "@" in rest:
        return rest.split("@", 1)[0] or None
    return _CHANNEL_SUFFIX.sub("", rest) or None


def _number(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _UNKNOWN_NUMBERS:
        return None
    return value.strip()


def _name(value: str | None) -> str | None:
    """A caller id name as given (any script), or None for Asterisk's placeholders."""
    if value is None or value.strip().lower() in _UNKNOWN_NUMBERS:
        return None
    return value.strip()


@dataclass(slots=True)
class _Leg:
    uniqueid: str
    call_id: str
    channel: str
    state: int = 0
    alerted: bool = False
    answered: bool = False
    agent_id: str | None = None
    queue: str | None = None
    queue_dialed: bool = False  # created while its call waited in a queue: the queue's events speak for it
    partner: str | None = None  # the other half of a Local/ channel pair

    @property
    def is_plumbing(self) -> bool:
        return self.channel.startswith("Local/")


@dataclass(slots=True)
class _Call:
    call_id: str
    legs: set[str] = field(default_factory=set)
    answered: bool = False
    outcome: str | None = None
    queues: set[str] = field(default_factory=set)
    queue_leg: str | None = None  # the leg that waits in the queue (the one to redirect)
    pending_offer: CallEvent | None = None
    data: dict[str, str] = field(default_factory=dict)


_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@-]+")


Handler = Callable[["AmiMapper", AmiMessage, float, list[LinkEvent]], None]


class AmiMapper:
    """Turns AMI events into normalized events. ``clock`` gives ``ts`` when events carry no Timestamp."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        data_prefix: str = DATA_PREFIX,
        agent_ids: Mapping[str, str] | None = None,
    ) -> None:
        self._clock = clock
        self._prefix = data_prefix.upper()
        self._legs: dict[str, _Leg] = {}
        self._calls: dict[str, _Call] = {}
        self._bridges: dict[str, set[str]] = {}
        self._conferenced: set[str] = set()
        self._agents: dict[str, tuple[str, str | None]] = {}
        self._agent_calls: dict[str, str] = {}  # agent -> the queue call it is reserved for or on
        # agents paused by the link's hold (True; False once unpaused, until the phone is in use again):
        # their phones are free, they are not, and their member statuses say nothing meanwhile
        self._holding: dict[str, bool] = {}
        self._resync_seen: set[str] | None = None
        self._agent_ids = dict(agent_ids or {})
        self._redirected: set[str] = set()
        self._ended: dict[str, None] = {}  # the last calls ended (in order), so a late report ends nothing twice
        #: agent id -> the queue member's name as Asterisk has it (for display, and for QueueAdd)
        self.agent_names: dict[str, str] = {}
        #: agent id -> the member's interface (``IAX2/2001``, ``Local/2001@agents/n``)
        self.agent_interfaces: dict[str, str] = {}

    def agent_id(self, member: str) -> str:
        """The topic-safe agent id of a queue member's name."""
        mapped = self._agent_ids.get(member)
        if mapped:
            return mapped
        safe = _TOPIC_UNSAFE.sub("_", member.strip()).strip("_")[:128]
        return safe or "member"

    def _agents_at(self, device: str) -> list[str]:
        return [agent for agent, interface in self.agent_interfaces.items() if device_of(interface) == device]

    def hold_started(self, device: str) -> None:
        """The link is about to put a call of ``device`` on hold (its leg hung up, its memberships paused
        ``on_hold``): the queue's ``AgentComplete`` for that leg, which comes before the pause's own
        ``QueueMemberPause``, is no wrap-up, and the free phone's statuses make the agent no ``ready``."""
        for agent in self._agents_at(device):
            self._holding[agent] = True

    def hold_over(self, device: str, *, on_call: bool) -> None:
        """The link's hold of ``device`` is over: retrieved or conferenced (``on_call``: the agent's
        state waits for the phone to be in use again), or the call left the agent (transferred, ended)."""
        for agent in self._agents_at(device):
            if on_call:
                self._holding[agent] = False
            else:
                self._holding.pop(agent, None)

    def expect_redirect(self, call_id: str) -> None:
        """The link is about to ``Redirect`` the call: leaving a queue now is not the caller's abandon."""
        self._redirected.add(call_id)

    def redirect_failed(self, call_id: str) -> None:
        self._redirected.discard(call_id)

    def waiting_channel(self, call_id: str) -> str | None:
        """The channel of the call that waits in a queue (else the first leg's), or None."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        if call.queue_leg and call.queue_leg in self._legs:
            return self._legs[call.queue_leg].channel
        channels = self.channels_of(call_id)
        return channels[0] if channels else None

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    def call_of(self, uniqueid: str) -> str | None:
        leg = self._legs.get(uniqueid)
        return leg.call_id if leg else None

    def channels_of(self, call_id: str) -> list[str]:
        """Channel names of a call's legs, first leg first."""
        call = self._calls.get(call_id)
        if call is None:
            return []
        legs = sorted((self._legs[u] for u in call.legs), key=lambda leg: (leg.uniqueid != call_id, leg.uniqueid))
        return [leg.channel for leg in legs]

    def map(self, message: AmiMessage) -> list[LinkEvent]:
        """Normalized events for one AMI message (none for messages that change nothing)."""
        if message.kind != "event":
            return []
        handler = _HANDLERS.get(message.name.lower())
        if handler is None:
            return []
        stamp = message.get("Timestamp")
        ts: float
        try:
            ts = float(stamp) if stamp else self._clock()
        except ValueError:
            ts = self._clock()
        out: list[LinkEvent] = []
        handler(self, message, ts, out)
        return out

    # -- resync ----------------------------------------------------------------------------
    def begin_resync(self) -> None:
        """The link came back: legs reported by CoreShowChannels until :meth:`end_resync` are alive."""
        self._resync_seen = set()

    def end_resync(self) -> list[LinkEvent]:
        """Legs not reported hung up while the link was down: end them (and calls left empty)."""
        seen, self._resync_seen = self._resync_seen or set(), None
        out: list[LinkEvent] = []
        ts = self._clock()
        for uniqueid in [u for u in self._legs if u not in seen]:
            self._drop_leg(uniqueid, ts, "ended while the link was down", out)
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _call_event(self, out: list[LinkEvent], kind: CallEventType, call_id: str, ts: float, **kw: Any) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            self._flush_offer(call, out)
        out.append(CallEvent(type=kind, call_id=call_id, ts=ts, **kw))

    def _flush_offer(self, call: _Call, out: list[LinkEvent]) -> None:
        if call.pending_offer is not None:
            out.append(call.pending_offer)
            call.pending_offer = None

    def _leg(self, m: AmiMessage, ts: float, out: list[LinkEvent], prefix: str = "") -> _Leg | None:
        """The leg an event speaks of (``prefix`` ``Dest`` for the other party), created if new."""
        uniqueid = m.get(prefix + "Uniqueid") or m.get(prefix + "UniqueID")
        if not uniqueid or m.get(prefix + "Channel") == _SPOOL_FAILED:
            return None
        linkedid = m.get(prefix + "Linkedid")
        leg = self._legs.get(uniqueid)
        channel = m.get(prefix + "Channel") or ""
        if leg is None:
            call_id = linkedid or uniqueid
            leg = _Leg(uniqueid, call_id, channel)
            self._legs[uniqueid] = leg
            call = self._ensure_call(m, call_id, ts, out, prefix)
            call.legs.add(uniqueid)
            leg.queue_dialed = bool(call.queues) and uniqueid != call.queue_leg and uniqueid != call_id
        elif linkedid and linkedid != leg.call_id:
            self._move_leg(leg, linkedid, m, ts, out, prefix)
        if channel and channel != leg.channel:
            leg.channel = channel
        if self._resync_seen is not None:
            self._resync_seen.add(uniqueid)
        return leg

    def _ensure_call(self, m: AmiMessage, call_id: str, ts: float, out: list[LinkEvent], prefix: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(call_id)
            self._calls[call_id] = call
            offer = CallEvent(
                type=CallEventType.OFFERED,
                call_id=call_id,
                ts=ts,
                calling=_number(m.get(prefix + "CallerIDNum")),
                calling_name=_name(m.get(prefix + "CallerIDName")),
                called=_number(m.get(prefix + "Exten")),
                extension=device_of(m.get(prefix + "Channel")),
            )
            if offer.calling is None and m.name.lower() == "newchannel" and m.get("ChannelState") == "0":
                call.pending_offer = offer  # the caller id may follow in NewCallerid
            else:
                out.append(offer)
        return call

    def _move_leg(self, leg: _Leg, call_id: str, m: AmiMessage, ts: float, out: list[LinkEvent], prefix: str) -> None:
        old = self._calls.get(leg.call_id)
        if old is not None:
            old.legs.discard(leg.uniqueid)
        leg.call_id = call_id
        self._ensure_call(m, call_id, ts, out, prefix).legs.add(leg.uniqueid)
        if old is not None and not old.legs:
            self._flush_offer(old, out)
            del self._calls[old.call_id]
            self._call_event(out, CallEventType.ENDED, old.call_id, ts, cause="merged", data={"into": call_id})

    def _drop_leg(self, uniqueid: str, ts: float, cause: str | None, out: list[LinkEvent]) -> None:
        leg = self._legs.pop(uniqueid, None)
        if leg is None:
            return
        for members in self._bridges.values():
            members.discard(uniqueid)
        call = self._calls.get(leg.call_id)
        if call is None:
            return
        call.legs.discard(uniqueid)
        if not call.legs:
            self._flush_offer(call, out)
            del self._calls[leg.call_id]
            self._redirected.discard(leg.call_id)
            self._remember_ended(leg.call_id)
            if not call.answered and call.outcome:
                cause = call.outcome
            self._call_event(out, CallEventType.ENDED, leg.call_id, ts, cause=cause)

    def _speaks_for(self, leg: _Leg, by_queue: bool) -> bool:
        """Whether an event may say that ``leg`` alerts or answers (queue events for queue-dialed legs)."""
        if leg.uniqueid == leg.call_id:
            return False
        if by_queue:
            return True
        return not (leg.is_plumbing or leg.queue_dialed)

    def _alerting(
        self, leg: _Leg, ts: float, out: list[LinkEvent], called: str | None = None, *, by_queue: bool = False
    ) -> None:
        if leg.alerted or leg.answered or not self._speaks_for(leg, by_queue):
            return
        leg.alerted = True
        self._call_event(
            out,
            CallEventType.ALERTING,
            leg.call_id,
            ts,
            called=called,
            extension=device_of(leg.channel),
            agent_id=leg.agent_id,
            queue=leg.queue,
        )

    def _answered(self, leg: _Leg, ts: float, out: list[LinkEvent], *, by_queue: bool = False) -> None:
        if leg.answered or not self._speaks_for(leg, by_queue):
            return
        leg.answered = True
        leg.alerted = True
        call = self._calls.get(leg.call_id)
        if call is not None:
            call.answered = True
        self._call_event(
            out,
            CallEventType.ANSWERED,
            leg.call_id,
            ts,
            extension=device_of(leg.channel),
            agent_id=leg.agent_id,
            queue=leg.queue,
        )

    def _agent(
        self,
        out: list[LinkEvent],
        agent_id: str | None,
        state: AgentStateName,
        ts: float,
        *,
        reason: str | None = None,
        extension: str | None = None,
        call_id: str | None = None,
    ) -> None:
        if not agent_id:
            return
        key = (state.value, reason)
        if self._agents.get(agent_id) == key and (call_id is None or self._agent_calls.get(agent_id) == call_id):
            return
        self._agents[agent_id] = key
        if state in (AgentStateName.RESERVED, AgentStateName.BUSY) and call_id:
            self._agent_calls[agent_id] = call_id
        elif state not in (AgentStateName.RESERVED, AgentStateName.BUSY):
            self._agent_calls.pop(agent_id, None)
        out.append(
            AgentState(agent_id=agent_id, state=state, ts=ts, reason=reason, extension=extension, call_id=call_id)
        )

    # -- handlers --------------------------------------------------------------------------
    def _on_newchannel(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is not None:
            self._on_state(leg, m, ts, out)

    def _on_newstate(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is not None:
            self._on_state(leg, m, ts, out)

    def _on_state(self, leg: _Leg, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        try:
            leg.state = int(m.get("ChannelState") or 0)
        except ValueError:
            return
        if leg.state == 5:
            self._alerting(leg, ts, out)
        elif leg.state == 6:
            self._answered(leg, ts, out)

    def _remember_ended(self, call_id: str) -> None:
        self._ended[call_id] = None
        while len(self._ended) > _ENDED_MEMORY:
            del self._ended[next(iter(self._ended))]

    def _on_originate_response(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        """A failed ``Originate`` whose channel never appeared still ends its call (the ``ChannelId``
        the link gave it, ``Uniqueid`` here): otherwise the dialer's or desktop's call would never end."""
        if (m.get("Response") or "").lower() != "failure":
            return
        call_id = m.get("Uniqueid") or ""
        if not call_id or call_id.startswith("<") or call_id in self._ended:
            return
        outcome = _ORIGINATE_REASON.get(m.get("Reason") or "", DialOutcome.FAILED).value
        call = self._calls.get(call_id)
        if call is not None:
            if call.outcome is None:
                call.outcome = outcome  # its legs' hang-ups end it, with this cause
            return
        self._remember_ended(call_id)
        out.append(CallEvent(type=CallEventType.ENDED, call_id=call_id, ts=ts, cause=outcome))

    def _on_new_callerid(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        call = self._calls.get(leg.call_id) if leg else None
        if leg is None or call is None or call.pending_offer is None:
            return
        if leg.uniqueid == call.call_id or leg.partner == call.call_id:
            call.pending_offer = dataclasses.replace(
                call.pending_offer,
                calling=_number(m.get("CallerIDNum")),
                calling_name=_name(m.get("CallerIDName")),
            )
        self._flush_offer(call, out)

    def _on_local_bridge(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        one = self._legs.get(m.get("LocalOneUniqueid") or "")
        two = self._legs.get(m.get("LocalTwoUniqueid") or "")
        if one is None or two is None:
            return
        one.partner, two.partner = two.uniqueid, one.uniqueid
        if two.call_id != one.call_id:
            self._move_leg(two, one.call_id, m, ts, out, "LocalTwo")
        two.queue_dialed = two.queue_dialed or one.queue_dialed

    def _on_dial_begin(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        self._leg(m, ts, out)
        dest = self._leg(m, ts, out, "Dest")
        if dest is not None:
            self._alerting(dest, ts, out, called=_number(m.get("DialString")))

    def _on_dial_end(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        src = self._leg(m, ts, out)
        dest = self._leg(m, ts, out, "Dest")
        status = (m.get("DialStatus") or "").upper()
        if status == "ANSWER" and dest is not None:
            self._answered(dest, ts, out)
            return
        if dest is not None and dest.agent_id and dest.queue:
            # A queue's ring of a member that ended unanswered (the caller hung up or another member
            # answered: CANCEL; Local/ members report no member status for it): the member is free again.
            # Its NOANSWER is no outcome of the call, which goes on waiting in the queue.
            agent = dest.agent_id
            if (self._agents.get(agent, ("",))[0] == AgentStateName.RESERVED.value
                    and self._agent_calls.get(agent) == dest.call_id):
                self._agent(out, agent, AgentStateName.READY, ts, extension=device_of(dest.channel))
            return
        if status in _DIAL_OUTCOME and src is not None:
            call = self._calls.get(src.call_id)
            if call is not None:
                call.outcome = _DIAL_OUTCOME[status].value

    def _on_legacy_dial(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        sub = (m.get("SubEvent") or "Begin").lower()
        if sub == "begin":
            src = self._leg(m, ts, out)
            dest_id = m.get("DestUniqueID") or m.get("DestUniqueid")
            if src is not None and dest_id and dest_id not in self._legs:
                leg = _Leg(dest_id, src.call_id, m.get("Destination") or "")
                self._legs[dest_id] = leg
                self._calls[src.call_id].legs.add(dest_id)
                self._alerting(leg, ts, out, called=_number(m.get("Dialstring")))
        else:
            self._on_dial_end(m, ts, out)

    def _on_hangup(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is None:
            return
        cause = m.get("Cause-txt") or m.get("Cause")
        self._drop_leg(leg.uniqueid, ts, cause, out)

    def _on_bridge_enter(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        bridge = m.get("BridgeUniqueid")
        if leg is None or not bridge:
            return
        members = self._bridges.setdefault(bridge, set())
        members.add(leg.uniqueid)
        real = [u for u in members if u in self._legs and not self._legs[u].is_plumbing]
        if len(real) >= 2:
            for uniqueid in real:
                self._answered(self._legs[uniqueid], ts, out)
        if len(real) >= 3 and bridge not in self._conferenced:
            self._conferenced.add(bridge)
            parties = sorted(d for u in real if (d := device_of(self._legs[u].channel)))
            # every call with a party in the room is conferenced: the held customer's and the consultation
            for call_id in sorted({self._legs[u].call_id for u in real}, key=lambda c: c != leg.call_id):
                self._call_event(
                    out,
                    CallEventType.CONFERENCED,
                    call_id,
                    ts,
                    extension=device_of(leg.channel),
                    data={"parties": parties},
                )

    def _on_bridge_leave(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        bridge = m.get("BridgeUniqueid")
        uniqueid = m.get("Uniqueid")
        if bridge and uniqueid and bridge in self._bridges:
            self._bridges[bridge].discard(uniqueid)
            if not self._bridges[bridge]:
                del self._bridges[bridge]
                self._conferenced.discard(bridge)

    def _on_bridge_destroy(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        bridge = m.get("BridgeUniqueid")
        if bridge:
            self._bridges.pop(bridge, None)
            self._conferenced.discard(bridge)

    def _on_hold(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is not None:
            held = m.name.lower() == "hold" and (m.get("Status") or "on").lower() != "off"
            kind = CallEventType.HELD if held else CallEventType.RETRIEVED
            self._call_event(out, kind, leg.call_id, ts, extension=device_of(leg.channel))

    def _on_blind_transfer(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        call_id = m.get("TransfereeLinkedid") or m.get("TransfererLinkedid")
        if not call_id or call_id not in self._calls:
            return
        result = m.get("Result") or "Success"
        self._call_event(
            out,
            CallEventType.TRANSFERRED,
            call_id,
            ts,
            called=m.get("Extension"),
            cause=None if result == "Success" else result,
            data={"kind": "blind", "by": device_of(m.get("TransfererChannel"))},
        )

    def _on_attended_transfer(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        call_id = m.get("TransfereeLinkedid") or m.get("OrigTransfererLinkedid")
        if not call_id or call_id not in self._calls:
            return
        result = m.get("Result") or "Success"
        target = m.get("TransferTargetUniqueid")
        leg = self._legs.get(target) if target else None
        if leg is not None and result == "Success" and leg.call_id != call_id:
            self._move_leg(leg, call_id, m, ts, out, "TransferTarget")
        self._call_event(
            out,
            CallEventType.TRANSFERRED,
            call_id,
            ts,
            extension=device_of(m.get("TransferTargetChannel")),
            agent_id=leg.agent_id if leg else None,
            cause=None if result == "Success" else result,
            data={
                "kind": "attended",
                "by": device_of(m.get("OrigTransfererChannel")),
                "consult_call_id": m.get("SecondTransfererLinkedid"),
            },
        )

    def _on_varset(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        name = (m.get("Variable") or "").lstrip("_")
        upper = name.upper()
        if upper == "AMDSTATUS":
            leg = self._leg(m, ts, out)
            call = self._calls.get(leg.call_id) if leg else None
            if call is not None and (m.get("Value") or "").upper() == "MACHINE":
                call.outcome = DialOutcome.ANSWERING_MACHINE.value
            return
        if not upper.startswith(self._prefix) or len(name) == len(self._prefix):
            return
        leg = self._leg(m, ts, out)
        call = self._calls.get(leg.call_id) if leg else None
        if leg is not None and call is not None:
            key = name[len(self._prefix) :]
            value = m.get("Value") or ""
            if call.data.get(key.lower()) == value:
                return  # the inherited copy on another leg, or the same value again
            call.data[key.lower()] = value
            self._call_event(out, CallEventType.DATA, leg.call_id, ts, data={key: value})

    def _on_user_event(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is None:
            return
        data = {k: v for k, v in m.headers if k.lower() not in _SNAPSHOT}
        if data:
            self._call_event(out, CallEventType.DATA, leg.call_id, ts, data=data)

    def _on_queue_join(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        queue = m.get("Queue")
        call = self._calls.get(leg.call_id) if leg else None
        if leg is None or call is None or not queue or queue in call.queues:
            return
        call.queues.add(queue)
        call.queue_leg = leg.uniqueid
        self._call_event(
            out,
            CallEventType.QUEUE_JOINED,
            leg.call_id,
            ts,
            queue=queue,
            calling=_number(m.get("CallerIDNum")),
            calling_name=_name(m.get("CallerIDName")),
            data={"position": m.get("Position") or ""},
        )

    def _on_queue_leave(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        queue = m.get("Queue")
        call = self._calls.get(leg.call_id) if leg else None
        if leg is None or call is None or not queue or queue not in call.queues:
            return
        call.queues.discard(queue)
        abandoned = m.name.lower() == "queuecallerabandon"
        data: dict[str, str] = {}
        if call.call_id in self._redirected:
            self._redirected.discard(call.call_id)
            if abandoned:  # our own Redirect took the caller out of Queue(): not an abandon
                abandoned, data = False, {"reason": "redirected"}
        self._call_event(
            out,
            CallEventType.QUEUE_LEFT,
            leg.call_id,
            ts,
            queue=queue,
            cause="abandoned" if abandoned else None,
            data=data,
        )

    def _member(self, m: AmiMessage) -> str | None:
        """The agent id of the queue member an event names (``MemberName``; ``Name`` in QueueStatus)."""
        member = m.get("MemberName") or m.get("Name") or m.get("Interface") or m.get("Agent")
        if not member:
            return None
        agent_id = self.agent_id(member)
        self.agent_names[agent_id] = member
        interface = m.get("Interface") or m.get("Location") or m.get("StateInterface")
        if interface:
            self.agent_interfaces[agent_id] = interface
        return agent_id

    def _on_agent_called(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        self._leg(m, ts, out)
        dest = self._leg(m, ts, out, "Dest")
        agent = self._member(m)
        if dest is not None:
            dest.agent_id, dest.queue = agent, m.get("Queue")
            self._alerting(dest, ts, out, by_queue=True)
        self._agent(
            out,
            agent,
            AgentStateName.RESERVED,
            ts,
            extension=device_of(m.get("Interface")),
            call_id=dest.call_id if dest else None,
        )

    def _on_agent_connect(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        self._leg(m, ts, out)
        dest = self._leg(m, ts, out, "Dest")
        agent = self._member(m)
        if dest is not None:
            dest.agent_id, dest.queue = agent, m.get("Queue")
            self._answered(dest, ts, out, by_queue=True)
        self._agent(
            out,
            agent,
            AgentStateName.BUSY,
            ts,
            extension=device_of(m.get("Interface")),
            call_id=dest.call_id if dest else None,
        )

    def _on_agent_complete(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if self._holding.get(self._member(m) or ""):
            return  # the link's hold hung up the agent's leg: the agent still has the customer
        self._agent(
            out,
            self._member(m),
            AgentStateName.WRAP_UP,
            ts,
            reason=m.get("Reason"),
            extension=device_of(m.get("Interface")),
            call_id=leg.call_id if leg else None,
        )

    def _on_agent_ring_no_answer(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        reason = "ring_no_answer" if m.name.lower() == "agentringnoanswer" else "dump"
        self._agent(
            out,
            self._member(m),
            AgentStateName.READY,
            ts,
            reason=reason,
            extension=device_of(m.get("Interface")),
            call_id=leg.call_id if leg else None,
        )

    def _on_member_added(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        agent = self._member(m)
        ext = device_of(m.get("StateInterface") or m.get("Interface"))
        self._agent(out, agent, AgentStateName.LOGGED_ON, ts, extension=ext)
        self._on_member_status(m, ts, out)

    def _on_member_removed(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        self._agent(
            out,
            self._member(m),
            AgentStateName.LOGGED_OFF,
            ts,
            extension=device_of(m.get("StateInterface") or m.get("Interface")),
        )

    def _on_member_pause(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        paused = (m.get("Paused") or "0") == "1"
        ext = device_of(m.get("StateInterface") or m.get("Interface"))
        agent = self._member(m)
        reason = (m.get("PausedReason") or m.get("Reason") or None) if paused else None
        if reason == HOLD_REASON and agent:
            self._holding[agent] = True
            return
        if agent in self._holding:
            if not paused:
                self._holding[agent] = False  # retrieved (or the held call ended): wait for the phone's state
                return
            if not reason:
                return  # still the hold's pause (member statuses repeat Paused: 1 without the reason)
            del self._holding[agent]  # paused for another reason: that is the agent's state now
        if paused:
            if reason == WRAP_UP_REASON:  # the AMI link's own wrap-up pause
                self._agent(out, self._member(m), AgentStateName.WRAP_UP, ts, extension=ext)
                return
            self._agent(out, self._member(m), AgentStateName.NOT_READY, ts, reason=reason, extension=ext)
        else:
            self._agent(out, self._member(m), AgentStateName.READY, ts, extension=ext)

    def _on_member_status(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        if (m.get("Paused") or "0") == "1":
            self._on_member_pause(m, ts, out)
            return
        ext = device_of(m.get("StateInterface") or m.get("Interface") or m.get("Location"))
        status = m.get("Status") or ""
        state = {
            "0": AgentStateName.READY,  # device state unknown (IAX2 peers): Asterisk rings it
            "1": AgentStateName.READY,
            "2": AgentStateName.BUSY,
            "3": AgentStateName.BUSY,
            "6": AgentStateName.RESERVED,
            "7": AgentStateName.BUSY,
            "8": AgentStateName.BUSY,
        }.get(status)
        agent = self._member(m)
        if agent in self._holding:
            if self._holding[agent] or state not in (AgentStateName.BUSY, AgentStateName.RESERVED):
                return  # the agent's leg is hung up for a hold: the phone is free, the agent is not
            del self._holding[agent]  # unpaused and the phone is in use again
        if state in (AgentStateName.BUSY, AgentStateName.RESERVED) and agent in self._agent_calls:
            return  # the queue's own AgentCalled/AgentConnect speak for this call, with its id
        if (state is AgentStateName.READY and m.name.lower() == "queuememberstatus" and agent
                and self._agents.get(agent, ("",))[0] == AgentStateName.WRAP_UP):
            # The phone is free after the call (AgentComplete), but the agent is wrapping up: only an
            # unpause (the agent's "ready"), another pause or a new call ends that. Published, this
            # "ready" would come before the desktop's own wrap-up pause and let a call in meanwhile.
            # (QueueStatus's QueueMember, after a reconnect, is the truth and is taken as it is.)
            return
        if state is not None:
            self._agent(out, agent, state, ts, extension=ext)
        elif status in ("4", "5"):
            self._agent(out, self._member(m), AgentStateName.NOT_READY, ts, reason="unavailable", extension=ext)

    def _on_legacy_agent_login(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        state = AgentStateName.LOGGED_ON if m.name.lower() == "agentlogin" else AgentStateName.LOGGED_OFF
        self._agent(out, m.get("Agent"), state, ts, extension=device_of(m.get("Channel")))

    def _on_core_show_channel(self, m: AmiMessage, ts: float, out: list[LinkEvent]) -> None:
        leg = self._leg(m, ts, out)
        if leg is None:
            return
        self._on_state(leg, m, ts, out)
        bridge = m.get("BridgeId")
        if bridge:
            self._bridges.setdefault(bridge, set()).add(leg.uniqueid)


_HANDLERS: dict[str, Handler] = {
    "newchannel": AmiMapper._on_newchannel,
    "newstate": AmiMapper._on_newstate,
    "newcallerid": AmiMapper._on_new_callerid,
    "localbridge": AmiMapper._on_local_bridge,
    "originateresponse": AmiMapper._on_originate_response,
    "dialbegin": AmiMapper._on_dial_begin,
    "dialend": AmiMapper._on_dial_end,
    "dial": AmiMapper._on_legacy_dial,
    "hangup": AmiMapper._on_hangup,
    "bridgeenter": AmiMapper._on_bridge_enter,
    "bridgeleave": AmiMapper._on_bridge_leave,
    "bridgedestroy": AmiMapper._on_bridge_destroy,
    "hold": AmiMapper._on_hold,
    "unhold": AmiMapper._on_hold,
    "blindtransfer": AmiMapper._on_blind_transfer,
    "attendedtransfer": AmiMapper._on_attended_transfer,
    "varset": AmiMapper._on_varset,
    "userevent": AmiMapper._on_user_event,
    "queuecallerjoin": AmiMapper._on_queue_join,
    "join": AmiMapper._on_queue_join,
    "queueentry": AmiMapper._on_queue_join,
    "queuecallerleave": AmiMapper._on_queue_leave,
    "leave": AmiMapper._on_queue_leave,
    "queuecallerabandon": AmiMapper._on_queue_leave,
    "agentcalled": AmiMapper._on_agent_called,
    "agentconnect": AmiMapper._on_agent_connect,
    "agentcomplete": AmiMapper._on_agent_complete,
    "agentringnoanswer": AmiMapper._on_agent_ring_no_answer,
    "agentdump": AmiMapper._on_agent_ring_no_answer,
    "queuememberadded": AmiMapper._on_member_added,
    "queuememberremoved": AmiMapper._on_member_removed,
    "queuememberpause": AmiMapper._on_member_pause,
    "queuememberpaused": AmiMapper._on_member_pause,
    "queuememberstatus": AmiMapper._on_member_status,
    "queuemember": AmiMapper._on_member_status,
    "agentlogin": AmiMapper._on_legacy_agent_login,
    "agentlogoff": AmiMapper._on_legacy_agent_login,
    "coreshowchannel": AmiMapper._on_core_show_channel,
}
