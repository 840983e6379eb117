"""Replay a recorded event log (``ccenter acd --record FILE``) through the engine under any configuration.

A recording is one JSON object per line, ``{"t": receive time, "topic", "message"}``, holding every
call and agent event the ACD received (`ccenter acd --record` writes it). An optional line
``{"config": {...}}`` carries the ACD configuration the recording ran under (the format of
``ccenter acd --queues``). From the log :func:`read_recording` takes the *traffic*, which no routing
change alters:

* arrivals: time, queue, priority and extra skills (``queue.joined``, or ``call.data`` with
  ``data.routing``, read by :func:`routing.adapter.queue_request` as the server reads them);
* handle times: ``call.answered`` to ``call.ended`` of each answered call (a call still connected
  when the log ends lasts at least until then: that lower bound is used);
* ring times: ``call.alerting`` to ``call.answered`` (the time the agent took to pick up); a call
  the recording never answered rings for the queue's mean ring time, plus how long it rang unanswered
  in the recording if it did;
* caller patience: the time to ``queue.left`` (cause ``abandoned``) or to a ``call.ended`` before any
  answer. A caller who was answered (or still waited at the end) would have waited at least that long:
  the replay gives them that wait plus a residual drawn, with the seeded random source, from the
  exponential distribution whose mean is the queue's censored maximum-likelihood estimate (total
  waiting time / abandons); a queue without abandons has patient callers;
* agent timelines: log on and off, ready and not ready (with reason), as the desktops reported them;
  skills come from the configuration, and :func:`routing.adapter.agent_state_events` turns them into
  engine events, as in the live server.

:func:`replay` then runs a fresh :class:`~routing.engine.AcdEngine` with a configuration over that
traffic in simulated time: every offer is answered after the call's recorded ring time (the queue's
mean for calls the recording never answered), ends after its handle time (the queue's mean handle
time for a call the recording did not answer: counted and said in the notes), and a caller hangs up
when their patience runs out. Agents of the configuration that the log never mentions are added: they
log on ready when the log starts. Under the configuration the recording ran with, the replay makes the
same decisions at the same times, so its figures are those of the live run.

Lines that cannot be read (not JSON, not a recorded message, unknown message types) are reported with
their line number in :attr:`Recording.problems` and skipped.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bus.errors import MessageError
from bus.messages import AgentState, CallEvent, CallEventType, decode

from .acd_config import AcdConfig, parse_acd_config
from .adapter import agent_state_events, queue_request
from .engine import AcdEngine, PriorityStatistics, QueueStatistics
from .errors import EngineError, RoutingError, ScenarioError
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
    Event,
    OfferCall,
    Tick,
)

logger = logging.getLogger(__name__)

#: Handle time assumed when the recording holds no answered call at all (seconds).
DEFAULT_HANDLE_S = 180.0


class RecordingError(RoutingError):
    """A recording that cannot be replayed at all (unreadable file, no usable line)."""


@dataclass(frozen=True, slots=True)
class LogProblem:
    line: int
    reason: str


@dataclass(slots=True)
class RecordedCall:
    """One call as the recording saw it (times are the log's ``t``)."""

    call_id: CallId
    queue: str
    priority: int
    skills: dict[str, int]
    arrived: float
    order: int  # line number of the arrival
    alerting: float | None = None
    answered: float | None = None
    ended: float | None = None
    abandoned: float | None = None

    @property
    def over(self) -> bool:
        return self.ended is not None or self.abandoned is not None


@dataclass(frozen=True, slots=True)
class AgentChange:
    t: float
    order: int
    agent_id: AgentId
    state: str  # an AgentStateName value
    reason: str | None


@dataclass(frozen=True, slots=True)
class Recording:
    source: str
    start: float
    end: float
    calls: tuple[RecordedCall, ...]
    agent_changes: tuple[AgentChange, ...]
    problems: tuple[LogProblem, ...]
    config: AcdConfig | None = None  # from a {"config": ...} line, if the log has one

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    def agent_ids(self) -> list[AgentId]:
        return list(dict.fromkeys(c.agent_id for c in self.agent_changes))


def load_recording(path: str | Path) -> Recording:
    try:
        with open(path, encoding="utf-8") as fh:
            return read_recording(fh, str(path))
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: the recording is not UTF-8 text: {exc.reason}") from None


def read_recording(lines: Iterable[str], source: str = "recording") -> Recording:
    """Parse a recording; bad lines become :class:`LogProblem` entries and are skipped."""
    problems: list[LogProblem] = []
    calls: dict[CallId, RecordedCall] = {}
    changes: list[AgentChange] = []
    last_agent_ts: dict[str, float] = {}
    config: AcdConfig | None = None
    start = end = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(LogProblem(number, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(line, dict):
            problems.append(LogProblem(number, "not a JSON object"))
            continue
        if "config" in line and "message" not in line:
            try:
                config = parse_acd_config(line["config"], f"{source}:{number}")
            except ScenarioError as exc:
                problems.append(LogProblem(number, f"bad configuration: {exc}"))
            continue
        t = line.get("t")
        body = line.get("message")
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            problems.append(LogProblem(number, "no receive time 't' (a number)"))
            continue
        if not isinstance(body, dict):
            problems.append(LogProblem(number, "no 'message' object"))
            continue
        try:
            message = decode(json.dumps(body))
        except MessageError as exc:
            problems.append(LogProblem(number, str(exc)))
            continue
        if not isinstance(message, CallEvent | AgentState):
            problems.append(LogProblem(number, f"{message.message_type!r} is not an input of the ACD"))
            continue
        t = float(t)
        if end is not None and t < end:
            problems.append(LogProblem(number, f"time goes back {end - t:.3f} s; read as {end}"))
            t = end
        start = t if start is None else start
        end = t
        if isinstance(message, AgentState):
            if message.ts <= last_agent_ts.get(message.agent_id, -math.inf):
                continue  # a duplicate or an older state: the server ignores it too
            last_agent_ts[message.agent_id] = message.ts
            changes.append(AgentChange(t, number, AgentId(message.agent_id), message.state, message.reason))
        else:
            problem = _call_event(message, t, number, calls)
            if problem:
                problems.append(LogProblem(number, problem))
    if start is None or end is None:
        raise RecordingError(f"{source}: no call or agent event to replay")
    ordered = tuple(sorted(calls.values(), key=lambda c: c.order))
    return Recording(source, start, end, ordered, tuple(changes), tuple(problems), config)


def _call_event(message: CallEvent, t: float, number: int, calls: dict[CallId, RecordedCall]) -> str | None:
    """Apply one call event to the recorded calls (as the server reads it); a problem, or None."""
    call_id = CallId(message.call_id)
    kind = message.type
    request = queue_request(message)
    if request is not None:
        if call_id in calls:
            return None
        if not request.queue:
            return f"call {call_id} joins no queue"
        calls[call_id] = RecordedCall(call_id, request.queue, request.priority, request.skills, t, number)
        if request.problem is not None:
            return f"call {call_id}: bad priority or skills; replayed without them"
        return None
    call = calls.get(call_id)
    if call is None or call.over:
        return None
    if kind == CallEventType.ALERTING:
        call.alerting = t
    elif kind == CallEventType.ANSWERED and call.answered is None:
        call.answered = t
    elif kind == CallEventType.QUEUE_LEFT and message.cause == "abandoned" and call.answered is None:
        call.abandoned = t
    elif kind == CallEventType.ENDED:
        if call.answered is None:
            call.abandoned = t  # hung up before anyone answered
        else:
            call.ended = t
    return None


# ---------------------------------------------------------------- the traffic: what no routing change alters


@dataclass(frozen=True, slots=True)
class Caller:
    call_id: CallId
    queue: str
    priority: int
    skills: Mapping[str, int]
    arrived: float
    order: int
    patience_s: float  # math.inf: waits for ever
    ring_s: float
    handle_s: float
    handle_known: bool  # False: the queue's mean handle time (the recording never answered the call)


@dataclass(frozen=True, slots=True)
class Traffic:
    callers: tuple[Caller, ...]
    mean_handle_s: Mapping[str, float]
    mean_patience_s: Mapping[str, float]  # math.inf: no abandon in that queue


def traffic_of(recording: Recording, seed: int = 1) -> Traffic:
    """The callers of a recording with their patience, ring and handle times (seeded, so repeatable)."""
    rng = random.Random(seed)
    handle: dict[str, list[float]] = {}
    ring: dict[str, list[float]] = {}
    waited: dict[str, float] = {}
    abandons: dict[str, int] = {}
    for c in recording.calls:
        if c.answered is not None:
            if c.ended is not None:
                handle.setdefault(c.queue, []).append(c.ended - c.answered)
            if c.alerting is not None and c.alerting <= c.answered:
                ring.setdefault(c.queue, []).append(c.answered - c.alerting)
        left = c.answered if c.answered is not None else c.abandoned if c.abandoned is not None else recording.end
        waited[c.queue] = waited.get(c.queue, 0.0) + (left - c.arrived)
        if c.abandoned is not None:
            abandons[c.queue] = abandons.get(c.queue, 0) + 1
    every = [h for hs in handle.values() for h in hs]
    overall = sum(every) / len(every) if every else DEFAULT_HANDLE_S
    queues = {c.queue for c in recording.calls}
    mean_handle = {q: (sum(handle[q]) / len(handle[q]) if handle.get(q) else overall) for q in queues}
    mean_ring = {q: (sum(ring[q]) / len(ring[q]) if ring.get(q) else 0.0) for q in queues}
    mean_patience = {q: (waited[q] / abandons[q] if abandons.get(q) else math.inf) for q in queues}
    callers = []
    for c in recording.calls:
        if c.abandoned is not None:
            patience = c.abandoned - c.arrived
        else:
            lower = (c.answered if c.answered is not None else recording.end) - c.arrived
            mean = mean_patience[c.queue]
            patience = lower + rng.expovariate(1.0 / mean) if math.isfinite(mean) else math.inf
        if c.answered is not None:
            ring_s = c.answered - c.alerting if c.alerting is not None and c.alerting <= c.answered else 0.0
            handle_s = (c.ended if c.ended is not None else recording.end) - c.answered
            known = True
        else:
            ring_s, handle_s, known = mean_ring[c.queue], mean_handle[c.queue], False
            if c.alerting is not None:  # hung up while it rang: the agent would have taken longer than that
                ring_s += (c.abandoned if c.abandoned is not None else recording.end) - c.alerting
        callers.append(
            Caller(c.call_id, c.queue, c.priority, c.skills, c.arrived, c.order, patience, ring_s, handle_s, known)
        )
    return Traffic(tuple(callers), mean_handle, mean_patience)


# ---------------------------------------------------------------- the replay


@dataclass(frozen=True, slots=True)
class ReplayResult:
    label: str
    duration_s: float
    queues: dict[str, QueueStatistics]
    longest_wait_s: dict[str, float]
    by_priority: dict[str, dict[int, PriorityStatistics]]
    occupancy: float
    agents: int
    per_agent: dict[str, tuple[int, float]]  # agent -> (handled, occupancy)
    estimated_handle: int  # calls answered here that the recording never answered
    notes: tuple[str, ...] = ()

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
                "longest_wait_s": self.longest_wait_s.get(name, 0.0),
                "overflowed_out": s.overflowed_out,
                "fallback": s.fallback,
                "unroutable": s.unroutable,
                "waiting_at_end": s.waiting,
                "by_priority": {
                    str(p): {k: v for k, v in ps.to_dict().items() if k not in ("queue", "priority")}
                    for p, ps in self.by_priority.get(name, {}).items()
                },
            }
        return {
            "label": self.label,
            "queues": queues,
            "agents": {
                "count": self.agents,
                "occupancy": self.occupancy,
                "per_agent": {a: {"handled": h, "occupancy": o} for a, (h, o) in self.per_agent.items()},
            },
            "estimated_handle_times": self.estimated_handle,
            "notes": list(self.notes),
        }


_ARRIVAL, _AGENT, _ANSWER, _END, _ABANDON = 0, 1, 2, 3, 4


def replay(
    recording: Recording,
    config: AcdConfig,
    *,
    label: str = "replay",
    seed: int = 1,
    traffic: Traffic | None = None,
    until_s: float | None = None,
    on_stop: Callable[[AcdEngine, float], None] | None = None,
    keep_calls: bool = False,
) -> ReplayResult:
    """Run the engine under ``config`` over the recording's traffic and agent timelines.

    ``until_s`` (an absolute log time) stops early; ``on_stop(engine, now)`` then sees the engine as it
    was at that moment (``ccenter acd explain --replay``); ``keep_calls`` keeps finished calls' records.
    """
    traffic = traffic or traffic_of(recording, seed)
    engine = AcdEngine(config.queues)
    horizon = recording.end if until_s is None else min(recording.end, until_s)
    notes: list[str] = []
    events: list[tuple[float, int, int, int, Any]] = []
    seq = 0

    def push(at: float, order: int, kind: int, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, order, seq, kind, payload))

    by_id = {c.call_id: c for c in traffic.callers}
    unknown_queues: dict[str, int] = {}
    for caller in traffic.callers:
        if caller.queue in engine.queues:
            push(caller.arrived, caller.order, _ARRIVAL, caller)
        else:
            unknown_queues[caller.queue] = unknown_queues.get(caller.queue, 0) + 1
    for name, n in sorted(unknown_queues.items()):
        notes.append(f"{n} calls to queue {name!r}, which this configuration lacks, were not routed")
    recorded_agents = set(recording.agent_ids())
    unknown_agents = sorted(a for a in recorded_agents if a not in config.agents)
    if unknown_agents:
        notes.append(f"agents without skills in this configuration were left out: {', '.join(unknown_agents)}")
    for change in recording.agent_changes:
        if change.agent_id in config.agents:
            push(change.t, change.order, _AGENT, change)
    added = [AgentId(a) for a in config.agents if a not in recorded_agents]
    for agent_id in added:
        engine.handle(AgentLoggedOn(ts=recording.start, agent_id=agent_id, skills=config.agents[agent_id].skills))
    if added:
        notes.append(f"{len(added)} agents the recording never saw were ready all along: {', '.join(added)}")

    arrived: dict[CallId, float] = {}
    left: dict[CallId, float] = {}
    offers: dict[CallId, int] = {}
    estimated = 0
    rejected = 0

    def handle(event: Event) -> list[Decision]:
        nonlocal rejected
        try:
            return engine.handle(event)
        except EngineError as exc:  # the live server ignores these too
            rejected += 1
            logger.debug("replay %s: %s ignored: %s", label, type(event).__name__, exc)
            return []

    def carry_out(decisions: list[Decision], now: float) -> None:
        for d in decisions:
            if isinstance(d, OfferCall):
                offers[d.call_id] = offers.get(d.call_id, 0) + 1
                push(now + by_id[d.call_id].ring_s, 0, _ANSWER, (d.call_id, offers[d.call_id]))
            elif isinstance(d, CallFallback):
                left.setdefault(d.call_id, now)

    def forget(call_id: CallId) -> None:
        if not keep_calls:
            engine.forget_call(call_id)

    now = recording.start
    while True:
        timer = engine.next_timer()
        next_event = events[0][0] if events else math.inf
        now = min(next_event, timer if timer is not None else math.inf)
        if now > horizon or now == math.inf:
            break
        if timer is not None and timer <= next_event:
            carry_out(handle(Tick(ts=timer)), timer)
            continue
        at, _, _, kind, payload = heapq.heappop(events)
        if kind == _ARRIVAL:
            c: Caller = payload
            arrived[c.call_id] = at
            carry_out(
                handle(CallQueued(ts=at, call_id=c.call_id, queue=c.queue, priority=c.priority, skills=c.skills)), at
            )
            if math.isfinite(c.patience_s):
                push(at + c.patience_s, 0, _ABANDON, c.call_id)
        elif kind == _AGENT:
            carry_out([d for e in _agent_events(engine, config, payload) for d in handle(e)], at)
        elif kind == _ANSWER:
            call_id, offer = payload
            if offers.get(call_id) != offer or _status(engine, call_id) is not CallStatus.OFFERED:
                continue  # withdrawn (ring-no-answer) or abandoned meanwhile
            carry_out(handle(CallAnswered(ts=at, call_id=call_id)), at)
            left.setdefault(call_id, at)
            caller = by_id[call_id]
            if not caller.handle_known:
                estimated += 1
            push(at + caller.handle_s, 0, _END, call_id)
        elif kind == _END:
            if _status(engine, payload) is CallStatus.CONNECTED:
                carry_out(handle(CallEnded(ts=at, call_id=payload)), at)
                forget(payload)
        elif _status(engine, payload) in (CallStatus.QUEUED, CallStatus.OFFERED):
            carry_out(handle(CallAbandoned(ts=at, call_id=payload)), at)
            left.setdefault(payload, at)
            forget(payload)

    end = horizon
    if on_stop is not None:
        on_stop(engine, end)
    longest: dict[str, float] = {}
    for call_id, t in arrived.items():
        queue = by_id[call_id].queue
        longest[queue] = max(longest.get(queue, 0.0), left.get(call_id, end) - t)
    queues = {q.name: engine.queue_statistics(q.name, end) for q in config.queues}
    by_priority = {q.name: engine.priority_statistics(q.name) for q in config.queues}
    busy = total = 0.0
    per_agent: dict[str, tuple[int, float]] = {}
    for agent_id in engine.agent_ids():
        stats = engine.agent_statistics(agent_id, end)
        per_agent[agent_id] = (stats.handled, stats.occupancy)
        d = stats.state_durations_s
        working = d[AgentStatus.ON_CALL] + d[AgentStatus.WRAP_UP] + d[AgentStatus.RESERVED]
        busy += working
        total += working + d[AgentStatus.READY]
    if estimated:
        means = ", ".join(
            f"{q} {traffic.mean_handle_s[q]:.0f} s" for q in sorted(traffic.mean_handle_s) if q in engine.queues
        )
        notes.append(
            f"{estimated} calls the recording never answered were answered here; their handle time is their "
            f"queue's mean handle time ({means})"
        )
    if rejected:
        notes.append(f"{rejected} recorded events did not apply to this configuration's state and were ignored")
    return ReplayResult(
        label=label,
        duration_s=end - recording.start,
        queues=queues,
        longest_wait_s=longest,
        by_priority=by_priority,
        occupancy=busy / total if total else 0.0,
        agents=len(per_agent),
        per_agent=per_agent,
        estimated_handle=estimated,
        notes=tuple(notes),
    )


def _status(engine: AcdEngine, call_id: CallId) -> CallStatus | None:
    try:
        return engine.call_status(call_id)
    except EngineError:
        return None


def _agent_events(engine: AcdEngine, config: AcdConfig, change: AgentChange) -> list[Event]:
    """The engine events an ``agent.state`` means (as the live server reads it)."""
    skills = config.agents[change.agent_id].skills
    return agent_state_events(engine, change.agent_id, change.state, change.reason, skills, change.t)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The same recorded traffic replayed under the recorded configuration and (optionally) a new one."""

    recording: Recording
    recorded: ReplayResult
    new: ReplayResult | None
    seed: int

    def to_dict(self) -> dict[str, Any]:
        r = self.recording
        return {
            "recording": {
                "source": r.source,
                "start": r.start,
                "duration_s": r.duration_s,
                "calls": len(r.calls),
                "agents": len(r.agent_ids()),
                "skipped_lines": [{"line": p.line, "reason": p.reason} for p in r.problems],
            },
            "seed": self.seed,
            "recorded": self.recorded.to_dict(),
            "new": self.new.to_dict() if self.new is not None else None,
        }


def compare(recording: Recording, recorded: AcdConfig, new: AcdConfig | None = None, *, seed: int = 1) -> Comparison:
    """Replay the recording under ``recorded`` and ``new`` over the same callers (same patience draws)."""
    traffic = traffic_of(recording, seed)
    before = replay(recording, recorded, label="recorded config", traffic=traffic)
    after = replay(recording, new, label="new config", traffic=traffic) if new is not None else None
    return Comparison(recording, before, after, seed)
