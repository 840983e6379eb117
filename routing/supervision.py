"""Supervisor actions, carried out by the leading ACD and audited.

A supervisor publishes a :class:`~bus.messages.SupervisorAction` on
``ccenter/v1/<site>/supervisors/<login>/actions``; the broker lets only that login's identity write there
(``ccenter broker provision``), so the topic says who acts. :class:`SupervisorDesk` then:

1. looks the actor up in the agents table: an ``agent`` may do nothing, a ``supervisor`` acts on the
   agents (and the team) of their own team, an ``admin`` on everything; queues and campaigns are for
   supervisors and administrators;
2. carries the action out: ``force_not_ready`` and ``log_out`` as a ``set_agent_state`` command to the CTI
   gateway; ``set_skills`` in the database and at once in the running engine; ``set_queue`` (selection
   rule, priority, aging, overflow, fallback) in the database and at once in the engine;
   ``pause_campaign``, ``resume_campaign`` and ``set_campaign`` (dial mode, abandon target) in the
   database, which the dialer reads on its next refresh; ``message_agent`` and ``message_team`` as a
   ``supervisor_message`` command on each agent's events; ``listen`` (silent monitor, whisper, barge) as a
   ``listen`` command to the gateway. For the gateway's commands the result is the gateway's answer
   (what the PBX did, or why it did not), ``failed`` when none comes within ``telephony_timeout_s``;
3. writes the audit row (who, what, on what, when, result) and answers with a
   :class:`~bus.messages.SupervisorResult` on ``.../supervisors/<login>/results``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bus import topics
from bus.errors import BusError
from bus.messages import SUPERVISOR_ACTIONS, Command, CommandResult, SupervisorAction, SupervisorResult
from bus.transport import QOS_COMMAND, Bus

from .acd_config import AcdConfig, AgentProfile, check_queue_links, queue_config_from_row
from .errors import RoutingError, ScenarioError
from .model import QueueConfig

logger = logging.getLogger(__name__)

#: The actor of what the ACD does of itself in the audit (an agent logged off when its desktop is gone).
SYSTEM_ACTOR = "(system)"  # never a login (logins have no parentheses)
#: Listen-in modes: silent monitor, whisper (to the agent only), barge (all three talk).
LISTEN_MODES = ("monitor", "whisper", "barge")
MAX_MESSAGE = 500


class Refused(RoutingError):
    """The actor may not do this (the message says why)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str  # ok, refused, failed
    detail: str = ""


def authorize(actor: Any, action: str, target_team: str | None, *, target_kind: str) -> None:
    """Raise :class:`Refused` unless ``actor`` (a :class:`crm.supervision.Person` or None) may do ``action``
    on a target of ``target_team`` (for agents and teams; None for queues and campaigns)."""
    if actor is None or not actor.active:
        raise Refused("unknown or inactive login")
    if actor.role == "admin":
        return
    if actor.role != "supervisor":
        raise Refused(f"{actor.login} is an agent, not a supervisor")
    if target_kind in ("agent", "team"):
        if not actor.team:
            raise Refused(f"{actor.login} supervises no team")
        if target_team != actor.team:
            raise Refused(f"{actor.login} supervises team {actor.team}, not this {target_kind}'s")


