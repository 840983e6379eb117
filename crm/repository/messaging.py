"""Campaign messages (``sms`` and ``email`` channels): which are due, and what became of each one sent.

:func:`due_messages` picks the open work items of live campaigns' message channels that the one
eligibility function (:func:`crm.campaigns.eligibility.decide`, as for calls: consent, attempts,
retry delay, frequency cap across campaigns, the customer's local hours) lets through now;
:func:`record_message` writes what the connector said: an attempt on the work item (``message_sent``,
``message_failed``, ``message_rejected``), the item's status and result, and for a sent message a
Communication of the customer (shown in their 360 view). A sent message counts as reaching the
customer for frequency caps.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import phones
from ..campaigns.eligibility import ConsentState, Decision, Rule, WorkItemState, decide
from ..campaigns.rules import CampaignRules
from ..consent import consent_states
from ..errors import InvalidData, InvalidPhoneNumber, NotFound
from ..models import (
    DEFAULT_SITE,
    Activity,
    Attempt,
    Campaign,
    Communication,
    Customer,
    PhoneNumber,
    WorkItem,
    WorkItemStatus,
)
from .campaigns import CONTACT_DAYS, item_state, last_results, live_campaign, reached, rules_of

#: The campaign channels that are messages sent by a connector.
MESSAGE_CHANNELS = ("sms", "email")
#: What the connector can say about one message.
MESSAGE_RESULTS = ("sent", "failed", "rejected")
#: A message held back because a call with the customer is in progress is looked at again after this.
IN_CALL_RETRY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send for a work item: to a phone (``sms``) or an address (``email``)."""

    work_item_id: int
    attempt_no: int  # the attempt this send is (1 for the first): with the item, its idempotency key
    campaign_key: str
    channel: str
    customer_id: int
    to: str | None
    customer_name: str
    language: str
    subject: str
    text: str

    @property
    def idempotency_key(self) -> str:
        """The same for every retry of this send, new for the next attempt."""
        return f"ccenter-{self.work_item_id}-{self.attempt_no}"


def due_messages(session: Session, *, now: datetime, limit: int = 100, skip: tuple[int, ...] = (),
                 in_call: Collection[str] = (), region: str = "US", site: str = DEFAULT_SITE,
                 ) -> tuple[list[OutboundMessage], list[tuple[int, str, str | None, Decision]]]:
    """Messages of ``site``'s campaigns to send now, best first; and the work items looked at but
    refused now (work item, campaign key, its phone, the decision), so the caller can keep why.
    ``in_call``: the numbers on a call now; their customers get no message until it is over (the call
    counts as a contact: a message in the same minute would be a second one), refused with rule
    ``retry`` for ``IN_CALL_RETRY``."""
    rows = session.execute(
        select(WorkItem, Activity.channel, Campaign, Customer)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .join(Customer, Customer.id == WorkItem.customer_id)
        .where(
            Activity.channel.in_(MESSAGE_CHANNELS),
            live_campaign(now),
            Campaign.site == site,
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now),
            WorkItem.id.not_in(skip) if skip else WorkItem.id.is_not(None),
        )
        .order_by(WorkItem.priority.desc(), WorkItem.id)
        .limit(limit)
    ).all()
    if not rows:
        return [], []
    last = last_results(session, [item.id for item, *_ in rows])
    cache: dict[int, CampaignRules | None] = {}
    days = CONTACT_DAYS
    for _item, _channel, campaign, _customer in rows:
        rules = rules_of(campaign, cache)
        if rules is not None and rules.frequency_cap is not None:
            days = max(days, rules.frequency_cap.days)
    contacts = reached(session, {item.customer_id for item, *_ in rows}, now=now, days=days)
    busy, busy_numbers = _in_call(session, in_call, region)
    consents = {channel: consent_states(session, {item.customer_id for item, ch, *_ in rows if ch == channel},
                                        channel) for channel in MESSAGE_CHANNELS}
    out: list[OutboundMessage] = []
    refused: list[tuple[int, str, str | None, Decision]] = []
    for item, channel, campaign, customer in rows:
        rules = rules_of(campaign, cache)
        if rules is None:
            continue
        to = item.phone_e164 if channel == "sms" else customer.email
        if customer.id in busy or (item.phone_e164 is not None and item.phone_e164 in busy_numbers):
            refused.append((item.id, campaign.campaign_key, item.phone_e164, Decision(
                False, Rule.RETRY, "a call with the customer is in progress", now + IN_CALL_RETRY)))
            continue
        state = item_state(item, campaign, last_result=last.get(item.id), contacts=contacts.get(item.customer_id, ()),
                           channel=channel, consent=consents[channel].get(item.customer_id, ConsentState.UNKNOWN))
        # an e-mail has no phone: the no_phone rule reads the address instead
        verdict = decide(state if channel == "sms" else _with_phone(state, to), customer.time_zone, rules, now)
        if not verdict.eligible:
            refused.append((item.id, campaign.campaign_key, item.phone_e164, verdict))
            continue
        contacts.setdefault(item.customer_id, []).append(now)  # the next message in this batch counts it
        text = " - ".join(part for part in (campaign.name, item.offer) if part)
        out.append(OutboundMessage(item.id, item.attempt_count + 1, campaign.campaign_key, channel, customer.id, to,
                                   customer.name, customer.language, (item.offer or campaign.name)[:200], text))
    return out, refused


