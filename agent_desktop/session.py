"""What the desktop knows about its agent and their calls, without Qt: events and time in, effects out.

:class:`AgentSession` folds the normalized events of the CTI link (or the bus) into the agent's
state and calls, and says what the window must do about them as :class:`Effect` values:

- a :class:`ScreenPop` exactly once per call offered to this agent (on ``call.alerting`` for the
  agent's extension, or on an outbound call the agent placed), never again on answer, hold,
  retrieve, transfer back or hang-up;
- :class:`CallChanged` when a call of the agent changes state; :class:`CallEnded` when it leaves
  the agent's extension;
- :class:`WrapUpStarted` after a handled call, and :class:`StateChanged` whenever the agent's own
  state changes (wrap-up ending by itself at its deadline included, on :meth:`tick`).

Call data (IVR hand-off) usually arrives before the call rings the agent, so the session keeps
the data of calls it has heard of, and forgets each when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType

from .attached import merge_data

#: Calls whose data is remembered before they reach this agent (oldest forgotten first).
KNOWN_CALLS_LIMIT = 2_000


class CallPhase(StrEnum):
    RINGING = "ringing"  # alerting at the agent's extension
    DIALING = "dialing"  # placed by the agent, far end not answered yet
    CONNECTED = "connected"
    HELD = "held"


class Action(StrEnum):
    """What the agent can do now; the softphone enables exactly these."""

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
    DIAL = "dial"
    READY = "ready"
    NOT_READY = "not_ready"
    END_WRAP_UP = "end_wrap_up"
    EXTEND_WRAP_UP = "extend_wrap_up"


@dataclass(frozen=True, slots=True)
class AgentCall:
    call_id: str
    phase: CallPhase
    calling: str | None
    called: str | None
    outbound: bool
    data: dict[str, Any]
    queue: str | None
    offered_at: float
    answered_at: float | None = None
    consult_of: str | None = None
    calling_name: str | None = None  # the caller's name from the network (caller id), when known


@dataclass(frozen=True, slots=True)
class ScreenPop:
    call: AgentCall


@dataclass(frozen=True, slots=True)
class CallChanged:
    call: AgentCall


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: AgentCall
    cause: str | None
    handled: bool  # the agent talked to the caller (so the call needs wrap-up)


@dataclass(frozen=True, slots=True)
class WrapUpStarted:
    call: AgentCall
    deadline: float


@dataclass(frozen=True, slots=True)
class StateChanged:
    state: AgentStateName
    reason: str | None
    since: float


Effect = ScreenPop | CallChanged | CallEnded | WrapUpStarted | StateChanged


@dataclass(slots=True)
class _Known:
    calling: str | None = None
    calling_name: str | None = None
    called: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class AgentSession:
    def __init__(self, agent_id: str, extension: str, *, wrap_up_seconds: float = 30.0, now: float = 0.0) -> None:
        self.agent_id = agent_id
        self.extension = extension
        self.wrap_up_seconds = wrap_up_seconds
        self.state = AgentStateName.LOGGED_OFF
        self.reason: str | None = None
        self.state_since = now
        self.wrap_up_deadline: float | None = None
        self.wrap_up_call: AgentCall | None = None
        self.calls: dict[str, AgentCall] = {}
        self._known: dict[str, _Known] = {}
        self._popped: set[str] = set()
        self._before_call: tuple[AgentStateName, str | None] = (AgentStateName.NOT_READY, None)

    # --- agent state ---------------------------------------------------------------------------

    def _set_state(self, state: AgentStateName, reason: str | None, now: float) -> list[Effect]:
        if (state, reason) == (self.state, self.reason):
            return []
        self.state, self.reason, self.state_since = state, reason, now
        if state is not AgentStateName.WRAP_UP:
            self.wrap_up_deadline = None
        return [StateChanged(state, reason, now)]

    def log_on(self, now: float) -> list[Effect]:
        return self._set_state(AgentStateName.NOT_READY, "logged on", now)

    def chosen_state(self) -> tuple[AgentStateName, str | None] | None:
        """The state the agent chose and the link must know (on a call: the one before it; logged off: None)."""
        if self.state is AgentStateName.LOGGED_OFF:
            return None
        if self.state is AgentStateName.BUSY:
            return self._before_call
        return self.state, self.reason

    def log_off(self, now: float) -> list[Effect]:
        return self._set_state(AgentStateName.LOGGED_OFF, None, now)

    def set_ready(self, now: float) -> list[Effect]:
        return self._set_state(AgentStateName.READY, None, now)

    def set_not_ready(self, reason: str, now: float) -> list[Effect]:
        return self._set_state(AgentStateName.NOT_READY, reason, now)

    def extend_wrap_up(self, seconds: float) -> None:
        if self.state is AgentStateName.WRAP_UP and self.wrap_up_deadline is not None:
            self.wrap_up_deadline += seconds

    def end_wrap_up(self, now: float) -> list[Effect]:
        """Wrap-up done: back to ready."""
        if self.state is not AgentStateName.WRAP_UP:
            return []
        self.wrap_up_call = None
        return self._set_state(AgentStateName.READY, None, now)

    def tick(self, now: float) -> list[Effect]:
        if self.wrap_up_deadline is not None and now >= self.wrap_up_deadline:
            return self.end_wrap_up(now)
        return []

    def actions(self, capabilities: frozenset[str] | None = None) -> set[Action]:
        """What the agent can do now (limited to what the link can carry, when given)."""
        allowed: set[Action] = set()
        phases = {c.phase for c in self.calls.values()}
        if self.state is not AgentStateName.LOGGED_OFF:
            if not self.calls and self.state is not AgentStateName.READY:
                allowed.add(Action.READY)
            if self.state is not AgentStateName.NOT_READY or self.calls:
                allowed.add(Action.NOT_READY)
            if not self.calls:
                allowed.add(Action.DIAL)
        if CallPhase.RINGING in phases:
            allowed.add(Action.ANSWER)
        if phases:
            allowed.add(Action.HANGUP)
        if CallPhase.CONNECTED in phases:
            allowed |= {Action.HOLD, Action.SEND_DTMF, Action.BLIND_TRANSFER, Action.MUTE}
            if len(self.calls) == 1:
                allowed.add(Action.CONSULT)
        if CallPhase.HELD in phases:
            allowed.add(Action.RETRIEVE)
            allowed.add(Action.BLIND_TRANSFER)
            if len(self.calls) == 1:
                allowed.add(Action.CONSULT)
        if CallPhase.HELD in phases and (CallPhase.CONNECTED in phases or CallPhase.DIALING in phases):
            allowed |= {Action.ATTENDED_TRANSFER, Action.CONFERENCE}
        if self.state is AgentStateName.WRAP_UP:
            allowed |= {Action.END_WRAP_UP, Action.EXTEND_WRAP_UP}
        if capabilities is not None:
            allowed = {a for a in allowed if a in _AGENT_ONLY or _CAPABILITY.get(a, a.value) in capabilities}
        return allowed

    def primary_call(self) -> AgentCall | None:
        """The call the softphone acts on: connected first, then ringing, dialing, held."""
        for phase in (CallPhase.CONNECTED, CallPhase.RINGING, CallPhase.DIALING, CallPhase.HELD):
            for call in self.calls.values():
                if call.phase is phase:
                    return call
        return None

    def held_call(self) -> AgentCall | None:
        return next((c for c in self.calls.values() if c.phase is CallPhase.HELD), None)

    # --- events --------------------------------------------------------------------------------

    def on_event(self, event: CallEvent | AgentState, now: float) -> list[Effect]:
        if isinstance(event, AgentState):
            if event.agent_id != self.agent_id:
                return []
            return self._set_state(AgentStateName(event.state), event.reason, now)
        return self._on_call_event(event, now)

    def _remember(self, event: CallEvent) -> _Known:
        known = self._known.get(event.call_id)
        if known is None:
            if len(self._known) >= KNOWN_CALLS_LIMIT:
                self._known.pop(next(iter(self._known)))
            known = self._known[event.call_id] = _Known()
        known.calling = event.calling or known.calling
        known.calling_name = event.calling_name or known.calling_name
        known.called = event.called or known.called
        known.queue = event.queue or known.queue
        if event.data and event.type == CallEventType.DATA:
            known.data = merge_data(known.data, event.data)
            routing = event.data.get("routing")
            if isinstance(routing, dict) and isinstance(routing.get("queue"), str):
                known.queue = routing["queue"]
        return known

    def _on_call_event(self, event: CallEvent, now: float) -> list[Effect]:
        kind = CallEventType(event.type)
        if kind is CallEventType.ENDED:
            self._known.pop(event.call_id, None)
            self._popped.discard(event.call_id)  # the call is over everywhere: nothing left to pop again
            call = self.calls.pop(event.call_id, None)
            return self._ended(call, event.cause, now) if call else []
        known = self._remember(event)
        call = self.calls.get(event.call_id)
        mine = event.extension == self.extension
        if kind is CallEventType.OFFERED and mine and call is None:
            # An outbound call this agent placed; placed while another call is held, it is a consultation.
            held = self.held_call()
            consult_of = str(event.data.get("consult_of") or "") or (held.call_id if held else None)
            call = AgentCall(event.call_id, CallPhase.DIALING, known.calling, known.called, True, dict(known.data),
                             known.queue, now, consult_of=consult_of)
            return self._added(call)
        if kind is CallEventType.ALERTING and mine:
            if call is not None:
                return []
            call = AgentCall(event.call_id, CallPhase.RINGING, known.calling, known.called, False, dict(known.data),
                             known.queue, now, calling_name=known.calling_name)
            return self._added(call)
        if call is None:
            return []
        if kind is CallEventType.DATA:
            return self._changed(replace(call, data=merge_data(call.data, event.data), queue=known.queue or call.queue))
        if kind is CallEventType.ANSWERED:
            effects = self._changed(replace(call, phase=CallPhase.CONNECTED, answered_at=call.answered_at or now))
            if self.state not in (AgentStateName.BUSY, AgentStateName.LOGGED_OFF):
                self._before_call = (self.state, self.reason)
                effects += self._set_state(AgentStateName.BUSY, None, now)
            return effects
        if kind is CallEventType.HELD and mine:
            return self._changed(replace(call, phase=CallPhase.HELD))
        if kind is CallEventType.RETRIEVED and mine:
            return self._changed(replace(call, phase=CallPhase.CONNECTED))
        if kind is CallEventType.TRANSFERRED:
            if event.data.get("by") == self.extension or (event.extension and not mine):
                # The agent handed the call on: it leaves this desktop.
                self.calls.pop(call.call_id, None)
                return self._ended(call, "transferred", now)
            return []
        if kind is CallEventType.CONFERENCED:
            return self._changed(replace(call, phase=CallPhase.CONNECTED))
        return []

    def _added(self, call: AgentCall) -> list[Effect]:
        self.calls[call.call_id] = call
        effects: list[Effect] = []
        if call.call_id not in self._popped and call.consult_of is None:
            self._popped.add(call.call_id)
            effects.append(ScreenPop(call))
        effects.append(CallChanged(call))
        return effects

    def _changed(self, call: AgentCall) -> list[Effect]:
        self.calls[call.call_id] = call
        return [CallChanged(call)]

    def _ended(self, call: AgentCall, cause: str | None, now: float) -> list[Effect]:
        handled = call.answered_at is not None and call.consult_of is None
        effects: list[Effect] = [CallEnded(call, cause, handled)]
        if self.calls:
            return effects
        if not handled and self.state is AgentStateName.BUSY:
            effects += self._set_state(*self._before_call, now)
        if handled and self.state is not AgentStateName.LOGGED_OFF:
            self.wrap_up_call = call
            effects += self._set_state(AgentStateName.WRAP_UP, None, now)
            self.wrap_up_deadline = now + self.wrap_up_seconds
            effects.append(WrapUpStarted(call, self.wrap_up_deadline))
        return effects


#: The link capability an action needs, where its name differs.
_CAPABILITY = {Action.DIAL: "make_call"}
_AGENT_ONLY = frozenset({Action.READY, Action.NOT_READY, Action.END_WRAP_UP, Action.EXTEND_WRAP_UP})
