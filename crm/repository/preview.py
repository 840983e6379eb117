"""Outbound preview: the next call an agent asks for, skips, dial results and personal callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from .. import dnc, phones
from ..campaigns.eligibility import ConsentState, UnknownTimeZone, calling_hours_open, decide
from ..campaigns.rules import CampaignRules, InvalidRules, read_rules
from ..consent import consent_states
from ..errors import InvalidData, NotFound
from ..models import (
    DEFAULT_SITE,
    Activity,
    Agent,
    Attempt,
    Campaign,
    CampaignStatus,
    Customer,
    DialDecision,
    PhoneNumber,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
    utcnow,
)
from ._common import _attempt
from .campaigns import CALLBACKS_CAMPAIGN, CONTACT_DAYS, item_state, last_results, live_campaign, reached, rules_of
from .decisions import DialDecisionRecord, record_dial_decisions


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
    session: Session, *, agent_id: int | None, now: datetime | None = None, skip: tuple[int, ...] = (), scan: int = 200,
    site: str = DEFAULT_SITE,
) -> PreviewItem | None:
    """The next outbound call of ``site``'s campaigns to preview: pending, due, not on the do-not-call
    list, in calling hours.

    Items scheduled for this agent (a personal callback) come first, then by priority and age. The
    decisions are kept for ``ccenter campaign why`` as the dialer's are (the session must be one that
    commits): the item offered, and each item refused with its rule, once per rule until its retry time.
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
            Campaign.site == site,
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
    refused: list[DialDecisionRecord] = []
    known = _standing_refusals(session, [item.id for item, _, _ in rows], now)
    for item, campaign, customer in rows:
        rules = rules_of(campaign, cache)
        if rules is None:
            continue
        days = max(CONTACT_DAYS, rules.frequency_cap.days if rules.frequency_cap else 0)
        contacts = reached(session, [customer.id], now=now, days=days).get(customer.id, ()) \
            if rules.frequency_cap else ()
        state = item_state(item, campaign, last_result=last.get(item.id), contacts=contacts,
                           consent=consents.get(customer.id, ConsentState.UNKNOWN))
        verdict = decide(state, customer.time_zone, rules, now, do_not_call=item.phone_e164 in blocked)
        if not verdict.eligible:
            if known.get(item.id) != verdict.rule.value:
                refused.append(DialDecisionRecord(now, campaign.campaign_key, item.id, item.phone_e164, False,
                                                  verdict.rule.value, f"preview: {verdict.reason}", verdict.retry_at))
            continue
        who = f"agent {agent_id}" if agent_id else "an agent"
        record_dial_decisions(session, [*refused, DialDecisionRecord(
            now, campaign.campaign_key, item.id, item.phone_e164, True, verdict.rule.value,
            f"offered in the preview of {who}")])
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
    record_dial_decisions(session, refused)
    return None


def _standing_refusals(session: Session, item_ids: list[int], now: datetime) -> dict[int, str]:
    """Per work item, the rule of its latest refusal when that refusal still stands (its retry time is
    not reached): the preview does not write the same refusal again each time an agent asks."""
    if not item_ids:
        return {}
    out: dict[int, str] = {}
    rows = session.execute(
        select(DialDecision.work_item_id, DialDecision.dialled, DialDecision.rule, DialDecision.retry_at)
        .where(DialDecision.work_item_id.in_(item_ids), DialDecision.decided_at >= now - timedelta(days=1))
        .order_by(DialDecision.decided_at.desc(), DialDecision.id.desc()))
    seen: set[int] = set()
    for work_item_id, dialled, rule, retry_at in rows:
        if work_item_id is None or work_item_id in seen:
            continue
        seen.add(work_item_id)
        if not dialled and (retry_at is None or _aware(retry_at) > now):
            out[work_item_id] = rule
    return out


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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




#: The task of the standing callbacks campaign that holds agents' own promises.
PERSONAL_CALLBACKS = "Personal callbacks"
#: Its task for callbacks promised to callers by the IVR ("press 8") or a queue's ``callback`` fallback.
REQUESTED_CALLBACKS = "Requested callbacks"
#: The queue the dialer puts a requested callback in (a new callbacks campaign's ``rules.queue``).
CALLBACKS_QUEUE = "callbacks"


