"""What supervisor actions read and change in the data model, and their audit log.

Plain dataclasses come back, never ORM objects. Roles: ``agent`` (no supervisor action), ``supervisor``
(the agents of their own team), ``admin`` (everything).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .acd_data import RoutingQueue, routing_queues
from .models import DEFAULT_SITE, Agent, AgentSkill, Campaign, CampaignStatus, Queue, Skill, SupervisorAudit


class SupervisionError(ValueError):
    """An action's target or arguments that the data model cannot take (the message says why)."""


@dataclass(frozen=True, slots=True)
class Person:
    login: str
    role: str
    team: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    args: Mapping[str, Any]
    result: str
    detail: str


def person(session: Session, login: str, site: str = DEFAULT_SITE) -> Person | None:
    agent = session.scalar(select(Agent).where(Agent.login == login, Agent.site == site))
    if agent is None:
        return None
    return Person(agent.login, agent.role.value, agent.team, agent.active)


def teams(session: Session, site: str = DEFAULT_SITE) -> dict[str, str]:
    """login -> team of every agent of ``site`` that has one."""
    rows = session.execute(select(Agent.login, Agent.team).where(Agent.site == site))
    return {login: team for login, team in rows if team}


def team_members(session: Session, team: str, site: str = DEFAULT_SITE) -> list[str]:
    return list(session.scalars(select(Agent.login).where(Agent.team == team, Agent.active.is_(True),
                                                          Agent.site == site)
                                .order_by(Agent.login)))


def set_agent_skills(session: Session, login: str, skills: Mapping[str, int], site: str = DEFAULT_SITE) -> None:
    """Replace an agent's skills (skill name -> proficiency 1..10); unknown skills are created (skill
    names are shared by the sites)."""
    agent = session.scalar(select(Agent).where(Agent.login == login, Agent.site == site)
                           .options(selectinload(Agent.skills)))
    if agent is None:
        raise SupervisionError(f"no agent {login!r}")
    for name, level in skills.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise SupervisionError(f"skill {name!r}: proficiency must be an integer 1..10, got {level!r}")
    by_name = {s.name: s for s in session.scalars(select(Skill).where(Skill.name.in_(list(skills))))}
    agent.skills.clear()
    session.flush()
    for name, level in skills.items():
        skill = by_name.get(name)
        if skill is None:
            skill = Skill(name=name)
            session.add(skill)
            session.flush()
        agent.skills.append(AgentSkill(agent_id=agent.id, skill_id=skill.id, proficiency=level))


#: The queue fields a supervisor may change, with their types.
QUEUE_FIELDS: Mapping[str, tuple[type, ...]] = {
    "agent_selection": (str,),
    "priority": (int,),
    "aging_per_minute": (int, float),
    "overflow_after_seconds": (int, float, type(None)),
    "overflow_to": (list,),
    "max_wait_seconds": (int, float, type(None)),
    "fallback": (str, type(None)),
    "fallback_queue": (str, type(None)),
    "service_level_target": (float,),
    "service_level_seconds": (int,),
}


def update_queue(session: Session, name: str, changes: Mapping[str, Any], site: str = DEFAULT_SITE) -> RoutingQueue:
    """Change a queue's routing rules; returns the queue as the ACD reads it."""
    queue = session.scalar(select(Queue).where(Queue.name == name, Queue.site == site))
    if queue is None:
        raise SupervisionError(f"no queue {name!r}")
    for key, value in changes.items():
        types = QUEUE_FIELDS.get(key)
        if types is None:
            raise SupervisionError(f"a queue has no setting {key!r} a supervisor may change")
        if isinstance(value, bool) or not isinstance(value, types):
            raise SupervisionError(f"queue setting {key!r} cannot be {value!r}")
        setattr(queue, key, value)
    session.flush()
    return next(q for q in routing_queues(session, site) if q.name == name)


