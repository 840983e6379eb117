"""Agents (log-in, listing) and queues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Agent,
    Queue,
)
from ..secrets import verify_secret


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    login: str
    name: str
    role: str
    extension: str | None
    skills: dict[str, int] = field(default_factory=dict)


def authenticate_agent(session: Session, login: str, password: str) -> AgentView | None:
    agent = session.scalar(
        select(Agent).where(Agent.login == login, Agent.active.is_(True)).options(selectinload(Agent.skills))
    )
    if agent is None or not verify_secret(password, agent.password_hash):
        return None
    return AgentView(
        agent.id, agent.login, agent.name, agent.role.value, agent.extension,
        {s.skill.name: s.proficiency for s in agent.skills},
    )


def list_agents(session: Session) -> Sequence[AgentView]:
    agents = session.scalars(select(Agent).options(selectinload(Agent.skills)).order_by(Agent.login))
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


def list_queues(session: Session) -> list[QueueView]:
    queues = session.scalars(select(Queue).options(selectinload(Queue.skill)).order_by(Queue.name))
    return [
        QueueView(q.name, q.skill.name if q.skill else None, q.service_level_seconds, q.service_level_target,
                  q.wrap_up_seconds, tuple(str(d) for d in q.dispositions or ()))
        for q in queues
    ]
