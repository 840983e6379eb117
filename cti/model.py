"""The normalized call model: what every link speaks, whatever the telephone system behind it.

Events are the bus types :class:`bus.messages.CallEvent` and :class:`bus.messages.AgentState`
(DESIGN.md's contract). This module adds the vocabulary around them: what a link can do
(:class:`Capability`), call and connection states, devices, the commands, and a
:class:`CallTracker` that folds events into a snapshot of live calls.

``call_id`` rules: one ``call_id`` names one customer call from offer to end, across holds,
transfers, conferences and link reconnects. AMI uses the channel's ``Linkedid``; CSTA the first
``callID`` seen (later call ids that a transfer or conference creates are aliased to it); the
simulator and serial links make their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bus.messages import AgentId, AgentState, AgentStateName, CallEvent, CallEventType, CallId

__all__ = [
    "AgentId",
    "AgentState",
    "AgentStateName",
    "Call",
    "CallEvent",
    "CallEventType",
    "CallId",
    "CallState",
    "CallTracker",
    "Capability",
    "CommandName",
    "Connection",
    "ConnectionState",
    "Device",
    "DeviceKind",
    "DialOutcome",
    "LinkEvent",
]

#: What a link's ``events()`` yields.
LinkEvent = CallEvent | AgentState


class Capability(StrEnum):
    """What a link can do; the desktop greys out the commands a link lacks."""

    MAKE_CALL = "make_call"
    ANSWER = "answer"
    HANGUP = "hangup"
    HOLD = "hold"
    RETRIEVE = "retrieve"
    CONSULT = "consult"
    BLIND_TRANSFER = "blind_transfer"
    ATTENDED_TRANSFER = "attended_transfer"
    CONFERENCE = "conference"
    SEND_DTMF = "send_dtmf"
    MUTE = "mute"
    SET_AGENT_STATE = "set_agent_state"
    ATTACH_DATA = "attach_data"
    LISTEN = "listen"  # a supervisor listens in on an agent's call: monitor, whisper or barge


#: Commands carried by ``bus.messages.Command.name`` have the same names as the capabilities.
CommandName = Capability


class ListenMode(StrEnum):
    """How a supervisor joins an agent's call: hears both (monitor), speaks to the agent only
    (whisper), or speaks to both (barge)."""

    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


class CallState(StrEnum):
    OFFERED = "offered"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HELD = "held"
    ENDED = "ended"


class ConnectionState(StrEnum):
    """A device's part in a call (ECMA-269 connection states)."""

    NULL = "null"
    INITIATED = "initiated"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HOLD = "hold"
    QUEUED = "queued"
    FAIL = "fail"


class DeviceKind(StrEnum):
    EXTENSION = "extension"
    TRUNK = "trunk"
    QUEUE = "queue"


class DialOutcome(StrEnum):
    """How an outbound call ended before (or when) it reached someone; given as ``cause``."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ANSWERING_MACHINE = "answering_machine"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    kind: DeviceKind = DeviceKind.EXTENSION


@dataclass(frozen=True, slots=True)
class Connection:
    call_id: str
    device_id: str
    state: ConnectionState


@dataclass(frozen=True, slots=True)
class Call:
    """A snapshot of one call, as :class:`CallTracker` knows it."""

    call_id: str
    state: CallState
    calling: str | None = None
    calling_name: str | None = None
    called: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    extension: str | None = None
    started: float = 0.0
    answered: float | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


_STATE_AFTER: dict[str, CallState] = {
    CallEventType.OFFERED: CallState.OFFERED,
    CallEventType.ALERTING: CallState.ALERTING,
    CallEventType.ANSWERED: CallState.CONNECTED,
    CallEventType.HELD: CallState.HELD,
    CallEventType.RETRIEVED: CallState.CONNECTED,
    CallEventType.TRANSFERRED: CallState.CONNECTED,
    CallEventType.CONFERENCED: CallState.CONNECTED,
    CallEventType.ENDED: CallState.ENDED,
}


class CallTracker:
    """Folds normalized call events into live :class:`Call` snapshots (ended calls are dropped)."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls.values()))

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def apply(self, event: LinkEvent) -> Call | None:
        """Apply one event; returns the call's new snapshot (state ``ENDED`` for an ended call)."""
        if not isinstance(event, CallEvent):
            return None
        call = self._calls.get(event.call_id)
        if call is None:
            call = Call(call_id=event.call_id, state=CallState.OFFERED, started=event.ts)
        changes: dict[str, Any] = {}
        for name in ("calling", "calling_name", "called", "queue", "agent_id", "extension"):
            value = getattr(event, name)
            if value is not None and getattr(call, name) is None:
                changes[name] = value
        if event.type == CallEventType.ANSWERED:
            changes["agent_id"] = event.agent_id or call.agent_id
            changes["extension"] = event.extension or call.extension
            if call.answered is None:
                changes["answered"] = event.ts
        if event.type == CallEventType.TRANSFERRED and event.extension:
            changes["extension"] = event.extension
            changes["agent_id"] = event.agent_id
        if event.type == CallEventType.DATA and event.data:
            changes["data"] = MappingProxyType({**call.data, **event.data})
        new_state = _STATE_AFTER.get(event.type)
        if new_state is not None and not (
            new_state is CallState.ALERTING and call.state in (CallState.CONNECTED, CallState.HELD)
        ):
            changes["state"] = new_state
        call = dataclasses.replace(call, **changes) if changes else call
        if call.state is CallState.ENDED:
            self._calls.pop(event.call_id, None)
        else:
            self._calls[event.call_id] = call
        return call
