"""Agents from a CSV file an admin keeps: ``ccenter agent import AGENTS.csv``.

Columns (header names): ``login`` (required: the agent id on the bus and the broker user), ``name``,
``role`` (``agent``, ``supervisor``, ``campaign_manager``, ``admin``; default ``agent``),
``extension``, ``skills`` (``sales:7 billing:5``: a skill and a proficiency from 1 to 10, separated
by spaces or ``;``), ``active`` (``yes``/``no``; default yes). Encodings as for campaign files.

A new agent gets a random password, returned once (the admin hands it over; the agent may be made to
change it); an agent already there keeps theirs, and gets the file's name, role, extension, skills
and active flag. Rows that cannot be used are reported with their line number while the rest load.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .campaigns.reading import CampaignFileError, Source, _load
from .models import DEFAULT_SITE, Agent, AgentSkill, Role, Skill
from .secrets import hash_secret

_LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_SKILL = re.compile(r"^([A-Za-z0-9_.-]{1,64}):(\d{1,2})$")


class AgentFileError(CampaignFileError):
    """An agent file that cannot be read at all; nothing of it was written."""


@dataclass(frozen=True, slots=True)
class AgentImportReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    passwords: dict[str, str]  # new agents' passwords, shown once
    rejects: tuple[tuple[int, str], ...] = field(default_factory=tuple)  # (line, reason)


def _parse_skills(text: str) -> dict[str, int]:
    skills: dict[str, int] = {}
    for item in re.split(r"[;\s]+", text.strip()):
        if not item:
            continue
        match = _SKILL.match(item)
        if not match or not 1 <= int(match.group(2)) <= 10:
            raise ValueError(f"skill {item!r} is not name:proficiency with a proficiency from 1 to 10")
        skills[match.group(1)] = int(match.group(2))
    return skills


def import_agents(session: Session, source: Source, site: str = DEFAULT_SITE) -> AgentImportReport:
    loaded = _load(source)
    reader = csv.DictReader(io.StringIO(loaded.text, newline=""))
    if reader.fieldnames is None or "login" not in [f.strip().lower() for f in reader.fieldnames]:
        raise AgentFileError(f"{loaded.name}: the header has no login column (columns: login, name, role, "
                             "extension, skills, active)")
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    agents = {a.login: a for a in session.scalars(select(Agent).where(Agent.site == site))}
    skills = {s.name: s for s in session.scalars(select(Skill))}
    created: list[str] = []
    updated: list[str] = []
    passwords: dict[str, str] = {}
    rejects: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    line = 1
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        login = values.get("login", "")
        if not _LOGIN.match(login) or login.startswith("svc-"):
            rejects.append((line, f"login {login!r} must be 1 to 64 letters, digits or _ . @ - (not svc-...)"))
            continue
        if login in seen:
            rejects.append((line, f"login {login} is also on line {seen[login]}"))
            continue
        role_text = (values.get("role") or "agent").lower()
        try:
            role = Role(role_text)
            wanted_skills = _parse_skills(values.get("skills", ""))
        except ValueError as exc:
            message = str(exc) if "skill" in str(exc) else f"role {role_text!r} is not one of " + ", ".join(Role)
            rejects.append((line, message))
            continue
        active_text = (values.get("active") or "yes").lower()
        if active_text not in ("yes", "no", "true", "false", "1", "0"):
            rejects.append((line, f"active {active_text!r} is not yes or no"))
            continue
        seen[login] = line
        agent = agents.get(login)
        if agent is None:
            password = secrets.token_urlsafe(12)
            agent = Agent(site=site, login=login, name=values.get("name") or login, password_hash=hash_secret(password))
            session.add(agent)
            agents[login] = agent
            passwords[login] = password
            created.append(login)
        else:
            updated.append(login)
        agent.name = (values.get("name") or agent.name)[:200]
        agent.role = role
        agent.extension = values.get("extension") or None
        agent.active = active_text in ("yes", "true", "1")
        for name in wanted_skills:
            if name not in skills:
                skills[name] = Skill(name=name)
                session.add(skills[name])
        session.flush()
        agent.skills = [AgentSkill(skill_id=skills[name].id, proficiency=level) for name, level in
                        wanted_skills.items()]
    session.flush()
    return AgentImportReport(tuple(created), tuple(updated), passwords, tuple(rejects))
