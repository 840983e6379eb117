"""The ACD engine: sans-I/O, clock passed in.

Feed it events (:mod:`routing.model`: ``CallQueued``, ``AgentLoggedOn``, ``AgentStateRequested``,
``CallAnswered``, ``CallEnded``, ``CallAbandoned``, ``RingTimedOut``, ``Tick``) through
:meth:`AcdEngine.handle`; it returns the decisions to carry out (``OfferCall``, ``CallOverflowed``,
``CallFallback``, ``CallUnroutable``, ``AgentStateSet``, ``StateRepaired``). It never reads a clock:
``Tick(ts)`` fires the timers that are due (wrap-up end, ring-no-answer, relaxation, overflow, max
wait, reconciliation); :meth:`AcdEngine.next_timer` says when the next one is due.

Invariant kept after every event: no READY agent is eligible for a QUEUED call. So an event that
frees an agent offers it at most one call, and an event that adds or widens a call offers it at most
one agent. A call is offered only while QUEUED and an agent only while READY, and both leave those
states in the same step: no call is offered to two agents, no agent gets two calls.

Data structures: waiting calls live in *groups* (queue, relaxation/overflow stage, extra skills), each
a heap ordered by ``priority - aging * t_queued`` then ``t_queued``, which is the order of effective
priority at any time because aging is linear and shared within a group. A freed agent compares the
heads of the groups it is eligible for (eligibility cached per agent). Ready agents are kept per skill
in insertion order, which is longest-idle order.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .errors import EngineError, ScenarioError
from .model import (
    AgentId,
    AgentLoggedOn,
    AgentSelection,
    AgentStateRequested,
    AgentStateSet,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFallback,
    CallId,
    CallOverflowed,
    CallQueued,
    CallStatus,
    CallUnroutable,
    Decision,
    Event,
    FallbackAction,
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
    RingTimedOut,
    StateRepaired,
    Tick,
)

logger = logging.getLogger(__name__)

Requirement = tuple[tuple[str, int], ...]  # (skill, min proficiency) pairs, all needed
GroupKey = tuple[str, bool, bool, Requirement]  # queue, relaxed, overflowed, extra skills


class _Timer(Enum):
    WRAP_END = 1
    RING = 2
    RELAX = 3
    OVERFLOW = 4
    MAX_WAIT = 5


# ---------------------------------------------------------------- internal records (mutable, private)


@dataclass(slots=True, eq=False)
class _Agent:
    agent_id: AgentId
    skills: dict[str, int]
    status: AgentStatus
    since: float
    reason: str | None = None
    call_id: CallId | None = None
    pending: tuple[AgentStatus, str | None] | None = None  # requested while on a call
    durations: dict[AgentStatus, float] = field(default_factory=lambda: dict.fromkeys(AgentStatus, 0.0))
    handled: int = 0
    eligible: dict[GroupKey, bool] = field(default_factory=dict)
    version: int = 0

    def occupancy(self, now: float) -> float:
        d = self.durations
        busy = d[AgentStatus.ON_CALL] + d[AgentStatus.WRAP_UP] + d[AgentStatus.RESERVED]
        total = busy + d[AgentStatus.READY]
        if self.status in (AgentStatus.ON_CALL, AgentStatus.WRAP_UP, AgentStatus.RESERVED):
            busy += now - self.since
            total += now - self.since
        elif self.status is AgentStatus.READY:
            total += now - self.since
        return busy / total if total > 0 else 0.0


@dataclass(slots=True, eq=False)
class _Call:
    call_id: CallId
    queue: str  # statistics queue (the one it arrived at, or the one it was moved to)
    priority: int
    extra: Requirement
    arrived: float  # arrival at its current queue
    queued_at: float  # position in line (kept on ring-no-answer: back at the head)
    data: Mapping[str, Any]
    status: CallStatus = CallStatus.QUEUED
    relaxed: bool = False
    overflowed: bool = False
    group: GroupKey | None = None
    agent_id: AgentId | None = None
    offered_at: float | None = None
    version: int = 0
    waited: bool = False
    epoch: int = 0  # bumped when the call moves to another queue: its old stage timers lapse
    unroutable_reported: bool = False
    offer_explanation: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class _Group:
    key: GroupKey
    alternatives: tuple[Requirement, ...]
    aging_per_s: float
    heap: list[tuple[float, float, int, CallId, int]] = field(default_factory=list)
    live: int = 0


@dataclass(slots=True)
class _Counters:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_in_sl: int = 0
    waited: int = 0
    wait_answered_s: float = 0.0
    overflowed_out: int = 0
    fallback: int = 0
    unroutable: int = 0


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """Statistics of one queue; ``service_level`` = answered within threshold / (answered + abandoned
    after the short-abandon threshold)."""

    queue: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_in_sl: int
    service_level: float | None
    asa_s: float | None
    p_wait: float | None
    waiting: int
    longest_waiting_s: float
    overflowed_out: int
    fallback: int
    unroutable: int

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class PriorityStatistics:
    """Statistics of the calls of one priority in one queue (same definitions as :class:`QueueStatistics`)."""

    queue: str
    priority: int
    offered: int
    answered: int
    abandoned: int
    answered_in_sl: int
    service_level: float | None
    asa_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class AgentStatistics:
    agent_id: AgentId
    status: AgentStatus
    state_durations_s: Mapping[AgentStatus, float]
    occupancy: float
    handled: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    ts: float
    call_id: CallId | None
    agent_id: AgentId | None
    problem: str
    action: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Structured reasons plus a sentence for people."""

    subject: str
    data: Mapping[str, Any]
    text: str