class SupervisorDesk:
    """Carries out supervisor actions for the ACD server ``acd`` (its bus, engine and lock)."""

    def __init__(self, sessions: Any, *, site: str = "main", clock: Callable[[], float] = time.time,
                 telephony_timeout_s: float = 5.0) -> None:
        self.sessions = sessions
        self.site = site  # the rows (agents, queues, campaigns) of this site only
        self.clock = clock
        self.telephony_timeout_s = telephony_timeout_s
        self._asked: dict[str, asyncio.Future[CommandResult]] = {}  # by command id: the telephony's answer

    def hear_result(self, result: CommandResult) -> None:
        """The CTI gateway's answer to a command (the ACD server hands every one it reads)."""
        future = self._asked.get(result.command_id)
        if future is not None and not future.done():
            future.set_result(result)

    async def _by_telephony(self, acd: Any, command: Command, done: str) -> Outcome:
        """Send ``command`` to the CTI gateway and wait for its answer: ``ok`` only when the PBX did it."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._asked[command.command_id] = future
        try:
            await acd.publish_command(topics.cti_commands(acd.site), command)
            try:
                async with asyncio.timeout(self.telephony_timeout_s):
                    answer = await future
            except TimeoutError:
                return Outcome("failed", f"the telephony did not answer within {self.telephony_timeout_s:g} s "
                                         "(is the CTI gateway running?)")
        finally:
            self._asked.pop(command.command_id, None)
        if answer.ok:
            return Outcome("ok", done)
        return Outcome("failed", f"the telephony refused: {answer.error or 'no reason given'}")

    async def _db(self, fn: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            with self.sessions() as session:
                result = fn(session)
                session.commit()
                return result

        return await asyncio.to_thread(run)

    async def reload_rules(self, config: AcdConfig) -> AcdConfig:
        """``config`` with the database's current rules of its queues and skills of its agents: what
        supervisors changed while a standby ACD stood by (it takes over with them). Queues and agents
        the database does not hold keep their configured rules."""
        from crm.acd_data import routing_agents, routing_queues

        def read(session: Any) -> tuple[dict[str, QueueConfig], dict[str, dict[str, int]]]:
            queues = {q.name: queue_config_from_row(q) for q in routing_queues(session)}
            return queues, {a.login: dict(a.skills) for a in routing_agents(session)}

        stored, skills = await self._db(read)
        queues = tuple(stored.get(q.name, q) for q in config.queues)
        check_queue_links(queues)
        agents = {login: AgentProfile(skills[login], profile.extension) if login in skills else profile
                  for login, profile in config.agents.items()}
        changed = [q.name for q, old in zip(queues, config.queues, strict=True) if q != old]
        if changed:
            logger.info("queue rules changed while standing by: %s", ", ".join(changed))
        return replace(config, queues=queues, agents=agents)

    async def handle(self, login: str, action: SupervisorAction, acd: Any) -> SupervisorResult:
        try:
            outcome = await self._carry_out(login, action, acd)
        except Refused as exc:
            outcome = Outcome("refused", str(exc))
        except (RoutingError, ScenarioError, ValueError) as exc:
            outcome = Outcome("failed", str(exc))
        except Exception:  # the database or the bus failed: the supervisor hears of it, the ACD routes on
            logger.exception("supervisor %s: %s %s failed", login, action.action, action.target)
            outcome = Outcome("failed", "the ACD could not carry it out (see its log)")
        from crm import supervision

        try:
            await self._db(lambda s: supervision.record_audit(
                s, actor=login, action=action.action, target=action.target, args=action.args,
                result=outcome.result, detail=outcome.detail, action_id=action.action_id))
        except Exception:
            logger.exception("supervisor %s: %s %s (%s) could not be audited", login, action.action,
                             action.target, outcome.result)
            outcome = Outcome(outcome.result, f"{outcome.detail} (not audited: the database failed)".strip())
        logger.info("supervisor %s: %s %s: %s %s", login, action.action, action.target, outcome.result,
                    outcome.detail)
        return SupervisorResult(action_id=action.action_id, action=action.action, target=action.target,
                                result=outcome.result, detail=outcome.detail, ts=self.clock())

    async def explain_refusal(self, login: str, kind: str, name: str) -> str | None:
        """Why ``login`` may not have the ACD explain ``name`` (an agent of another team, or they supervise
        nobody), or None when they may. Queues are every supervisor's."""
        from crm import supervision

        def look_up(session: Any) -> tuple[Any, str | None]:
            agent = supervision.person(session, name, self.site) if kind == "agent" else None
            return supervision.person(session, login, self.site), agent.team if agent else None

        actor, team = await self._db(look_up)
        try:
            authorize(actor, "explain", team, target_kind="agent" if kind == "agent" else "queue")
        except Refused as exc:
            return str(exc)
        return None

    async def audit_system(self, action: str, target: str, *, result: str, detail: str) -> None:
        """Audit what the ACD did of itself (actor ``(system)``), as a supervisor's action is audited."""
        from crm import supervision

        await self._db(lambda s: supervision.record_audit(s, actor=SYSTEM_ACTOR, action=action, target=target,
                                                          args={}, result=result, detail=detail))

    async def _carry_out(self, login: str, action: SupervisorAction, acd: Any) -> Outcome:
        from crm import supervision

        kind = SUPERVISOR_ACTIONS[action.action]
        target = action.target

        def look_up(session: Any) -> tuple[Any, str | None, bool]:
            actor = supervision.person(session, login, self.site)
            if kind == "agent":
                agent = supervision.person(session, target, self.site)
                return actor, agent.team if agent else None, agent is not None
            if kind == "team":
                return actor, target, bool(supervision.team_members(session, target, self.site))
            return actor, None, True

        actor, team, exists = await self._db(look_up)
        authorize(actor, action.action, team, target_kind=kind)
        if not exists:
            raise RoutingError(f"no {kind} {target!r}")
        args = action.args
        publish: Callable[[str, Command], Awaitable[None]] = acd.publish_command
        if action.action in ("force_not_ready", "log_out"):
            state = "not_ready" if action.action == "force_not_ready" else "logged_off"
            reason = "supervisor" if state == "not_ready" else None
            return await self._by_telephony(acd, self._command(
                action, "set_agent_state", agent_id=target, args={"agent_id": target, "state": state,
                                                                  "reason": reason}), f"{state} by the telephony")
        if action.action == "set_skills":
            skills = args.get("skills")
            if not isinstance(skills, Mapping) or not skills:
                raise RoutingError("set_skills needs skills: {skill: proficiency}")
            skills = {str(k): v for k, v in skills.items()}
            await self._db(lambda s: supervision.set_agent_skills(s, target, skills, self.site))
            await acd.apply_skills(target, skills)
            return Outcome("ok", ", ".join(f"{k} {v}" for k, v in sorted(skills.items())))
        if action.action == "set_queue":
            changes = args.get("changes")
            if not isinstance(changes, Mapping) or not changes:
                raise RoutingError("set_queue needs changes: {setting: value}")
            known = set(acd.engine.queues)
            for name in changes.get("overflow_to") or []:
                if name not in known:
                    raise RoutingError(f"no queue {name!r} to overflow to")

            def change(session: Any) -> QueueConfig:
                row = supervision.update_queue(session, target, changes, self.site)
                config = queue_config_from_row(row)  # refuses a rule the engine cannot run, before commit
                return config

            config = await self._db(change)
            await acd.apply_queue(config)
            return Outcome("ok", ", ".join(f"{k}={v}" for k, v in sorted(changes.items())))
        if action.action in ("pause_campaign", "resume_campaign", "set_campaign"):
            status = {"pause_campaign": "paused", "resume_campaign": "active"}.get(action.action)
            dial_mode = args.get("dial_mode") if action.action == "set_campaign" else None
            abandon = args.get("abandon_target") if action.action == "set_campaign" else None
            if action.action == "set_campaign" and dial_mode is None and abandon is None:
                raise RoutingError("set_campaign needs dial_mode or abandon_target")
            await self._db(lambda s: supervision.update_campaign(s, target, status=status, dial_mode=dial_mode,
                                                                 abandon_target=abandon, site=self.site))
            return Outcome("ok", status or f"dial_mode={dial_mode} abandon_target={abandon}")
        if action.action in ("message_agent", "message_team"):
            text = args.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE:
                raise RoutingError(f"a message is 1 to {MAX_MESSAGE} characters of text")
            text = text.replace("\r", " ").strip()
            agents = [target] if kind == "agent" else await self._db(
                lambda s: supervision.team_members(s, target, self.site))
            for agent in agents:
                await publish(topics.agent_events(acd.site, agent), self._command(
                    action, "supervisor_message", agent_id=agent, args={"text": text, "from": login}))
            return Outcome("ok", f"sent to {len(agents)} agent(s)")
        if action.action == "listen":
            mode = args.get("mode")
            extension = args.get("extension")
            if mode not in LISTEN_MODES:
                raise RoutingError(f"listen mode is one of {', '.join(LISTEN_MODES)}, not {mode!r}")
            if not isinstance(extension, str) or not extension:
                raise RoutingError("listen needs the supervisor's extension")
            agent_extension = acd.extension_of(target)
            if not agent_extension:
                raise RoutingError(f"agent {target} is on no known extension")
            return await self._by_telephony(acd, self._command(
                action, "listen", agent_id=None,
                args={"extension": agent_extension, "supervisor": extension, "mode": mode}),
                f"{mode}: extension {extension} joined {target}'s call on {agent_extension}")
        raise RoutingError(f"unknown action {action.action!r}")  # pragma: no cover - the codec refuses it

    def _command(self, action: SupervisorAction, name: str, *, agent_id: str | None,
                 args: dict[str, Any]) -> Command:
        return Command(command_id=f"sup:{action.action_id}:{agent_id or ''}", name=name, ts=self.clock(),
                       agent_id=agent_id, args={k: v for k, v in args.items() if v is not None})