def _in_call(session: Session, numbers: Collection[str], region: str) -> tuple[set[int], set[str]]:
    """The customers on a call now, and the numbers (in E.164) the call is with."""
    normalized = set()
    for raw in numbers:
        try:
            normalized.add(phones.to_e164(raw, region))
        except InvalidPhoneNumber:
            continue
    if not normalized:
        return set(), normalized
    return set(session.scalars(select(PhoneNumber.customer_id).where(PhoneNumber.e164.in_(normalized)))), normalized


def _with_phone(state: WorkItemState, to: str | None) -> WorkItemState:
    return replace(state, phone=to or None)


def record_message(session: Session, message: OutboundMessage, *, result: str, at: datetime,
                   provider_ref: str | None = None, reason: str | None = None,
                   retry_after: timedelta | None = None) -> None:
    """What the connector said about ``message``: ``sent`` (the item is completed, the customer has a
    Communication), ``failed`` (tried again after ``retry_after``, else closed when its attempts are
    used up) or ``rejected`` (the address cannot take it: the item fails)."""
    if result not in MESSAGE_RESULTS:
        raise InvalidData(f"unknown message result {result!r}; expected one of {', '.join(MESSAGE_RESULTS)}")
    item = session.get(WorkItem, message.work_item_id)
    if item is None:
        raise NotFound(f"no work item {message.work_item_id}")
    session.add(Attempt(work_item_id=item.id, started_at=at, ended_at=at, result=f"message_{result}",
                        cti_call_id=(provider_ref or "")[:128] or None))
    item.attempt_count += 1
    item.last_attempt_at = at
    if item.status not in (WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS):
        return  # closed meanwhile (a sibling's result): counted, left closed
    item.result = result
    item.reason = (reason or "")[:200] or None
    if result == "sent":
        item.status = WorkItemStatus.COMPLETED
        item.next_attempt_at = None
        session.add(Communication(customer_id=item.customer_id, kind="campaign_offer", channel=message.channel,
                                  subject=message.subject[:200] or message.campaign_key, sent_at=at))
        return
    campaign = session.scalar(select(Campaign).join(Activity, Activity.campaign_id == Campaign.id)
                              .where(Activity.id == item.activity_id))
    rules = rules_of(campaign, {}) if campaign is not None else None
    max_attempts = rules.max_attempts if rules is not None else 3
    if result == "rejected" or item.attempt_count >= max_attempts:
        item.status = WorkItemStatus.FAILED
        item.next_attempt_at = None
    else:
        item.status = WorkItemStatus.IN_PROGRESS
        delay = retry_after or timedelta(seconds=rules.retry_delay("failed") if rules is not None else 600)
        item.next_attempt_at = at + delay
