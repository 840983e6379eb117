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
    supervises: bool  # a supervisor or admin: reads every agent's events and every call


def broker_agents(session: Session) -> list[BrokerAgent]:
    """Every active agent of every site, by login: one broker serves the sites, and a login that is at
    two sites is one broker user (a supervisor if it supervises at either)."""
    rows = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.login))
    supervises: dict[str, bool] = {}
    for a in rows:
        supervises[a.login] = supervises.get(a.login, False) or a.role in (Role.SUPERVISOR, Role.ADMIN)
    return [BrokerAgent(login=login, supervises=s) for login, s in supervises.items()]
