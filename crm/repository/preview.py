"""Outbound preview: the next call an agent asks for, skips, dial results and personal callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session, selectinload

from .. import dnc
from ..campaigns.eligibility import ConsentState, UnknownTimeZone, calling_hours_open, decide
from ..campaigns.rules import CampaignRules, InvalidRules, read_rules
from ..consent import consent_states
from ..errors import InvalidData, NotFound
from ..models import (
    Activity,
    Agent,
    Attempt,
    Campaign,
    CampaignStatus,
    Customer,
    Task,
    WorkItem,
    WorkItemStatus,
    utcnow,
)
from ._common import _attempt
from .campaigns import CALLBACKS_CAMPAIGN, CONTACT_DAYS, item_state, last_results, live_campaign, reached, rules_of


@dataclass(frozen=True, slots=True)
class AttemptView:
    started_at: datetime
    result: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class PreviewItem:
    """The next outbound work item for an agent: who to call, why, and what happened before."""

    work_item_id: int
    customer_id: int
    phone: str
    campaign_key: str
    campaign_name: str
    offer: str | None
    script: str | None
    attempts: tuple[AttemptView, ...]


SKIP_RETRY = timedelta(hours=4)


def within_calling_hours(calling_hours: dict[str, Any], time_zone: str, now: datetime) -> bool:
    """Whether ``now`` is inside the campaign's calling hours in the customer's own time zone.

    ``calling_hours`` is ``{"start": "09:00", "end": "20:00", "days": [0..6]}`` (Monday is 0);
    missing keys mean no limit. An unknown time zone is treated as outside the hours (never call
    someone at an hour we cannot know); so are hours that break the plan format.
    """
    try:
        return calling_hours_open(time_zone, read_rules({}, calling_hours), now)[0]
    except (UnknownTimeZone, InvalidRules):
        return False


def next_preview_item(
    session: Session, *, agent_id: int | None, now: datetime | None = None, skip: tuple[int, ...] = (), scan: int = 200
) -> PreviewItem | None:
    """The next outbound call to preview: pending, due, not on the do-not-call list, in calling hours.

    Items scheduled for this agent (a personal callback) come first, then by priority and age.
    """
    now = now or utcnow()
    rows = session.execute(
        select(WorkItem, Campaign, Customer)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .join(Customer, Customer.id == WorkItem.customer_id)
        .where(
            Activity.channel == "outbound_call",
            live_campaign(now),
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            WorkItem.phone_e164.is_not(None),
            or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now),
            or_(WorkItem.agent_id.is_(None), WorkItem.agent_id == agent_id),
            ~dnc.listed(WorkItem.phone_e164, now),
            WorkItem.id.not_in(skip) if skip else true(),
        )
        .order_by((WorkItem.agent_id == agent_id).desc() if agent_id else WorkItem.id, WorkItem.priority.desc(),
                  WorkItem.id)
        .limit(scan)
    ).all()
    # The query leaves out what it can (finished, not due, on the do-not-call list); the rules decide.
    last = last_results(session, [item.id for item, _, _ in rows])
    blocked = dnc.blocked(session, [item.phone_e164 for item, _, _ in rows], now=now)
    consents = consent_states(session, {customer.id for _, _, customer in rows}, "outbound_call")
    cache: dict[int, CampaignRules | None] = {}
    for item, campaign, customer in rows:
        rules = rules_of(campaign, cache)
        if rules is None:
            continue
        days = max(CONTACT_DAYS, rules.frequency_cap.days if rules.frequency_cap else 0)
        contacts = reached(session, [customer.id], now=now, days=days).get(customer.id, ()) \
            if rules.frequency_cap else ()
        state = item_state(item, campaign, last_result=last.get(item.id), contacts=contacts,
                           consent=consents.get(customer.id, ConsentState.UNKNOWN))
        if not decide(state, customer.time_zone, rules, now, do_not_call=item.phone_e164 in blocked).eligible:
            continue
        attempts = session.execute(
            select(Attempt, Agent.name)
            .outerjoin(Agent, Agent.id == Attempt.agent_id)
            .where(Attempt.work_item_id == item.id)
            .order_by(Attempt.started_at.desc())
        )
        return PreviewItem(
            work_item_id=item.id, customer_id=customer.id, phone=item.phone_e164 or "",
            campaign_key=campaign.campaign_key, campaign_name=campaign.name, offer=item.offer,
            script=campaign.script,
            attempts=tuple(AttemptView(a.started_at, a.result, name) for a, name in attempts),
        )
    return None


def skip_work_item(session: Session, work_item_id: int, *, reason: str, agent_id: int | None,
                   now: datetime | None = None) -> None:
    """The agent passes on a previewed item (with a reason); it comes back after ``SKIP_RETRY``."""
    if not reason.strip():
        raise InvalidData("say why the call is skipped")
    now = now or utcnow()
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFound(f"no work item {work_item_id}")
    session.add(Attempt(work_item_id=item.id, started_at=now, ended_at=now, result="skipped", agent_id=agent_id))
    item.reason = reason.strip()[:200]
    item.next_attempt_at = now + SKIP_RETRY


def schedule_work_item(session: Session, work_item_id: int, *, at: datetime, agent_id: int | None) -> None:
    """A personal callback: this agent calls the customer at ``at``."""
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFound(f"no work item {work_item_id}")
    if at.tzinfo is None:
        raise InvalidData("a callback time needs a time zone")
    item.next_attempt_at = at
    item.agent_id = agent_id
    item.status = WorkItemStatus.IN_PROGRESS


def record_dial_attempt(
    session: Session, work_item_id: int, *, result: str, agent_id: int | None, cti_call_id: str | None,
    retry_after: timedelta | None = None, now: datetime | None = None,
) -> None:
    """An outbound dial that reached nobody (busy, no answer, machine): counted, retried after the
    campaign's ``rules.retry`` delay for that outcome (or ``retry_after``)."""
    now = now or utcnow()
    item = _attempt(session, work_item_id, f"dial_{result}", agent_id=agent_id, at=now, cti_call_id=cti_call_id)
    item.result = result
    if retry_after is None:
        campaign = session.scalar(select(Campaign).join(Activity, Activity.campaign_id == Campaign.id)
                                  .where(Activity.id == item.activity_id))
        rules = rules_of(campaign, {}) if campaign is not None else None
        retry_after = timedelta(seconds=rules.retry_delay(result)) if rules is not None else timedelta(hours=2)
    item.next_attempt_at = now + retry_after




