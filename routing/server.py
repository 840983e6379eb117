"""``ccenter acd``: the ACD engine on the bus, with a standby that takes over.

:class:`AcdServer` is the thin asyncio part of the ACD; what it does is decided elsewhere, sans I/O:

* :mod:`routing.acd_config`: queues and the agents' skills and extensions (file or database).
* :mod:`routing.adapter`: :class:`~routing.adapter.AcdAdapter` turns the call events (on
  ``ccenter/v1/<site>/calls/+``) and agent states (on ``ccenter/v1/<site>/agents/+/events``) it reads
  into engine events, with the server's clock as their time, and the engine's decisions into the
  commands it publishes (QoS 1) on ``ccenter/v1/<site>/cti/commands`` and the agents'
  ``.../agents/<agent>/events``. ``QueueStats`` are published retained on
  ``.../queues/<queue>/stats`` once a second and on change. The server feeds ``Tick`` when the
  engine's next timer is due.
* :mod:`routing.leadership`: :class:`~routing.leadership.Election` decides who leads the site.

**Standby.** Several servers for one site elect a leader over MQTT (see :mod:`routing.leadership`):
the leader record (retained on ``ccenter/v1/<site>/acd/leader``) names the leader and its ``epoch``;
each server's presence (retained, with an offline last will) says whether it is alive. A leader that
sees a higher epoch, or loses its broker link, stands down at once and sends nothing more; every
command carries ``args.epoch`` so that a receiver can also drop a deposed leader's commands.

The leader publishes its state (:class:`~bus.messages.AcdSnapshot`, retained on
``ccenter/v1/<site>/acd/state``) *before* the commands of each decision (write-ahead) and otherwise
at most every ``snapshot_every_s`` after a change. A standby keeps the latest snapshot and every input
event of the last ``buffer_s``; on takeover it rebuilds a fresh engine from the snapshot (waiting
calls in their order, offered and connected calls with their agents) and then re-applies the buffered
events, which is harmless for those the snapshot already holds (call life-cycles only move forward;
agent events older than the agent's last applied ``ts`` are skipped). So a waiting call is neither
lost nor offered twice; an offer the old leader recorded but may not have sent is sent again with
the same ``command_id``.

**Desktops gone.** Each desktop says on ``ccenter/v1/<site>/agents/<agent_id>/presence`` (retained,
written by that agent's identity alone) that it is online, and leaves ``online: false`` there as its MQTT
last will (:class:`~bus.messages.AgentPresence`). When a logged-on agent's desktop goes offline, the
leader offers that agent nothing more at once (an offer ringing is taken back, the call keeps its place)
and keeps its state; a desktop back within ``desktop_grace_s`` loses nothing. After the grace the
leader logs the agent off, as a supervisor's ``log_out`` would (``set_agent_state`` to the CTI gateway),
audited with the actor ``(system)`` when supervisors' actions are served. A late will of a desktop
already replaced (another ``instance`` online) is ignored. A standby remembers the desktops gone and
carries the grace on when it takes over.

**The CTI gateway gone.** The gateway's MQTT last will is its ``cti.capabilities`` with ``online`` false:
the ACD offers no call while no gateway is online, whether the gateway stopped or died.

The configuration's names (``AcdConfig``, ``AgentProfile``, ``load_acd_config``...) are also
importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import IO, Any

from bus import topics
from bus.errors import BusError
from bus.messages import (
    AcdLeader,
    AcdSnapshot,
    AgentDay,
    AgentPresence,
    AgentState,
    CallEvent,
    Command,
    CommandResult,
    CtiCapabilities,
    ExplainAnswer,
    ExplainRequest,
    Message,
    Presence,
    SupervisorAction,
)
from bus.transport import QOS_COMMAND, QOS_EVENT, Bus, Envelope, Subscription

from .acd_config import AcdConfig, AgentProfile, acd_config_from_db, load_acd_config, parse_acd_config
from .adapter import RESTORE_PREFIX, RESTORE_SKILL, AcdAdapter, Outgoing, Promise
from .agent_day import DayLedger
from .engine import AcdEngine, explain_agent, explain_call, waiting_call_ids
from .errors import RoutingError
from .leadership import Election, PublishLeader, Role, SnapshotAssembler, StepDown, TakeOver, split_snapshot
from .model import (
    AgentId,
    AgentStatus,
    CallFallback,
    CallId,
    CallStatus,
    Decision,
    OfferCall,
    OfferWithdrawn,
    QueueConfig,
)
from .supervision import SupervisorDesk

__all__ = [
    "RESTORE_PREFIX",
    "RESTORE_SKILL",
    "AcdConfig",
    "AcdServer",
    "AgentProfile",
    "ExplainClient",
    "Role",
    "acd_config_from_db",
    "load_acd_config",
    "parse_acd_config",
]

logger = logging.getLogger(__name__)

#: How long an agent whose desktop is gone stays logged on (offered nothing) before the ACD logs it off.
DESKTOP_GRACE_S = 60.0


def public_name(client_id: str) -> str:
    """A name for this ACD in what agents may read (its figures of the day): not its MQTT client id,
    which is secret (MQTT hands a client id's session to whoever connects with it)."""
    return "acd-" + hashlib.sha256(client_id.encode()).hexdigest()[:16]


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
        supervision: SupervisorDesk | None = None,
        keep_promise: Callable[[Promise], Awaitable[None]] | None = None,
        agent_days: bool | None = None,
        desktop_grace_s: float = DESKTOP_GRACE_S,
    ) -> None:
        self.bus = bus
        self.desktop_grace_s = desktop_grace_s
        #: The last presence each agent's desktop said, and since when (clock) the logged-on agents whose
        #: desktop is gone have been away (a standby remembers them all, for a takeover).
        self._desktops: dict[str, AgentPresence] = {}
        self._away_since: dict[str, float] = {}
        self._logoff_asked: set[str] = set()  # asked of the gateway; the engine applies it after a call
        self.desktop_logoffs = 0
        self.supervision = supervision
        self.keep_promise = keep_promise  # writes a callback promised by a fallback before it is carried out
        self.config = config
        self.site = site
        self.clock = clock
        self.client_id = client_id or str(getattr(bus, "client_id", "") or f"acd-{uuid.uuid4().hex[:8]}")
        self.election = election
        self.stats_every_s = stats_every_s
        self.snapshot_every_s = snapshot_every_s
        self.buffer_s = buffer_s
        self.record = record
        if record is not None:
            # The configuration first, so a replay knows what the recording ran under.
            record.write(json.dumps({"config": config.to_dict()}, ensure_ascii=False) + "\n")
            record.flush()
        self.adapter = AcdAdapter(config, site, ended_keep_s=ended_keep_s, label=self.client_id)
        #: Each agent's figures of the day, published retained on ``agents/<id>/day`` (by default when
        #: supervisors are served: their windows show them).
        self.agent_days = supervision is not None if agent_days is None else agent_days
        self.days = DayLedger(public_name(self.client_id))
        self.leadership = Election(self.client_id, site, settle_s=settle_s, claim_s=claim_s)
        self.takeovers = 0
        self.commands_sent = 0
        self.snapshot_received: AcdSnapshot | None = None  # a standby's latest snapshot of the leader
        #: The last snapshot this ACD published as leader. After a broker node is lost it may never have
        #: come back as ``snapshot_received``; leading again, it is the newest state this ACD knows.
        self.snapshot_published: AcdSnapshot | None = None
        self._assembler = SnapshotAssembler()
        self._parts_sent = 1
        self._buffer: deque[tuple[float, Envelope]] = deque()
        self._seq = itertools.count(1)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._last_snapshot = -math.inf
        self._last_stats = -math.inf
        self._reconnects_seen = 0

    # ------------------------------------------------------------ state, for tests and inspection

    @property
    def engine(self) -> AcdEngine:
        return self.adapter.engine

    @property
    def role(self) -> Role:
        return self.leadership.role

    @property
    def epoch(self) -> int:
        return self.leadership.epoch

    @property
    def leader(self) -> AcdLeader | None:
        """The leader record this server last saw (or claimed)."""
        return self.leadership.leader

    @property
    def is_leader(self) -> bool:
        return self.leadership.is_leader

    def waiting_calls(self) -> list[CallId]:
        return self.adapter.waiting_calls()

    def explain(self, kind: str, name: str, *, limit: int = 3) -> tuple[str, list[dict[str, Any]]]:
        """The ACD's own explanation of an agent, or of the queue's longest-waiting calls (at most
        ``limit``): the sentence for people and the structured reasons (``subject``, ``data``)."""
        engine, now = self.engine, self.clock()
        if kind == "agent":
            if AgentId(name) not in engine.agent_ids():
                reason = {"subject": f"agent {name}", "data": {"agent_id": name, "status": "logged_off"}}
                return f"Agent {name} is not logged on.", [reason]
            e = explain_agent(engine, AgentId(name), now)
            return e.text, [{"subject": e.subject, "data": dict(e.data)}]
        waiting = [explain_call(engine, call, now) for call in waiting_call_ids(engine)]
        mine = [e for e in waiting if e.data.get("queue") == name][:limit]
        if not mine:
            st = engine.queue_statistics(name, now)
            data = {"queue": name, "waiting": 0, "offered": st.offered, "answered": st.answered,
                    "abandoned": st.abandoned}
            text = (f"No call is waiting in {name}: {st.offered} offered, {st.answered} answered, "
                    f"{st.abandoned} abandoned.")
            return text, [{"subject": f"queue {name}", "data": data}]
        return "\n\n".join(e.text for e in mine), [{"subject": e.subject, "data": dict(e.data)} for e in mine]

    async def _answer_explain(self, message: ExplainRequest, where: object) -> None:
        """Answer a question: asked on a supervisor's own actions topic (the broker lets only that login write
        there), the answer goes to that supervisor's results, and an agent of another team is refused; asked
        on the site-wide ``acd/explain`` (the service user ``svc-supervisor``, the demo), on ``acd/explanations``."""
        asker = where.login if isinstance(where, topics.SupervisorActionsTopic) else None
        if asker is not None and self.supervision is None:
            return  # supervisors are not served by this ACD
        refused = None if asker is None or self.supervision is None else \
            await self.supervision.explain_refusal(asker, message.kind, message.name)
        if refused is not None:
            text, reasons = f"Refused: {refused}", [{"subject": f"{message.kind} {message.name}",
                                                     "data": {"refused": refused}}]
        else:
            async with self._lock:
                text, reasons = self.explain(message.kind, message.name)
        answer = ExplainAnswer(request_id=message.request_id, kind=message.kind, name=message.name,
                               ts=self.clock(), text=text, reasons=reasons)
        topic = topics.acd_explanations(self.site) if asker is None else topics.supervisor_results(self.site, asker)
        await self.bus.publish(topic, answer, qos=QOS_COMMAND)

    # ------------------------------------------------------------ a supervisor's live changes

    async def publish_command(self, topic: str, command: Command) -> None:
        """Send a command for a supervisor's action (with this leader's epoch, as every ACD command)."""
        if not self.is_leader:
            raise RoutingError("this ACD no longer leads the site")
        command = replace(command, args={**command.args, "epoch": self.epoch})
        await self.bus.publish(topic, command, qos=QOS_COMMAND)
        self.commands_sent += 1

    async def apply_skills(self, agent_id: str, skills: dict[str, int]) -> None:
        """An agent's new skills, at once: a ready agent is offered the calls it can now take."""
        async with self._lock:
            profile = self.config.agents.get(agent_id)
            agents = dict(self.config.agents)
            agents[agent_id] = AgentProfile(dict(skills), profile.extension if profile else None)
            self.config = replace(self.config, agents=agents)
            self.adapter.config = self.config
            record = self.adapter.agents.get(AgentId(agent_id))
            if record is not None:
                record.skills = dict(skills)
            decisions = self.engine.update_agent_skills(AgentId(agent_id), skills, self.clock())
            self.adapter.changed = True
            await self._carry_out(decisions)
        self._wake.set()

    def extension_of(self, agent_id: str) -> str | None:
        """The extension the agent is on (as its states said), else the configured one."""
        record = self.adapter.agents.get(AgentId(agent_id))
        if record is not None and record.extension:
            return record.extension
        profile = self.config.agents.get(agent_id)
        return profile.extension if profile else None

    async def apply_queue(self, queue: QueueConfig) -> None:
        """A queue's new rules, at once (see :meth:`routing.engine.AcdEngine.reconfigure_queue`)."""
        async with self._lock:
            self.engine.reconfigure_queue(queue)
            queues = tuple(queue if q.name == queue.name else q for q in self.config.queues)
            self.config = replace(self.config, queues=queues)
            self.adapter.config = self.config
            self.adapter.changed = True
        self._wake.set()

    def snapshot(self) -> AcdSnapshot:
        return self.adapter.snapshot(client_id=self.client_id, epoch=self.epoch, seq=next(self._seq), now=self.clock())

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Subscribe, then lead (``election=False``) or join the election; returns once subscribed."""
        patterns = [topics.calls(self.site), topics.all_agent_events(self.site), topics.cti_capabilities(self.site),
                    topics.acd_explain(self.site), topics.all_agent_presence(self.site)]
        if self.supervision is not None:
            # The telephony's answers to supervisors' commands: on cti/results (listening in), and on the
            # agent's events (not ready, log out), which are read below anyway.
            patterns += [topics.all_supervisor_actions(self.site), topics.cti_results(self.site)]
        if self.agent_days:
            patterns.append(topics.all_agent_days(self.site))
        if self.election:
            patterns += [topics.acd_leader(self.site), topics.acd_state(self.site), topics.acd_state_parts(self.site),
                         topics.all_presence(self.site)]
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
            self.leadership.stand_by(time.monotonic())
        else:
            self._become_leader(1)
        self._tasks.append(asyncio.create_task(self._run(), name="acd-run"))
        logger.info("ACD %s started for site %s (%s)", self.client_id, self.site, self.role.value)

    async def stop(self) -> None:
        """Stop routing (a standby takes over); clears nothing retained but the presence says offline."""
        was_leader = self.is_leader
        self.leadership.stop()
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
                await self._act(self.leadership.on_leader(message, self.clock()))
            self._wake.set()
        elif isinstance(message, Presence):
            self.leadership.on_presence(message.client_id, message.online)
            self._wake.set()
        elif isinstance(message, AgentPresence):
            where = topics.parse(envelope.topic)
            # The topic says whose desktop it is (only that agent may write it), not the message.
            if isinstance(where, topics.AgentPresenceTopic) and where.agent_id == message.agent_id:
                async with self._lock:
                    await self._desktop_said(message)
        elif isinstance(message, AcdSnapshot):
            last = self.snapshot_received
            whole = self._assembler.add(message)
            if whole is not None and (last is None or (whole.epoch, whole.seq) > (last.epoch, last.seq)):
                self.snapshot_received = whole
                horizon = time.monotonic() - self.buffer_s
                while self._buffer and self._buffer[0][0] < horizon:
                    self._buffer.popleft()
        elif isinstance(message, CtiCapabilities):
            async with self._lock:
                if self.is_leader:
                    await self._apply([message])
                else:  # a standby only remembers it: its engine is rebuilt at takeover
                    self.adapter.link_up = bool(message.online)
        elif isinstance(message, ExplainRequest):
            if self.is_leader:  # only the leader knows; a standby's engine is empty
                await self._answer_explain(message, topics.parse(envelope.topic))
        elif isinstance(message, AgentDay):
            async with self._lock:
                self.days.hear(message, leading=self.is_leader)
        elif isinstance(message, CommandResult):
            if self.supervision is not None:
                self.supervision.hear_result(message)
        elif isinstance(message, SupervisorAction):
            where = topics.parse(envelope.topic)
            if self.supervision is not None and self.is_leader and isinstance(where, topics.SupervisorActionsTopic):
                result = await self.supervision.handle(where.login, message, self)
                await self.bus.publish(topics.supervisor_results(self.site, where.login), result, qos=QOS_COMMAND)
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

    # ------------------------------------------------------------ desktops gone

    def _logged_on(self, agent_id: str) -> bool:
        engine, agent = self.engine, AgentId(agent_id)
        return agent in engine.agent_ids() and engine.agent_status(agent) is not AgentStatus.LOGGED_OFF

    async def _desktop_said(self, message: AgentPresence) -> None:
        agent, now = message.agent_id, self.clock()
        last = self._desktops.get(agent)
        if not message.online and last is not None and last.online and last.instance != message.instance:
            return  # the late will of a desktop the agent has already replaced
        self._desktops[agent] = message
        if message.online:
            self._logoff_asked.discard(agent)
            if self._away_since.pop(agent, None) is not None and self.is_leader:
                logger.info("ACD %s: agent %s's desktop is back: offering calls again", self.client_id, agent)
                self.adapter.changed = True
                await self._carry_out(self.engine.set_agent_away(AgentId(agent), False, now))
            return
        if not self.is_leader:
            self._away_since.setdefault(agent, now)  # checked against the engine at takeover
            return
        if agent in self._away_since or not self._logged_on(agent):
            return
        self._away_since[agent] = now
        logger.info("ACD %s: agent %s's desktop is gone: no call is offered to it; logged off in %.0f s unless "
                    "it is back", self.client_id, agent, self.desktop_grace_s)
        self.adapter.changed = True
        await self._carry_out(self.engine.set_agent_away(AgentId(agent), True, now))

    async def _desktops_due(self) -> None:
        """Log off the agents whose desktop has been gone for the grace period (the leader, each round)."""
        now = self.clock()
        for agent, since in list(self._away_since.items()):
            if not self._logged_on(agent):
                del self._away_since[agent]  # logged off meanwhile (by itself, a supervisor or us)
                self._logoff_asked.discard(agent)
                continue
            if not self.engine.agent_away(AgentId(agent)):  # a takeover's engine: away again
                await self._carry_out(self.engine.set_agent_away(AgentId(agent), True, now))
            if now - since < self.desktop_grace_s:
                continue
            if agent in self._logoff_asked and self.engine.agent_status(AgentId(agent)) in (
                    AgentStatus.ON_CALL, AgentStatus.WRAP_UP):
                continue  # the log-off waits for the end of the call and its wrap-up
            self._away_since[agent] = now  # asked again after another grace if the agent is still on
            self._logoff_asked.add(agent)
            await self._log_off_gone(agent, now - since)

    async def _log_off_gone(self, agent: str, gone_s: float) -> None:
        detail = f"the agent's desktop has been gone for {gone_s:.0f} s"
        command = Command(command_id=f"acd:desktop-gone:{agent}:{uuid.uuid4().hex[:12]}", name="set_agent_state",
                          ts=self.clock(), agent_id=agent, args={"agent_id": agent, "state": "logged_off"})
        await self.publish_command(topics.cti_commands(self.site), command)
        self.desktop_logoffs += 1
        logger.info("ACD %s: logging agent %s off: %s", self.client_id, agent, detail)
        if self.supervision is not None:
            try:
                await self.supervision.audit_system("log_out", agent, result="ok", detail=detail)
            except Exception:
                logger.exception("ACD %s: logging agent %s off could not be audited", self.client_id, agent)

    async def _apply(self, messages: Iterable[Message], *, carry_out: bool = True) -> list[Decision]:
        decisions: list[Decision] = []
        for message in messages:
            decisions += self.adapter.receive(message, self.clock())
        self._wake.set()
        if carry_out:
            await self._carry_out(decisions)
        return decisions

    # ------------------------------------------------------------ output

    async def _carry_out(self, decisions: list[Decision]) -> None:
        promises, self.adapter.promises = self.adapter.promises, []
        if not self.is_leader or not decisions:
            return
        if self.keep_promise is not None:
            for promise in promises:  # written down before the caller is told and hung up on
                await self.keep_promise(promise)
        if any(isinstance(d, OfferCall | OfferWithdrawn | CallFallback) for d in decisions):
            await self._publish_snapshot()  # write-ahead: a successor knows of every offer we make
        await self._send_all(self.adapter.commands(decisions, epoch=self.epoch, now=self.clock()))

    async def _send_all(self, outgoing: list[Outgoing]) -> None:
        for item in outgoing:
            if not self.is_leader:
                return
            if not self._link_up():
                await self._step_down("lost the broker link")
                return
            await self.bus.publish(item.topic, item.command, qos=QOS_COMMAND)
            self.commands_sent += 1

    def _link_up(self) -> bool:
        """Connected, and without a reconnection since we started leading (we may have missed events)."""
        return bool(getattr(self.bus, "connected", True)) and self._reconnects() == self._reconnects_seen

    def _reconnects(self) -> int:
        return int(getattr(self.bus, "reconnects", 0))

    async def _publish_stats(self, *, all_queues: bool) -> None:
        for topic, stats in self.adapter.stats_to_publish(self.clock(), all_queues=all_queues):
            await self.bus.publish(topic, stats, qos=QOS_EVENT, retain=True)

    async def _publish_snapshot(self) -> None:
        if not self.election:
            return
        self.adapter.changed = False
        self._last_snapshot = time.monotonic()
        snapshot = self.snapshot()
        self.snapshot_published = snapshot
        parts = split_snapshot(snapshot)
        # Later parts first: a standby has every part of a snapshot by the time its part 0 arrives.
        for part in reversed(parts):
            topic = topics.acd_state(self.site) if part.part == 0 else topics.acd_state_part(self.site, part.part)
            await self._send_retained(topic, part)
        for stale in range(len(parts), self._parts_sent):  # parts of a larger snapshot, retained: cleared
            await self.bus.clear_retained(topics.acd_state_part(self.site, stale))
        self._parts_sent = len(parts)

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
                due = self.adapter.next_timer()
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
            except Exception:  # a bug must not stop the ACD: log it with its traceback and go on
                logger.exception("ACD %s: a routing step failed", self.client_id)

    async def _maintain(self) -> None:
        if self.role in (Role.STANDBY, Role.CANDIDATE):
            action = self.leadership.consider(
                time.monotonic(), self.clock(), connected=bool(getattr(self.bus, "connected", True))
            )
            if action is not None:
                await self._act([action])
            return
        if not self.is_leader:
            return
        if not self._link_up():
            await self._step_down("lost the broker link")
            return
        await self._carry_out(self.adapter.tick(self.clock()))
        if self._away_since:
            await self._desktops_due()
        mono = time.monotonic()
        if self.adapter.changed and self.election and mono - self._last_snapshot >= self.snapshot_every_s:
            await self._publish_snapshot()
        if mono - self._last_stats >= self.stats_every_s:
            self._last_stats = mono
            await self._publish_stats(all_queues=True)
            await self._publish_days()
        else:
            await self._publish_stats(all_queues=False)

    async def _publish_days(self) -> None:
        if not self.agent_days:
            return
        for day in self.days.due(self.engine, self.clock()):
            await self.bus.publish(topics.agent_day(self.site, day.agent_id), day, qos=QOS_EVENT, retain=True)

    async def _act(self, actions: list[PublishLeader | StepDown | TakeOver]) -> None:
        for action in actions:
            if isinstance(action, PublishLeader):
                await self.bus.publish(topics.acd_leader(self.site), action.record, qos=QOS_COMMAND, retain=True)
            elif isinstance(action, StepDown):
                await self._step_down(action.reason, hold_off=action.hold_off)
            else:
                await self._take_over()

    async def _step_down(self, reason: str, *, hold_off: bool = True) -> None:
        was_leading = self.is_leader
        if self.leadership.step_down(reason, time.monotonic(), hold_off=hold_off) and was_leading:
            # A leader's engine goes (its successor's snapshot holds its state). A candidate that lost its
            # claim keeps its buffer: those events are not in any snapshot it has, and it may lead next.
            self.adapter.reset()
            self._buffer.clear()

    def _become_leader(self, epoch: int) -> None:
        self.leadership.lead(epoch)
        self._reconnects_seen = self._reconnects()
        self._last_stats = -math.inf

    def _newest_snapshot(self) -> AcdSnapshot | None:
        """The newer, by (epoch, seq), of the leader's snapshot received and this ACD's own last one."""
        known = [s for s in (self.snapshot_received, self.snapshot_published) if s is not None]
        return max(known, key=lambda s: (s.epoch, s.seq), default=None)

    async def _take_over(self) -> None:
        """Rebuild the engine from the last snapshot and the buffered events, then lead."""
        self.takeovers += 1
        if self.supervision is not None:  # the rules supervisors changed while this ACD stood by
            try:
                self.config = await self.supervision.reload_rules(self.config)
                self.adapter.config = self.config
                if self._newest_snapshot() is None:
                    self.adapter.reset()  # the engine is rebuilt by the restore otherwise
            except Exception as exc:  # the database is down: route with the rules it has rather than not at all
                logger.warning("ACD %s takes over with the queue rules it started with: %s", self.client_id, exc)
        snapshot = self._newest_snapshot()
        buffered = [envelope.message for _, envelope in self._buffer]
        self._buffer.clear()
        self._become_leader(self.epoch)
        now = self.clock()
        resend, decisions = self.adapter.restore(snapshot, now) if snapshot is not None else ([], [])
        self.days.take_over(self.engine, now)
        decisions += await self._apply(buffered, carry_out=False)
        for agent in list(self._away_since):  # desktops gone while this ACD stood by: offered nothing
            if self._logged_on(agent):
                decisions += self.engine.set_agent_away(AgentId(agent), True, now)
            else:
                del self._away_since[agent]
        logger.info(
            "ACD %s took over: %d calls and %d agents from the snapshot, %d buffered events",
            self.client_id,
            len(snapshot.calls) if snapshot else 0,
            len(snapshot.agents) if snapshot else 0,
            len(buffered),
        )
        await self._publish_snapshot()
        for call_id, agent_id in resend:
            if call_id not in self.adapter.calls:
                continue  # the buffered events already ended it
            if self.engine.call_status(call_id) is CallStatus.OFFERED and self.engine.call_agent(call_id) == agent_id:
                queue = self.adapter.calls[call_id].queue
                await self._send_all(self.adapter.deliver(call_id, agent_id, queue, epoch=self.epoch, now=self.clock()))
        await self._carry_out(decisions)
        await self._publish_stats(all_queues=True)


class ExplainClient:
    """Asks the site's leading ACD for explanations over the bus (the supervisor window's Why pane).

    ``await client.start()`` subscribes to the answers; ``await client.ask(kind, name)`` publishes an
    :class:`~bus.messages.ExplainRequest` and returns the :class:`~bus.messages.ExplainAnswer` with its
    request id, or raises :class:`TimeoutError` after ``timeout_s`` (no ACD leads the site)."""

    def __init__(self, bus: Bus, site: str, *, clock: Callable[[], float] = time.time, timeout_s: float = 5.0,
                 login: str | None = None) -> None:
        self.bus = bus
        self.site = site
        self.clock = clock
        self.timeout_s = timeout_s
        # A supervisor's own questions go on their actions topic and come back on their results, where only
        # they read: the ACD answers them about their own team's agents only. Without a login, the
        # site-wide acd/explain and acd/explanations (the service user svc-supervisor, the demo).
        self.login = login
        self._pending: dict[str, asyncio.Future[ExplainAnswer]] = {}
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        answers = topics.acd_explanations(self.site) if self.login is None else \
            topics.supervisor_results(self.site, self.login)
        self._subscription = await self.bus.subscribe(answers, qos=QOS_COMMAND)
        self._task = asyncio.create_task(self._read(self._subscription), name="explain-answers")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._subscription is not None:
            with contextlib.suppress(BusError):
                await self._subscription.close()

    async def _read(self, subscription: Subscription) -> None:
        async for envelope in subscription:
            answer = envelope.message
            if isinstance(answer, ExplainAnswer):
                future = self._pending.pop(answer.request_id, None)
                if future is not None and not future.done():
                    future.set_result(answer)

    async def ask(self, kind: str, name: str) -> ExplainAnswer:
        if self._task is None:
            raise RoutingError("start() the explanation client first")
        request = ExplainRequest(request_id=uuid.uuid4().hex, kind=kind, name=name, ts=self.clock())
        future: asyncio.Future[ExplainAnswer] = asyncio.get_running_loop().create_future()
        self._pending[request.request_id] = future
        try:
            asked = topics.acd_explain(self.site) if self.login is None else \
                topics.supervisor_actions(self.site, self.login)
            await self.bus.publish(asked, request, qos=QOS_COMMAND)
            async with asyncio.timeout(self.timeout_s):
                return await future
        finally:
            self._pending.pop(request.request_id, None)
