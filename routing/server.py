"""``ccenter acd``: the ACD engine on the bus, with a standby that takes over.

:class:`AcdServer` is a thin asyncio adapter around the sans-I/O :class:`~routing.engine.AcdEngine`:

* **In.** Call events on ``ccenter/v1/<site>/calls/+``: ``queue.joined`` (the PBX put the call in a
  queue) or ``call.data`` whose ``data.routing`` names a queue (the IVR's hand-off) become
  ``CallQueued`` (priority and extra skills from ``data.routing.priority`` / ``data.routing.skills``);
  ``call.answered``, ``queue.left`` (cause ``abandoned``) and ``call.ended`` follow the call.
  ``agent.state`` on ``ccenter/v1/<site>/agents/+/events`` (from desktops or the CTI gateway):
  ``logged_on``/``ready``/``not_ready``/``logged_off`` become log-on and state requests; the agent's
  skills and extension come from the configuration (file or database), the extension also from the
  message. Every event goes to the engine with the server's clock as its time.
* **Out.** ``OfferCall`` becomes a ``deliver`` command on ``ccenter/v1/<site>/cti/commands``
  (``args``: ``call_id``, ``extension``, ``queue``, ``epoch``) and an ``offer`` command on the agent's
  ``.../agents/<agent>/commands``; ``OfferWithdrawn`` a ``withdraw`` to both; ``AgentStateSet`` a
  ``set_state`` to the agent; ``CallFallback`` a ``fallback`` to CTI. Commands use QoS 1 and a
  ``command_id`` made of call, agent and offer number, so a resent command is recognisably the same.
  ``QueueStats`` are published retained on ``.../queues/<queue>/stats`` once a second and on change.
* **Timers.** The server feeds ``Tick`` when ``engine.next_timer()`` is due.

**Standby.** Several servers for one site elect a leader over MQTT: the leader record
(:class:`~bus.messages.AcdLeader`, retained on ``ccenter/v1/<site>/acd/leader``) names the leader
and its ``epoch``; each server's presence (retained, with an offline last will) says whether it is
alive. A standby whose leader's presence turns offline claims the next epoch, waits ``claim_s`` for
a competing claim (the higher ``(epoch, client_id)`` wins) and takes over. A leader that sees a
higher epoch, or loses its broker link, stands down at once and sends nothing more; every command
carries ``args.epoch`` so that a receiver can also drop a deposed leader's commands.

The leader publishes its state (:class:`~bus.messages.AcdSnapshot`, retained on
``ccenter/v1/<site>/acd/state``) *before* the commands of each decision (write-ahead) and otherwise
at most every ``snapshot_every_s`` after a change. A standby keeps the latest snapshot and every input
event of the last ``buffer_s``; on takeover it rebuilds a fresh engine from the snapshot (waiting
calls in their order, offered and connected calls with their agents) and then re-applies the buffered
events, which is harmless for those the snapshot already holds (call life-cycles only move forward;
agent events older than the agent's last applied ``ts`` are skipped). So a waiting call is neither
lost nor offered twice; an offer the old leader recorded but may not have sent is sent again with
the same ``command_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
import tomllib
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import IO, Any

import yaml

from bus import topics
from bus.errors import BusError
from bus.messages import (
    AcdLeader,
    AcdSnapshot,
    AgentState,
    AgentStateName,
    CallEvent,
    CallEventType,
    Command,
    Message,
    Presence,
    QueueStats,
)
from bus.transport import QOS_COMMAND, QOS_EVENT, Bus, Envelope, Subscription

from .engine import AcdEngine
from .errors import RoutingError, ScenarioError
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
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
    Tick,
)

logger = logging.getLogger(__name__)

#: Queues named ``__restore__.<queue>`` carry the calls a takeover puts back with their agents.
RESTORE_PREFIX = "__restore__."
#: The skill only restored agents have, so that a restored call reaches exactly its agent.
RESTORE_SKILL = "__restore__"


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class AgentProfile:
    skills: Mapping[str, int]
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """Queues and the agents' skills (and extensions) the server routes with."""

    queues: tuple[QueueConfig, ...]
    agents: Mapping[str, AgentProfile] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queues": [_queue_dict(q) for q in self.queues],
            "agents": [
                {"id": a, "skills": dict(p.skills), **({"extension": p.extension} if p.extension else {})}
                for a, p in self.agents.items()
            ],
        }


def _queue_dict(q: QueueConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"name": q.name}
    default = QueueConfig(name=q.name)
    for name in q.__dataclass_fields__:
        value = getattr(q, name)
        if name == "name" or value == getattr(default, name):
            continue
        key = "service_level_s" if name == "sl_seconds" else name
        body[key] = value.value if isinstance(value, Enum) else list(value) if isinstance(value, tuple) else value
    return body


