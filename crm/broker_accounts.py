"""What ``ccenter broker provision`` reads from the data model: the agents who get a broker account.

Plain frozen dataclasses come back (never ORM objects).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Agent, Role


@dataclass(frozen=True, slots=True)
class BrokerAgent:
    login: str  # the broker user name, and the agent id on the bus
    role: str = "agent"  # agent, supervisor or admin
    team: str | None = None  # a supervisor reads the agents of their own team; an admin reads every agent

    @property
    def supervises(self) -> bool:
        return self.role in ("supervisor", "admin")


def broker_agents(session: Session) -> list[BrokerAgent]:
    """Every active agent, by login."""
    rows = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.login))
    return [BrokerAgent(login=a.login, role=Role(a.role).value, team=a.team or None) for a in rows]