class SupervisorClient:
    """A supervisor's side: publishes actions on its own topic and awaits their results.

    ``await client.start()`` subscribes to the results; ``await client.act(action, target, **args)``
    returns the :class:`~bus.messages.SupervisorResult`, or raises :class:`TimeoutError` after
    ``timeout_s`` (no ACD leads the site)."""

    def __init__(self, bus: Bus, site: str, login: str, *, clock: Callable[[], float] = time.time,
                 timeout_s: float = 10.0) -> None:
        self.bus = bus
        self.site = site
        self.login = login
        self.clock = clock
        self.timeout_s = timeout_s
        self._pending: dict[str, asyncio.Future[SupervisorResult]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Any = None

    async def start(self) -> None:
        self._subscription = await self.bus.subscribe(topics.supervisor_results(self.site, self.login),
                                                      qos=QOS_COMMAND)
        self._task = asyncio.create_task(self._read(), name="supervisor-results")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._subscription is not None:
            with contextlib.suppress(BusError):
                await self._subscription.close()

    async def _read(self) -> None:
        async for envelope in self._subscription:
            result = envelope.message
            if isinstance(result, SupervisorResult):
                future = self._pending.pop(result.action_id, None)
                if future is not None and not future.done():
                    future.set_result(result)

    async def act(self, action: str, target: str, **args: Any) -> SupervisorResult:
        if self._task is None:
            raise RoutingError("start() the supervisor client first")
        message = SupervisorAction(action_id=uuid.uuid4().hex, action=action, target=target, ts=self.clock(),
                                   args=args)
        future: asyncio.Future[SupervisorResult] = asyncio.get_running_loop().create_future()
        self._pending[message.action_id] = future
        try:
            await self.bus.publish(topics.supervisor_actions(self.site, self.login), message, qos=QOS_COMMAND)
            async with asyncio.timeout(self.timeout_s):
                return await future
        finally:
            self._pending.pop(message.action_id, None)
