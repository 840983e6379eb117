"""Agents (log-in, listing) and queues."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import case, literal, select, update
from sqlalchemy.orm import Session, selectinload

from ..lockout import LOCK_TIME, MAX_FAILURES, Counter, Verdict
from ..models import (
    DEFAULT_SITE,
    Agent,
    Queue,
    UtcDateTime,
)
from ..secrets import hash_secret, verify_secret

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    login: str
    name: str
    role: str
    extension: str | None
    skills: dict[str, int] = field(default_factory=dict)


def authenticate_agent(
    session: Session, login: str, password: str, *, now: datetime | None = None, site: str = DEFAULT_SITE
) -> AgentView | None:
    """The agent of ``site`` whose ``login`` and ``password`` these are, or None; with lockout
    (``crm.lockout``). The same login at another site is another agent, with its own password.

    The answer takes as long whether or not the login exists, is active or is locked: the password
    is always checked against a hash of the same cost. A locked login answers None even to the right
    password. The counter is updated in the session's transaction: commit it whatever the answer (the
    desktop logs in within a write transaction).
    """
    now = now or datetime.now(UTC)
    agent = session.scalar(
        select(Agent).where(Agent.login == login, Agent.active.is_(True), Agent.site == site)
        .options(selectinload(Agent.skills))
    )
    correct = verify_secret(password, agent.password_hash if agent is not None else _decoy_hash())
    if agent is None:
        _count_login(session, None, correct=False, now=now)
        return None
    counter = Counter(agent.login_failures or 0, agent.login_locked_until)
    verdict, after = counter.after(correct, now)
    _count_login(session, agent.id, correct=verdict is Verdict.VERIFIED, now=now)
    if verdict is Verdict.LOCKED and not counter.locked(now):
        logger.warning("log-in of agent %s locked until %s after %d wrong passwords", agent.login,
                       after.locked_until, after.failures)
    if verdict is not Verdict.VERIFIED:
        return None
    return AgentView(
        agent.id, agent.login, agent.name, agent.role.value, agent.extension,
        {s.skill.name: s.proficiency for s in agent.skills},
    )


_decoy: list[str] = []


def _decoy_hash() -> str:
    """A hash of a random secret at the standard cost, to check passwords of logins that do not exist."""
    if not _decoy:
        _decoy.append(hash_secret(os.urandom(16).hex()))
    return _decoy[0]


def _count_login(session: Session, agent_id: int | None, *, correct: bool, now: datetime) -> None:
    """Count a try in one statement (for a login that does not exist, a no-op of the same kind)."""
    target = Agent.id == (agent_id if agent_id is not None else -1)
    if correct:
        statement = update(Agent).where(target).values(login_failures=0, login_locked_until=None)
    else:
        # A try while locked does not count; the try that reaches the limit sets the lock.
        still_locked = Agent.login_locked_until.is_not(None) & (Agent.login_locked_until > now)
        failures = Agent.login_failures + 1
        statement = (
            update(Agent)
            .where(target, ~still_locked)
            .values(
                login_failures=failures,
                login_locked_until=case(
                    (failures >= MAX_FAILURES, literal(now + LOCK_TIME, UtcDateTime())), else_=None
                ),
            )
        )
    session.execute(statement, execution_options={"synchronize_session": False})


def list_agents(session: Session, site: str = DEFAULT_SITE) -> Sequence[AgentView]:
    """The agents of ``site``, by login."""
    agents = session.scalars(
        select(Agent).where(Agent.site == site).options(selectinload(Agent.skills)).order_by(Agent.login)
    )
    return [
        AgentView(a.id, a.login, a.name, a.role.value, a.extension, {s.skill.name: s.proficiency for s in a.skills})
        for a in agents
    ]


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    skill: str | None
    service_level_seconds: int
    service_level_target: float
    wrap_up_seconds: int
    dispositions: tuple[str, ...]


def list_queues(session: Session, site: str = DEFAULT_SITE) -> list[QueueView]:
    queues = session.scalars(
        select(Queue).where(Queue.site == site).options(selectinload(Queue.skill)).order_by(Queue.name)
    )
    return [
        QueueView(q.name, q.skill.name if q.skill else None, q.service_level_seconds, q.service_level_target,
                  q.wrap_up_seconds, tuple(str(d) for d in q.dispositions or ()))
        for q in queues
    ]
