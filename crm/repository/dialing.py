"""The outbound dialer's reads and writes (progressive and predictive campaigns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session, selectinload

from .. import dnc
from ..campaigns.eligibility import ConsentState, WorkItemState
from ..consent import consent_states
from ..errors import NotFound
from ..models import (
    DEFAULT_SITE,
    Activity,
    Attempt,
    Campaign,
    Contact,
    Customer,
    Queue,
    Task,
    WorkItem,
    WorkItemStatus,
)
from .campaigns import CONTACT_DAYS, last_results, live_campaign, reached, rules_of
from .offers import OFFER_RESULTS


@dataclass(frozen=True, slots=True)
class DialerCampaign:
    """An active campaign the dialer paces by itself (``dial_mode`` progressive or predictive)."""

    campaign_id: int
    campaign_key: str
    name: str
    dial_mode: str
    rules: dict[str, Any]
    calling_hours: dict[str, Any]
    skill: str | None  # the outbound task's skill
    queue: str | None  # ``rules.queue``, else the queue of that skill, else None


@dataclass(frozen=True, slots=True)
class DialCandidate:
    """A work item the dialer may call, with what its rules need to know."""

    work_item_id: int
    customer_id: int
    phone: str
    offer: str | None
    priority: int
    time_zone: str
    attempts: int
    last_attempt_at: datetime | None
    last_result: str | None  # of the last dial (``dial_`` prefix of preview attempts removed)
    contacts: tuple[datetime, ...]  # when the customer was reached by an outbound call (any campaign)
    do_not_call: bool
    next_attempt_at: datetime | None = None
    consent: ConsentState = ConsentState.UNKNOWN  # the customer's consent to marketing calls
    data: dict[str, Any] = field(default_factory=dict)  # attached data it came with (a callback's IVR data)

    def state(self) -> WorkItemState:
        """What the eligibility rules need of this candidate."""
        return WorkItemState(self.work_item_id, self.phone, self.attempts, self.last_attempt_at, self.last_result,
                             self.contacts, next_attempt_at=self.next_attempt_at, channel="outbound_call",
                             consent=self.consent)


def dialer_campaigns(session: Session, *, now: datetime, modes: tuple[str, ...] = ("progressive", "predictive"),
                     site: str = DEFAULT_SITE) -> list[DialerCampaign]:
    """``site``'s active campaigns (within their dates) with an outbound-call activity and one of ``modes``
    (their work items are the only ones its dialer dials)."""
    rows = session.execute(
        select(Campaign, Task.skill)
        .join(Activity, Activity.campaign_id == Campaign.id)
        .outerjoin(Task, Task.activity_id == Activity.id)
        .where(
            Activity.channel == "outbound_call",
            live_campaign(now),
            Campaign.dial_mode.in_(modes),
            Campaign.site == site,
        )
        .order_by(Campaign.id, Task.id)
    )
    queue_of_skill = {
        q.skill.name: q.name
        for q in session.scalars(select(Queue).where(Queue.site == site).options(selectinload(Queue.skill))
                                .order_by(Queue.id.desc()))
        if q.skill is not None
    }
    found: dict[int, DialerCampaign] = {}
    for campaign, skill in rows:
        if campaign.id in found:
            continue
        rules = dict(campaign.rules or {})
        queue = rules.get("queue") or (queue_of_skill.get(skill) if skill else None) or skill
        found[campaign.id] = DialerCampaign(
            campaign.id, campaign.campaign_key, campaign.name, campaign.dial_mode, rules,
            dict(campaign.calling_hours or {}), skill, str(queue) if queue else None,
        )
    return list(found.values())


def dial_candidates(session: Session, campaign_id: int, *, now: datetime, limit: int = 50,
                    skip: tuple[int, ...] = (), contact_days: int = CONTACT_DAYS) -> list[DialCandidate]:
    """Work items of the campaign's outbound activity that are open, due and have a phone, best first
    (priority, then age), for personal callbacks' sake those without an agent only."""
    rows = session.execute(
        select(WorkItem, Customer.time_zone)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Customer, Customer.id == WorkItem.customer_id)
        .where(
            Activity.campaign_id == campaign_id,
            Activity.channel == "outbound_call",
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            WorkItem.result.is_(None) | WorkItem.result.not_in(OFFER_RESULTS),
            WorkItem.phone_e164.is_not(None),
            WorkItem.agent_id.is_(None),
            or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now),
            WorkItem.id.not_in(skip) if skip else true(),
        )
        .order_by(WorkItem.priority.desc(), WorkItem.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    phones = {item.phone_e164 for item, _ in rows}
    blocked = dnc.blocked(session, phones, now=now)
    last = last_results(session, [item.id for item, _ in rows])
    campaign = session.get(Campaign, campaign_id)
    rules = rules_of(campaign, {}) if campaign is not None else None
    if rules is not None and rules.frequency_cap is not None:
        contact_days = max(contact_days, rules.frequency_cap.days)  # a long cap counts its whole window
    contacts = reached(session, {item.customer_id for item, _ in rows}, now=now, days=contact_days)
    consents = consent_states(session, {item.customer_id for item, _ in rows}, "outbound_call")
    return [
        DialCandidate(
            work_item_id=item.id, customer_id=item.customer_id, phone=item.phone_e164 or "", offer=item.offer,
            priority=item.priority, time_zone=time_zone or "UTC", attempts=item.attempt_count,
            last_attempt_at=item.last_attempt_at, last_result=last.get(item.id),
            contacts=tuple(sorted(contacts.get(item.customer_id, ()))), do_not_call=item.phone_e164 in blocked,
            next_attempt_at=item.next_attempt_at,
            consent=consents.get(item.customer_id, ConsentState.UNKNOWN),
            data=dict((item.attached or {}).get("data") or {}),
        )
        for item, time_zone in rows
    ]


def record_outbound_attempt(
    session: Session, work_item_id: int, *, result: str, cti_call_id: str | None, started_at: datetime,
    ended_at: datetime, next_attempt_at: datetime | None, final: bool = False, reason: str | None = None,
    client_ref: str | None = None,
) -> bool:
    """One dial of the dialer: ``result`` is answered, busy, no_answer, answering_machine, abandoned,
    hung_up or failed. The item waits until ``next_attempt_at``; ``final`` closes it as failed (no
    more attempts); an answered call leaves it in progress for the agent's offer result. An item closed
    while it was dialled (cancelled as a sibling, completed) keeps its status and result.

    Idempotent on ``client_ref`` (the dial's own id): an attempt already written under it is not
    written again (a retry from the dialer's outbox after a lost answer). Returns whether it wrote."""
    if client_ref is not None and session.scalar(select(Attempt.id).where(Attempt.client_ref == client_ref)):
        return False
    # Locked: the agent's contact of this call is written at the same moment (both follow the call's end),
    # and :func:`save_contact` locks the item too, so the later of the two sees the other's row.
    item = session.scalar(select(WorkItem).where(WorkItem.id == work_item_id).with_for_update())
    if item is None:
        raise NotFound(f"no work item {work_item_id}")
    # The agent's contact of this call may be in already (both waited out a database outage): tie them.
    contact_id = session.scalar(select(Contact.id).where(
        Contact.work_item_id == item.id, Contact.cti_call_id == cti_call_id).limit(1)) if cti_call_id else None
    session.add(Attempt(work_item_id=item.id, started_at=started_at, ended_at=ended_at, result=result,
                        cti_call_id=cti_call_id, client_ref=client_ref, contact_id=contact_id))
    item.attempt_count += 1
    item.last_attempt_at = started_at
    if item.status not in (WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS):
        # Closed while the call was being dialled (a sibling's result, an agent's): the dial is
        # counted, the item stays closed with its own result.
        return True
    item.result = result
    item.next_attempt_at = next_attempt_at
    if final:
        item.status = WorkItemStatus.FAILED
        item.reason = (reason or f"no contact after {item.attempt_count} attempts")[:200]
    else:
        item.status = WorkItemStatus.IN_PROGRESS
    return True


def claim_for_dialing(session: Session, work_item_ids: list[int], *, now: datetime, until: datetime) -> list[int]:
    """Claim work items for a dial, so that no other dialer dials them: of ``work_item_ids``, those
    still open and due are held until ``until`` (their ``next_attempt_at``; the attempt written after
    the dial sets it again). On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``: an item
    another dialer is claiming at this moment is skipped, never waited for; the update re-checks that
    the item is still due, so an item claimed and committed meanwhile is not claimed twice (on SQLite
    too). Returns the ids claimed, in the order given."""
    if not work_item_ids:
        return []
    due = or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now)
    is_open = WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS))
    lockable = session.scalars(
        select(WorkItem.id).where(WorkItem.id.in_(work_item_ids), is_open, due).with_for_update(skip_locked=True)
    ).all()
    claimed = set()
    for work_item_id in lockable:
        done = session.execute(
            update(WorkItem).where(WorkItem.id == work_item_id, is_open, due).values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) == 1:
            claimed.add(work_item_id)
    return [i for i in work_item_ids if i in claimed]