def update_campaign(session: Session, key: str, *, status: str | None = None, dial_mode: str | None = None,
                    abandon_target: float | None = None, site: str = DEFAULT_SITE) -> None:
    """Pause or resume a campaign, change its dial mode (pacing) or its abandon target."""
    campaign = session.scalar(select(Campaign).where(Campaign.campaign_key == key, Campaign.site == site))
    if campaign is None:
        raise SupervisionError(f"no campaign {key!r}")
    if status is not None:
        if status not in (CampaignStatus.ACTIVE.value, CampaignStatus.PAUSED.value):
            raise SupervisionError(f"a supervisor pauses or resumes a campaign, not {status!r}")
        if campaign.status is CampaignStatus.FINISHED:
            raise SupervisionError(f"campaign {key!r} is finished")
        campaign.status = CampaignStatus(status)
    if dial_mode is not None:
        if dial_mode not in ("preview", "progressive", "predictive"):
            raise SupervisionError(f"dial mode is preview, progressive or predictive, not {dial_mode!r}")
        campaign.dial_mode = dial_mode
    if abandon_target is not None:
        if isinstance(abandon_target, bool) or not isinstance(abandon_target, int | float) \
                or not 0 < abandon_target <= 0.2:
            raise SupervisionError(f"abandon target is a fraction above 0 and at most 0.2, not {abandon_target!r}")
        campaign.rules = {**(campaign.rules or {}), "abandon_target": float(abandon_target)}


def record_audit(session: Session, *, actor: str, action: str, target: str, args: Mapping[str, Any], result: str,
                 detail: str = "", action_id: str = "", at: datetime | None = None) -> None:
    session.add(SupervisorAudit(at=at or datetime.now(UTC), actor=actor, action=action, target=target[:200],
                                args=dict(args), result=result, detail=detail, action_id=action_id[:64]))