class AcdEngine:
    """Skills-based ACD. Not thread-safe: one owner feeds it events in time order."""

    def __init__(
        self,
        queues: Iterable[QueueConfig],
        *,
        stuck_bound_s: float = 120.0,
        reconcile_every_s: float = 10.0,
    ) -> None:
        self.queues: dict[str, QueueConfig] = {}
        for q in queues:
            if q.name in self.queues:
                raise ScenarioError(f"queues.{q.name}", "queue defined twice")
            self.queues[q.name] = q
        for q in self.queues.values():
            for other in (*q.overflow_to, *((q.fallback_queue,) if q.fallback_queue else ())):
                if other not in self.queues:
                    raise ScenarioError(f"queues.{q.name}", f"names unknown queue {other!r}")
        self.stuck_bound_s = stuck_bound_s
        self.reconcile_every_s = reconcile_every_s
        self._next_reconcile = -float("inf")
        self._agents: dict[AgentId, _Agent] = {}
        self._calls: dict[CallId, _Call] = {}
        self._groups: dict[GroupKey, _Group] = {}
        self._active: dict[GroupKey, _Group] = {}  # groups with live calls
        self._ready: dict[str, dict[AgentId, _Agent]] = {}  # skill -> ready agents, longest idle first
        self._logged_skill_count: dict[tuple[str, int], int] = {}  # (skill, level) -> logged-on agents
        self._routable_cache: dict[Requirement, bool] = {}  # cleared whenever someone logs on or off
        self._offered: dict[CallId, _Call] = {}
        self._timers: list[tuple[float, int, _Timer, str, int]] = []
        self._seq = itertools.count()
        self._totals: dict[str, _Counters] = {name: _Counters() for name in self.queues}
        self._interval: dict[str, _Counters] = {name: _Counters() for name in self.queues}
        self._totals_by_priority: dict[tuple[str, int], _Counters] = {}
        self._interval_by_priority: dict[tuple[str, int], _Counters] = {}
        self._interval_start = 0.0
        self.audit: list[AuditRecord] = []
        self.decision_count = 0
        #: False while the CTI link cannot reach the telephone system: no call is offered (it could not
        #: ring anywhere); calls wait in their queues, and their timers (fallbacks) still run.
        self.link_up = True
        #: Agents whose desktop is gone (:meth:`set_agent_away`): offered nothing, their state kept.
        self._away: set[AgentId] = set()

    # ------------------------------------------------------------ public API

    def handle(self, event: Event) -> list[Decision]:
        """Apply one event; return the decisions to carry out, in order."""
        out: list[Decision] = []
        if isinstance(event, Tick):
            self._tick(event.ts, out)
        elif isinstance(event, CallQueued):
            self._call_queued(event, out)
        elif isinstance(event, AgentLoggedOn):
            self._agent_logged_on(event, out)
        elif isinstance(event, AgentStateRequested):
            self._agent_state_requested(event, out)
        elif isinstance(event, CallAnswered):
            self._call_answered(event.ts, event.call_id, out)
        elif isinstance(event, CallEnded):
            self._call_ended(event.ts, event.call_id, out)
        elif isinstance(event, CallAbandoned):
            self._call_abandoned(event.ts, event.call_id, out)
        elif isinstance(event, RingTimedOut):
            self._ring_no_answer(event.ts, event.call_id, out)
        else:  # pragma: no cover - exhaustive
            raise EngineError(f"unknown event {event!r}")
        self.decision_count += len(out)
        return out

    def set_link_up(self, up: bool, now: float) -> list[Decision]:
        """The CTI link lost (``up`` false) or regained the telephone system. Back up, the ready agents
        (longest idle first) take the calls that waited meanwhile."""
        out: list[Decision] = []
        if up == self.link_up:
            return out
        self.link_up = up
        if up:
            ready = {a.agent_id: a for pool in self._ready.values() for a in pool.values()}
            for agent in sorted(ready.values(), key=lambda a: a.since):
                if agent.status is AgentStatus.READY:
                    self._agent_freed(agent, now, out)
        self.decision_count += len(out)
        return out

    def set_agent_away(self, agent_id: AgentId, away: bool, now: float) -> list[Decision]:
        """The agent's desktop is gone (``away``) or back. Away, the agent is offered no call and an offer
        ringing is taken back (the call keeps its place in line); its state is kept. Back and ready, it
        takes the best waiting call. An agent that logs off is no longer away."""
        out: list[Decision] = []
        agent = self._agents.get(agent_id)
        if away == (agent_id in self._away) or agent is None or agent.status is AgentStatus.LOGGED_OFF:
            return out
        if away:
            self._away.add(agent_id)
            if agent.status is AgentStatus.READY:
                for skill in agent.skills:
                    self._ready.get(skill, {}).pop(agent_id, None)
            elif agent.status is AgentStatus.RESERVED and agent.call_id is not None:
                released = self._calls[agent.call_id]
                self._requeue_at_head(released, now, out, "desktop_gone")
                self._set_agent(agent, AgentStatus.READY, now)
                self._try_call(released, now, out, trigger="requeued: the agent's desktop is gone")
        else:
            self._away.discard(agent_id)
            if agent.status is AgentStatus.READY:
                for skill in agent.skills:
                    pool = self._ready.setdefault(skill, {})
                    pool[agent_id] = agent
                    # pools are in ready order (longest idle first): put it back in its place
                    self._ready[skill] = dict(sorted(pool.items(), key=lambda kv: kv[1].since))
                self._agent_freed(agent, now, out)
        self.decision_count += len(out)
        return out

    def agent_away(self, agent_id: AgentId) -> bool:
        return agent_id in self._away

    def next_timer(self) -> float | None:
        """When the next timer is due (feed ``Tick`` then), or None."""
        while self._timers and not self._timer_valid(self._timers[0]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def agent_status(self, agent_id: AgentId) -> AgentStatus:
        return self._agent(agent_id).status

    def call_status(self, call_id: CallId) -> CallStatus:
        return self._call(call_id).status

    def call_agent(self, call_id: CallId) -> AgentId | None:
        return self._call(call_id).agent_id

    def waiting_calls(self) -> int:
        return sum(g.live for g in self._active.values())

    def forget_call(self, call_id: CallId) -> None:
        """Drop a finished call's record (the simulator does this to keep memory flat)."""
        call = self._calls.get(call_id)
        if call is not None and call.status in (CallStatus.ENDED, CallStatus.ABANDONED, CallStatus.FALLBACK):
            del self._calls[call_id]

    # ------------------------------------------------------------ statistics

    def queue_statistics(self, queue: str, now: float, *, interval: bool = False) -> QueueStatistics:
        if queue not in self.queues:
            raise EngineError(f"unknown queue {queue!r}")
        c = (self._interval if interval else self._totals)[queue]
        waiting = [call for call in self._calls.values() if call.queue == queue and call.status is CallStatus.QUEUED]
        handled = c.answered + c.abandoned - c.short_abandoned
        return QueueStatistics(
            queue=queue,
            offered=c.offered,
            answered=c.answered,
            abandoned=c.abandoned,
            short_abandoned=c.short_abandoned,
            answered_in_sl=c.answered_in_sl,
            service_level=c.answered_in_sl / handled if handled else None,
            asa_s=c.wait_answered_s / c.answered if c.answered else None,
            p_wait=c.waited / (c.answered + c.abandoned) if c.answered + c.abandoned else None,
            waiting=len(waiting),
            longest_waiting_s=max((now - call.arrived for call in waiting), default=0.0),
            overflowed_out=c.overflowed_out,
            fallback=c.fallback,
            unroutable=c.unroutable,
        )

    def priority_statistics(self, queue: str, *, interval: bool = False) -> dict[int, PriorityStatistics]:
        """Statistics of one queue per call priority (the priority the call arrived with), lowest first."""
        if queue not in self.queues:
            raise EngineError(f"unknown queue {queue!r}")
        table = self._interval_by_priority if interval else self._totals_by_priority
        found: dict[int, PriorityStatistics] = {}
        for (name, priority), c in sorted(table.items(), key=lambda item: item[0][1]):
            if name != queue:
                continue
            handled = c.answered + c.abandoned - c.short_abandoned
            found[priority] = PriorityStatistics(
                queue=queue,
                priority=priority,
                offered=c.offered,
                answered=c.answered,
                abandoned=c.abandoned,
                answered_in_sl=c.answered_in_sl,
                service_level=c.answered_in_sl / handled if handled else None,
                asa_s=c.wait_answered_s / c.answered if c.answered else None,
            )
        return found

    def counters(self) -> dict[str, Any]:
        """The day's statistics counters (totals per queue and per queue and priority), as plain data."""
        return {
            "totals": {name: dataclasses.asdict(c) for name, c in self._totals.items()},
            "by_priority": [[name, priority, dataclasses.asdict(c)]
                            for (name, priority), c in self._totals_by_priority.items()],
        }

    def carry_counters(self, counters: Mapping[str, Any]) -> None:
        """Take over the day's counters of a predecessor (:meth:`counters`), for the queues configured here."""
        known = {f.name for f in dataclasses.fields(_Counters)}

        def read(values: Any) -> _Counters:
            return _Counters(**{k: v for k, v in dict(values).items() if k in known})

        for name, values in dict(counters.get("totals") or {}).items():
            if name in self._totals:
                self._totals[name] = read(values)
        for row in counters.get("by_priority") or ():
            name, priority, values = row
            if name in self._totals:
                self._totals_by_priority[(str(name), int(priority))] = read(values)

    def start_interval(self, now: float) -> dict[str, QueueStatistics]:
        """Close the current statistics interval (returned) and start a new one at ``now``."""
        closed = {name: self.queue_statistics(name, now, interval=True) for name in self.queues}
        self._interval = {name: _Counters() for name in self.queues}
        self._interval_by_priority = {}
        self._interval_start = now
        return closed

    def agent_statistics(self, agent_id: AgentId, now: float) -> AgentStatistics:
        agent = self._agent(agent_id)
        durations = dict(agent.durations)
        durations[agent.status] += now - agent.since
        return AgentStatistics(agent.agent_id, agent.status, durations, agent.occupancy(now), agent.handled)

    def agent_ids(self) -> list[AgentId]:
        return list(self._agents)

    def agent_state(self, agent_id: AgentId) -> tuple[AgentStatus, str | None, float]:
        """The agent's status, its not-ready reason and when it entered the status."""
        agent = self._agent(agent_id)
        return agent.status, agent.reason, agent.since

    # ------------------------------------------------------------ live changes (a supervisor's)

    def reconfigure_queue(self, queue: QueueConfig) -> None:
        """Replace a queue's rules at once: its selection rule, overflow and fallback apply to the next
        decision; its service-level target to the statistics; aging to the calls that queue from now on."""
        if queue.name not in self.queues:
            raise EngineError(f"unknown queue {queue.name!r}")
        for name in queue.overflow_to:
            if name not in self.queues:
                raise EngineError(f"queue {queue.name!r} overflows to unknown queue {name!r}")
        self.queues[queue.name] = queue
        self._routable_cache.clear()

    def update_agent_skills(self, agent_id: AgentId, skills: Mapping[str, int], now: float) -> list[Decision]:
        """Change an agent's skills at once (logged on or not); a ready agent is offered what it now can take."""
        for skill, level in skills.items():
            if not 1 <= level <= 10:
                raise EngineError(f"agent {agent_id}: skill {skill!r} proficiency must be 1..10, got {level}")
        agent = self._agents.get(agent_id)
        if agent is None:
            return []
        logged_on = agent.status is not AgentStatus.LOGGED_OFF
        ready = agent.status is AgentStatus.READY
        if logged_on:
            for skill, level in agent.skills.items():
                self._logged_skill_count[(skill, level)] -= 1
        if ready:
            for skill in agent.skills:
                self._ready.get(skill, {}).pop(agent.agent_id, None)
        agent.skills = dict(skills)
        agent.eligible.clear()
        agent.version += 1
        if logged_on:
            for skill, level in agent.skills.items():
                self._logged_skill_count[(skill, level)] = self._logged_skill_count.get((skill, level), 0) + 1
        if ready and agent.agent_id not in self._away:
            for skill in agent.skills:
                self._ready.setdefault(skill, {})[agent.agent_id] = agent
        self._routable_cache.clear()
        out: list[Decision] = []
        if ready:
            self._agent_freed(agent, now, out)
        return out

    # ------------------------------------------------------------ events

    def _call_queued(self, ev: CallQueued, out: list[Decision]) -> None:
        if ev.queue not in self.queues:
            raise EngineError(f"call {ev.call_id}: unknown queue {ev.queue!r}")
        if ev.call_id in self._calls and self._calls[ev.call_id].status in (
            CallStatus.QUEUED,
            CallStatus.OFFERED,
            CallStatus.CONNECTED,
        ):
            raise EngineError(f"call {ev.call_id} is already {self._calls[ev.call_id].status.value}")
        for skill, level in ev.skills.items():
            if not 1 <= level <= 10:
                raise EngineError(f"call {ev.call_id}: skill {skill!r} proficiency must be 1..10, got {level}")
        call = _Call(
            call_id=ev.call_id,
            queue=ev.queue,
            priority=ev.priority + self.queues[ev.queue].priority,
            extra=tuple(sorted(ev.skills.items())),
            arrived=ev.ts,
            queued_at=ev.ts,
            data=ev.data,
        )
        self._calls[ev.call_id] = call
        self._count(ev.queue, "offered", priority=ev.priority)
        self._arm_stage_timers(call, ev.ts)
        self._enqueue(call, ev.ts, out, trigger="call arrived")

    def _agent_logged_on(self, ev: AgentLoggedOn, out: list[Decision]) -> None:
        for skill, level in ev.skills.items():
            if not 1 <= level <= 10:
                raise EngineError(f"agent {ev.agent_id}: skill {skill!r} proficiency must be 1..10, got {level}")
        agent = self._agents.get(ev.agent_id)
        if agent is not None and agent.status is not AgentStatus.LOGGED_OFF:
            raise EngineError(f"agent {ev.agent_id} is already logged on ({agent.status.value})")
        if agent is None:
            agent = _Agent(ev.agent_id, dict(ev.skills), AgentStatus.LOGGED_OFF, ev.ts)
            self._agents[ev.agent_id] = agent
        else:
            agent.skills = dict(ev.skills)
            agent.eligible.clear()
        for skill, level in agent.skills.items():
            self._logged_skill_count[(skill, level)] = self._logged_skill_count.get((skill, level), 0) + 1
        self._routable_cache.clear()
        self._set_agent(agent, AgentStatus.READY if ev.ready else AgentStatus.NOT_READY, ev.ts)
        if ev.ready:
            self._agent_freed(agent, ev.ts, out)

    def _agent_state_requested(self, ev: AgentStateRequested, out: list[Decision]) -> None:
        agent = self._agent(ev.agent_id)
        now = ev.ts
        if ev.state not in (AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.LOGGED_OFF):
            raise EngineError(f"agent {ev.agent_id}: only ready, not ready or logged off can be requested")
        if agent.status is AgentStatus.LOGGED_OFF:
            raise EngineError(f"agent {ev.agent_id} is logged off; log on first")
        if agent.status in (AgentStatus.ON_CALL, AgentStatus.WRAP_UP) and ev.state is not AgentStatus.READY:
            agent.pending = (ev.state, ev.reason)  # applied when the call and wrap-up are over
            return
        if agent.status is AgentStatus.WRAP_UP and ev.state is AgentStatus.READY:
            agent.version += 1  # wrap-up ended early by the agent
        if agent.status is AgentStatus.ON_CALL:
            agent.pending = None
            return
        if agent.status is AgentStatus.READY and ev.state is AgentStatus.READY:
            return
        released: _Call | None = None
        if agent.status is AgentStatus.RESERVED and agent.call_id is not None:
            if ev.state is AgentStatus.READY:
                return
            released = self._calls[agent.call_id]
            self._requeue_at_head(released, now, out, f"agent asked for {ev.state.value}")
        if ev.state is AgentStatus.LOGGED_OFF:
            for skill, level in agent.skills.items():
                self._logged_skill_count[(skill, level)] -= 1
            self._routable_cache.clear()
        self._set_agent(agent, ev.state, now, ev.reason)
        if released is not None:
            self._try_call(released, now, out, trigger="requeued: the reserved agent left")
        if ev.state is AgentStatus.READY:
            self._agent_freed(agent, now, out)
        elif ev.state is AgentStatus.LOGGED_OFF:
            self._report_unroutable_waiting(now, out)

    def _call_answered(self, now: float, call_id: CallId, out: list[Decision]) -> None:
        call = self._call(call_id)
        if call.status is not CallStatus.OFFERED or call.agent_id is None:
            raise EngineError(f"call {call_id} was answered but is {call.status.value}, not offered")
        agent = self._agents[call.agent_id]
        call.status = CallStatus.CONNECTED
        call.version += 1
        self._offered.pop(call_id, None)
        self._set_agent(agent, AgentStatus.ON_CALL, now)
        wait = now - call.arrived
        q = self.queues[call.queue]
        p = call.priority
        self._count(call.queue, "answered", priority=p)
        self._count(call.queue, "wait_answered_s", wait, priority=p)
        if wait <= q.sl_seconds:
            self._count(call.queue, "answered_in_sl", priority=p)
        if call.waited:
            self._count(call.queue, "waited", priority=p)

    def _call_ended(self, now: float, call_id: CallId, out: list[Decision]) -> None:
        call = self._call(call_id)
        if call.status in (CallStatus.QUEUED, CallStatus.OFFERED):
            self._call_abandoned(now, call_id, out)
            return
        if call.status is not CallStatus.CONNECTED or call.agent_id is None:
            return  # already over: a duplicate end is harmless
        call.status = CallStatus.ENDED
        agent = self._agents[call.agent_id]
        agent.handled += 1
        agent.call_id = None
        wrap = self.queues[call.queue].wrap_up_s
        if wrap > 0:
            self._set_agent(agent, AgentStatus.WRAP_UP, now)
            self._push_timer(now + wrap, _Timer.WRAP_END, agent.agent_id, agent.version)
        else:
            self._after_call(agent, now, out)

    def _after_call(self, agent: _Agent, now: float, out: list[Decision]) -> None:
        if agent.pending is not None:
            state, reason = agent.pending
            agent.pending = None
            if state is AgentStatus.LOGGED_OFF:
                for skill, level in agent.skills.items():
                    self._logged_skill_count[(skill, level)] -= 1
                self._routable_cache.clear()
            self._set_agent(agent, state, now, reason)
            out.append(AgentStateSet(now, agent.agent_id, state, reason))
            if state is AgentStatus.LOGGED_OFF:
                self._report_unroutable_waiting(now, out)
            return
        self._set_agent(agent, AgentStatus.READY, now)
        self._agent_freed(agent, now, out)

    def _call_abandoned(self, now: float, call_id: CallId, out: list[Decision]) -> None:
        call = self._call(call_id)
        if call.status not in (CallStatus.QUEUED, CallStatus.OFFERED):
            if call.status is CallStatus.CONNECTED:
                self._call_ended(now, call_id, out)
            return
        if call.status is CallStatus.OFFERED and call.agent_id is not None:
            agent = self._agents[call.agent_id]
            agent.call_id = None
            self._offered.pop(call_id, None)
            self._set_agent(agent, AgentStatus.READY, now)
            call.status = CallStatus.ABANDONED
            self._agent_freed(agent, now, out)
        else:
            self._dequeue(call)
        call.status = CallStatus.ABANDONED
        call.version += 1
        self._count(call.queue, "abandoned", priority=call.priority)
        if now - call.arrived < self.queues[call.queue].short_abandon_s:
            self._count(call.queue, "short_abandoned", priority=call.priority)
        self._count(call.queue, "waited", priority=call.priority)

    def _ring_no_answer(self, now: float, call_id: CallId, out: list[Decision]) -> None:
        call = self._call(call_id)
        if call.status is not CallStatus.OFFERED or call.agent_id is None:
            return  # answered or gone meanwhile
        agent = self._agents[call.agent_id]
        self._requeue_at_head(call, now, out, "ring_no_answer")
        self._set_agent(agent, AgentStatus.NOT_READY, now, "ring_no_answer")
        out.append(AgentStateSet(now, agent.agent_id, AgentStatus.NOT_READY, "ring_no_answer"))
        self._try_call(call, now, out, trigger="requeued after ring-no-answer")

    def _requeue_at_head(self, call: _Call, now: float, out: list[Decision], reason: str) -> None:
        """Take the offer back; the call keeps its original place in line."""
        agent = self._agents[call.agent_id] if call.agent_id else None
        if agent is not None:
            agent.call_id = None
            out.append(OfferWithdrawn(now, call.call_id, agent.agent_id, reason))
        self._offered.pop(call.call_id, None)
        call.agent_id = None
        call.offered_at = None
        call.status = CallStatus.QUEUED
        call.version += 1
        call.waited = True
        self._add_to_group(call)

    # ------------------------------------------------------------ timers

    def _push_timer(self, at: float, kind: _Timer, ident: str, version: int) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), kind, ident, version))

    def _timer_valid(self, timer: tuple[float, int, _Timer, str, int]) -> bool:
        _, _, kind, ident, version = timer
        if kind is _Timer.WRAP_END:
            agent = self._agents.get(AgentId(ident))
            return agent is not None and agent.version == version and agent.status is AgentStatus.WRAP_UP
        call = self._calls.get(CallId(ident))
        if call is None:
            return False
        if kind is _Timer.RING:
            return call.status is CallStatus.OFFERED and call.version == version
        return call.status in (CallStatus.QUEUED, CallStatus.OFFERED) and call.epoch == version

    def _arm_stage_timers(self, call: _Call, now: float) -> None:
        q = self.queues[call.queue]
        stamp = call.epoch
        if q.relax_after_s is not None:
            self._push_timer(now + q.relax_after_s, _Timer.RELAX, call.call_id, stamp)
        if q.overflow_after_s is not None:
            self._push_timer(now + q.overflow_after_s, _Timer.OVERFLOW, call.call_id, stamp)
        if q.max_wait_s is not None:
            self._push_timer(now + q.max_wait_s, _Timer.MAX_WAIT, call.call_id, stamp)

    def _tick(self, now: float, out: list[Decision]) -> None:
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)
            if not self._timer_valid(timer):
                continue
            at, _, kind, ident, _ = timer
            if kind is _Timer.WRAP_END:
                self._after_call(self._agents[AgentId(ident)], at, out)
                continue
            call = self._calls[CallId(ident)]
            if kind is _Timer.RING:
                self._ring_no_answer(at, call.call_id, out)
            elif kind is _Timer.RELAX:
                self._widen(call, at, out, relaxed=True)
            elif kind is _Timer.OVERFLOW:
                self._widen(call, at, out, overflowed=True)
            elif kind is _Timer.MAX_WAIT and call.status is CallStatus.QUEUED:
                self._fallback(call, at, out, f"waited {at - call.arrived:.0f} s, the maximum")
        if now >= self._next_reconcile:
            self._next_reconcile = now + self.reconcile_every_s
            self.reconcile(now, out)

    def _widen(
        self, call: _Call, now: float, out: list[Decision], *, relaxed: bool = False, overflowed: bool = False
    ) -> None:
        if relaxed:
            call.relaxed = True
        if overflowed and not call.overflowed:
            call.overflowed = True
            for target in self.queues[call.queue].overflow_to:
                out.append(CallOverflowed(now, call.call_id, call.queue, target, "overflow time reached"))
        if call.status is CallStatus.QUEUED:
            self._dequeue(call)
            self._add_to_group(call)
            self._try_call(call, now, out, trigger="requirements widened")

    def _fallback(self, call: _Call, now: float, out: list[Decision], reason: str) -> None:
        q = self.queues[call.queue]
        if q.fallback is None:
            return
        self._dequeue(call)
        self._count(call.queue, "fallback", priority=call.priority)
        if q.fallback is FallbackAction.OVERFLOW_QUEUE and q.fallback_queue:
            target = q.fallback_queue
            self._count(call.queue, "overflowed_out", priority=call.priority)
            out.append(CallOverflowed(now, call.call_id, call.queue, target, reason, moved=True))
            call.queue = target
            call.arrived = now
            call.queued_at = now
            call.relaxed = call.overflowed = False
            call.version += 1
            call.epoch += 1
            self._count(target, "offered", priority=call.priority)
            self._arm_stage_timers(call, now)
            self._enqueue(call, now, out, trigger="moved from fallback")
            return
        call.status = CallStatus.FALLBACK
        call.version += 1
        out.append(CallFallback(now, call.call_id, call.queue, q.fallback, reason))

    # ------------------------------------------------------------ reconciliation

    def reconcile(self, now: float, out: list[Decision] | None = None) -> list[Decision]:
        """Repair calls and agents stuck in reserved/ringing longer than ``stuck_bound_s``."""
        out = [] if out is None else out
        for call in list(self._offered.values()):
            if call.offered_at is not None and now - call.offered_at > self.stuck_bound_s:
                agent_id = call.agent_id
                problem = f"call offered and unanswered for {now - call.offered_at:.0f} s"
                self._requeue_at_head(call, now, out, "stuck_reservation")
                self._audit(now, call.call_id, agent_id, problem, "call requeued at head; agent set not ready", out)
                if agent_id is not None:
                    self._set_agent(self._agents[agent_id], AgentStatus.NOT_READY, now, "stuck_reservation")
                    out.append(AgentStateSet(now, agent_id, AgentStatus.NOT_READY, "stuck_reservation"))
                self._try_call(call, now, out, trigger="requeued by reconciliation")
        for agent in self._agents.values():
            if agent.status is not AgentStatus.RESERVED or now - agent.since <= self.stuck_bound_s:
                continue
            held = self._calls.get(agent.call_id) if agent.call_id else None
            if held is None or held.status is not CallStatus.OFFERED or held.agent_id != agent.agent_id:
                self._audit(
                    now, agent.call_id, agent.agent_id, "agent reserved without an offered call", "agent set ready", out
                )
                agent.call_id = None
                self._set_agent(agent, AgentStatus.READY, now)
                out.append(AgentStateSet(now, agent.agent_id, AgentStatus.READY, "reconciled"))
                self._agent_freed(agent, now, out)
        return out

    def _audit(
        self,
        now: float,
        call_id: CallId | None,
        agent_id: AgentId | None,
        problem: str,
        action: str,
        out: list[Decision],
    ) -> None:
        self.audit.append(AuditRecord(now, call_id, agent_id, problem, action))
        logger.warning("reconciliation: %s (call %s, agent %s): %s", problem, call_id, agent_id, action)
        out.append(StateRepaired(now, call_id, agent_id, problem, action))

    # ------------------------------------------------------------ matching

    def _group_for(self, call: _Call) -> _Group:
        key: GroupKey = (call.queue, call.relaxed, call.overflowed, () if call.relaxed else call.extra)
        group = self._groups.get(key)
        if group is None:
            q = self.queues[call.queue]
            level = q.relaxed_min_proficiency if call.relaxed else q.min_proficiency
            base = {q.skill: level}
            for skill, lvl in key[3]:
                base[skill] = max(base.get(skill, 0), lvl)
            alternatives: list[Requirement] = [tuple(sorted(base.items()))]
            if call.overflowed:
                for name in q.overflow_to:
                    oq = self.queues[name]
                    alternatives.append(((oq.skill, oq.min_proficiency),))
            group = _Group(key, tuple(alternatives), q.aging_per_minute / 60.0)
            self._groups[key] = group
        return group

    def _enqueue(self, call: _Call, now: float, out: list[Decision], trigger: str) -> None:
        self._add_to_group(call)
        if not self._try_call(call, now, out, trigger):
            call.waited = True
            self._check_routable(call, now, out)

    def _add_to_group(self, call: _Call) -> None:
        group = self._group_for(call)
        call.group = group.key
        heapq.heappush(
            group.heap,
            (
                -(call.priority - group.aging_per_s * call.queued_at),
                call.queued_at,
                next(self._seq),
                call.call_id,
                call.version,
            ),
        )
        group.live += 1
        self._active[group.key] = group

    def _dequeue(self, call: _Call) -> None:
        if call.group is None:
            return
        group = self._groups[call.group]
        call.group = None
        call.version += 1  # its heap entry is now stale
        group.live -= 1
        if group.live == 0:
            self._active.pop(group.key, None)
            group.heap.clear()

    def _eligible(self, agent: _Agent, group: _Group) -> bool:
        cached = agent.eligible.get(group.key)
        if cached is None:
            skills = agent.skills
            cached = any(all(skills.get(s, 0) >= lvl for s, lvl in alt) for alt in group.alternatives)
            agent.eligible[group.key] = cached
        return cached

    def _try_call(self, call: _Call, now: float, out: list[Decision], trigger: str) -> bool:
        """Offer a QUEUED call to the best ready eligible agent, if any."""
        group = self._groups[call.group] if call.group else None
        if group is None or call.status is not CallStatus.QUEUED or not self.link_up:
            return False
        rule = self.queues[call.queue].agent_selection
        best: _Agent | None = None
        best_key: tuple[float, float] | None = None
        considered = 0
        runner_up: tuple[AgentId, tuple[float, float]] | None = None
        for alt in group.alternatives:
            pools = [self._ready.get(s) for s, _ in alt]
            if any(not p for p in pools):
                continue
            pool = min(pools, key=len)  # type: ignore[arg-type]
            assert pool is not None
            for agent in pool.values():
                skills = agent.skills
                if not all(skills.get(s, 0) >= lvl for s, lvl in alt):
                    continue
                considered += 1
                if rule is AgentSelection.LONGEST_IDLE:
                    key = (agent.since, 0.0)
                elif rule is AgentSelection.MOST_SKILLED:
                    key = (-float(sum(skills[s] for s, _ in alt)), agent.since)
                else:
                    key = (agent.occupancy(now), agent.since)
                if best_key is None or key < best_key:
                    if best is not None and best_key is not None:
                        runner_up = (best.agent_id, best_key)
                    best, best_key = agent, key
                elif runner_up is None or key < runner_up[1]:
                    runner_up = (agent.agent_id, key)
                if rule is AgentSelection.LONGEST_IDLE:
                    break  # pools are in ready order: the first eligible is the longest idle
        if best is None:
            return False
        self._offer(
            call,
            best,
            now,
            out,
            {
                "trigger": trigger,
                "rule": rule.value,
                "agents_considered": considered,
                "agent_key": best_key,
                "runner_up": runner_up[0] if runner_up else None,
                "runner_up_key": runner_up[1] if runner_up else None,
            },
        )
        return True

    def _agent_freed(self, agent: _Agent, now: float, out: list[Decision]) -> None:
        """A READY agent takes the best waiting call it is eligible for, if any."""
        if not self.link_up or agent.agent_id in self._away:
            return
        best_group: _Group | None = None
        best_rank: tuple[float, float] | None = None
        candidates = 0
        for group in list(self._active.values()):
            if not self._eligible(agent, group):
                continue
            heap = group.heap
            while heap:
                _, queued_at, _, call_id, version = heap[0]
                call = self._calls.get(call_id)
                if call is not None and call.version == version and call.status is CallStatus.QUEUED:
                    break
                heapq.heappop(heap)
            if not heap:
                continue
            candidates += group.live
            neg_base, queued_at, *_ = heap[0]
            rank = (neg_base - group.aging_per_s * now, queued_at)  # -(effective priority), then oldest
            if best_rank is None or rank < best_rank:
                best_group, best_rank = group, rank
        if best_group is None or best_rank is None:
            return
        call = self._calls[best_group.heap[0][3]]
        self._offer(
            call,
            agent,
            now,
            out,
            {
                "trigger": "agent became ready",
                "rule": "highest effective priority, then longest waiting",
                "effective_priority": -best_rank[0],
                "calls_eligible": candidates,
            },
        )

    def _offer(self, call: _Call, agent: _Agent, now: float, out: list[Decision], why: dict[str, Any]) -> None:
        assert call.status is CallStatus.QUEUED and agent.status is AgentStatus.READY
        self._dequeue(call)
        call.status = CallStatus.OFFERED
        call.agent_id = agent.agent_id
        call.offered_at = now
        call.version += 1
        agent.call_id = call.call_id
        why.update(
            agent_id=agent.agent_id,
            call_priority=call.priority,
            waited_s=now - call.arrived,
            agent_idle_s=now - agent.since,
        )
        self._set_agent(agent, AgentStatus.RESERVED, now)
        self._offered[call.call_id] = call
        call.offer_explanation = why
        timeout = self.queues[call.queue].ring_timeout_s
        if timeout is not None:
            self._push_timer(now + timeout, _Timer.RING, call.call_id, call.version)
        out.append(OfferCall(now, call.call_id, agent.agent_id, call.queue))

    def _check_routable(self, call: _Call, now: float, out: list[Decision]) -> None:
        """Report a call that no logged-on agent could ever take, and overflow or fall back.

        The requirement checked is the loosest the call will ever have: after relaxation (when the queue
        relaxes) only the queue's skill at the relaxed level, otherwise the queue's skill and every
        extra skill of the call, all held by one agent.
        """
        requirement = self._loosest_requirement(call)
        if not self._someone_logged_on(requirement):
            self._unroutable(call, now, out, requirement)

    def _loosest_requirement(self, call: _Call) -> Requirement:
        q = self.queues[call.queue]
        if q.relax_after_s is not None:
            return ((q.skill, min(q.relaxed_min_proficiency, q.min_proficiency)),)
        needed = {q.skill: q.min_proficiency}
        for skill, level in call.extra:
            needed[skill] = max(needed.get(skill, 0), level)
        return tuple(sorted(needed.items()))

    def _someone_logged_on(self, alt: Requirement) -> bool:
        """Whether one logged-on agent holds every skill of ``alt`` at its level or better."""
        counts = self._logged_skill_count
        for skill, level in alt:  # necessary: each skill on its own (cheap, from the counts)
            if not any(counts.get((skill, lv), 0) > 0 for lv in range(level, 11)):
                return False
        if len(alt) == 1:
            return True
        cached = self._routable_cache.get(alt)
        if cached is None:
            cached = any(
                agent.status is not AgentStatus.LOGGED_OFF and all(agent.skills.get(s, 0) >= lv for s, lv in alt)
                for agent in self._agents.values()
            )
            self._routable_cache[alt] = cached
        return cached

    def _unroutable(self, call: _Call, now: float, out: list[Decision], requirement: Requirement) -> None:
        q = self.queues[call.queue]
        if not call.unroutable_reported:
            call.unroutable_reported = True
            self._count(call.queue, "unroutable", priority=call.priority)
            if len(requirement) == 1:
                skill, level = requirement[0]
                reason = f"no logged-on agent has skill {skill!r} at {level} or better"
            else:
                reason = f"no logged-on agent has all of {_requirement_text(requirement)}"
            logger.info("call %s in queue %s is unroutable: %s", call.call_id, call.queue, reason)
            out.append(CallUnroutable(now, call.call_id, call.queue, reason))
        if q.overflow_to and not call.overflowed:
            self._widen(call, now, out, overflowed=True)
        elif q.fallback is not None:
            self._fallback(call, now, out, "no agent can take the call")

    def _report_unroutable_waiting(self, now: float, out: list[Decision]) -> None:
        for group in list(self._active.values()):
            for entry in list(group.heap):
                call = self._calls.get(entry[3])
                if call is not None and call.version == entry[4] and call.status is CallStatus.QUEUED:
                    self._check_routable(call, now, out)

    # ------------------------------------------------------------ bookkeeping

    def _set_agent(self, agent: _Agent, status: AgentStatus, now: float, reason: str | None = None) -> None:
        agent.durations[agent.status] += now - agent.since
        if agent.status is AgentStatus.READY and status is not AgentStatus.READY:
            for skill in agent.skills:
                self._ready.get(skill, {}).pop(agent.agent_id, None)
        elif status is AgentStatus.READY and agent.status is not AgentStatus.READY and agent.agent_id not in self._away:
            for skill in agent.skills:
                self._ready.setdefault(skill, {})[agent.agent_id] = agent
        if status is AgentStatus.LOGGED_OFF:
            self._away.discard(agent.agent_id)
        agent.status = status
        agent.since = now
        agent.reason = reason
        agent.version += 1

    def _count(self, queue: str, name: str, amount: float = 1, *, priority: int | None = None) -> None:
        for counters in (self._totals[queue], self._interval[queue]):
            setattr(counters, name, getattr(counters, name) + amount)
        if priority is not None:
            key = (queue, priority)
            for table in (self._totals_by_priority, self._interval_by_priority):
                found = table.get(key)
                if found is None:
                    found = table[key] = _Counters()
                setattr(found, name, getattr(found, name) + amount)

    def _agent(self, agent_id: AgentId) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise EngineError(f"unknown agent {agent_id!r}")
        return agent

    def _call(self, call_id: CallId) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            raise EngineError(f"unknown call {call_id!r}")
        return call


