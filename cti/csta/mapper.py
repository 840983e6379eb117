"""CSTA events → normalized events.

Rules: the ``call_id`` of a call is the first CSTA ``callID`` seen for it, prefixed with ``csta-``;
call ids that a transfer, conference or consultation merge creates later are aliased to it, so a
call keeps one ``call_id`` from offer to end. A call ends when the last connection we know of is
cleared (or on ``CallClearedEvent``). Device ids are given without their ``N<...>`` wrapping.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType

from ..model import DialOutcome, LinkEvent
from .codec import CstaMessage

logger = logging.getLogger(__name__)

_WRAPPED = re.compile(r"^[A-Za-z]?<(.*)>$")
_FAIL_OUTCOME = {
    "busy": DialOutcome.BUSY,
    "noanswer": DialOutcome.NO_ANSWER,
    "callnotanswered": DialOutcome.NO_ANSWER,
    "reorder": DialOutcome.FAILED,
    "destnotobtainable": DialOutcome.FAILED,
    "blocked": DialOutcome.FAILED,
    "trunksbusy": DialOutcome.FAILED,
}
_AGENT_EVENTS = {
    "AgentLoggedOnEvent": AgentStateName.LOGGED_ON,
    "AgentLoggedOffEvent": AgentStateName.LOGGED_OFF,
    "AgentReadyEvent": AgentStateName.READY,
    "AgentNotReadyEvent": AgentStateName.NOT_READY,
    "AgentWorkingAfterCallEvent": AgentStateName.WRAP_UP,
    "AgentBusyEvent": AgentStateName.BUSY,
}


def device(value: str | None) -> str | None:
    if not value:
        return None
    m = _WRAPPED.match(value)
    return (m.group(1) if m else value) or None


@dataclass(slots=True)
class _Call:
    call_id: str
    connections: set[str] = field(default_factory=set)
    answered: bool = False
    outcome: str | None = None
    queues: set[str] = field(default_factory=set)


class CstaMapper:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._alias: dict[str, str] = {}  # CSTA callID -> call_id
        self._calls: dict[str, _Call] = {}
        self._csta_ids: dict[tuple[str, str], str] = {}  # (call_id, device) -> current CSTA callID

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    def csta_call_id(self, call_id: str, device_id: str) -> str | None:
        """The CSTA callID that ``device_id``'s connection to ``call_id`` has now (for requests)."""
        return self._csta_ids.get((call_id, device_id))

    def devices_of(self, call_id: str) -> list[str]:
        """Devices with a known connection to ``call_id``."""
        return [dev for (cid, dev) in self._csta_ids if cid == call_id]

    def call_id_of(self, csta_call_id: str) -> str | None:
        return self._alias.get(csta_call_id)

    def map(self, m: CstaMessage) -> list[LinkEvent]:
        if not m.is_event:
            return []
        out: list[LinkEvent] = []
        ts = self._clock()
        name = m.name
        if name in _AGENT_EVENTS:
            agent = m.get("agentID") or device(m.get("agentDevice/deviceIdentifier") or m.get("agentDevice"))
            if agent:
                reason = m.get("*/reasonCode") or m.get("*/agentNotReadyReason") or None
                out.append(
                    AgentState(
                        agent_id=agent,
                        state=_AGENT_EVENTS[name],
                        ts=ts,
                        reason=reason,
                        extension=device(m.get("agentDevice/deviceIdentifier") or m.get("agentDevice")),
                    )
                )
            return out
        handler = getattr(self, "_on_" + name, None)
        if handler is None:
            return out
        handler(m, ts, out)
        return out

    # -- resync ----------------------------------------------------------------------------
    def resync(
        self, snapshots: Mapping[str, Iterable[tuple[str, str | None]]], unknown: Collection[str] = ()
    ) -> list[LinkEvent]:
        """Reconcile with ``SnapshotDevice`` answers after a reconnect.

        ``snapshots`` maps each device that answered to its ``(callID, localConnectionState)`` pairs.
        Calls the PBX still reports go on with their ``call_id`` (and new ones are offered); a call
        none of whose connections on those devices is reported any more ended while the link was
        down: it ends with cause ``ended while the link was down``. Calls on ``unknown`` devices (whose
        snapshot failed) are left alone.
        """
        out: list[LinkEvent] = []
        ts = self._clock()
        empty = CstaMessage(invoke_id="", name="SnapshotDeviceResponse", namespace="")
        reported: set[tuple[str, str]] = set()
        for dev, connections in snapshots.items():
            for csta_id, state in connections:
                call = self._ensure(csta_id, empty, ts, out)
                if call is None:
                    continue
                self._connect(call, csta_id, dev)
                reported.add((call.call_id, dev))
                if state == "connected" and not call.answered:
                    call.answered = True
                    self._event(out, CallEventType.ANSWERED, call, ts, extension=dev)
        for call in list(self._calls.values()):
            gone = {d for d in call.connections if d in snapshots and (call.call_id, d) not in reported}
            if not gone:
                continue
            for dev in gone:
                call.connections.discard(dev)
                self._csta_ids.pop((call.call_id, dev), None)
            if not any(d in snapshots or d in unknown for d in call.connections):
                self._end(call, ts, "ended while the link was down", out)
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _ensure(self, csta_id: str | None, m: CstaMessage, ts: float, out: list[LinkEvent]) -> _Call | None:
        if not csta_id:
            return None
        call_id = self._alias.get(csta_id)
        if call_id is None:
            call_id = f"csta-{csta_id}"
            self._alias[csta_id] = call_id
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(call_id)
            self._calls[call_id] = call
            out.append(
                CallEvent(
                    type=CallEventType.OFFERED,
                    call_id=call_id,
                    ts=ts,
                    calling=device(
                        m.get("callingDevice/deviceIdentifier")
                        or m.get("initiatingDevice/deviceIdentifier")
                        or m.get("originatingDevice/deviceIdentifier")
                    ),
                    called=device(m.get("calledDevice/deviceIdentifier") or m.get("*/calledDevice")),
                )
            )
        return call

    def _connect(self, call: _Call, csta_id: str, dev: str | None) -> None:
        if dev:
            call.connections.add(dev)
            self._csta_ids[(call.call_id, dev)] = csta_id

    def _event(self, out: list[LinkEvent], kind: CallEventType, call: _Call, ts: float, **kw: object) -> None:
        out.append(CallEvent(type=kind, call_id=call.call_id, ts=ts, **kw))  # type: ignore[arg-type]

    def _end(self, call: _Call, ts: float, cause: str | None, out: list[LinkEvent]) -> None:
        if self._calls.pop(call.call_id, None) is None:
            return
        for key in [k for k in self._csta_ids if k[0] == call.call_id]:
            del self._csta_ids[key]
        for csta_id in [k for k, v in self._alias.items() if v == call.call_id]:
            del self._alias[csta_id]
        if not call.answered and call.outcome:
            cause = call.outcome
        self._event(out, CallEventType.ENDED, call, ts, cause=cause)

    def _merge(self, into: _Call, other_csta: str | None, ts: float, cause: str, out: list[LinkEvent]) -> None:
        """Fold the call behind ``other_csta`` into ``into``; it ends with ``cause``."""
        if not other_csta:
            return
        other_id = self._alias.get(other_csta)
        if other_id is None or other_id == into.call_id:
            self._alias[other_csta] = into.call_id
            return
        other = self._calls.get(other_id)
        if other is not None:
            self._end(other, ts, cause, out)
        self._alias[other_csta] = into.call_id

    # -- handlers --------------------------------------------------------------------------
    def _on_ServiceInitiatedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("initiatedConnection/callID")
        call = self._ensure(cid, m, ts, out)
        if call and cid:
            self._connect(call, cid, device(m.get("initiatedConnection/deviceID")))

    def _on_OriginatedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("originatedConnection/callID")
        call = self._ensure(cid, m, ts, out)
        if call and cid:
            self._connect(call, cid, device(m.get("originatedConnection/deviceID")))

    def _on_DeliveredEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("connection/callID")
        call = self._ensure(cid, m, ts, out)
        if call is None or cid is None:
            return
        alerting = device(m.get("alertingDevice/deviceIdentifier") or m.get("alertingDevice"))
        self._connect(call, cid, device(m.get("connection/deviceID")))
        self._event(
            out,
            CallEventType.ALERTING,
            call,
            ts,
            extension=alerting,
            called=device(m.get("calledDevice/deviceIdentifier")),
        )

    def _on_EstablishedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("establishedConnection/callID")
        call = self._ensure(cid, m, ts, out)
        if call is None or cid is None:
            return
        self._connect(call, cid, device(m.get("establishedConnection/deviceID")))
        call.answered = True
        answering = device(m.get("answeringDevice/deviceIdentifier") or m.get("answeringDevice"))
        self._event(out, CallEventType.ANSWERED, call, ts, extension=answering)

    def _on_HeldEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        call = self._ensure(m.get("heldConnection/callID"), m, ts, out)
        if call is not None:
            holding = device(m.get("holdingDevice/deviceIdentifier") or m.get("heldConnection/deviceID"))
            self._event(out, CallEventType.HELD, call, ts, extension=holding)

    def _on_RetrievedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        call = self._ensure(m.get("retrievedConnection/callID"), m, ts, out)
        if call is not None:
            by = device(m.get("retrievingDevice/deviceIdentifier") or m.get("retrievedConnection/deviceID"))
            self._event(out, CallEventType.RETRIEVED, call, ts, extension=by)

    def _on_QueuedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("queuedConnection/callID")
        call = self._ensure(cid, m, ts, out)
        queue = device(m.get("queue/deviceIdentifier") or m.get("queue"))
        if call is not None and cid and queue and queue not in call.queues:
            call.queues.add(queue)
            self._event(
                out,
                CallEventType.QUEUE_JOINED,
                call,
                ts,
                queue=queue,
                calling=device(m.get("callingDevice/deviceIdentifier")),
            )

    def _on_DivertedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("connection/callID")
        call = self._ensure(cid, m, ts, out)
        if call is None:
            return
        diverting = device(m.get("divertingDevice/deviceIdentifier"))
        target = device(m.get("newDestination/deviceIdentifier"))
        if diverting and diverting in call.queues:
            call.queues.discard(diverting)
            self._event(out, CallEventType.QUEUE_LEFT, call, ts, queue=diverting)
        else:
            self._event(
                out,
                CallEventType.TRANSFERRED,
                call,
                ts,
                extension=target,
                cause=m.get("cause") or None,
                data={"kind": "diverted", "by": diverting},
            )
        if diverting:
            call.connections.discard(diverting)
        if cid and target:
            self._connect(call, cid, target)

    def _on_FailedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        call = self._ensure(m.get("failedConnection/callID"), m, ts, out)
        if call is not None:
            cause = (m.get("cause") or "").lower()
            call.outcome = _FAIL_OUTCOME.get(cause, DialOutcome.FAILED).value

    def _on_ConnectionClearedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("droppedConnection/callID")
        call_id = self._alias.get(cid) if cid else None
        call = self._calls.get(call_id) if call_id else None
        if call is None:
            return
        dropped = device(m.get("droppedConnection/deviceID"))
        if dropped:
            call.connections.discard(dropped)
        if not call.connections:
            self._end(call, ts, m.get("cause") or None, out)

    def _on_CallClearedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        cid = m.get("clearedCall/callID")
        call_id = self._alias.get(cid) if cid else None
        call = self._calls.get(call_id) if call_id else None
        if call is not None:
            self._end(call, ts, m.get("cause") or None, out)

    def _on_TransferredEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        primary = m.get("primaryOldCall/callID")
        call = self._ensure(primary, m, ts, out)
        if call is None:
            return
        self._merge(call, m.get("secondaryOldCall/callID"), ts, "transferred", out)
        transferring = device(m.get("transferringDevice/deviceIdentifier"))
        if transferring:
            call.connections.discard(transferring)
            self._csta_ids.pop((call.call_id, transferring), None)
        for new_id, dev in zip(
            m.get_all("connectionListItem/newConnection/callID"),
            m.get_all("connectionListItem/newConnection/deviceID"),
            strict=False,
        ):
            self._alias[new_id] = call.call_id
            if device(dev) != transferring:
                self._connect(call, new_id, device(dev))
        self._event(
            out,
            CallEventType.TRANSFERRED,
            call,
            ts,
            extension=device(m.get("transferredToDevice/deviceIdentifier")),
            data={"kind": "transfer", "by": transferring},
        )

    def _on_ConferencedEvent(self, m: CstaMessage, ts: float, out: list[LinkEvent]) -> None:
        primary = m.get("primaryOldCall/callID")
        call = self._ensure(primary, m, ts, out)
        if call is None:
            return
        self._merge(call, m.get("secondaryOldCall/callID"), ts, "conferenced", out)
        for new_id, dev in zip(
            m.get_all("connectionListItem/newConnection/callID"),
            m.get_all("connectionListItem/newConnection/deviceID"),
            strict=False,
        ):
            self._alias[new_id] = call.call_id
            self._connect(call, new_id, device(dev))
        self._event(
            out,
            CallEventType.CONFERENCED,
            call,
            ts,
            extension=device(m.get("conferencingDevice/deviceIdentifier")),
            data={"added": device(m.get("addedParty/deviceIdentifier"))},
        )
