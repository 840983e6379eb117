"""Discrete-event simulation: the real :class:`~routing.engine.AcdEngine` in simulated time.

Callers arrive (Poisson, piecewise-constant hourly rates), wait with their patience, are answered the
moment the engine offers them to an agent, and hang up after their handle time; the engine's timers
(wrap-up, relaxation, overflow, maximum wait) fire through ``Tick`` events at their due times. All
randomness comes from one ``random.Random(seed)``: the same scenario and seed give the same figures.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .dialer import DialMode, Pacer
from .engine import AcdEngine, QueueStatistics
from .model import (
    AgentId,
    AgentLoggedOn,
    AgentStatus,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFallback,
    CallId,
    CallQueued,
    CallStatus,
    Decision,
    OfferCall,
    Tick,
)
from .scenario import Distribution, Scenario

logger = logging.getLogger(__name__)

_ARRIVAL, _ABANDON, _END, _DIAL_OUTCOME, _OUT_ABANDON = 0, 1, 2, 3, 4


@dataclass(slots=True)
class CampaignResult:
    """An outbound campaign's figures (after the warm-up)."""

    dial_mode: str
    agents: int
    hours: float
    attempts: int = 0
    connects: int = 0  # a person answered and an agent took the call
    abandoned: int = 0  # a person answered and no agent took the call within abandon_after_s
    answering_machine: int = 0
    no_answer: int = 0
    list_remaining: int = 0
    abandon_target: float | None = None  # the campaign's cap, printed beside its abandonment

    def to_dict(self) -> dict[str, Any]:
        answered = self.connects + self.abandoned
        agent_hours = self.agents * self.hours
        return {
            "dial_mode": self.dial_mode,
            "attempts": self.attempts,
            "connects": self.connects,
            "abandoned": self.abandoned,
            "abandon_rate": self.abandoned / answered if answered else 0.0,
            "answering_machine": self.answering_machine,
            "no_answer": self.no_answer,
            "contacts_per_agent_hour": self.connects / agent_hours if agent_hours else 0.0,
            "list_remaining": self.list_remaining,
            "abandon_target": self.abandon_target,
        }