def audit_entries(session: Session, *, limit: int = 200, actor: str | None = None) -> list[AuditEntry]:
    query = select(SupervisorAudit).order_by(SupervisorAudit.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(SupervisorAudit.actor == actor)
    return [AuditEntry(a.at, a.actor, a.action, a.target, dict(a.args or {}), a.result, a.detail)
            for a in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class CampaignOverview:
    """One campaign as the supervisor's panel shows it. ``idle_reason``: why the dialer places no call
    (a code: ``paused``, ``finished``, ``draft``, ``not_started``, ``ended``, ``no_work_left``,
    ``preview``, or ``refused_<rule>`` when every work item the dialer looked at in the last hour was
    refused, most by that rule), or None when it dials. ``last_decision``: the dialer's (or preview's)
    latest decision on the campaign, as ``ccenter campaign why`` prints it."""

    campaign_key: str
    name: str
    status: str
    dial_mode: str
    work_items: int
    done: int  # completed, failed or cancelled
    attempts: int
    connects: int  # answered attempts
    conversions: int  # offers accepted or orders placed
    abandoned: int
    abandon_target: float | None
    idle_reason: str | None
    last_decision: str | None = None

    @property
    def progress(self) -> float | None:
        return self.done / self.work_items if self.work_items else None

    @property
    def conversion(self) -> float | None:
        return self.conversions / self.connects if self.connects else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / (self.connects + self.abandoned) if self.connects + self.abandoned else None


#: Attempt results that reached a person, and those that made a sale.
_CONNECTED = ("answered", "dial_answered", "offer_accepted", "offer_declined", "offer_callback",
              "offer_not_interested", "offer_made", "sale", "no_sale")
_CONVERTED = ("offer_accepted", "sale")


def campaign_overview(session: Session, *, now: datetime | None = None, site: str = DEFAULT_SITE
                      ) -> list[CampaignOverview]:
    from sqlalchemy import func

    from .models import Activity, Attempt, WorkItem, WorkItemStatus

    now = now or datetime.now(UTC)
    items: dict[int, dict[str, int]] = {}
    for campaign_id, status, n in session.execute(
        select(Activity.campaign_id, WorkItem.status, func.count())
        .join(WorkItem, WorkItem.activity_id == Activity.id)
        .group_by(Activity.campaign_id, WorkItem.status)
    ):
        items.setdefault(campaign_id, {})[WorkItemStatus(status).value] = n
    attempts: dict[int, dict[str, int]] = {}
    for campaign_id, result, n in session.execute(
        select(Activity.campaign_id, Attempt.result, func.count())
        .join(WorkItem, WorkItem.activity_id == Activity.id)
        .join(Attempt, Attempt.work_item_id == WorkItem.id)
        .group_by(Activity.campaign_id, Attempt.result)
    ):
        attempts.setdefault(campaign_id, {})[result] = n
    recent, latest = _decisions(session, now, site)
    found = []
    for c in session.scalars(select(Campaign).where(Campaign.site == site).order_by(Campaign.campaign_key)):
        counts, results = items.get(c.id, {}), attempts.get(c.id, {})
        total = sum(counts.values())
        open_items = counts.get("pending", 0) + counts.get("in_progress", 0)
        target = (c.rules or {}).get("abandon_target")
        starts, ends = c.starts_at, c.ends_at
        if c.status is not CampaignStatus.ACTIVE:
            idle: str | None = c.status.value
        elif starts is not None and starts > now:
            idle = "not_started"
        elif ends is not None and ends <= now:
            idle = "ended"
        elif not open_items:
            idle = "no_work_left"
        elif c.dial_mode == "preview":
            idle = "preview"
        else:
            idle = None
        looked = recent.get(c.campaign_key, {})
        if idle is None and looked and not looked.get(""):  # decisions of the last hour, none dialled
            idle = "refused_" + max(sorted(looked.items()), key=lambda kv: kv[1])[0]
        found.append(CampaignOverview(
            c.campaign_key, c.name, c.status.value, c.dial_mode, total, total - open_items,
            sum(results.values()), sum(n for r, n in results.items() if r in _CONNECTED),
            sum(n for r, n in results.items() if r in _CONVERTED), results.get("abandoned", 0),
            float(target) if isinstance(target, int | float) and not isinstance(target, bool) else None, idle,
            latest.get(c.campaign_key)))
    return found


def _decisions(session: Session, now: datetime, site: str) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """Per campaign of ``site``, the dial decisions of the last hour by rule (``""`` counts those dialled),
    and its latest decision as a line of text (from the ``dial_decision`` table the dialer and preview
    keep; another site's campaign of the same key is not counted)."""
    from datetime import timedelta

    from sqlalchemy import func

    from .models import DialDecision
    from .repository.decisions import at_site

    recent: dict[str, dict[str, int]] = {}
    for key, dialled, rule, n in session.execute(
        select(DialDecision.campaign_key, DialDecision.dialled, DialDecision.rule, func.count())
        .where(DialDecision.decided_at >= now - timedelta(hours=1), at_site(site))
        .group_by(DialDecision.campaign_key, DialDecision.dialled, DialDecision.rule)
    ):
        counts = recent.setdefault(key, {})
        counts["" if dialled else rule] = counts.get("" if dialled else rule, 0) + n
    newest = (select(DialDecision.campaign_key, func.max(DialDecision.decided_at).label("at"))
              .where(at_site(site)).group_by(DialDecision.campaign_key).subquery())
    latest = {}
    for d in session.scalars(select(DialDecision).join(newest, (newest.c.campaign_key == DialDecision.campaign_key)
                                                       & (newest.c.at == DialDecision.decided_at))
                             .where(at_site(site)).order_by(DialDecision.id)):
        what = "dialled" if d.dialled else f"skipped ({d.rule})"
        item = f"work item {d.work_item_id}" if d.work_item_id is not None else "a work item"
        latest[d.campaign_key] = f"{d.decided_at:%Y-%m-%d %H:%M} {item} {d.phone_e164 or ''} {what}: {d.reason}"
    return recent, latest