def _callbacks_task(session: Session, task_name: str = PERSONAL_CALLBACKS, site: str = DEFAULT_SITE
                    ) -> tuple[int, int]:
    """``site``'s standing campaign that holds promised callbacks: (activity id, task id) of ``task_name``.

    Made on first use: progressive into the ``callbacks`` queue, so the dialer calls back those anyone
    may call (a personal callback belongs to its agent and waits in their preview)."""
    activity_id = session.scalar(
        select(Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .where(Campaign.campaign_key == CALLBACKS_CAMPAIGN, Campaign.site == site,
               Activity.channel == "outbound_call")
        .order_by(Activity.id)
        .limit(1)
    )
    if activity_id is None:
        campaign = Campaign(site=site, campaign_key=CALLBACKS_CAMPAIGN, name="Callbacks promised to customers",
                            status=CampaignStatus.ACTIVE, dial_mode="progressive",
                            rules={"queue": CALLBACKS_QUEUE},
                            script="The customer was promised this call: say who you are and why you call.")
        activity = Activity(channel="outbound_call")
        campaign.activities = [activity]
        session.add(campaign)
        session.flush()
        activity_id = activity.id
    task_id = session.scalar(select(Task.id).where(Task.activity_id == activity_id, Task.name == task_name)
                             .order_by(Task.id).limit(1))
    if task_id is None:
        task = Task(activity_id=activity_id, name=task_name)
        session.add(task)
        session.flush()
        task_id = task.id
    return activity_id, task_id


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
    # The agent's site's callbacks campaign: the callback waits in that agent's preview, at that site.
    site = session.scalar(select(Agent.site).where(Agent.id == agent_id)) if agent_id is not None else None
    activity_id, task_id = _callbacks_task(session, site=site or DEFAULT_SITE)
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


#: The attempt that records a callback promised to a caller (its ``cti_call_id`` is the caller's call).
CALLBACK_REQUESTED = "callback_requested"
#: How long a requested callback may wait before it counts as late (its service level).
CALLBACK_WITHIN = timedelta(hours=1)


def request_callback(
    session: Session,
    *,
    call_id: str,
    number: str,
    source: str,
    requested_at: datetime,
    due_at: datetime | None = None,
    within: timedelta = CALLBACK_WITHIN,
    customer_id: int | None = None,
    queue: str | None = None,
    data: dict[str, Any] | None = None,
    region: str = "US",
    site: str = DEFAULT_SITE,
) -> int:
    """A callback promised to a caller (``source``: ``ivr`` for "press 8", ``queue`` for a queue's
    ``callback`` fallback): a work item of ``site``'s standing callbacks campaign that anyone may work, due at
    ``due_at`` (default: at once) and promised within ``within``, tied to the caller's call by a
    ``callback_requested`` attempt. ``data``: the call's attached data (the IVR's), kept on the item
    and attached to the call back. One promise per call: asking again for the same call returns the
    same work item. Returns the work item id."""
    if requested_at.tzinfo is None or (due_at is not None and due_at.tzinfo is None):
        raise InvalidData("a callback time needs a time zone")
    done = session.scalar(select(Attempt.work_item_id)
                          .where(Attempt.cti_call_id == call_id, Attempt.result == CALLBACK_REQUESTED).limit(1))
    if done is not None:
        return done
    e164 = phones.to_e164(number, region)
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        customer = session.scalar(select(Customer).join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
                                  .where(PhoneNumber.e164 == e164).order_by(Customer.id).limit(1))
    if customer is None:  # a caller we do not know yet: a prospect, so the promise has someone to keep it for
        zone = phones.time_zone_of(e164)
        customer = Customer(name=phones.display(e164)[:200], tier=Tier.PROSPECT,
                            time_zone=str(zone) if zone else "UTC",
                            phones=[PhoneNumber(e164=e164, is_primary=True)])
        session.add(customer)
        session.flush()
    activity_id, task_id = _callbacks_task(session, REQUESTED_CALLBACKS, site)
    due = due_at or requested_at
    promise = {"call_id": call_id, "source": source, "queue": queue, "requested_at": requested_at.isoformat(),
               "due_at": due.isoformat(), "due_by": (due + within).isoformat()}
    item = session.scalar(select(WorkItem).where(WorkItem.activity_id == activity_id,
                                                 WorkItem.customer_id == customer.id))
    label = "Callback requested in the IVR" if source == "ivr" else f"Callback promised by queue {queue or '?'}"
    if item is None:
        item = WorkItem(activity_id=activity_id, task_id=task_id, customer_id=customer.id, priority=20)
        session.add(item)
    if item.status in (WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS) and item.next_attempt_at is not None:
        item.next_attempt_at = min(item.next_attempt_at, due)  # an earlier promise stands
    else:
        if item.status not in (WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS):
            item.attempt_count = 0  # a new promise gets its own attempts
            item.result = item.reason = None
            item.agent_id = None
        item.next_attempt_at = due
        item.status = WorkItemStatus.PENDING
    if item.agent_id is None:
        item.task_id = task_id
    item.phone_e164 = e164
    item.offer = label[:200]
    item.attached = {"callback": promise, "data": dict(data or {})}
    session.flush()
    session.add(Attempt(work_item_id=item.id, started_at=requested_at, ended_at=requested_at,
                        result=CALLBACK_REQUESTED, cti_call_id=call_id))
    session.flush()
    return item.id


#: The result of a requested callback closed because the customer got through by calling in.
CALLED_IN = "customer_called_in"


def close_requested_callbacks(session: Session, *, customer_id: int, reached_at: datetime,
                              contact_id: int | None = None, cti_call_id: str | None = None,
                              agent_id: int | None = None) -> list[int]:
    """The customer reached an agent on a call of their own (``reached_at``): the callbacks promised to
    them before it (the IVR's "press 8", a queue's fallback) that are still open are closed with result
    ``customer_called_in``, tied to that contact, so that nobody calls back someone already served.
    Personal callbacks (an agent's own promise) stay. Returns the work items closed."""
    rows = session.execute(
        select(WorkItem, func.max(Attempt.started_at))
        .join(Activity, Activity.id == WorkItem.activity_id)
        .join(Campaign, Campaign.id == Activity.campaign_id)
        .join(Attempt, Attempt.work_item_id == WorkItem.id)
        .where(Campaign.campaign_key == CALLBACKS_CAMPAIGN, WorkItem.customer_id == customer_id,
               WorkItem.agent_id.is_(None),
               WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
               Attempt.result == CALLBACK_REQUESTED)
        .group_by(WorkItem.id)
    ).all()
    closed = []
    for item, requested in rows:
        if requested is None or _aware(requested) > reached_at:
            continue  # promised after this call began: a new promise, kept
        _attempt(session, item.id, CALLED_IN, agent_id=agent_id, at=reached_at, cti_call_id=cti_call_id,
                 contact_id=contact_id)
        item.status = WorkItemStatus.COMPLETED
        item.result = CALLED_IN
        item.reason = "the customer called in and reached an agent"
        item.next_attempt_at = None
        closed.append(item.id)
    session.flush()
    return closed


@dataclass(frozen=True, slots=True)
class CallbackLevel:
    """Callbacks promised to callers in a period, and how many were made within their promised time."""

    requested: int
    made_in_time: int
    made_late: int
    waiting: int  # not dialled yet, still within their time
    overdue: int  # not dialled yet, past their time

    @property
    def service_level(self) -> float | None:
        """Callbacks made within their promised time, of those made or due."""
        due = self.made_in_time + self.made_late + self.overdue
        return self.made_in_time / due if due else None


def callback_service_level(session: Session, *, since: datetime, until: datetime, now: datetime | None = None,
                           site: str = DEFAULT_SITE) -> CallbackLevel:
    """The service level of callbacks promised to callers at ``site`` (requested in ``[since, until)``):
    each request's first dial after it, against its promised time (``due_by``)."""
    now = now or utcnow()
    requests = session.execute(
        select(Attempt.work_item_id, Attempt.started_at, Attempt.cti_call_id, WorkItem.attached)
        .join(WorkItem, WorkItem.id == Attempt.work_item_id)
        .join(Activity, Activity.id == WorkItem.activity_id).join(Campaign, Campaign.id == Activity.campaign_id)
        .where(Campaign.site == site, Attempt.result == CALLBACK_REQUESTED, Attempt.started_at >= since,
               Attempt.started_at < until)
        .order_by(Attempt.started_at)
    ).all()
    dials: dict[int, list[datetime]] = {}
    for work_item_id, at in session.execute(
        select(Attempt.work_item_id, Attempt.started_at)
        .where(Attempt.work_item_id.in_({r[0] for r in requests}), Attempt.result != CALLBACK_REQUESTED,
               Attempt.result != "skipped")
    ) if requests else ():
        dials.setdefault(work_item_id, []).append(at)
    in_time = late = waiting = overdue = 0
    for work_item_id, asked_at, _call_id, attached in requests:
        promise = (attached or {}).get("callback") or {}
        try:
            due_by = datetime.fromisoformat(promise["due_by"])
        except (KeyError, TypeError, ValueError):
            due_by = asked_at + CALLBACK_WITHIN
        first = min((at for at in dials.get(work_item_id, ()) if at >= asked_at), default=None)
        if first is None:
            if now > due_by:
                overdue += 1
            else:
                waiting += 1
        elif first <= due_by:
            in_time += 1
        else:
            late += 1
    return CallbackLevel(len(requests), in_time, late, waiting, overdue)