@dataclass(frozen=True, slots=True)
class SimulationResult:
    seed: int
    duration_hours: float
    queues: dict[str, QueueStatistics]
    occupancy: float
    agents: int
    simulated_calls: int
    batches: list[dict[str, QueueStatistics]] = field(default_factory=list)
    decisions: int = 0
    per_agent: dict[str, tuple[int, float]] = field(default_factory=dict)  # agent -> (handled, occupancy)
    campaigns: dict[str, CampaignResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        queues: dict[str, Any] = {}
        for name, s in self.queues.items():
            finished = s.answered + s.abandoned
            queues[name] = {
                "offered": s.offered,
                "answered": s.answered,
                "abandoned": s.abandoned,
                "short_abandoned": s.short_abandoned,
                "service_level": s.service_level,
                "asa_s": s.asa_s,
                "p_wait": s.p_wait,
                "abandon_rate": s.abandoned / finished if finished else None,
                "overflowed_out": s.overflowed_out,
                "fallback": s.fallback,
                "waiting_at_end": s.waiting,
            }
        body = {
            "seed": self.seed,
            "duration_hours": self.duration_hours,
            "simulated_calls": self.simulated_calls,
            "queues": queues,
            "agents": {"count": self.agents, "occupancy": self.occupancy},
        }
        if self.campaigns:
            body["campaigns"] = {name: c.to_dict() for name, c in self.campaigns.items()}
        return body


def _sampler(dist: Distribution, rng: random.Random) -> Callable[[], float]:
    if dist.kind == "constant":
        return lambda: dist.mean_s
    if dist.kind == "exponential":
        rate = 1.0 / dist.mean_s
        return lambda: rng.expovariate(rate)
    # lognormal with the given mean and standard deviation
    sigma2 = math.log(1 + (dist.sd_s / dist.mean_s) ** 2)
    mu = math.log(dist.mean_s) - sigma2 / 2
    sigma = math.sqrt(sigma2)
    return lambda: rng.lognormvariate(mu, sigma)


def simulate(
    scenario: Scenario,
    seed: int = 1,
    *,
    batches: int = 0,
    until_s: float | None = None,
    on_stop: Callable[[AcdEngine, float], None] | None = None,
    keep_calls: bool = False,
) -> SimulationResult:
    """Run the scenario; with ``batches`` > 0 also return per-batch statistics after the warm-up.

    ``until_s`` stops early; ``on_stop(engine, now)`` then sees the engine as it was at that moment
    (``ccenter acd explain`` uses this to explain a live state); ``keep_calls`` keeps finished
    calls' records so that they can be explained too.
    """
    forget = (lambda call_id: None) if keep_calls else None
    rng = random.Random(seed)
    engine = AcdEngine([q.config for q in scenario.queues], reconcile_every_s=3600.0)
    forget_call = forget or engine.forget_call
    horizon = scenario.duration_hours * 3600.0
    if until_s is not None:
        horizon = min(horizon, until_s)
    warmup = scenario.warmup_hours * 3600.0
    events: list[tuple[float, int, int, Any]] = []
    seq = 0

    def push(at: float, kind: int, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, payload))

    handle = {q.config.name: _sampler(q.handle_time, rng) for q in scenario.queues}
    patience = {q.config.name: _sampler(q.patience, rng) if q.patience else None for q in scenario.queues}
    profiles = {q.config.name: q for q in scenario.queues}

    def next_arrival(queue: str, now: float) -> float | None:
        rates = profiles[queue].arrivals_per_hour
        t = now
        while t < horizon:
            hour = int(t // 3600)
            rate = rates[hour % len(rates)] / 3600.0
            hour_end = (hour + 1) * 3600.0
            if rate > 0:
                candidate = t + rng.expovariate(rate)
                if candidate < hour_end:
                    return candidate
            t = hour_end  # memoryless: restart at the next rate's boundary
        return None

    agent_count = 0
    for group in scenario.agents:
        for i in range(group.count):
            agent_count += 1
            engine.handle(AgentLoggedOn(ts=0.0, agent_id=AgentId(f"{group.name}-{i + 1}"), skills=group.skills))
    for q in scenario.queues:
        first = next_arrival(q.config.name, 0.0)
        if first is not None:
            push(first, _ARRIVAL, q.config.name)

    # Outbound campaigns: the real Pacer, fed with the ready agents of the campaign's queue.
    configs = {q.config.name: q.config for q in scenario.queues}
    queue_handle = {q.config.name: q.handle_time for q in scenario.queues}
    pacers = {
        c.name: Pacer(DialMode(c.dial_mode), c.abandon_target, ring_s=c.ring_time_s,
                      handle_s=(c.handle_time or queue_handle[c.queue]).mean_s)
        for c in scenario.campaigns
    }
    campaign_agents: dict[str, list[AgentId]] = {}
    for c in scenario.campaigns:
        config = configs[c.queue]
        campaign_agents[c.name] = [
            AgentId(f"{group.name}-{i + 1}")
            for group in scenario.agents
            if group.skills.get(config.skill, 0) >= config.min_proficiency
            for i in range(group.count)
        ]
    measured_hours = (horizon - warmup) / 3600.0
    outbound = {
        c.name: CampaignResult(c.dial_mode, len(campaign_agents[c.name]), measured_hours, list_remaining=c.list_size,
                               abandon_target=c.abandon_target)
        for c in scenario.campaigns
    }
    out_handle = {
        c.name: _sampler(c.handle_time, rng) if c.handle_time else handle[c.queue] for c in scenario.campaigns
    }
    campaign_of: dict[CallId, str] = {}  # outbound calls answered by a person, waiting for an agent
    talking: dict[CallId, tuple[str, float]] = {}  # outbound calls with an agent: campaign, answered at
    busy_since: dict[AgentId, float] = {}  # when each agent's last call was answered
    dials = connected = 0

    def pace(now: float) -> None:
        nonlocal dials
        for c in scenario.campaigns:
            result = outbound[c.name]
            if result.list_remaining <= 0:
                continue
            statuses = [engine.agent_status(a) for a in campaign_agents[c.name]]
            ready = sum(1 for s in statuses if s is AgentStatus.READY)
            busy_for = [
                now - busy_since.get(a, now)
                for a, s in zip(campaign_agents[c.name], statuses, strict=True)
                if s in (AgentStatus.ON_CALL, AgentStatus.WRAP_UP)
            ]
            n = min(result.list_remaining, pacers[c.name].calls_to_dial(ready, busy_for=busy_for))
            for _ in range(n):
                result.list_remaining -= 1
                pacers[c.name].dialled()
                dials += 1
                if started:
                    result.attempts += 1
                push(now + c.ring_time_s, _DIAL_OUTCOME, c)

    calls = 0
    queue_of: dict[CallId, str] = {}
    boundaries: list[float] = []
    if batches > 0:
        step = (horizon - warmup) / batches
        boundaries = [warmup + step * (k + 1) for k in range(batches)]
    batch_results: list[dict[str, QueueStatistics]] = []
    started = warmup <= 0

    def carry_out(decisions: list[Decision], now: float) -> None:
        for d in decisions:
            if isinstance(d, OfferCall):
                engine.handle(CallAnswered(ts=now, call_id=d.call_id))
                busy_since[d.agent_id] = now
                campaign = campaign_of.pop(d.call_id, None)
                if campaign is not None:
                    talking[d.call_id] = (campaign, now)
                    pacers[campaign].connected(abandoned=False)
                    if started:
                        outbound[campaign].connects += 1
                    push(now + out_handle[campaign](), _END, d.call_id)
                    continue
                push(now + handle[queue_of[d.call_id]](), _END, d.call_id)
            elif isinstance(d, CallFallback):
                forget_call(d.call_id)
                queue_of.pop(d.call_id, None)

    if pacers:
        pace(0.0)
    while True:
        timer = engine.next_timer()
        next_event = events[0][0] if events else math.inf
        now = min(next_event, timer if timer is not None else math.inf)
        if not started and now >= warmup:
            engine.start_interval(warmup)
            started = True
        while boundaries and now >= boundaries[0]:
            batch_results.append(engine.start_interval(boundaries.pop(0)))
        if now >= horizon or now == math.inf:
            break
        if timer is not None and timer <= next_event:
            carry_out(engine.handle(Tick(ts=timer)), timer)
            if pacers:
                pace(timer)
            continue
        at, _, kind, payload = heapq.heappop(events)
        if kind == _ARRIVAL:
            calls += 1
            call_id = CallId(f"c{calls}")
            queue_of[call_id] = payload
            mix = profiles[payload].priority_mix
            priority = mix[0][0]
            if len(mix) > 1:
                u = rng.random()
                priority = next((p for p, c in mix if u <= c), mix[-1][0])
            carry_out(engine.handle(CallQueued(ts=at, call_id=call_id, queue=payload, priority=priority)), at)
            sample = patience[payload]
            if sample is not None and engine.call_status(call_id) is CallStatus.QUEUED:
                push(at + sample(), _ABANDON, call_id)
            following = next_arrival(payload, at)
            if following is not None:
                push(following, _ARRIVAL, payload)
        elif kind == _DIAL_OUTCOME:
            c = payload
            u = rng.random()
            if u < c.connect_rate:
                connected += 1
                call_id = CallId(f"o{connected}")
                queue_of[call_id] = c.queue
                campaign_of[call_id] = c.name
                carry_out(engine.handle(CallQueued(ts=at, call_id=call_id, queue=c.queue)), at)
                if call_id in campaign_of:
                    push(at + c.abandon_after_s, _OUT_ABANDON, call_id)
            else:
                pacers[c.name].no_connect()
                if started:
                    if u < c.connect_rate + c.answering_machine_rate:
                        outbound[c.name].answering_machine += 1
                    else:
                        outbound[c.name].no_answer += 1
        elif kind == _OUT_ABANDON:
            campaign = campaign_of.pop(payload, None)
            if campaign is not None and engine.call_status(payload) is CallStatus.QUEUED:
                # No agent within the threshold: the dialer plays its message and hangs up.
                carry_out(engine.handle(CallAbandoned(ts=at, call_id=payload)), at)
                forget_call(payload)
                queue_of.pop(payload, None)
                pacers[campaign].connected(abandoned=True)
                if started:
                    outbound[campaign].abandoned += 1
        elif kind == _ABANDON:
            status = engine.call_status(payload) if payload in queue_of else None
            if status in (CallStatus.QUEUED, CallStatus.OFFERED):
                carry_out(engine.handle(CallAbandoned(ts=at, call_id=payload)), at)
                forget_call(payload)
                del queue_of[payload]
        else:
            done = talking.pop(payload, None)
            if done is not None:  # the pacer learns the handle time: talk, then the queue's wrap-up
                wrap = configs[queue_of[payload]].wrap_up_s
                pacers[done[0]].handled(at - done[1] + wrap)
            carry_out(engine.handle(CallEnded(ts=at, call_id=payload)), at)
            forget_call(payload)
            queue_of.pop(payload, None)
        if pacers:  # the dialer sees each change of its agents and calls at once, as the real one does
            pace(at)

    end = horizon
    if on_stop is not None:
        on_stop(engine, end)
    if started:
        totals = {q.config.name: engine.queue_statistics(q.config.name, end, interval=True) for q in scenario.queues}
    else:
        totals = {q.config.name: engine.queue_statistics(q.config.name, end) for q in scenario.queues}
    busy = total = 0.0
    per_agent: dict[str, tuple[int, float]] = {}
    for agent_id in engine.agent_ids():
        agent_stats = engine.agent_statistics(agent_id, end)
        per_agent[agent_id] = (agent_stats.handled, agent_stats.occupancy)
        d = agent_stats.state_durations_s
        working = d[AgentStatus.ON_CALL] + d[AgentStatus.WRAP_UP] + d[AgentStatus.RESERVED]
        busy += working
        total += working + d[AgentStatus.READY]
    return SimulationResult(
        seed=seed,
        duration_hours=scenario.duration_hours,
        queues=totals,
        occupancy=busy / total if total else 0.0,
        agents=agent_count,
        simulated_calls=calls + dials,
        batches=batch_results,
        decisions=engine.decision_count,
        per_agent=per_agent,
        campaigns=outbound,
    )
