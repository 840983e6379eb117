"""Every dial decision kept, so that ``ccenter campaign why`` can say why a number was (not) called.

The dialer writes one :class:`DialDecisionRecord` per look at a work item: dialled, or skipped with the
rule of :func:`crm.campaigns.eligibility.decide` that refused it (a skipped item is looked at again only
when the rule may let it through, so a refusal is one row, not one per pacing step). The rows are
indexed by work item, by phone and by campaign, each with the time, and kept for a retention period
(:func:`purge_decisions`; ``ccenter dialer`` purges them itself, ``ccenter campaign purge-decisions``
by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from .. import phones
from ..errors import InvalidPhoneNumber, NotFound
from ..models import DEFAULT_SITE, Activity, Campaign, CampaignStatus, DialDecision, WorkItem, WorkItemStatus
from .campaigns import rules_of

#: How long dial decisions are kept unless said otherwise.
DECISION_RETENTION = timedelta(days=90)
#: The rules that refuse a number for compliance (the export counts them per work item).
COMPLIANCE_RULES = ("do_not_call", "consent", "frequency_cap", "calling_hours")


@dataclass(frozen=True, slots=True)
class DialDecisionRecord:
    """One decision of the dialer about one work item."""

    decided_at: datetime
    campaign_key: str
    work_item_id: int | None
    phone: str | None
    dialled: bool
    rule: str
    reason: str
    retry_at: datetime | None = None


def record_dial_decisions(session: Session, records: Iterable[DialDecisionRecord]) -> int:
    """Keep the decisions; returns how many were written."""
    rows = [
        {"decided_at": r.decided_at, "campaign_key": r.campaign_key[:64], "work_item_id": r.work_item_id,
         "phone_e164": r.phone, "dialled": r.dialled, "rule": r.rule[:32], "reason": r.reason[:200],
         "retry_at": r.retry_at}
        for r in records
    ]
    if not rows:
        return 0
    ids = {r["work_item_id"] for r in rows if r["work_item_id"] is not None}
    if ids:  # a work item deleted meanwhile (a campaign removed): keep the decision, drop the link
        known = set(session.scalars(select(WorkItem.id).where(WorkItem.id.in_(ids))))
        for row in rows:
            if row["work_item_id"] not in known:
                row["work_item_id"] = None
    session.execute(insert(DialDecision), rows)
    return len(rows)


def _site_items(site: str) -> Select[int]:
    """The ids of ``site``'s work items (through their campaign)."""
    return (select(WorkItem.id).join(Activity, Activity.id == WorkItem.activity_id)
            .join(Campaign, Campaign.id == Activity.campaign_id).where(Campaign.site == site))


def at_site(site: str) -> ColumnElement[bool]:
    """The decisions about ``site``'s work items. A decision has no site of its own: its work item's
    campaign has one (a decision written after its work item was deleted goes by its campaign key)."""
    keys = select(Campaign.campaign_key).where(Campaign.site == site)
    return or_(DialDecision.work_item_id.in_(_site_items(site)),
               and_(DialDecision.work_item_id.is_(None), DialDecision.campaign_key.in_(keys)))


def decisions(session: Session, *, site: str = DEFAULT_SITE, work_item_id: int | None = None, phone: str | None = None,
              campaign_key: str | None = None, since: datetime | None = None, limit: int = 100
              ) -> list[DialDecisionRecord]:
    """The decisions about a work item, a number or a campaign of ``site``, newest first (another site's
    are never among them, whatever their campaign key or number)."""
    query = select(DialDecision).where(at_site(site))
    if work_item_id is not None:
        query = query.where(DialDecision.work_item_id == work_item_id)
    if phone is not None:
        query = query.where(DialDecision.phone_e164 == phone)
    if campaign_key is not None:
        query = query.where(DialDecision.campaign_key == campaign_key)
    if since is not None:
        query = query.where(DialDecision.decided_at >= since)
    rows = session.scalars(query.order_by(DialDecision.decided_at.desc(), DialDecision.id.desc()).limit(limit))
    return [DialDecisionRecord(d.decided_at, d.campaign_key, d.work_item_id, d.phone_e164, d.dialled, d.rule,
                               d.reason, d.retry_at) for d in rows]


