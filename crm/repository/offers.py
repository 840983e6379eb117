"""Campaign offers made to a customer on a contact, and what became of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..campaigns.eligibility import ConsentState, decide
from ..campaigns.rules import CampaignRules
from ..consent import consent_state
from ..errors import InvalidData
from ..models import (
    Activity,
    Campaign,
    WorkItem,
    WorkItemStatus,
    utcnow,
)
from ._common import _attempt
from .campaigns import item_state, live_campaign, rules_of


@dataclass(frozen=True, slots=True)
class OfferView:
    """A campaign offer that applies to the customer now, with the script to pitch it."""

    work_item_id: int
    campaign_key: str
    campaign_name: str
    channel: str
    offer: str | None
    script: str | None
    status: WorkItemStatus
    attempts: int


def _open_offers(session: Session, customer_id: int, now: datetime) -> list[OfferView]:
    """The customer's open work items of live campaigns that the rules allow offering on their call, one
    per campaign (best first)."""
    rows = session.execute(
        select(WorkItem, Campaign, Activity)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .where(
            WorkItem.customer_id == customer_id,
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            live_campaign(now),
        )
        .order_by(WorkItem.priority.desc(), WorkItem.id)
    ).all()
    if not rows:  # most callers have no open offer: their consent is not read
        return []
    cache: dict[int, CampaignRules | None] = {}
    eligible = []
    consent: ConsentState = consent_state(session, customer_id, "inbound_offer")  # offered on the customer's call
    for item, campaign, activity in rows:
        rules = rules_of(campaign, cache)
        state = item_state(item, campaign, channel="inbound_offer", consent=consent)
        if rules is not None and decide(state, "UTC", rules, now, inbound=True).eligible:
            eligible.append((item, campaign, activity))
    # One row per campaign: its inbound-offer item when it has one (the channel of the customer's own
    # call), else its best item; a result on it closes the others (``close_siblings``).
    chosen: dict[int, tuple[WorkItem, Campaign, Activity]] = {}
    for row in eligible:
        held = chosen.get(row[1].id)
        if held is None or (row[2].channel == "inbound_offer" and held[2].channel != "inbound_offer"):
            chosen[row[1].id] = row
    eligible = [row for row in eligible if chosen[row[1].id] is row]
    return [
        OfferView(
            work_item_id=item.id,
            campaign_key=campaign.campaign_key,
            campaign_name=campaign.name,
            channel=activity.channel,
            offer=item.offer,
            script=campaign.script,
            status=item.status,
            attempts=item.attempt_count,
        )
        for item, campaign, activity in eligible
    ]


@dataclass(frozen=True, slots=True)
class OfferResult:
    """What became of a campaign offer made on a contact: ``accepted``, ``declined``, ``callback``,
    ``not_interested`` (with a reason)."""

    work_item_id: int
    result: str
    reason: str | None = None


OFFER_RESULTS = ("accepted", "declined", "callback", "not_interested")


def record_offer_result(
    session: Session,
    offer: OfferResult,
    *,
    contact_id: int | None = None,
    agent_id: int | None = None,
    cti_call_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Tie an offer's outcome to its work item: an attempt, and the item's status and result."""
    if offer.result not in OFFER_RESULTS:
        raise InvalidData(f"unknown offer result {offer.result!r}; expected one of {', '.join(OFFER_RESULTS)}")
    if offer.result == "not_interested" and not (offer.reason or "").strip():
        raise InvalidData("'not interested' needs a reason")
    item = _attempt(session, offer.work_item_id, f"offer_{offer.result}", agent_id=agent_id, at=at or utcnow(),
                    cti_call_id=cti_call_id, contact_id=contact_id)
    item.result = offer.result
    item.reason = offer.reason
    item.agent_id = agent_id or item.agent_id
    item.status = WorkItemStatus.IN_PROGRESS if offer.result == "callback" else WorkItemStatus.COMPLETED
    if offer.result in CLOSING_RESULTS:
        close_siblings(session, item, offer.result)


#: Offer results that settle the campaign for the customer on every channel.
CLOSING_RESULTS = ("accepted", "declined", "not_interested")
#: The result of a work item closed because its campaign got a result on another channel.
SIBLING_CLOSED = "sibling_closed"


def close_siblings(session: Session, item: WorkItem, result: str) -> list[int]:
    """A result on one channel settles the campaign for the customer: close the customer's other open
    work items of the same campaign (an offer accepted on an inbound call takes the number off the dial
    list). Returns the ids closed."""
    activity = session.get_one(Activity, item.activity_id)
    siblings = session.scalars(
        select(WorkItem)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .where(
            Activity.campaign_id == activity.campaign_id,
            WorkItem.customer_id == item.customer_id,
            WorkItem.id != item.id,
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
        )
        .order_by(WorkItem.id)
    ).all()
    for sibling in siblings:
        sibling.status = WorkItemStatus.CANCELLED
        sibling.result = SIBLING_CLOSED
        sibling.reason = f"{result} on work item {item.id} ({activity.channel})"
        sibling.next_attempt_at = None
    return [sibling.id for sibling in siblings]
