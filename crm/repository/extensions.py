"""The extensions each agent may log in on: ``Agent.extension`` and the ``agent_extension`` rows.

``ccenter cti-gateway --pin-extensions`` reads :func:`agent_extensions` and refuses an agent's login
(or command) on any other extension; ``ccenter broker extensions`` sets them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import InvalidData, NotFound
from ..models import DEFAULT_SITE, Agent, AgentExtension

#: What an extension may be: what a PBX dials (digits, letters, ``*#+_-``), never a dial-string separator.
EXTENSION = re.compile(r"[A-Za-z0-9*#+_-]{1,32}")


def agent_extensions(session: Session, site: str = DEFAULT_SITE) -> dict[str, frozenset[str]]:
    """login -> the extensions that active agent of ``site`` may use (its own ``extension`` and the assigned ones)."""
    found: dict[str, set[str]] = {}
    active = (Agent.active.is_(True), Agent.site == site)
    for login, extension in session.execute(select(Agent.login, Agent.extension).where(*active)):
        found[login] = {extension} if extension else set()
    rows = session.execute(
        select(Agent.login, AgentExtension.extension).join(AgentExtension, AgentExtension.agent_id == Agent.id)
        .where(*active)
    )
    for login, extension in rows:
        found[login].add(extension)
    return {login: frozenset(extensions) for login, extensions in found.items()}


def set_agent_extensions(session: Session, login: str, extensions: Iterable[str], site: str = DEFAULT_SITE
                         ) -> frozenset[str]:
    """Assign exactly ``extensions`` (besides ``Agent.extension``) to agent ``login`` of ``site``; returns
    all it may use."""
    agent = session.scalar(select(Agent).where(Agent.login == login, Agent.site == site))
    if agent is None:
        raise NotFound(f"no agent with the login {login!r}")
    wanted = []
    for extension in extensions:
        if not EXTENSION.fullmatch(extension):
            raise InvalidData(f"{extension!r} is not an extension (digits, letters, * # + _ -; at most 32)")
        wanted.append(extension)
    session.execute(delete(AgentExtension).where(AgentExtension.agent_id == agent.id))
    session.add_all(AgentExtension(agent_id=agent.id, extension=e) for e in sorted(set(wanted)))
    session.flush()
    return frozenset({*wanted, *((agent.extension,) if agent.extension else ())})
