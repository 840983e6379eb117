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
    """Every active agent of every site, by login: one broker serves the sites, and a login that is at
    two sites is one broker user (a supervisor if it supervises at either)."""
    rows = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.login))
    rank = {"agent": 0, "supervisor": 1, "admin": 2}
    found: dict[str, BrokerAgent] = {}
    for a in rows:
        this = BrokerAgent(login=a.login, role=Role(a.role).value, team=a.team or None)
        known = found.get(a.login)
        if known is None or rank.get(this.role, 0) > rank.get(known.role, 0):
            found[a.login] = this  # the site where it supervises decides its role and team
    return list(found.values())