def parse_acd_config(body: Any, source: str = "config") -> AcdConfig:
    """Parse ``{queues: [...], agents: [...]}``; refusals name the key and the reason.

    Queues take the routing keys of a scenario queue (``skill``, ``service_level_s``, ``wrap_up_s``,
    ``ring_timeout_s``, ``agent_selection``, ``aging_per_minute``, ``overflow_to``...; the traffic keys
    of a scenario are accepted and ignored, so a scenario file is also a configuration). Agents are
    ``{id, skills, extension}`` or a scenario group ``{count, skills, name}`` (ids ``<name>-<n>``).
    """
    from .scenario import _queue  # the scenario's validation, shared

    if not isinstance(body, Mapping):
        raise ScenarioError(source, "an ACD configuration is a mapping with 'queues' and 'agents'")
    unknown = set(body) - {"queues", "agents", "duration_hours", "warmup_hours"}
    if unknown:
        raise ScenarioError(sorted(unknown)[0], "unknown key")
    raw_queues = body.get("queues")
    if not isinstance(raw_queues, list) or not raw_queues:
        raise ScenarioError("queues", "must be a non-empty list")
    queues: list[QueueConfig] = []
    for i, raw in enumerate(raw_queues):
        if not isinstance(raw, Mapping):
            raise ScenarioError(f"queues[{i}]", "must be a mapping")
        filled = {"arrivals_per_hour": 1.0, "handle_time": {"mean_s": 1.0}, **raw}
        queues.append(_queue(filled, i).config)
    AcdEngine(queues)  # refuses duplicate and unknown overflow queues with the key
    agents: dict[str, AgentProfile] = {}
    for i, raw in enumerate(body.get("agents") or []):
        key = f"agents[{i}]"
        if not isinstance(raw, Mapping):
            raise ScenarioError(key, "must be a mapping")
        unknown = set(raw) - {"id", "skills", "extension", "count", "name"}
        if unknown:
            raise ScenarioError(f"{key}.{sorted(unknown)[0]}", "unknown key")
        skills = raw.get("skills")
        if not isinstance(skills, Mapping) or not skills:
            raise ScenarioError(f"{key}.skills", "an agent needs at least one skill")
        for skill, level in skills.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
                raise ScenarioError(f"{key}.skills.{skill}", f"proficiency must be an integer 1..10, got {level!r}")
        profile = AgentProfile({str(s): int(v) for s, v in skills.items()}, _text(raw.get("extension"), key))
        if "id" in raw:
            agents[str(raw["id"])] = profile
        else:
            count = raw.get("count")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ScenarioError(f"{key}.id", "give an agent id, or a count for a group")
            name = str(raw.get("name", f"g{i}"))
            for n in range(count):
                agents[f"{name}-{n + 1}"] = replace(profile, extension=None)
    return AcdConfig(tuple(queues), agents)


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScenarioError(f"{key}.extension", "must be text")
    return str(value)