def refusals_by_rule(session: Session, item_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per work item, how many times each rule refused to dial it (within the retention period)."""
    out: dict[int, dict[str, int]] = {}
    ids = list(item_ids)
    for start in range(0, len(ids), 500):
        for work_item_id, rule, n in session.execute(
            select(DialDecision.work_item_id, DialDecision.rule, func.count())
            .where(DialDecision.work_item_id.in_(ids[start:start + 500]), DialDecision.dialled.is_(False))
            .group_by(DialDecision.work_item_id, DialDecision.rule)
        ):
            if work_item_id is not None:
                out.setdefault(work_item_id, {})[rule] = n
    return out


def purge_decisions(session: Session, *, before: datetime) -> int:
    """Delete the decisions made before ``before``; returns how many."""
    result = session.execute(delete(DialDecision).where(DialDecision.decided_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class CampaignNow:
    """What a campaign's dialer has to work with now, and what stops it."""

    campaign_key: str
    dial_mode: str
    open_items: int
    due_items: int
    next_due_at: datetime | None
    blockers: tuple[str, ...]  # why the dialer calls nobody, as sentences (empty: it has work)
    recent: dict[str, int]  # decisions of the last hour by rule ("eligible" when dialled)


def campaign_now(session: Session, campaign_key: str, *, now: datetime, site: str = DEFAULT_SITE) -> CampaignNow:
    """Why the dialer is idle for ``site``'s campaign now (or that it has work), from the campaign, its work
    items and the last hour's decisions. Whether agents are ready is the ACD's to say (its statistics)."""
    campaign = session.scalar(select(Campaign).where(Campaign.site == site, Campaign.campaign_key == campaign_key))
    if campaign is None:
        raise NotFound(f"no campaign {campaign_key!r} at site {site!r}")
    blockers = []
    if campaign.status is not CampaignStatus.ACTIVE:
        blockers.append(f"the campaign is {campaign.status.value}, not active")
    if campaign.starts_at is not None and campaign.starts_at > now:
        blockers.append(f"the campaign starts at {campaign.starts_at.isoformat()}")
    if campaign.ends_at is not None and campaign.ends_at <= now:
        blockers.append(f"the campaign ended at {campaign.ends_at.isoformat()}")
    if campaign.dial_mode not in ("progressive", "predictive"):
        blockers.append(f"dial mode {campaign.dial_mode}: agents ask for calls in their preview, the dialer "
                        "does not dial")
    if rules_of(campaign, {}) is None:
        blockers.append("its stored rules are unusable (see the dialer's log)")
    open_items = (WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
                  WorkItem.phone_e164.is_not(None), WorkItem.agent_id.is_(None))
    base = (select(func.count()).select_from(WorkItem).join(Activity, Activity.id == WorkItem.activity_id)
            .where(Activity.campaign_id == campaign.id, Activity.channel == "outbound_call", *open_items))
    n_open = session.scalar(base) or 0
    n_due = session.scalar(base.where(or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now))) or 0
    next_due = session.scalar(
        select(func.min(WorkItem.next_attempt_at)).join(Activity, Activity.id == WorkItem.activity_id)
        .where(Activity.campaign_id == campaign.id, Activity.channel == "outbound_call", *open_items,
               WorkItem.next_attempt_at > now))
    if n_open == 0:
        blockers.append("no open work item with a phone number to dial")
    elif n_due == 0:
        blockers.append(f"no work item is due before {next_due.isoformat() if next_due else 'later'}")
    recent: dict[str, int] = {}
    for dialled, rule, n in session.execute(
        select(DialDecision.dialled, DialDecision.rule, func.count())
        .where(DialDecision.campaign_key == campaign_key, at_site(site),
               DialDecision.decided_at >= now - timedelta(hours=1))
        .group_by(DialDecision.dialled, DialDecision.rule)
    ):
        recent["eligible" if dialled else rule] = recent.get("eligible" if dialled else rule, 0) + n
    if n_due and not blockers and recent and not recent.get("eligible"):
        worst = max(recent.items(), key=lambda kv: kv[1])[0]
        blockers.append(f"every work item looked at in the last hour was refused, most by rule {worst}")
    return CampaignNow(campaign_key, campaign.dial_mode, n_open, n_due, next_due, tuple(blockers), recent)


def why_target(session: Session, text: str, *, region: str, site: str = DEFAULT_SITE) -> tuple[str, str | int]:
    """What ``ccenter campaign why`` was given at ``site``: ``("campaign", key)``, ``("work_item", id)`` or
    ``("phone", e164)``. A campaign key wins over a work item id of the same digits. Another site's
    campaigns and work items are not known here. Raises NotFound."""
    text = text.strip()
    if session.scalar(select(Campaign.id).where(Campaign.site == site, Campaign.campaign_key == text)) is not None:
        return "campaign", text
    if (text.isdigit() and len(text) <= 12
            and session.scalar(_site_items(site).where(WorkItem.id == int(text))) is not None):
        return "work_item", int(text)
    try:
        return "phone", phones.to_e164(text, region)
    except InvalidPhoneNumber:
        raise NotFound(f"{text!r} is no campaign, work item or phone number") from None
