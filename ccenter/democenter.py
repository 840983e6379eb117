"""The contact center of ``ccenter demo``, in one process on the simulated PBX.

It joins the real parts the way production does, without the network: an inbound call offered
by the simulated PBX goes through the IVR flow (a scripted caller presses keys), the IVR's
hand-off (attached data, queue, priority) is attached to the call and queued in the ACD engine, and
the engine's offers ring the chosen agent's extension. Desktop agents are real windows; the other
agents of the demo data are simulated: they answer after a few seconds, talk, hang up and wrap up.

Everything here runs on the link's asyncio loop (:meth:`run` and :meth:`observe`), so the PBX, the
IVR sessions and the ACD engine are only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bus.messages import AgentId, AgentState, AgentStateName, CallEvent, CallEventType, CallId, QueueStats
from cti.errors import CtiError
from cti.sim import SimPbx
from ivr.engine import Action as IvrAction
from ivr.engine import CallInfo as IvrCallInfo
from ivr.engine import RequestCallback, SessionState, Transfer
from ivr.flow import Flow
from ivr.inprocess import InProcessSession as IvrSession
from ivr.lookup import CustomerLookup
from ivr.record import SessionRecord
from routing.engine import AcdEngine, explain_agent, explain_call, waiting_call_ids
from routing.model import (
    AgentLoggedOn,
    AgentStateRequested,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    Decision,
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
    Tick,
)

logger = logging.getLogger(__name__)

#: Queues of the shipped telecom IVR flow, with the skill each needs.
DEMO_QUEUES: Mapping[str, str] = {
    "vip": "vip",
    "billing": "billing",
    "technical": "technical",
    "sales": "sales",
    "retention": "retention",
    "general": "billing",
    "callbacks": "sales",
}

#: What simulated callers press (language, PIN, menu choices); extra keys are ignored by the flow.
CALLER_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("1", "1234#", "1", "0"),  # English, PIN, balance, then an agent (billing)
    ("1", "1234#", "3"),  # new service (sales)
    ("1", "1234#", "4"),  # cancel (retention)
    ("1", "1234#", "2", "0"),  # technical fault, then an agent
    ("2", "1234#", "1", "0"),  # 中文
)


@dataclass(slots=True)
class AgentSeat:
    agent_id: str
    extension: str
    skills: dict[str, int]
    simulated: bool


@dataclass(slots=True)
class _IvrCall:
    session: IvrSession
    inputs: list[str]


@dataclass(order=True, slots=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class DemoCenter:
    def __init__(
        self,
        pbx: SimPbx,
        *,
        flow: Flow,
        lookup: CustomerLookup,
        seats: list[AgentSeat],
        caller_numbers: list[str],
        calls_per_hour: float = 0.0,
        random_seed: int = 11,
        wrap_up_s: float = 5.0,
        stats_sink: Callable[[QueueStats], None] | None = None,
        record_sink: Callable[[SessionRecord], None] | None = None,
        agent_sink: Callable[[AgentState], None] | None = None,
        simulated_ready: bool = True,
    ) -> None:
        self.simulated_ready = simulated_ready
        self.agent_sink = agent_sink
        self.stats_sink = stats_sink
        self.record_sink = record_sink
        self.pbx = pbx
        self.flow = flow
        self.lookup = lookup
        self.seats = {s.agent_id: s for s in seats}
        self.by_extension = {s.extension: s for s in seats}
        self.caller_numbers = caller_numbers
        self.calls_per_hour = calls_per_hour
        self.rng = random.Random(random_seed)
        self.engine = AcdEngine(
            [
                QueueConfig(name=q, skill=skill, wrap_up_s=wrap_up_s, ring_timeout_s=20.0)
                for q, skill in DEMO_QUEUES.items()
            ]
        )
        self.ivr: dict[str, _IvrCall] = {}
        self.answered: set[str] = set()
        self.queued: set[str] = set()  # calls handed to the ACD, until they end
        self.offered_to: dict[str, str] = {}  # call id -> agent id while ringing or talking
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._logged_on: set[str] = set()
        self._scripts: dict[str, list[tuple[str, ...]]] = {}
        self.handoffs = 0
        self.next_arrival: float | None = None

    # --- scheduling ----------------------------------------------------------------------------

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, _Due(self.pbx.now + delay, next(self._seq), action))

    def inbound(self, calling: str, *, script: tuple[str, ...] | None = None, patience_s: float | None = None) -> None:
        """A customer calls the service number now; the IVR answers."""
        self._scripts.setdefault(calling, []).append(script or self.rng.choice(CALLER_SCRIPTS))
        self.pbx.schedule_inbound(self.pbx.now, calling, "800", caller_hangs_up_after=patience_s)

    def start_simulated_agents(self) -> None:
        for seat in self.seats.values():
            if seat.simulated:
                self._log_on(seat, ready=self.simulated_ready)

    async def run(self, _loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Drive time-based work on the link's loop: due actions, ACD timers, new callers."""
        self.start_simulated_agents()
        next_stats = 0.0
        while True:
            self.step()
            if self.pbx.now >= next_stats:
                if self.stats_sink is not None:
                    for stats in self.queue_stats():
                        self.stats_sink(stats)
                if self.agent_sink is not None:
                    for state in self.agent_states():
                        self.agent_sink(state)
                next_stats = self.pbx.now + 1.0
            await asyncio.sleep(0.1)

    def step(self) -> None:
        """Do what is due at the PBX's current time: scripted key presses, agents, ACD timers, arrivals."""
        now = self.pbx.now
        if self.next_arrival is None and self.calls_per_hour > 0:
            self.next_arrival = now + self.rng.expovariate(self.calls_per_hour / 3600)
        while self._due and self._due[0].at <= now:
            item = heapq.heappop(self._due)
            try:
                item.action()
            except CtiError as exc:
                logger.info("demo: %s", exc)
        timer = self.engine.next_timer()
        if timer is not None and timer <= now:
            self._carry_out(self.engine.handle(Tick(ts=now)))
        if self.next_arrival is not None and now >= self.next_arrival and self.caller_numbers:
            self.inbound(self.rng.choice(self.caller_numbers), patience_s=self.rng.uniform(60, 240))
            self.next_arrival = now + self.rng.expovariate(self.calls_per_hour / 3600)

    # --- events from the PBX -------------------------------------------------------------------

    def observe(self, event: CallEvent | AgentState) -> None:
        try:
            if isinstance(event, AgentState):
                self._on_agent_state(event)
            else:
                self._on_call_event(event)
        except CtiError as exc:
            logger.info("demo: %s", exc)

    def _on_agent_state(self, event: AgentState) -> None:
        seat = self.seats.get(event.agent_id)
        if seat is None or seat.simulated:
            return
        state = AgentStateName(event.state)
        if seat.agent_id not in self._logged_on:
            if state is AgentStateName.LOGGED_OFF:
                return
            self._log_on(seat, ready=state is AgentStateName.READY)
            return
        status = {
            AgentStateName.READY: AgentStatus.READY,
            AgentStateName.LOGGED_OFF: AgentStatus.LOGGED_OFF,
        }.get(state, AgentStatus.NOT_READY)
        self._carry_out(
            self.engine.handle(
                AgentStateRequested(ts=event.ts, agent_id=AgentId(seat.agent_id), state=status, reason=event.reason)
            )
        )

    def _log_on(self, seat: AgentSeat, *, ready: bool) -> None:
        self._logged_on.add(seat.agent_id)
        self._carry_out(
            self.engine.handle(
                AgentLoggedOn(ts=self.pbx.now, agent_id=AgentId(seat.agent_id), skills=seat.skills, ready=ready)
            )
        )

    def _on_call_event(self, event: CallEvent) -> None:
        kind = CallEventType(event.type)
        if kind is CallEventType.OFFERED and event.extension is None and event.called == "800":
            self._start_ivr(event)
        elif kind is CallEventType.ANSWERED and event.call_id in self.offered_to:
            self.answered.add(event.call_id)
            self._carry_out(self.engine.handle(CallAnswered(ts=event.ts, call_id=CallId(event.call_id))))
        elif kind is CallEventType.ENDED:
            self._on_ended(event)

    def _on_ended(self, event: CallEvent) -> None:
        ivr = self.ivr.pop(event.call_id, None)
        if ivr is not None and ivr.session.state is not SessionState.DONE:
            ivr.session.hangup(event.ts)
            self._recorded(ivr.session)
            return
        if event.call_id not in self.queued:
            return  # a call the ACD never had (an agent's own outbound call, say)
        self.queued.discard(event.call_id)
        agent_id = self.offered_to.pop(event.call_id, None)
        if event.call_id in self.answered:
            self.answered.discard(event.call_id)
            seat = self.seats.get(agent_id or "")
            if seat is not None and not seat.simulated:
                # The desktop wraps up at its own pace and says when it is ready again.
                self.engine.handle(
                    AgentStateRequested(
                        ts=event.ts, agent_id=AgentId(seat.agent_id), state=AgentStatus.NOT_READY, reason="wrap-up"
                    )
                )
            self._carry_out(self.engine.handle(CallEnded(ts=event.ts, call_id=CallId(event.call_id))))
        else:
            self._carry_out(self.engine.handle(CallAbandoned(ts=event.ts, call_id=CallId(event.call_id))))

    # --- IVR -----------------------------------------------------------------------------------

    def _start_ivr(self, event: CallEvent) -> None:
        waiting_scripts = self._scripts.get(event.calling or "")
        script = list(waiting_scripts.pop(0) if waiting_scripts else self.rng.choice(CALLER_SCRIPTS))
        session = IvrSession(
            self.flow, IvrCallInfo(event.call_id, event.calling or "", event.called or ""), self.lookup
        )
        self.ivr[event.call_id] = _IvrCall(session, script)
        self._ivr_actions(event.call_id, session.started(self.pbx.now))

    def _ivr_actions(self, call_id: str, actions: list[IvrAction]) -> None:
        call = self.ivr.get(call_id)
        if call is None:
            return
        for action in actions:
            if isinstance(action, Transfer | RequestCallback):
                self._hand_off(call_id, call.session, action.queue)
                return
        if call.session.state is SessionState.WAITING:
            press = call.inputs.pop(0) if call.inputs else None
            self._at(2.0, lambda: self._press(call_id, press))
        elif call.session.state is SessionState.DONE:
            self.ivr.pop(call_id, None)
            self._recorded(call.session)
            self.pbx.hangup(call_id)

    def _press(self, call_id: str, keys: str | None) -> None:
        call = self.ivr.get(call_id)
        if call is None or call.session.state is not SessionState.WAITING:
            return
        now = self.pbx.now
        actions = call.session.timeout(now) if keys is None else call.session.digits(keys, now)
        self._ivr_actions(call_id, actions)

    def _recorded(self, session: IvrSession) -> None:
        if self.record_sink is not None and session.record is not None:
            self.record_sink(session.record)

    def _hand_off(self, call_id: str, session: IvrSession, queue: str) -> None:
        self.ivr.pop(call_id, None)
        self._recorded(session)
        event = session.handoff_event(self.pbx.now)
        self.pbx.attach_data(call_id, event.data)
        self.handoffs += 1
        queue = queue if queue in DEMO_QUEUES else "general"
        priority = int(session.priority or 0)
        self.queued.add(call_id)
        self._carry_out(
            self.engine.handle(CallQueued(ts=self.pbx.now, call_id=CallId(call_id), queue=queue, priority=priority))
        )

    # --- ACD decisions -------------------------------------------------------------------------

    def _carry_out(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, OfferCall):
                seat = self.seats[decision.agent_id]
                self.offered_to[decision.call_id] = seat.agent_id
                try:
                    self.pbx.deliver(decision.call_id, seat.extension)
                except CtiError as exc:
                    logger.info("demo: could not ring %s: %s", seat.extension, exc)
                    continue
                if seat.simulated:
                    self._simulate_agent(seat, decision.call_id)
            elif isinstance(decision, OfferWithdrawn):
                withdrawn = self.seats.get(decision.agent_id)
                self.offered_to.pop(decision.call_id, None)
                if withdrawn is not None:
                    with contextlib.suppress(CtiError):
                        self.pbx.hangup(decision.call_id, withdrawn.extension)

    def _simulate_agent(self, seat: AgentSeat, call_id: str) -> None:
        def answer() -> None:
            if self.offered_to.get(call_id) == seat.agent_id:
                self.pbx.answer(call_id, seat.extension)
                self._at(self.rng.uniform(40, 150), hang_up)

        def hang_up() -> None:
            if call_id in self.answered and self.offered_to.get(call_id) == seat.agent_id:
                self.pbx.hangup(call_id, seat.extension)

        self._at(self.rng.uniform(2, 5), answer)

    def waiting(self) -> int:
        return self.engine.waiting_calls()

    def statistics(self) -> dict[str, Any]:
        return {q: self.engine.queue_statistics(q, self.pbx.now) for q in DEMO_QUEUES}

    def agent_states(self) -> list[AgentState]:
        """Every seat's state as the ACD sees it, as ``agent.state`` messages."""
        now = self.pbx.now
        out = []
        by_agent = {agent: call for call, agent in self.offered_to.items()}
        for seat in self.seats.values():
            if seat.agent_id in self._logged_on:
                status = self.engine.agent_status(AgentId(seat.agent_id))
                state, reason = status.bus_name, None
                if status is AgentStatus.NOT_READY:
                    reason = explain_agent(self.engine, AgentId(seat.agent_id), now).data.get("reason")
            else:
                state, reason = AgentStateName.LOGGED_OFF, None
            out.append(AgentState(agent_id=seat.agent_id, state=state, ts=now, reason=reason,
                                  extension=seat.extension, call_id=by_agent.get(seat.agent_id)))
        return out

    def explain(self, kind: str, name: str) -> str:
        """The ACD's own explanation, for the supervisor: an agent, or the queue's longest-waiting call."""
        now = self.pbx.now
        if kind == "agent":
            return explain_agent(self.engine, AgentId(name), now).text
        explanations = [explain_call(self.engine, call, now) for call in waiting_call_ids(self.engine)]
        waiting = [e.text for e in explanations if e.data.get("queue") == name]
        if not waiting:
            s = self.engine.queue_statistics(name, now)
            return f"No call is waiting in {name}: {s.offered} offered, {s.answered} answered, {s.abandoned} abandoned."
        return "\n\n".join(waiting[:3])

    def queue_stats(self) -> list[QueueStats]:
        """The live statistics of every queue, as the ACD server publishes them on the bus."""
        now = self.pbx.now
        by_skill: dict[str, tuple[int, int]] = {}
        for seat in self.seats.values():
            if seat.agent_id not in self._logged_on:
                continue
            status = self.engine.agent_status(AgentId(seat.agent_id))
            for skill in seat.skills:
                ready, busy = by_skill.get(skill, (0, 0))
                if status is AgentStatus.READY:
                    ready += 1
                elif status in (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                    busy += 1
                by_skill[skill] = (ready, busy)
        out = []
        for queue, skill in DEMO_QUEUES.items():
            s = self.engine.queue_statistics(queue, now)
            ready, busy = by_skill.get(skill, (0, 0))
            out.append(QueueStats(queue=queue, ts=now, waiting=s.waiting, longest_wait_s=s.longest_waiting_s,
                                  offered=s.offered, answered=s.answered, abandoned=s.abandoned,
                                  service_level=s.service_level, asa_s=s.asa_s, agents_ready=ready,
                                  agents_busy=busy))
        return out
