"""Bearer tokens of ``ccenter api``: one per external system (with scopes), one per agent log-in.

A token is shown once, when it is issued; the database keeps only its SHA-256 (tokens are 256
random bits, so a fast hash is enough: there is nothing to guess). Scopes say what a token may do.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..errors import InvalidData
from ..models import Agent, ApiToken

#: What a token may be given. ``desk`` is the agent desktop's (issued at log-in, never by hand).
SCOPES = frozenset({"status:write", "backoffice:write", "campaigns:write", "campaigns:read", "communications:write",
                    "desk"})
SYSTEM_SCOPES = SCOPES - {"desk"}


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Who a presented token belongs to."""

    token_id: int
    name: str
    scopes: frozenset[str]
    agent_id: int | None = None
    agent_login: str | None = None
    agent_role: str | None = None
    agent_skills: frozenset[str] = frozenset()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _issue(session: Session, name: str, scopes: Iterable[str], agent_id: int | None,
           expires_at: datetime | None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), scopes=sorted(set(scopes)), agent_id=agent_id,
                         expires_at=expires_at))
    session.flush()
    return token


def issue_system_token(session: Session, name: str, scopes: Iterable[str], *,
                       expires_at: datetime | None = None) -> str:
    """A new token for the external system ``name``; returns it in clear (the only time it is seen)."""
    name = name.strip()
    wanted = set(scopes)
    if not name or len(name) > 64:
        raise InvalidData("a system token needs a name of 1 to 64 characters")
    if not wanted or not wanted <= SYSTEM_SCOPES:
        raise InvalidData(f"scopes must be some of {', '.join(sorted(SYSTEM_SCOPES))}")
    return _issue(session, name, wanted, None, expires_at)


def issue_agent_token(session: Session, agent_id: int, *, hours: float = 12.0, now: datetime | None = None) -> str:
    """The desk token of an agent who just logged in (with their own password), valid for a shift."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise InvalidData(f"no agent {agent_id}")
    return _issue(session, agent.login, {"desk"}, agent_id, (now or datetime.now(UTC)) + timedelta(hours=hours))


def resolve_token(session: Session, token: str, *, now: datetime | None = None) -> TokenOwner | None:
    """The owner of ``token`` if it is known, not revoked and not expired; None otherwise."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked:
        return None
    if row.expires_at is not None and row.expires_at <= (now or datetime.now(UTC)):
        return None
    if row.agent_id is None:
        return TokenOwner(row.id, row.name, frozenset(row.scopes or ()))
    agent = session.scalar(select(Agent).where(Agent.id == row.agent_id, Agent.active.is_(True))
                           .options(selectinload(Agent.skills)))
    if agent is None:
        return None
    return TokenOwner(row.id, row.name, frozenset(row.scopes or ()), agent.id, agent.login, agent.role.value,
                      frozenset(s.skill.name for s in agent.skills))


def revoke_tokens(session: Session, name: str) -> int:
    """Revoke every token named ``name`` (a system's, or an agent's by login); returns how many."""
    result = session.execute(update(ApiToken).where(ApiToken.name == name, ApiToken.revoked.is_(False))
                             .values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)