def load_acd_config(path: str | Path) -> AcdConfig:
    """An ACD configuration from a YAML file, or from the ``[acd]`` table of a TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read the ACD configuration: {exc.strerror}") from None
    if path.suffix == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(str(path), f"not valid TOML: {exc}") from None
        body = doc.get("acd", doc)
        if isinstance(body, Mapping) and "queues_file" in body:
            return load_acd_config(path.parent / str(body["queues_file"]))
        return parse_acd_config(body, str(path))
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from None
    return parse_acd_config(body, str(path))


def acd_config_from_db(session: Any) -> AcdConfig:
    """Queues (with their skill, service level and wrap-up) and active agents from the data model."""
    from sqlalchemy import select

    from crm.models import Agent, Queue

    queues = tuple(
        QueueConfig(
            name=q.name,
            skill=q.skill.name if q.skill is not None else q.name,
            sl_seconds=float(q.service_level_seconds),
            sl_target=float(q.service_level_target),
            wrap_up_s=float(q.wrap_up_seconds),
        )
        for q in session.scalars(select(Queue).order_by(Queue.name))
    )
    if not queues:
        raise ScenarioError("queues", "the database holds no queue: nothing to route")
    agents = {
        a.login: AgentProfile({s.skill.name: s.proficiency for s in a.skills}, a.extension)
        for a in session.scalars(select(Agent).where(Agent.active.is_(True)))
        if a.skills
    }
    return AcdConfig(queues, agents)


# ---------------------------------------------------------------- the server


class Role(Enum):
    STARTING = "starting"
    STANDBY = "standby"
    CANDIDATE = "candidate"
    LEADER = "leader"
    STOPPED = "stopped"


def _site_prefix(site: str) -> str:
    return topics.cti_commands(site).removesuffix("cti/commands")  # validates the site


def leader_topic(site: str) -> str:
    return _site_prefix(site) + "acd/leader"


def state_topic(site: str) -> str:
    return _site_prefix(site) + "acd/state"


def agent_events_pattern(site: str) -> str:
    return _site_prefix(site) + "agents/+/events"


def presence_pattern(site: str) -> str:
    return _site_prefix(site) + "presence/+"


@dataclass(slots=True)
class _CallRecord:
    call_id: CallId
    queue: str
    priority: int
    skills: dict[str, int]
    arrived: float
    offers: int = 0
    ringing: bool = False
    command_id: str | None = None


@dataclass(slots=True)
class _AgentRecord:
    agent_id: AgentId
    skills: dict[str, int]
    extension: str | None
    reason: str | None = None
    last_ts: float = -math.inf
    last_state: tuple[str, str | None] | None = None
    last_queue: str | None = None


class AcdServer:
    """The ACD on the bus. ``await server.start()``, then ``await server.stop()``; not thread-safe.

    ``election=False`` makes it lead at once (the embedded single process); with it, it joins the
    site's election and leads or stands by. ``record`` receives every input message as a JSON line
    (``{"t": receive time, "topic", "message"}``), for ``ccenter simulate --replay``.
    """

    def __init__(
        self,
        bus: Bus,
        config: AcdConfig,
        site: str = "main",
        clock: Callable[[], float] = time.time,
        *,
        client_id: str | None = None,
        election: bool = True,
        settle_s: float = 0.5,
        claim_s: float = 0.3,
        stats_every_s: float = 1.0,
        snapshot_every_s: float = 0.2,
        buffer_s: float = 30.0,
        ended_keep_s: float = 600.0,
        record: IO[str] | None = None,
    ) -> None:
        self.bus = bus
        self.config = config
        self.site = site
        self.clock = clock
        self.client_id = client_id or str(getattr(bus, "client_id", "") or f"acd-{uuid.uuid4().hex[:8]}")
        self.election = election
        self.settle_s = settle_s
        self.claim_s = claim_s
        self.stats_every_s = stats_every_s
        self.snapshot_every_s = snapshot_every_s
        self.buffer_s = buffer_s
        self.ended_keep_s = ended_keep_s
        self.record = record
        if record is not None:
            # The configuration first, so a replay knows what the recording ran under.
            record.write(json.dumps({"config": config.to_dict()}, ensure_ascii=False) + "\n")
            record.flush()
        self.role = Role.STARTING
        self.epoch = 0
        self.engine = self._new_engine()
        self.takeovers = 0
        self.commands_sent = 0
        self._calls: dict[CallId, _CallRecord] = {}
        self._agents: dict[AgentId, _AgentRecord] = {}
        self._ended: dict[str, float] = {}
        self._leader: AcdLeader | None = None
        self._presence: dict[str, bool] = {}
        self._snapshot: AcdSnapshot | None = None
        self._buffer: deque[tuple[float, Envelope]] = deque()
        self._seq = itertools.count(1)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = False
        self._last_snapshot = -math.inf
        self._last_stats = -math.inf
        self._published_stats: dict[str, QueueStats] = {}
        self._claim_at: float | None = None
        self._leader_offline = False
        self._reconnects_seen = 0
        self._hold_off_until = -math.inf
        self._started = asyncio.Event()

    # ------------------------------------------------------------ life cycle

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    async def start(self) -> None:
        """Subscribe, then lead (``election=False``) or join the election; returns once subscribed."""
        patterns = [topics.calls(self.site), agent_events_pattern(self.site)]
        if self.election:
            patterns += [leader_topic(self.site), state_topic(self.site), presence_pattern(self.site)]
        for pattern in patterns:
            subscription = await self.bus.subscribe(pattern, qos=QOS_COMMAND)
            self._subscriptions.append(subscription)
            self._tasks.append(asyncio.create_task(self._read(subscription), name=f"acd-read-{pattern}"))
        await self.bus.publish(
            topics.presence(self.site, self.client_id),
            Presence(client_id=self.client_id, online=True, ts=self.clock(), role="acd"),
            qos=QOS_COMMAND,
            retain=True,
        )
        if self.election:
            self.role = Role.STANDBY
            self._hold_off_until = time.monotonic() + self.settle_s  # let retained records arrive
        else:
            await self._become_leader(1)
        self._tasks.append(asyncio.create_task(self._run(), name="acd-run"))
        logger.info("ACD %s started for site %s (%s)", self.client_id, self.site, self.role.value)

    async def stop(self) -> None:
        """Stop routing (a standby takes over); clears nothing retained but the presence says offline."""
        was_leader = self.is_leader
        self.role = Role.STOPPED
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for subscription in self._subscriptions:
            with contextlib.suppress(BusError):
                await subscription.close()
        self._subscriptions.clear()
        with contextlib.suppress(BusError):
            await self.bus.publish(
                topics.presence(self.site, self.client_id),
                Presence(client_id=self.client_id, online=False, ts=self.clock(), role="acd"),
                qos=QOS_COMMAND,
                retain=True,
            )
        logger.info("ACD %s stopped%s", self.client_id, " (was leading)" if was_leader else "")

    # ------------------------------------------------------------ input

    async def _read(self, subscription: Subscription) -> None:
        async for envelope in subscription:
            try:
                await self._on_envelope(envelope)
            except (RoutingError, BusError) as exc:
                logger.warning("ACD %s: %s on %s: %s", self.client_id, type(exc).__name__, envelope.topic, exc)
            except Exception:  # a bug must not stop the ACD: log it with its traceback and go on
                logger.exception("ACD %s: failed on a message on %s", self.client_id, envelope.topic)

    async def _on_envelope(self, envelope: Envelope) -> None:
        message = envelope.message
        if isinstance(message, AcdLeader):
            async with self._lock:
                await self._on_leader(message)
        elif isinstance(message, Presence):
            self._presence[message.client_id] = message.online
            if not message.online and self._leader is not None and message.client_id == self._leader.client_id:
                self._leader_offline = True  # latched: the leader's link broke, even if it comes back
            self._wake.set()
        elif isinstance(message, AcdSnapshot):
            if self._snapshot is None or (message.epoch, message.seq) > (self._snapshot.epoch, self._snapshot.seq):
                self._snapshot = message
                horizon = time.monotonic() - self.buffer_s
                while self._buffer and self._buffer[0][0] < horizon:
                    self._buffer.popleft()
        elif isinstance(message, CallEvent | AgentState):
            if self.record is not None:
                line = {"t": self.clock(), "topic": envelope.topic, "message": message.to_dict()}
                self.record.write(json.dumps(line, ensure_ascii=False) + "\n")
                self.record.flush()
            async with self._lock:
                if self.is_leader:
                    await self._apply([message])
                else:
                    self._buffer.append((time.monotonic(), envelope))

    async def _apply(self, messages: Iterable[Message], *, carry_out: bool = True) -> list[Decision]:
        decisions: list[Decision] = []
        for message in messages:
            now = self.clock()
            for event in self._translate(message, now):
                decisions += self._handle(event)
            if isinstance(message, CallEvent) and message.type == CallEventType.ENDED:
                self._finish(CallId(message.call_id), now)
        if carry_out:
            await self._carry_out(decisions)
        return decisions

    def _handle(self, event: Event) -> list[Decision]:
        try:
            decisions = self.engine.handle(event)
        except RoutingError as exc:
            logger.warning("ACD %s: %s ignored: %s", self.client_id, type(event).__name__, exc)
            return []
        self._dirty = True
        self._wake.set()
        more: list[Decision] = []
        for d in decisions:
            self._note(d)
            record = self._calls.get(d.call_id) if isinstance(d, OfferWithdrawn) else None
            if record is not None and record.queue.startswith(RESTORE_PREFIX):
                more += self._requeue_restored(record, d.ts)
        return decisions + more

    def _requeue_restored(self, record: _CallRecord, now: float) -> list[Decision]:
        """A call given back to its agent at takeover was not answered there: back to its real queue."""
        self.engine.handle(CallAbandoned(ts=now, call_id=record.call_id))
        self.engine.forget_call(record.call_id)
        record.queue = record.queue.removeprefix(RESTORE_PREFIX)
        event = CallQueued(
            ts=now, call_id=record.call_id, queue=record.queue, priority=record.priority, skills=record.skills
        )
        return self._handle(event)

    def _translate(self, message: Message, now: float) -> list[Event]:
        """The engine events a bus message means, given what is known (duplicates mean nothing)."""
        if isinstance(message, AgentState):
            return self._translate_agent(message, now)
        if not isinstance(message, CallEvent):
            return []
        call_id = CallId(message.call_id)
        kind = message.type
        routing = message.data.get("routing") if isinstance(message.data.get("routing"), Mapping) else None
        if kind == CallEventType.QUEUE_JOINED or (kind == CallEventType.DATA and routing and routing.get("queue")):
            if call_id in self._calls or call_id in self._ended:
                return []
            return self._queue_request(message, routing or {}, now)
        record = self._calls.get(call_id)
        if record is None:
            return []
        status = self.engine.call_status(call_id)
        if kind == CallEventType.ALERTING:
            agent = self.engine.call_agent(call_id)
            profile = self._agents.get(agent) if agent is not None else None
            if profile is not None and message.extension and profile.extension == message.extension:
                record.ringing = True
            return []
        if kind == CallEventType.ANSWERED and status is CallStatus.OFFERED:
            return [CallAnswered(ts=now, call_id=call_id)]
        if kind == CallEventType.QUEUE_LEFT and message.cause == "abandoned" and status in (
            CallStatus.QUEUED, CallStatus.OFFERED
        ):  # fmt: skip
            return [CallAbandoned(ts=now, call_id=call_id)]
        if kind == CallEventType.ENDED and status in (CallStatus.QUEUED, CallStatus.OFFERED, CallStatus.CONNECTED):
            return [CallEnded(ts=now, call_id=call_id)]
        return []

    def _queue_request(self, message: CallEvent, routing: Mapping[str, Any], now: float) -> list[Event]:
        queue = str(routing.get("queue") or message.queue or "")
        if queue not in self.engine.queues or queue.startswith(RESTORE_PREFIX):
            logger.warning("call %s asks for unknown queue %r: not routed", message.call_id, queue)
            return []
        try:
            priority = int(routing.get("priority", message.data.get("priority", 0)) or 0)
            raw_skills = routing.get("skills") or {}
            skills = {str(s): int(v) for s, v in dict(raw_skills).items()}
        except (TypeError, ValueError):
            logger.warning("call %s: bad priority or skills in %r; routed without them", message.call_id, routing)
            priority, skills = 0, {}
        call_id = CallId(message.call_id)
        self._calls[call_id] = _CallRecord(call_id, queue, priority, skills, now)
        return [CallQueued(ts=now, call_id=call_id, queue=queue, priority=priority, skills=skills, data=message.data)]

    def _translate_agent(self, message: AgentState, now: float) -> list[Event]:
        agent_id = AgentId(message.agent_id)
        record = self._agents.get(agent_id)
        if record is None:
            profile = self.config.agents.get(agent_id)
            if profile is None:
                logger.warning("agent %s has no skills in the ACD configuration: not routed to", agent_id)
                return []
            record = _AgentRecord(agent_id, dict(profile.skills), profile.extension)
            self._agents[agent_id] = record
        # Older states are skipped; two states with the same time (a PBX clock ticks coarsely, and
        # "not ready" then "ready" can come within one tick) apply in the order they arrived.
        if message.ts < record.last_ts or (message.ts == record.last_ts and record.last_state == (
            message.state, message.reason
        )):
            return []  # an older state, or a duplicate delivery
        record.last_ts = message.ts
        record.last_state = (message.state, message.reason)
        if message.extension:
            record.extension = message.extension
        state = message.state
        logged_on = agent_id in self.engine.agent_ids() and (
            self.engine.agent_status(agent_id) is not AgentStatus.LOGGED_OFF
        )
        if state in (AgentStateName.LOGGED_ON, AgentStateName.READY, AgentStateName.NOT_READY):
            if state == AgentStateName.NOT_READY:
                record.reason = message.reason
            if not logged_on:
                events: list[Event] = [
                    AgentLoggedOn(ts=now, agent_id=agent_id, skills=record.skills, ready=state == AgentStateName.READY)
                ]
                if state == AgentStateName.NOT_READY and message.reason:
                    events.append(
                        AgentStateRequested(
                            ts=now, agent_id=agent_id, state=AgentStatus.NOT_READY, reason=message.reason
                        )
                    )
                return events
            if state == AgentStateName.READY:
                return [AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.READY)]
            if state == AgentStateName.NOT_READY:
                return [
                    AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.NOT_READY, reason=message.reason)
                ]
            return []
        if state == AgentStateName.LOGGED_OFF and logged_on:
            return [AgentStateRequested(ts=now, agent_id=agent_id, state=AgentStatus.LOGGED_OFF)]
        return []  # reserved, busy, wrap_up: reports of what the ACD and the PBX already know

    def _note(self, decision: Decision) -> None:
        """Keep the server's records in step with the engine's decisions."""
        if isinstance(decision, OfferCall):
            record = self._calls[decision.call_id]
            record.offers += 1
            record.ringing = False
            record.command_id = f"{decision.call_id}:{decision.agent_id}:{record.offers}"
            agent = self._agents.get(decision.agent_id)
            if agent is not None:
                agent.last_queue = record.queue
        elif isinstance(decision, OfferWithdrawn):
            self._calls[decision.call_id].ringing = False
        elif isinstance(decision, CallOverflowed) and decision.moved:
            record = self._calls[decision.call_id]
            record.queue = decision.to_queue
            record.arrived = decision.ts
        elif isinstance(decision, CallFallback):
            self._finish(decision.call_id, decision.ts)

    def _finish(self, call_id: CallId, now: float) -> None:
        if self._calls.pop(call_id, None) is not None:
            self._ended[call_id] = now
            self.engine.forget_call(call_id)
        horizon = now - self.ended_keep_s
        while self._ended:
            oldest = next(iter(self._ended))
            if self._ended[oldest] >= horizon:
                break
            del self._ended[oldest]

    # ------------------------------------------------------------ output

    async def _carry_out(self, decisions: list[Decision]) -> None:
        if not self.is_leader or not decisions:
            return
        if any(isinstance(d, OfferCall | OfferWithdrawn | CallFallback) for d in decisions):
            await self._publish_snapshot()  # write-ahead: a successor knows of every offer we make
        for d in decisions:
            if not self.is_leader:
                return
            if isinstance(d, OfferCall):
                await self._deliver(d.call_id, d.agent_id, d.queue)
            elif isinstance(d, OfferWithdrawn):
                agent = self._agents.get(d.agent_id)
                args = {"call_id": d.call_id, "extension": agent.extension if agent else None, "reason": d.reason}
                await self._cti("withdraw", d.call_id, d.agent_id, args, f"{d.call_id}:{d.agent_id}:withdraw")
                await self._agent_command(d.agent_id, "withdraw", d.call_id, {"reason": d.reason})
            elif isinstance(d, AgentStateSet):
                await self._agent_command(
                    d.agent_id, "set_state", None, {"state": d.state.bus_name.value, "reason": d.reason}
                )
            elif isinstance(d, CallFallback):
                args = {"call_id": d.call_id, "action": d.action.value, "queue": d.queue, "reason": d.reason}
                await self._cti("fallback", d.call_id, None, args, f"{d.call_id}:fallback")
            elif isinstance(d, CallUnroutable):
                logger.info("call %s in %s is unroutable: %s", d.call_id, d.queue, d.reason)

    async def _deliver(self, call_id: CallId, agent_id: AgentId, queue: str) -> None:
        record = self._calls[call_id]
        agent = self._agents[agent_id]
        command_id = record.command_id or f"{call_id}:{agent_id}:{record.offers}"
        queue = queue.removeprefix(RESTORE_PREFIX)
        args = {"call_id": call_id, "extension": agent.extension, "queue": queue}
        logger.info("offer call %s to agent %s (extension %s, queue %s)", call_id, agent_id, agent.extension, queue)
        await self._cti("deliver", call_id, agent_id, args, command_id)
        await self._agent_command(
            agent_id, "offer", call_id, {"queue": queue, "extension": agent.extension}, command_id
        )

    async def _cti(self, name: str, call_id: str, agent_id: str | None, args: dict[str, Any], command_id: str) -> None:
        command = Command(
            command_id=command_id,
            name=name,
            ts=self.clock(),
            call_id=call_id,
            agent_id=agent_id,
            args={**args, "epoch": self.epoch},
        )
        await self._send(topics.cti_commands(self.site), command)

    async def _agent_command(
        self, agent_id: str, name: str, call_id: str | None, args: dict[str, Any], command_id: str | None = None
    ) -> None:
        command = Command(
            command_id=f"{command_id or uuid.uuid4().hex}:{name}" if command_id else uuid.uuid4().hex,
            name=name,
            ts=self.clock(),
            call_id=call_id,
            agent_id=agent_id,
            args={**args, "epoch": self.epoch},
        )
        await self._send(topics.agent_commands(self.site, agent_id), command)

    async def _send(self, topic: str, command: Command) -> None:
        if not self._link_up():
            await self._step_down("lost the broker link")
            return
        await self.bus.publish(topic, command, qos=QOS_COMMAND)
        self.commands_sent += 1

    def _link_up(self) -> bool:
        """Connected, and without a reconnection since we started leading (we may have missed events)."""
        return bool(getattr(self.bus, "connected", True)) and self._reconnects() == self._reconnects_seen

    def _reconnects(self) -> int:
        return int(getattr(self.bus, "reconnects", 0))

    # ------------------------------------------------------------ statistics and snapshots

    def queue_stats(self, queue: str, now: float) -> QueueStats:
        s = self.engine.queue_statistics(queue, now)
        q = self.engine.queues[queue]
        ready = busy = 0
        for agent_id, record in self._agents.items():
            if record.skills.get(q.skill, 0) < q.min_proficiency:
                continue
            status = self.engine.agent_status(agent_id) if agent_id in self.engine.agent_ids() else None
            if status is AgentStatus.READY:
                ready += 1
            elif status in (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                busy += 1
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
            agents_ready=ready,
            agents_busy=busy,
        )

    async def _publish_stats(self, *, all_queues: bool) -> None:
        now = self.clock()
        for queue in self.config.queues:
            stats = self.queue_stats(queue.name, now)
            last = self._published_stats.get(queue.name)
            if (
                not all_queues
                and last is not None
                and replace(last, ts=now, longest_wait_s=0.0) == replace(stats, longest_wait_s=0.0)
            ):
                continue
            self._published_stats[queue.name] = stats
            await self.bus.publish(topics.queue_stats(self.site, queue.name), stats, qos=QOS_EVENT, retain=True)

    def snapshot(self) -> AcdSnapshot:
        now = self.clock()
        calls = []
        for record in self._calls.values():
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
                }
            )
        since = {a._agent_id: a.since for a in _engine_agents(self.engine)}
        agents = []
        for agent_id in sorted(self._agents, key=lambda a: since.get(a, math.inf)):
            agent = self._agents[agent_id]
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
            client_id=self.client_id,
            epoch=self.epoch,
            seq=next(self._seq),
            ts=now,
            calls=calls,
            agents=agents,
            ended=list(self._ended),
        )

    async def _publish_snapshot(self) -> None:
        if not self.election:
            return
        self._dirty = False
        self._last_snapshot = time.monotonic()
        await self._send_retained(state_topic(self.site), self.snapshot())

    async def _send_retained(self, topic: str, message: Message) -> None:
        if not self._link_up():
            await self._step_down("lost the broker link")
            return
        await self.bus.publish(topic, message, qos=QOS_COMMAND, retain=True)

    # ------------------------------------------------------------ the loop: timers, statistics, election

    async def _run(self) -> None:
        while self.role is not Role.STOPPED:
            delay = 0.2
            if self.is_leader:
                due = self.engine.next_timer()
                if due is not None:
                    delay = min(delay, max(0.0, due - self.clock()))
                delay = min(delay, max(0.0, self._last_stats + self.stats_every_s - time.monotonic()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: on 3.11 it can swallow a cancellation
                    await self._wake.wait()
            try:
                async with self._lock:
                    await self._maintain()
            except BusError as exc:
                await self._step_down(f"the bus failed: {exc}")

    async def _maintain(self) -> None:
        if self.role in (Role.STANDBY, Role.CANDIDATE):
            await self._consider()
            return
        if not self.is_leader:
            return
        if not self._link_up():
            await self._step_down("lost the broker link")
            return
        due = self.engine.next_timer()
        if due is not None and due <= self.clock():
            await self._carry_out(self._handle(Tick(ts=self.clock())))
        mono = time.monotonic()
        if self._dirty and self.election and mono - self._last_snapshot >= self.snapshot_every_s:
            await self._publish_snapshot()
        if mono - self._last_stats >= self.stats_every_s:
            self._last_stats = mono
            await self._publish_stats(all_queues=True)
        else:
            await self._publish_stats(all_queues=False)

    async def _consider(self) -> None:
        """Standby: claim leadership when there is no live leader; candidate: lead after ``claim_s``."""
        mono = time.monotonic()
        if mono < self._hold_off_until:
            return
        if self.role is Role.CANDIDATE:
            if self._claim_at is not None and mono - self._claim_at >= self.claim_s:
                leader = self._leader
                if leader is not None and leader.client_id == self.client_id and leader.epoch == self.epoch:
                    await self._take_over()
                else:
                    self.role = Role.STANDBY
            return
        leader = self._leader
        alive = (
            leader is not None
            and leader.client_id != self.client_id
            and self._presence.get(leader.client_id) is True
            and not self._leader_offline
        )
        if alive or not getattr(self.bus, "connected", True):
            return
        epoch = (leader.epoch if leader else 0) + 1
        self.epoch = epoch
        self.role = Role.CANDIDATE
        self._claim_at = mono
        reason = "no leader" if leader is None else f"leader {leader.client_id} (epoch {leader.epoch}) is offline"
        logger.info("ACD %s claims the lead of site %s with epoch %d: %s", self.client_id, self.site, epoch, reason)
        record = AcdLeader(client_id=self.client_id, epoch=epoch, ts=self.clock())
        self._leader = record
        await self.bus.publish(leader_topic(self.site), record, qos=QOS_COMMAND, retain=True)

    async def _on_leader(self, record: AcdLeader) -> None:
        mine = (self.epoch, self.client_id)
        theirs = (record.epoch, record.client_id)
        if record.client_id == self.client_id and record.epoch == self.epoch:
            self._leader = record
            return
        if self.role in (Role.LEADER, Role.CANDIDATE) and theirs < mine:
            # A stale or losing claim: make the retained record ours again.
            await self.bus.publish(
                leader_topic(self.site),
                AcdLeader(client_id=self.client_id, epoch=self.epoch, ts=self.clock()),
                qos=QOS_COMMAND,
                retain=True,
            )
            return
        if (
            self._leader is None
            or theirs >= (self._leader.epoch, self._leader.client_id)
            or (self.role is Role.STANDBY)
        ):
            if self._leader is None or theirs != (self._leader.epoch, self._leader.client_id):
                self._leader_offline = False
            self._leader = record
        if self.role in (Role.LEADER, Role.CANDIDATE) and theirs > mine:
            await self._step_down(f"{record.client_id} leads with epoch {record.epoch}", hold_off=False)
        self._wake.set()

    async def _step_down(self, reason: str, *, hold_off: bool = True) -> None:
        if self.role not in (Role.LEADER, Role.CANDIDATE):
            return
        logger.warning("ACD %s stands down (epoch %d): %s", self.client_id, self.epoch, reason)
        self.role = Role.STANDBY
        self._claim_at = None
        if hold_off:
            # Give a standby that kept its link the time to take over before we would claim again.
            self._hold_off_until = time.monotonic() + 3 * (self.settle_s + self.claim_s) + 2.0
        self.engine = self._new_engine()
        self._calls.clear()
        self._agents.clear()
        self._buffer.clear()

    async def _become_leader(self, epoch: int) -> None:
        self.epoch = epoch
        self.role = Role.LEADER
        self._reconnects_seen = self._reconnects()
        self._last_stats = -math.inf
        logger.info("ACD %s leads site %s (epoch %d)", self.client_id, self.site, epoch)

    async def _take_over(self) -> None:
        """Rebuild the engine from the last snapshot and the buffered events, then lead."""
        self.takeovers += 1
        snapshot = self._snapshot
        buffered = [envelope.message for _, envelope in self._buffer]
        self._buffer.clear()
        await self._become_leader(self.epoch)
        resend, decisions = self._restore(snapshot) if snapshot is not None else ([], [])
        decisions += await self._apply(buffered, carry_out=False)
        logger.info(
            "ACD %s took over: %d calls and %d agents from the snapshot, %d buffered events",
            self.client_id,
            len(snapshot.calls) if snapshot else 0,
            len(snapshot.agents) if snapshot else 0,
            len(buffered),
        )
        await self._publish_snapshot()
        for call_id, agent_id in resend:
            if self.engine.call_status(call_id) is CallStatus.OFFERED and self.engine.call_agent(call_id) == agent_id:
                await self._deliver(call_id, agent_id, self._calls[call_id].queue)
        await self._carry_out(decisions)
        await self._publish_stats(all_queues=True)

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
        return AcdEngine([*self.config.queues, *restore])

    def _restore(self, snapshot: AcdSnapshot) -> tuple[list[tuple[CallId, AgentId]], list[Decision]]:
        """Put the snapshot's agents and calls into the (fresh) engine.

        Returns the recorded offers to send again (not seen ringing) and the new decisions to carry out.
        """
        now = self.clock()
        self.engine = self._new_engine()
        self._calls.clear()
        self._agents.clear()
        self._ended = {c: now for c in snapshot.ended}
        calls = {CallId(c["call_id"]): c for c in snapshot.calls}
        agents = {AgentId(a["agent_id"]): a for a in snapshot.agents}
        held = {AgentId(c["agent_id"]): CallId(c["call_id"]) for c in snapshot.calls if c.get("agent_id")}
        resend: list[tuple[CallId, AgentId]] = []
        for agent_id, a in agents.items():
            agent = _AgentRecord(agent_id, dict(a["skills"]), a.get("extension"), a.get("reason"))
            agent.last_ts = -math.inf if a.get("last_ts") is None else float(a["last_ts"])
            agent.last_queue = a.get("last_queue")
            self._agents[agent_id] = agent
        # 1. Agents with a call (or in wrap-up) get it back through their own restore queue.
        for agent_id, a in agents.items():
            status = AgentStatus(a["status"])
            call_id = held.get(agent_id)
            if status not in (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                continue
            if status is AgentStatus.WRAP_UP or call_id is None or call_id not in calls:
                call_id = CallId(f"restore-wrap-{agent_id}")
                queue = self._agents[agent_id].last_queue or self.config.queues[0].name
                c: Mapping[str, Any] = {"call_id": call_id, "queue": queue, "status": "wrap_up"}
            else:
                c = calls.pop(call_id)
            skills = {**self._agents[agent_id].skills, RESTORE_SKILL: 1}
            self.engine.handle(AgentLoggedOn(ts=now, agent_id=agent_id, skills=skills))
            self._agents[agent_id].skills = skills
            skills_back = {str(s): int(v) for s, v in dict(c.get("skills") or {}).items()}
            record = _CallRecord(call_id, RESTORE_PREFIX + c["queue"], int(c.get("priority", 0)), skills_back, now)
            record.offers = int(c.get("offers", 1))
            record.command_id = c.get("command_id")
            record.ringing = bool(c.get("ringing"))
            self._calls[call_id] = record
            out = self.engine.handle(CallQueued(ts=now, call_id=call_id, queue=RESTORE_PREFIX + c["queue"]))
            if not any(isinstance(d, OfferCall) and d.agent_id == agent_id for d in out):  # pragma: no cover
                logger.error("takeover: call %s could not be given back to agent %s", call_id, agent_id)
                continue
            if c["status"] in ("connected", "wrap_up"):
                self.engine.handle(CallAnswered(ts=now, call_id=call_id))
            if c["status"] == "wrap_up":
                self.engine.handle(CallEnded(ts=now, call_id=call_id))
                self._calls.pop(call_id)
            elif c["status"] == "offered" and not record.ringing:
                resend.append((call_id, agent_id))
        # 2. The other agents, not ready for now (ready ones are made ready last, longest idle first).
        for agent_id, a in agents.items():
            status = AgentStatus(a["status"])
            if status in (AgentStatus.READY, AgentStatus.NOT_READY):
                self.engine.handle(
                    AgentLoggedOn(ts=now, agent_id=agent_id, skills=self._agents[agent_id].skills, ready=False)
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
            record = _CallRecord(call_id, c["queue"], int(c.get("priority", 0)), skills, float(c["arrived"]))
            record.offers = int(c.get("offers", 0))
            self._calls[call_id] = record
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
        return resend, pending

    # ------------------------------------------------------------ inspection (tests, ccenter acd explain)

    def waiting_calls(self) -> list[CallId]:
        return [c for c in self._calls if self.engine.call_status(c) is CallStatus.QUEUED]


@dataclass(frozen=True, slots=True)
class _AgentSince:
    _agent_id: AgentId
    since: float


def _engine_agents(engine: AcdEngine) -> list[_AgentSince]:
    """When each agent entered its state (ready order matters when a standby rebuilds the engine)."""
    return [_AgentSince(a.agent_id, a.since) for a in engine._agents.values()]
