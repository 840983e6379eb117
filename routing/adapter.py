"""Bus messages to ACD engine events, engine decisions to bus commands: the one translation, sans I/O.

:class:`AcdAdapter` wraps an :class:`~routing.engine.AcdEngine` with what the bus contract needs and
the engine does not keep: each call's queue, priority, skills and offers, each agent's skills and
extension. It does no I/O: messages go in with the time as a value (:meth:`AcdAdapter.receive`,
:meth:`AcdAdapter.tick`), decisions come out, and :meth:`AcdAdapter.commands` turns decisions into
the commands to publish as ``(topic, Command)`` pairs. The server (:mod:`routing.server`) and the
demo drive it; replay (:mod:`routing.replay`) reads recordings with the same two readings,
:func:`queue_request` and :func:`agent_state_events`.

* **In.** ``queue.joined`` (the PBX put the call in a queue) or ``call.data`` whose ``data.routing``
  names a queue (the IVR's hand-off) become ``CallQueued`` (priority and extra skills from
  ``data.routing.priority`` / ``data.routing.skills``); ``call.answered``, ``queue.left`` (cause
  ``abandoned``) and ``call.ended`` follow the call. ``agent.state`` ``logged_on``/``ready``/
  ``not_ready``/``logged_off`` become log-on and state requests; skills come from the configuration,
  the extension from the configuration or the message; ``reserved``, ``busy`` and ``wrap_up`` are
  reports and change nothing; an agent state older than the last one applied is skipped.
* **Out.** ``OfferCall`` becomes ``deliver`` on ``.../cti/commands`` and ``offer`` on the agent's
  ``.../agents/<agent>/events`` (its inbox: ``.../agents/<agent>/commands`` is the agent's own, to
  the gateway); ``OfferWithdrawn`` a ``withdraw`` to both; ``AgentStateSet`` a
  ``set_state`` to the agent; ``CallFallback`` a ``fallback`` to CTI. Every command carries
  ``args.epoch``; an offer's ``command_id`` is call, agent and offer number, its withdraw's the
  offer's id and ``:withdraw``. A ``queue.left`` ``abandoned`` of an offered call is the PBX reporting
  the deliver (Asterisk: ``Redirect`` out of ``Queue()``): the agent stays reserved until the answer
  or the end of the call.
* **Takeover.** :meth:`AcdAdapter.snapshot` and :meth:`AcdAdapter.restore` carry the state from a
  leader to its successor (see :mod:`routing.server`).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bus import topics
from bus.messages import (
    AcdSnapshot,
    AgentState,
    AgentStateName,
    CallEvent,
    CallEventType,
    Command,
    CtiCapabilities,
    Message,
    QueueStats,
)

from .acd_config import AcdConfig
from .engine import AcdEngine
from .errors import RoutingError
from .model import (
    AgentId,
    AgentLoggedOn,
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
    Tick,
)

logger = logging.getLogger(__name__)

#: The recent service level of a queue is over this window, sampled this often.
_SL_WINDOW_S = 15 * 60.0
_SL_SAMPLE_S = 10.0

#: Queues named ``__restore__.<queue>`` carry the calls a takeover puts back with their agents.
RESTORE_PREFIX = "__restore__."
#: The skill only restored agents have, so that a restored call reaches exactly its agent.
RESTORE_SKILL = "__restore__"


# ---------------------------------------------------------------- readings shared with replay


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """A call event that asks for a queue: ``queue.joined``, or ``call.data`` with ``data.routing.queue``."""

    queue: str  # empty when the event names none
    priority: int
    skills: dict[str, int]
    problem: str | None = None  # the priority or skills could not be read: they are left out


def queue_request(message: CallEvent) -> QueueRequest | None:
    """The queue request a call event makes, or None when it makes none."""
    raw = message.data.get("routing")
    routing: Mapping[str, Any] | None = raw if isinstance(raw, Mapping) else None
    kind = message.type
    if not (kind == CallEventType.QUEUE_JOINED or (kind == CallEventType.DATA and routing and routing.get("queue"))):
        return None
    if kind == CallEventType.DATA and _promised_callback(message.data):
        return None  # the IVR's "press 8": the caller hangs up and is called back, nobody is to take this call
    routing = routing or {}
    queue = str(routing.get("queue") or message.queue or "")
    try:
        priority = int(routing.get("priority", message.data.get("priority", 0)) or 0)
        skills = {str(s): int(v) for s, v in dict(routing.get("skills") or {}).items()}
    except (TypeError, ValueError):
        return QueueRequest(queue, 0, {}, f"bad priority or skills in {dict(routing)!r}")
    return QueueRequest(queue, priority, skills)


def _promised_callback(data: Mapping[str, Any]) -> bool:
    fields = data.get("fields")
    entry = fields.get("callback_number") if isinstance(fields, Mapping) else None
    return isinstance(entry, Mapping) and bool(entry.get("value"))


def agent_state_events(
    engine: AcdEngine, agent_id: AgentId, state: str, reason: str | None, skills: Mapping[str, int], now: float
) -> list[Event]:
    """The engine events an ``agent.state`` means, given what the engine knows of the agent."""
    logged_on = agent_id in engine.agent_ids() and engine.agent_status(agent_id) is not AgentStatus.LOGGED_OFF
    if state in (AgentStateName.LOGGED_ON, AgentStateName.READY, AgentStateName.NOT_READY):
        if not logged_on:
            events: list[Event] = [
                AgentLoggedOn(ts=now, agent_id=agent_id, skills=skills, ready=state == AgentStateName.READY)
            ]
            if state == AgentStateName.NOT_READY and reason:
                events.append(
                    AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.NOT_READY, reason=reason)
                )
            return events
        if state == AgentStateName.READY:
            return [AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.READY)]
        if state == AgentStateName.NOT_READY:
            return [AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.NOT_READY, reason=reason)]
        return []
    if state == AgentStateName.LOGGED_OFF and logged_on:
        return [AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.LOGGED_OFF)]
    return []  # reserved, busy, wrap_up: reports of what the ACD and the PBX already know


# ---------------------------------------------------------------- the adapter


@dataclass(slots=True)
class CallRecord:
    call_id: CallId
    queue: str
    priority: int
    skills: dict[str, int]
    arrived: float
    offers: int = 0
    ringing: bool = False
    command_id: str | None = None
    calling: str | None = None  # the caller's number, for a callback promised on the call
    data: dict[str, Any] | None = None  # the data the call came with (the IVR's), for the same
    restored: bool = False  # an offer taken over from a predecessor's snapshot


@dataclass(frozen=True, slots=True)
class Promise:
    """A callback the ACD promised (a queue's ``callback`` fallback), for whoever writes it down."""

    call_id: str
    calling: str | None
    queue: str
    ts: float
    data: dict[str, Any]


@dataclass(slots=True)
class AgentRecord:
    agent_id: AgentId
    skills: dict[str, int]
    extension: str | None
    reason: str | None = None
    last_ts: float = -math.inf
    last_state: tuple[str, str | None] | None = None
    last_queue: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A command to publish (QoS 1) on ``topic``."""

    topic: str
    command: Command


class AcdAdapter:
    """The ACD's engine and records; bus messages in, decisions and commands out. No I/O, not thread-safe.

    ``changed`` turns true whenever the engine took an event (the server's cue to publish a snapshot).
    ``label`` names this ACD in logs.
    """

    def __init__(self, config: AcdConfig, site: str = "main", *, ended_keep_s: float = 600.0, label: str = "") -> None:
        topics.cti_commands(site)  # validates the site
        self.config = config
        self.site = site
        self.ended_keep_s = ended_keep_s
        self.label = label
        self.changed = False
        self.link_up = True  # the CTI gateway's last word (cti.capabilities): online or not
        self.engine = self._new_engine()
        self.calls: dict[CallId, CallRecord] = {}
        self.agents: dict[AgentId, AgentRecord] = {}
        self.ended: dict[str, float] = {}  # calls over, kept ``ended_keep_s`` so duplicates mean nothing
        self.promises: list[Promise] = []  # callbacks promised by fallbacks, until the server takes them
        self._published_stats: dict[str, QueueStats] = {}
        #: Per queue, (time, answered within the service level, handled) sampled every ``_SL_SAMPLE_S``,
        #: for the service level of the last ``_SL_WINDOW_S``.
        self._sl_samples: dict[str, deque[tuple[float, int, int]]] = {}

    def _new_engine(self) -> AcdEngine:
        restore = [
            QueueConfig(
                name=RESTORE_PREFIX + q.name,
                skill=RESTORE_SKILL,
                sl_seconds=q.sl_seconds,
                wrap_up_s=q.wrap_up_s,
                ring_timeout_s=q.ring_timeout_s,
            )
            for q in self.config.queues
        ]
        engine = AcdEngine([*self.config.queues, *restore])
        engine.link_up = self.link_up
        return engine

    def reset(self) -> None:
        """Forget everything (a leader that stands down)."""
        self.engine = self._new_engine()
        self.calls.clear()
        self.agents.clear()

    # ------------------------------------------------------------ input

    def receive(self, message: Message, now: float) -> list[Decision]:
        """Apply one bus message (call event, agent state, the CTI gateway's capabilities; others mean
        nothing) at ``now``. While the gateway is not online (stopped, or its link to the telephone
        system down) no call is offered."""
        if isinstance(message, CtiCapabilities):
            return self.cti_state(message, now)
        decisions: list[Decision] = []
        for event in self._translate(message, now):
            decisions += self.handle(event)
        if isinstance(message, CallEvent) and message.type == CallEventType.ENDED:
            self._finish(CallId(message.call_id), now)
        return decisions

    def cti_state(self, message: CtiCapabilities, now: float) -> list[Decision]:
        """The CTI gateway's announcement: offers stop while it is not online and resume after."""
        up = bool(message.online)
        if up != self.link_up:
            logger.info("ACD %s: the CTI link is %s%s", self.label, "up: offering calls again" if up else "down",
                        "" if up else f" ({message.link_reason or 'gateway offline'}): no call is offered")
        self.link_up = up
        decisions = self.engine.set_link_up(up, now)
        for d in decisions:
            self._note(d)
        if decisions:
            self.changed = True
        return decisions

    def tick(self, now: float) -> list[Decision]:
        """The engine's timers, if one is due at ``now``."""
        due = self.engine.next_timer()
        if due is None or due > now:
            return []
        return self.handle(Tick(ts=now))

    def next_timer(self) -> float | None:
        return self.engine.next_timer()

    def handle(self, event: Event) -> list[Decision]:
        """One engine event; an event the engine refuses is logged and means nothing."""
        try:
            decisions = self.engine.handle(event)
        except RoutingError as exc:
            logger.warning("ACD %s: %s ignored: %s", self.label, type(event).__name__, exc)
            return []
        self.changed = True
        more: list[Decision] = []
        for d in decisions:
            self._note(d)
            record = self.calls.get(d.call_id) if isinstance(d, OfferWithdrawn) else None
            if record is not None and record.queue.startswith(RESTORE_PREFIX):
                more += self._requeue_restored(record, d.ts)
        return decisions + more

    def _requeue_restored(self, record: CallRecord, now: float) -> list[Decision]:
        """A call given back to its agent at takeover was not answered there: back to its real queue."""
        self.engine.handle(CallAbandoned(ts=now, call_id=record.call_id))
        self.engine.forget_call(record.call_id)
        record.queue = record.queue.removeprefix(RESTORE_PREFIX)
        event = CallQueued(
            ts=now, call_id=record.call_id, queue=record.queue, priority=record.priority, skills=record.skills
        )
        return self.handle(event)

    def _translate(self, message: Message, now: float) -> list[Event]:
        """The engine events a bus message means, given what is known (duplicates mean nothing)."""
        if isinstance(message, AgentState):
            return self._translate_agent(message, now)
        if not isinstance(message, CallEvent):
            return []
        call_id = CallId(message.call_id)
        kind = message.type
        request = queue_request(message)
        if request is not None:
            if call_id in self.calls or call_id in self.ended:
                return []
            return self._queue(message, request, now)
        record = self.calls.get(call_id)
        if record is None:
            return []
        status = self.engine.call_status(call_id)
        if kind == CallEventType.ALERTING:
            agent = self.engine.call_agent(call_id)
            profile = self.agents.get(agent) if agent is not None else None
            if profile is not None and message.extension and profile.extension == message.extension:
                record.ringing = True
            return []
        if kind == CallEventType.ANSWERED and status is CallStatus.OFFERED:
            if not self._answered_by_agent(message, record):
                return []  # the far end's answer (an outbound call's customer), not the agent's
            return [CallAnswered(ts=now, call_id=call_id)]
        if kind == CallEventType.QUEUE_LEFT and message.cause == "abandoned" and status is CallStatus.QUEUED:
            return [CallAbandoned(ts=now, call_id=call_id)]
        # Leaving the PBX's queue once the call is offered is the deliver itself (Asterisk reports the
        # Redirect out of Queue() as QueueCallerAbandon): the agent stays reserved, and the answer or
        # the end of the call decides (a caller who hangs up while it rings ends as abandoned).
        if kind == CallEventType.ENDED and status in (CallStatus.QUEUED, CallStatus.OFFERED, CallStatus.CONNECTED):
            return [CallEnded(ts=now, call_id=call_id)]
        return []

    def _answered_by_agent(self, message: CallEvent, record: CallRecord) -> bool:
        """Whether an answer of an offered call is its agent's. A customer's answer of an outbound call
        comes before the call joins the queue, so a live ACD never sees it offered; but a standby that
        takes over replays its buffered events onto the snapshot's calls, and that answer, taken for the
        agent's, would put the agent on a call that never rang there (the call then lost, the agent idle)."""
        agent_id = self.engine.call_agent(record.call_id)
        if message.agent_id:
            return message.agent_id == agent_id
        if message.extension:
            agent = self.agents.get(agent_id) if agent_id is not None else None
            return agent is not None and agent.extension == message.extension
        # A PBX that names no device: after a takeover only the answer of a call seen ringing again counts.
        return record.ringing or not record.restored

    def _queue(self, message: CallEvent, request: QueueRequest, now: float) -> list[Event]:
        queue = request.queue
        if queue not in self.engine.queues or queue.startswith(RESTORE_PREFIX):
            logger.warning("call %s asks for unknown queue %r: not routed", message.call_id, queue)
            return []
        if request.problem is not None:
            logger.warning("call %s: %s; routed without them", message.call_id, request.problem)
        call_id = CallId(message.call_id)
        self.calls[call_id] = CallRecord(call_id, queue, request.priority, request.skills, now,
                                         calling=message.calling or None, data=dict(message.data))
        return [
            CallQueued(
                ts=now,
                call_id=call_id,
                queue=queue,
                priority=request.priority,
                skills=request.skills,
                data=message.data,
            )
        ]

    def _translate_agent(self, message: AgentState, now: float) -> list[Event]:
        agent_id = AgentId(message.agent_id)
        record = self.agents.get(agent_id)
        if record is None:
            profile = self.config.agents.get(agent_id)
            if profile is None:
                logger.warning("agent %s has no skills in the ACD configuration: not routed to", agent_id)
                return []
            record = AgentRecord(agent_id, dict(profile.skills), profile.extension)
            self.agents[agent_id] = record
        # Older states are skipped; two states with the same time (a PBX clock ticks coarsely, and
        # "not ready" then "ready" can come within one tick) apply in the order they arrived.
        if message.ts < record.last_ts or (
            message.ts == record.last_ts and record.last_state == (message.state, message.reason)
        ):
            return []  # an older state, or a duplicate delivery
        record.last_ts = message.ts
        record.last_state = (message.state, message.reason)
        if message.extension:
            record.extension = message.extension
        if message.state == AgentStateName.NOT_READY:
            record.reason = message.reason
        return agent_state_events(self.engine, agent_id, message.state, message.reason, record.skills, now)

    def _note(self, decision: Decision) -> None:
        """Keep the records in step with the engine's decisions."""
        if isinstance(decision, OfferCall):
            record = self.calls[decision.call_id]
            record.offers += 1
            record.ringing = False
            record.command_id = f"{decision.call_id}:{decision.agent_id}:{record.offers}"
            agent = self.agents.get(decision.agent_id)
            if agent is not None:
                agent.last_queue = record.queue
        elif isinstance(decision, OfferWithdrawn):
            self.calls[decision.call_id].ringing = False
        elif isinstance(decision, CallOverflowed) and decision.moved:
            record = self.calls[decision.call_id]
            record.queue = decision.to_queue
            record.arrived = decision.ts
        elif isinstance(decision, CallFallback):
            waiting = self.calls.get(decision.call_id)
            if decision.action is FallbackAction.CALLBACK and waiting is not None:
                self.promises.append(Promise(decision.call_id, waiting.calling, decision.queue, decision.ts,
                                             dict(waiting.data or {})))
            self._finish(decision.call_id, decision.ts)

    def _finish(self, call_id: CallId, now: float) -> None:
        if self.calls.pop(call_id, None) is not None:
            self.ended[call_id] = now
            self.engine.forget_call(call_id)
        horizon = now - self.ended_keep_s
        while self.ended:
            oldest = next(iter(self.ended))
            if self.ended[oldest] >= horizon:
                break
            del self.ended[oldest]

    # ------------------------------------------------------------ output

    def commands(self, decisions: list[Decision], *, epoch: int, now: float) -> list[Outgoing]:
        """The commands that carry out ``decisions``, in order."""
        out: list[Outgoing] = []
        for d in decisions:
            if isinstance(d, OfferCall):
                out += self.deliver(d.call_id, d.agent_id, d.queue, epoch=epoch, now=now)
            elif isinstance(d, OfferWithdrawn):
                agent = self.agents.get(d.agent_id)
                args = {"call_id": d.call_id, "extension": agent.extension if agent else None, "reason": d.reason}
                record = self.calls.get(d.call_id)
                offer_id = record.command_id if record and record.command_id else f"{d.call_id}:{d.agent_id}"
                # one id per offer: a second ring-no-answer of the same call at the same agent is a new withdraw
                out.append(self._cti("withdraw", d.call_id, d.agent_id, args, f"{offer_id}:withdraw", epoch, now))
                out.append(self._agent_command(d.agent_id, "withdraw", d.call_id, {"reason": d.reason}, epoch, now))
            elif isinstance(d, AgentStateSet):
                out.append(
                    self._agent_command(
                        d.agent_id, "set_state", None, {"state": d.state.bus_name.value, "reason": d.reason}, epoch, now
                    )
                )
            elif isinstance(d, CallFallback):
                args = {"call_id": d.call_id, "action": d.action.value, "queue": d.queue, "reason": d.reason}
                out.append(self._cti("fallback", d.call_id, None, args, f"{d.call_id}:fallback", epoch, now))
            elif isinstance(d, CallUnroutable):
                logger.info("call %s in %s is unroutable: %s", d.call_id, d.queue, d.reason)
        return out

    def deliver(self, call_id: CallId, agent_id: AgentId, queue: str, *, epoch: int, now: float) -> list[Outgoing]:
        """``deliver`` to CTI and ``offer`` to the agent (sent again, with the same id, after a takeover)."""
        record = self.calls[call_id]
        agent = self.agents[agent_id]
        command_id = record.command_id or f"{call_id}:{agent_id}:{record.offers}"
        queue = queue.removeprefix(RESTORE_PREFIX)
        args = {"call_id": call_id, "extension": agent.extension, "queue": queue}
        logger.info("offer call %s to agent %s (extension %s, queue %s)", call_id, agent_id, agent.extension, queue)
        return [
            self._cti("deliver", call_id, agent_id, args, command_id, epoch, now),
            self._agent_command(
                agent_id, "offer", call_id, {"queue": queue, "extension": agent.extension}, epoch, now, command_id
            ),
        ]

    def _cti(
        self,
        name: str,
        call_id: str,
        agent_id: str | None,
        args: dict[str, Any],
        command_id: str,
        epoch: int,
        now: float,
    ) -> Outgoing:
        command = Command(
            command_id=command_id, name=name, ts=now, call_id=call_id, agent_id=agent_id, args={**args, "epoch": epoch}
        )
        return Outgoing(topics.cti_commands(self.site), command)

    def _agent_command(
        self,
        agent_id: str,
        name: str,
        call_id: str | None,
        args: dict[str, Any],
        epoch: int,
        now: float,
        command_id: str | None = None,
    ) -> Outgoing:
        command = Command(
            command_id=f"{command_id}:{name}" if command_id else uuid.uuid4().hex,
            name=name,
            ts=now,
            call_id=call_id,
            agent_id=agent_id,
            args={**args, "epoch": epoch},
        )
        return Outgoing(topics.agent_events(self.site, agent_id), command)

    # ------------------------------------------------------------ statistics

    def _service_level_window(self, queue: str, in_sl: int, handled: int, now: float) -> float | None:
        samples = self._sl_samples.setdefault(queue, deque())
        if not samples or now - samples[-1][0] >= _SL_SAMPLE_S:
            samples.append((now, in_sl, handled))
        while len(samples) > 1 and now - samples[1][0] >= _SL_WINDOW_S:
            samples.popleft()
        _, in_sl_then, handled_then = samples[0]
        handled_since = handled - handled_then
        return (in_sl - in_sl_then) / handled_since if handled_since > 0 else None

    def queue_stats(self, queue: str, now: float, *, states: dict[AgentId, AgentStatus] | None = None) -> QueueStats:
        """``states``: every logged-on agent's status, when the caller already has them (one pass for all queues)."""
        s = self.engine.queue_statistics(queue, now)
        q = self.engine.queues[queue]
        if states is None:
            states = self.agent_statuses()
        counts = dict.fromkeys(AgentStatus, 0)
        for agent_id, record in self.agents.items():
            if record.skills.get(q.skill, 0) < q.min_proficiency:
                continue
            status = states.get(agent_id)
            if status is not None:
                counts[status] += 1
        on_call = counts[AgentStatus.RESERVED] + counts[AgentStatus.ON_CALL]
        handled = s.answered + s.abandoned - s.short_abandoned
        return QueueStats(
            queue=queue,
            ts=now,
            waiting=s.waiting,
            longest_wait_s=s.longest_waiting_s,
            offered=s.offered,
            answered=s.answered,
            abandoned=s.abandoned,
            service_level=s.service_level,
            asa_s=s.asa_s,
            agents_ready=counts[AgentStatus.READY],
            agents_busy=on_call + counts[AgentStatus.WRAP_UP],
            service_level_15m=self._service_level_window(queue, s.answered_in_sl, handled, now),
            sl_target=q.sl_target,
            sl_seconds=q.sl_seconds,
            agents_on_call=on_call,
            agents_wrap_up=counts[AgentStatus.WRAP_UP],
            agents_not_ready=counts[AgentStatus.NOT_READY],
            answered_in_sl=s.answered_in_sl,
            wrap_up_s=q.wrap_up_s,
        )

    def agent_statuses(self) -> dict[AgentId, AgentStatus]:
        return {agent_id: self.engine.agent_status(agent_id) for agent_id in self.engine.agent_ids()}

    def stats_to_publish(self, now: float, *, all_queues: bool) -> list[tuple[str, QueueStats]]:
        """Each configured queue's statistics and topic: all of them, or those that changed since last time."""
        out = []
        states = self.agent_statuses()
        for queue in self.config.queues:
            stats = self.queue_stats(queue.name, now, states=states)
            last = self._published_stats.get(queue.name)
            if (
                not all_queues
                and last is not None
                and replace(last, ts=now, longest_wait_s=0.0, service_level_15m=None)
                == replace(stats, longest_wait_s=0.0, service_level_15m=None)
            ):
                continue
            self._published_stats[queue.name] = stats
            out.append((topics.queue_stats(self.site, queue.name), stats))
        return out

    def waiting_calls(self) -> list[CallId]:
        return [c for c in self.calls if self.engine.call_status(c) is CallStatus.QUEUED]

    # ------------------------------------------------------------ takeover: snapshot and restore

    def snapshot(self, *, client_id: str, epoch: int, seq: int, now: float) -> AcdSnapshot:
        calls = []
        for record in self.calls.values():
            status = self.engine.call_status(record.call_id)
            if status not in (CallStatus.QUEUED, CallStatus.OFFERED, CallStatus.CONNECTED):
                continue
            calls.append(
                {
                    "call_id": record.call_id,
                    "queue": record.queue.removeprefix(RESTORE_PREFIX),
                    "priority": record.priority,
                    "skills": record.skills,
                    "arrived": record.arrived,
                    "status": status.value,
                    "agent_id": self.engine.call_agent(record.call_id),
                    "offers": record.offers,
                    "ringing": record.ringing,
                    "command_id": record.command_id,
                    # the caller's number and data, for a callback a fallback may promise after a takeover
                    "calling": record.calling,
                    "data": record.data,
                }
            )
        since = _agent_since(self.engine)
        agents = []
        for agent_id in sorted(self.agents, key=lambda a: since.get(a, math.inf)):
            agent = self.agents[agent_id]
            if agent_id not in since:
                continue
            agent_status = self.engine.agent_status(agent_id)
            if agent_status is AgentStatus.LOGGED_OFF:
                continue
            agents.append(
                {
                    "agent_id": agent_id,
                    "skills": {s: v for s, v in agent.skills.items() if s != RESTORE_SKILL},
                    "extension": agent.extension,
                    "status": agent_status.value,
                    "reason": agent.reason,
                    "last_ts": agent.last_ts if math.isfinite(agent.last_ts) else None,
                    "last_queue": agent.last_queue,
                }
            )
        return AcdSnapshot(
            client_id=client_id, epoch=epoch, seq=seq, ts=now, calls=calls, agents=agents, ended=list(self.ended),
            stats=self.engine.counters(),
        )

    def restore(self, snapshot: AcdSnapshot, now: float) -> tuple[list[tuple[CallId, AgentId]], list[Decision]]:
        """Put the snapshot's agents and calls into a fresh engine.

        Returns the recorded offers to send again (not seen ringing) and the new decisions to carry out.
        """
        self.engine = self._new_engine()
        self.calls.clear()
        self.agents.clear()
        self.ended = {c: now for c in snapshot.ended}
        calls = {CallId(c["call_id"]): c for c in snapshot.calls}
        agents = {AgentId(a["agent_id"]): a for a in snapshot.agents}
        held = {AgentId(c["agent_id"]): CallId(c["call_id"]) for c in snapshot.calls if c.get("agent_id")}
        resend: list[tuple[CallId, AgentId]] = []
        for agent_id, a in agents.items():
            agent = AgentRecord(agent_id, dict(a["skills"]), a.get("extension"), a.get("reason"))
            agent.last_ts = -math.inf if a.get("last_ts") is None else float(a["last_ts"])
            agent.last_queue = a.get("last_queue")
            self.agents[agent_id] = agent
        # 1. Agents with a call (or in wrap-up) get it back through their own restore queue.
        for agent_id, a in agents.items():
            status = AgentStatus(a["status"])
            call_id = held.get(agent_id)
            if status not in (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                continue
            if status is AgentStatus.WRAP_UP or call_id is None or call_id not in calls:
                call_id = CallId(f"restore-wrap-{agent_id}")
                queue = self.agents[agent_id].last_queue or self.config.queues[0].name
                c: Mapping[str, Any] = {"call_id": call_id, "queue": queue, "status": "wrap_up"}
            else:
                c = calls.pop(call_id)
            skills = {**self.agents[agent_id].skills, RESTORE_SKILL: 1}
            self.engine.handle(AgentLoggedOn(ts=now, agent_id=agent_id, skills=skills))
            self.agents[agent_id].skills = skills
            skills_back = {str(s): int(v) for s, v in dict(c.get("skills") or {}).items()}
            record = CallRecord(call_id, RESTORE_PREFIX + c["queue"], int(c.get("priority", 0)), skills_back, now,
                                calling=c.get("calling"), data=c.get("data"))
            record.offers = int(c.get("offers", 1))
            record.command_id = c.get("command_id")
            record.ringing = bool(c.get("ringing"))
            record.restored = True
            self.calls[call_id] = record
            out = self.engine.handle(CallQueued(ts=now, call_id=call_id, queue=RESTORE_PREFIX + c["queue"]))
            if not any(isinstance(d, OfferCall) and d.agent_id == agent_id for d in out):  # pragma: no cover
                logger.error("takeover: call %s could not be given back to agent %s", call_id, agent_id)
                continue
            if c["status"] in ("connected", "wrap_up"):
                self.engine.handle(CallAnswered(ts=now, call_id=call_id))
            if c["status"] == "wrap_up":
                self.engine.handle(CallEnded(ts=now, call_id=call_id))
                self.calls.pop(call_id)
            elif c["status"] == "offered" and not record.ringing:
                resend.append((call_id, agent_id))
        # 2. The other agents, not ready for now (ready ones are made ready last, longest idle first).
        for agent_id, a in agents.items():
            status = AgentStatus(a["status"])
            if status in (AgentStatus.READY, AgentStatus.NOT_READY):
                self.engine.handle(
                    AgentLoggedOn(ts=now, agent_id=agent_id, skills=self.agents[agent_id].skills, ready=False)
                )
                if status is AgentStatus.NOT_READY and a.get("reason"):
                    self.engine.handle(
                        AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.NOT_READY, reason=a["reason"])
                    )
        # 3. Waiting calls (and offered calls whose agent is gone), in their order of arrival.
        for c in sorted(calls.values(), key=lambda c: float(c["arrived"])):
            call_id = CallId(c["call_id"])
            if c["status"] == "connected" or c["queue"] not in self.engine.queues:
                continue
            skills = {str(s): int(v) for s, v in dict(c.get("skills") or {}).items()}
            record = CallRecord(call_id, c["queue"], int(c.get("priority", 0)), skills, float(c["arrived"]),
                                calling=c.get("calling"), data=c.get("data"))
            record.offers = int(c.get("offers", 0))
            self.calls[call_id] = record
            arrived = min(float(c["arrived"]), now)
            self.engine.handle(
                CallQueued(ts=arrived, call_id=call_id, queue=c["queue"], priority=record.priority, skills=skills)
            )
        pending = self.engine.handle(Tick(ts=now))
        # 4. Ready agents, longest idle first: from here on decisions are carried out.
        for agent_id, a in agents.items():
            if AgentStatus(a["status"]) is AgentStatus.READY:
                pending += self.engine.handle(AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.READY))
        for d in pending:
            self._note(d)
        # The day's statistics go on from the predecessor's (what rebuilding counted again is dropped).
        self.engine.carry_counters(snapshot.stats)
        return resend, pending


def _agent_since(engine: AcdEngine) -> dict[AgentId, float]:
    """When each agent entered its state (ready order matters when a standby rebuilds the engine)."""
    return {a.agent_id: a.since for a in engine._agents.values()}
