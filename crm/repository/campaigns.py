"""Campaign rules and history as the eligibility rules read them, for the preview, offers and dialer.

:func:`rules_of` reads a campaign's stored rules into the one typed model
(:func:`crm.campaigns.rules.read_rules`); :func:`item_states` gathers what
:func:`crm.campaigns.eligibility.decide` needs of work items (last outcome, when the customer was
reached), so that every channel asks the same function the same question.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ..campaigns.eligibility import ConsentState, WorkItemState
from ..campaigns.rules import CampaignRules, InvalidRules, read_rules
from ..models import Activity, Attempt, Campaign, CampaignStatus, Contact, WorkItem, WorkItemStatus

logger = logging.getLogger(__name__)

#: The standing campaign that holds agents' promised callbacks.
CALLBACKS_CAMPAIGN = "CALLBACKS"
#: The attempt of a work item whose offer was made on a contact (an order or request was tied to it)
#: without a result of its own.
OFFER_MADE = "offer_made"
#: Attempt results that mean the customer was reached (for frequency caps).
REACHED_RESULTS = ("answered", "dial_answered", "offer_accepted", "offer_declined", "offer_callback",
                   "offer_not_interested", OFFER_MADE, "message_sent")
#: How far back the customers' contacts are read for frequency caps (longer caps count this far).
CONTACT_DAYS = 30


def live_campaign(now: datetime) -> ColumnElement[bool]:
    """Active campaigns within their dates at ``now``."""
    return and_(
        Campaign.status == CampaignStatus.ACTIVE,
        or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now),
        or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
    )


def rules_of(campaign: Campaign, cache: dict[int, CampaignRules | None]) -> CampaignRules | None:
    """The campaign's typed rules; None (logged once) when what is stored breaks the plan format."""
    if campaign.id not in cache:
        try:
            cache[campaign.id] = read_rules(campaign.rules, campaign.calling_hours)
        except InvalidRules as exc:
            logger.info("campaign %s has unusable rules (%s): its work items are left alone",
                        campaign.campaign_key, exc)
            cache[campaign.id] = None
    return cache[campaign.id]


def last_results(session: Session, item_ids: Iterable[int]) -> dict[int, str]:
    """The outcome of each work item's last attempt (an agent's ``dial_`` prefix removed)."""
    last: dict[int, str] = {}
    ids = list(item_ids)
    if not ids:
        return last
    for work_item_id, result in session.execute(
        select(Attempt.work_item_id, Attempt.result)
        .where(Attempt.work_item_id.in_(ids))
        .order_by(Attempt.started_at, Attempt.id)
    ):
        last[work_item_id] = result.removeprefix("dial_")
    return last


def reached(session: Session, customer_ids: Iterable[int], *, now: datetime,
            days: int = CONTACT_DAYS) -> dict[int, list[datetime]]:
    """When each customer was reached by a campaign (any campaign) in the last ``days`` days."""
    contacts: dict[int, list[datetime]] = {}
    ids = list(customer_ids)
    if not ids:
        return contacts
    for customer_id, at in session.execute(
        select(WorkItem.customer_id, Attempt.started_at)
        .join(Attempt, Attempt.work_item_id == WorkItem.id)
        .where(WorkItem.customer_id.in_(ids), Attempt.result.in_(REACHED_RESULTS),
               Attempt.started_at > now - timedelta(days=days))
    ):
        contacts.setdefault(customer_id, []).append(at)
    return contacts


def item_state(item: WorkItem, campaign: Campaign, *, last_result: str | None = None,
               contacts: Iterable[datetime] = (), channel: str = "outbound_call",
               consent: ConsentState = ConsentState.UNKNOWN) -> WorkItemState:
    """What the eligibility rules need of a work item."""
    promised = campaign.campaign_key == CALLBACKS_CAMPAIGN or (
        item.agent_id is not None and item.status == WorkItemStatus.IN_PROGRESS
    )
    return WorkItemState(
        work_item_id=item.id, phone=item.phone_e164, attempts=item.attempt_count,
        last_attempt_at=item.last_attempt_at, last_result=last_result, contacts=tuple(sorted(contacts)),
        final=item.status not in (WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS),
        next_attempt_at=item.next_attempt_at, promised_callback=promised, channel=channel, consent=consent,
    )


#: The result of a dialer call that was answered but never wrapped up in time.
NO_DISPOSITION = "no_disposition"


def close_undisposed(session: Session, *, now: datetime, after: timedelta) -> list[tuple[str, int]]:
    """Close the work items whose dialer call was answered ``after`` ago or more and never wrapped up
    (no contact saved for the work item since): result ``no_disposition``, status failed, never
    redialled. Returns ``(campaign key, work item id)`` of each one closed.

    A contact saved later (a desktop's outbox flushing after an outage) still records its offer result.
    """
    wrapped_up = (
        select(Contact.id)
        .where(Contact.work_item_id == WorkItem.id, Contact.started_at >= WorkItem.last_attempt_at)
        .exists()
    )
    rows = session.execute(
        select(WorkItem, Campaign.campaign_key)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .where(
            WorkItem.status == WorkItemStatus.IN_PROGRESS,
            WorkItem.result == "answered",
            WorkItem.last_attempt_at <= now - after,
            ~wrapped_up,
        )
        .order_by(WorkItem.id)
    ).all()
    hours = after.total_seconds() / 3600
    for item, _key in rows:
        item.status = WorkItemStatus.FAILED
        item.result = NO_DISPOSITION
        item.reason = f"answered, no disposition recorded within {hours:g} h"
        item.next_attempt_at = None
    return [(key, item.id) for item, key in rows]


def campaign_dispositions(session: Session) -> dict[str, tuple[str, ...]]:
    """The disposition codes of the campaigns that define their own (``rules.dispositions``)."""
    out: dict[str, tuple[str, ...]] = {}
    cache: dict[int, CampaignRules | None] = {}
    for campaign in session.scalars(select(Campaign).order_by(Campaign.campaign_key)):
        rules = rules_of(campaign, cache)
        if rules is not None and rules.dispositions:
            out[campaign.campaign_key] = rules.dispositions
    return out