def _callbacks_task(session: Session) -> tuple[int, int]:
    """The standing campaign that holds agents' promised callbacks: (activity id, task id)."""
    row = session.execute(
        select(Activity.id, Task.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .join(Task, Task.activity_id == Activity.id)
        .where(Campaign.campaign_key == CALLBACKS_CAMPAIGN, Activity.channel == "outbound_call")
        .limit(1)
    ).first()
    if row is not None:
        return row[0], row[1]
    campaign = Campaign(campaign_key=CALLBACKS_CAMPAIGN, name="Callbacks promised by agents",
                        status=CampaignStatus.ACTIVE, script="You promised to call this customer back.")
    activity = Activity(channel="outbound_call")
    task = Task(name="Personal callbacks")
    activity.tasks = [task]
    campaign.activities = [activity]
    session.add(campaign)
    session.flush()
    return activity.id, task.id


def schedule_callback(
    session: Session,
    *,
    customer_id: int,
    at: datetime,
    agent_id: int | None,
    phone: str | None = None,
    work_item_id: int | None = None,
    note: str | None = None,
) -> int:
    """A callback at ``at`` by ``agent_id``: the campaign's own work item when there is one, else a
    work item of the standing callbacks campaign. It comes first in the agent's outbound preview."""
    if at.tzinfo is None:
        raise InvalidData("a callback time needs a time zone")
    if work_item_id is not None:
        schedule_work_item(session, work_item_id, at=at, agent_id=agent_id)
        return work_item_id
    customer = session.get(Customer, customer_id, options=[selectinload(Customer.phones)])
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    number = phone or next((p.e164 for p in sorted(customer.phones, key=lambda p: not p.is_primary)), None)
    if number is None:
        raise InvalidData("the customer has no phone number to call back")
    activity_id, task_id = _callbacks_task(session)
    existing = session.scalar(select(WorkItem).where(WorkItem.activity_id == activity_id,
                                                     WorkItem.customer_id == customer_id))
    item = existing or WorkItem(activity_id=activity_id, task_id=task_id, customer_id=customer_id)
    item.phone_e164 = number
    item.offer = (note or "Callback")[:200]
    item.agent_id = agent_id
    item.next_attempt_at = at
    item.status = WorkItemStatus.IN_PROGRESS
    item.priority = 10
    if existing is None:
        session.add(item)
    session.flush()
    return item.id