def _requirement_text(alt: Requirement) -> str:
    return " and ".join(f"{skill}>={level}" for skill, level in alt)


class _Explainer:
    """Explanations need only read access; kept apart from the hot path."""

    def __init__(self, engine: AcdEngine) -> None:
        self.e = engine

    def call(self, call_id: CallId, now: float) -> Explanation:
        e = self.e
        call = e._call(call_id)
        q = e.queues[call.queue]
        data: dict[str, Any] = {
            "call_id": call.call_id,
            "queue": call.queue,
            "status": call.status.value,
            "priority": call.priority,
            "waited_s": now - call.arrived,
        }
        if call.status is CallStatus.QUEUED and call.group is not None:
            group = e._groups[call.group]
            effective = call.priority + group.aging_per_s * (now - call.queued_at)
            agents = [a for a in e._agents.values() if a.status is not AgentStatus.LOGGED_OFF]
            eligible = [a for a in agents if e._eligible(a, group)]
            by_state: dict[str, int] = {}
            for a in eligible:
                by_state[a.status.value] = by_state.get(a.status.value, 0) + 1
            ahead = 0
            for g in e._active.values():
                for neg_base, queued_at, _, other_id, version in g.heap:
                    other = e._calls.get(other_id)
                    if other is None or other.version != version or other.status is not CallStatus.QUEUED:
                        continue
                    other_eff = -neg_base + g.aging_per_s * now
                    if (
                        other_id != call_id
                        and (other_eff, -queued_at) > (effective, -call.queued_at)
                        and any(e._eligible(a, g) for a in eligible)
                    ):
                        ahead += 1
            next_steps = []
            for label, after in (
                ("relax", q.relax_after_s),
                ("overflow", q.overflow_after_s),
                ("fallback", q.max_wait_s),
            ):
                if after is not None and now - call.arrived < after:
                    next_steps.append({"step": label, "in_s": after - (now - call.arrived)})
            data.update(
                effective_priority=effective,
                requirements=[dict(alt) for alt in group.alternatives],
                eligible_agents=by_state,
                calls_ahead=ahead,
                next_steps=next_steps,
            )
            needs = " or ".join(_requirement_text(alt) for alt in group.alternatives)
            if not eligible:
                text = f"Call {call_id} waits: no logged-on agent has {needs}."
            else:
                busy = ", ".join(f"{n} {state}" for state, n in sorted(by_state.items()))
                text = (
                    f"Call {call_id} waits in {call.queue} for {now - call.arrived:.0f} s: it needs {needs}; "
                    f"the {len(eligible)} eligible agents are {busy}; {ahead} eligible calls are ahead of it "
                    f"(effective priority {effective:.1f})."
                )
            if next_steps:
                text += " Next: " + ", ".join(f"{s['step']} in {s['in_s']:.0f} s" for s in next_steps) + "."
        elif call.offer_explanation is not None and call.status in (
            CallStatus.OFFERED,
            CallStatus.CONNECTED,
            CallStatus.ENDED,
        ):
            why = call.offer_explanation
            data.update(agent_id=call.agent_id, offer=why)
            if why["trigger"] == "agent became ready":
                text = (
                    f"Call {call_id} went to agent {why['agent_id']} when that agent became ready: it had the "
                    f"highest effective priority ({why['effective_priority']:.1f}) and then the longest wait "
                    f"({why['waited_s']:.0f} s) among {why['calls_eligible']} calls the agent could take."
                )
            else:
                runner = f"; runner-up {why['runner_up']}" if why.get("runner_up") else ""
                text = (
                    f"Call {call_id} went to agent {why['agent_id']} ({why['trigger']}): rule {why['rule']} "
                    f"among {why['agents_considered']} ready eligible agents; the agent had been idle "
                    f"{why['agent_idle_s']:.0f} s{runner}."
                )
        else:
            text = f"Call {call_id} is {call.status.value}."
        return Explanation(f"call {call_id}", data, text)

    def agent(self, agent_id: AgentId, now: float) -> Explanation:
        e = self.e
        agent = e._agent(agent_id)
        data: dict[str, Any] = {
            "agent_id": agent.agent_id,
            "status": agent.status.value,
            "reason": agent.reason,
            "in_state_s": now - agent.since,
            "skills": dict(agent.skills),
            "call_id": agent.call_id,
        }
        if agent.status is AgentStatus.READY:
            waiting: list[dict[str, Any]] = []
            for group in e._active.values():
                ok = e._eligible(agent, group)
                missing = (
                    []
                    if ok
                    else [
                        {"skill": s, "needed": lvl, "has": agent.skills.get(s, 0)}
                        for alt in group.alternatives
                        for s, lvl in alt
                        if agent.skills.get(s, 0) < lvl
                    ]
                )
                waiting.append({"queue": group.key[0], "calls": group.live, "eligible": ok, "missing": missing})
            data["waiting_groups"] = waiting
            if not waiting:
                text = f"Agent {agent_id} is idle because no call is waiting."
            elif any(w["eligible"] for w in waiting):
                text = f"Agent {agent_id} is ready and eligible for waiting calls; the next event will offer one."
            else:
                parts = "; ".join(
                    f"{w['queue']} ({w['calls']} waiting) needs "
                    + ", ".join(f"{m['skill']}>={m['needed']} (has {m['has']})" for m in w["missing"])
                    for w in waiting
                )
                text = f"Agent {agent_id} is idle while calls wait because it lacks the skills: {parts}."
        elif agent.status is AgentStatus.NOT_READY:
            text = f"Agent {agent_id} is not ready ({agent.reason or 'no reason given'}) for {now - agent.since:.0f} s."
        elif agent.call_id is not None:
            text = f"Agent {agent_id} is {agent.status.value} with call {agent.call_id}."
        else:
            text = f"Agent {agent_id} is {agent.status.value} for {now - agent.since:.0f} s."
        return Explanation(f"agent {agent_id}", data, text)


def explain_call(engine: AcdEngine, call_id: CallId, now: float) -> Explanation:
    """Why a call waits, or why it went to its agent."""
    return _Explainer(engine).call(call_id, now)


def explain_agent(engine: AcdEngine, agent_id: AgentId, now: float) -> Explanation:
    """Why an agent is idle while calls wait, or what it is doing."""
    return _Explainer(engine).agent(agent_id, now)


def waiting_call_ids(engine: AcdEngine, limit: int | None = None) -> list[CallId]:
    """Queued calls, longest waiting first (for explanations and supervisor views)."""
    waiting = [c for c in engine._calls.values() if c.status is CallStatus.QUEUED]
    waiting.sort(key=lambda c: c.arrived)
    return [c.call_id for c in waiting[:limit]]
