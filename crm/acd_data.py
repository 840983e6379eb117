"""What the ACD reads from the data model: queues with their service level, agents with their skills.

Plain frozen dataclasses come back (never ORM objects), so ``routing`` builds its configuration from
them without importing the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import DEFAULT_SITE, Agent, AgentSkill, Queue


@dataclass(frozen=True, slots=True)
class RoutingQueue:
    name: str
    skill: str  # the queue's skill, or its own name when it names none
    service_level_seconds: float
    service_level_target: float
    wrap_up_seconds: float
    agent_selection: str | None = None
    priority: int = 0
    aging_per_minute: float = 0.0
    overflow_after_seconds: float | None = None
    overflow_to: tuple[str, ...] = ()
    max_wait_seconds: float | None = None
    fallback: str | None = None
    fallback_queue: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingAgent:
    login: str
    skills: Mapping[str, int]  # skill name -> proficiency
    extension: str | None


def routing_queues(session: Session, site: str = DEFAULT_SITE) -> list[RoutingQueue]:
    """Every queue of ``site``, by name."""
    return [
        RoutingQueue(
            name=q.name,
            skill=q.skill.name if q.skill is not None else q.name,
            service_level_seconds=float(q.service_level_seconds),
            service_level_target=float(q.service_level_target),
            wrap_up_seconds=float(q.wrap_up_seconds),
            agent_selection=q.agent_selection,
            priority=q.priority or 0,
            aging_per_minute=float(q.aging_per_minute or 0.0),
            overflow_after_seconds=q.overflow_after_seconds,
            overflow_to=tuple(str(n) for n in q.overflow_to or ()),
            max_wait_seconds=q.max_wait_seconds,
            fallback=q.fallback,
            fallback_queue=q.fallback_queue,
        )
        for q in session.scalars(
            select(Queue).where(Queue.site == site).options(selectinload(Queue.skill)).order_by(Queue.name)
        )
    ]


def routing_agents(session: Session, site: str = DEFAULT_SITE) -> list[RoutingAgent]:
    """The active agents of ``site`` that have at least one skill, by login."""
    agents = session.scalars(
        select(Agent)
        .where(Agent.active.is_(True), Agent.site == site)
        .options(selectinload(Agent.skills).selectinload(AgentSkill.skill))
        .order_by(Agent.login)
    )
    return [
        RoutingAgent(a.login, {s.skill.name: s.proficiency for s in a.skills}, a.extension) for a in agents if a.skills
    ]
