"""The look-ups and writes the rest of the product calls.

Functions take a SQLAlchemy ``Session`` and return plain frozen dataclasses, never ORM objects, so
that results can cross threads (the desktop looks up off the GUI thread) and outlive the session.
Writes happen in the caller's transaction: ``with crm.db.transaction(factory) as s: ...`` commits all
of them or none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from . import phones
from .errors import InvalidData, InvalidPhoneNumber, NotFound
from .models import (
    Account,
    Activity,
    Agent,
    Attempt,
    Campaign,
    CampaignStatus,
    Channel,
    Communication,
    Contact,
    Customer,
    DoNotCall,
    IvrSession,
    Order,
    PhoneNumber,
    Queue,
    ServiceRequest,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
    utcnow,
)
from .secrets import verify_secret

CONTACT_HISTORY = 20
RECENT_COMMUNICATIONS = 10
OPEN_ORDER_STATES = ("open", "submitted", "in_progress", "on_hold")
OPEN_REQUEST_STATES = ("open", "in_progress", "waiting_customer")
_ACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,32}$")


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountView:
    account_number: str
    status: str
    plan: str | None
    balance: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: int
    name: str
    tier: Tier
    language: str
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    id: int
    name: str
    tier: Tier
    segment: str | None
    language: str
    time_zone: str
    email: str | None
    phones: tuple[str, ...]
    accounts: tuple[AccountView, ...]
    customer_since: datetime


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    channel: Channel
    started_at: datetime
    ended_at: datetime | None
    agent: str | None
    queue: str | None
    disposition: str | None
    summary: str | None
    notes: str | None
    ivr_data: dict[str, Any]
    work_item_id: int | None


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    product: str
    quantity: int
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    contact_id: int | None
    work_item_id: int | None


@dataclass(frozen=True, slots=True)
class ServiceRequestView:
    id: int
    category: str
    summary: str
    priority: str
    status: str
    created_at: datetime
    contact_id: int | None
    work_item_id: int | None


@dataclass(frozen=True, slots=True)
class CommunicationView:
    id: int
    kind: str
    channel: str
    subject: str
    amount: Decimal | None
    currency: str | None
    sent_at: datetime


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


@dataclass(frozen=True, slots=True)
class Customer360:
    profile: CustomerProfile
    contacts: tuple[ContactView, ...]
    open_orders: tuple[OrderView, ...]
    open_service_requests: tuple[ServiceRequestView, ...]
    offers: tuple[OfferView, ...]
    communications: tuple[CommunicationView, ...]


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    login: str
    name: str
    role: str
    extension: str | None
    skills: dict[str, int] = field(default_factory=dict)


# --- look-ups ----------------------------------------------------------------------------------


def _summary(customer: Customer) -> CustomerSummary:
    return CustomerSummary(
        id=customer.id,
        name=customer.name,
        tier=customer.tier,
        language=customer.language,
        phones=tuple(p.e164 for p in sorted(customer.phones, key=lambda p: not p.is_primary)),
    )


def find_customers_by_phone(session: Session, number: str, region: str = "US") -> list[CustomerSummary]:
    """Every customer who has ``number`` (in any written form); raises InvalidPhoneNumber."""
    e164 = phones.to_e164(number, region)
    rows = session.scalars(
        select(Customer)
        .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
        .where(PhoneNumber.e164 == e164)
        .options(selectinload(Customer.phones))
        .order_by(Customer.id)
    ).unique()
    return [_summary(c) for c in rows]


def find_customer_by_account(session: Session, account_number: str) -> CustomerSummary:
    """The owner of an account; raises NotFound for an unknown account number."""
    account_number = account_number.strip()
    if not _ACCOUNT_PATTERN.match(account_number):
        raise NotFound(f"not an account number: {account_number[:40]!r}")
    customer = session.scalar(
        select(Customer)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.account_number == account_number)
        .options(selectinload(Customer.phones))
    )
    if customer is None:
        raise NotFound(f"no account {account_number!r}")
    return _summary(customer)


def search_customers(session: Session, text: str, region: str = "US", limit: int = 50) -> list[CustomerSummary]:
    """Free search as an agent types it: a phone number, an account number, or part of a name."""
    text = text.strip()
    if not text:
        return []
    found: dict[int, CustomerSummary] = {}
    if sum(ch.isdigit() for ch in text) >= 6:
        try:
            for summary in find_customers_by_phone(session, text, region):
                found[summary.id] = summary
        except InvalidPhoneNumber:
            pass
    if _ACCOUNT_PATTERN.match(text):
        try:
            summary = find_customer_by_account(session, text)
            found[summary.id] = summary
        except NotFound:
            pass
    if len(found) < limit:
        pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = session.scalars(
            select(Customer)
            .where(or_(Customer.name.like(pattern, escape="\\"), Customer.email == text.lower()))
            .options(selectinload(Customer.phones))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
        for customer in rows:
            found.setdefault(customer.id, _summary(customer))
    return list(found.values())[:limit]


def _open_offers(session: Session, customer_id: int, now: datetime) -> list[OfferView]:
    rows = session.execute(
        select(WorkItem, Campaign, Activity)
        .join(Activity, WorkItem.activity_id == Activity.id)
        .join(Campaign, Activity.campaign_id == Campaign.id)
        .where(
            WorkItem.customer_id == customer_id,
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            Campaign.status == CampaignStatus.ACTIVE,
            or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now),
            or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
        )
        .order_by(WorkItem.priority.desc(), WorkItem.id)
    )
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
        for item, campaign, activity in rows
    ]


def customer_360(session: Session, customer_id: int, *, now: datetime | None = None) -> Customer360:
    """Everything an agent needs about one customer: profile, history, open work, offers, mail."""
    now = now or utcnow()
    customer = session.get(
        Customer, customer_id, options=[selectinload(Customer.phones), selectinload(Customer.accounts)]
    )
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    profile = CustomerProfile(
        id=customer.id,
        name=customer.name,
        tier=customer.tier,
        segment=customer.segment,
        language=customer.language,
        time_zone=customer.time_zone,
        email=customer.email,
        phones=_summary(customer).phones,
        accounts=tuple(
            AccountView(a.account_number, a.status, a.plan, a.balance, a.currency)
            for a in sorted(customer.accounts, key=lambda a: a.account_number)
        ),
        customer_since=customer.created_at,
    )
    contacts = session.execute(
        select(Contact, Agent.name)
        .outerjoin(Agent, Contact.agent_id == Agent.id)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.started_at.desc(), Contact.id.desc())
        .limit(CONTACT_HISTORY)
    )
    orders = session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id, Order.status.in_(OPEN_ORDER_STATES))
        .order_by(Order.created_at.desc())
    )
    requests = session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.customer_id == customer_id, ServiceRequest.status.in_(OPEN_REQUEST_STATES))
        .order_by(ServiceRequest.created_at.desc())
    )
    communications = session.scalars(
        select(Communication)
        .where(Communication.customer_id == customer_id)
        .order_by(Communication.sent_at.desc())
        .limit(RECENT_COMMUNICATIONS)
    )
    return Customer360(
        profile=profile,
        contacts=tuple(
            ContactView(
                c.id, c.channel, c.started_at, c.ended_at, agent_name, c.queue, c.disposition, c.summary,
                c.notes, dict(c.ivr_data or {}), c.work_item_id,
            )
            for c, agent_name in contacts
        ),
        open_orders=tuple(_order_view(o) for o in orders),
        open_service_requests=tuple(_request_view(r) for r in requests),
        offers=tuple(_open_offers(session, customer_id, now)),
        communications=tuple(
            CommunicationView(m.id, m.kind, m.channel, m.subject, m.amount, m.currency, m.sent_at)
            for m in communications
        ),
    )


def _order_view(o: Order) -> OrderView:
    return OrderView(o.id, o.product, o.quantity, o.amount, o.currency, o.status, o.created_at, o.contact_id,
                     o.work_item_id)


def _request_view(r: ServiceRequest) -> ServiceRequestView:
    return ServiceRequestView(r.id, r.category, r.summary, r.priority, r.status, r.created_at, r.contact_id,
                              r.work_item_id)


def verify_account_pin(session: Session, account_number: str, pin: str) -> bool:
    """Whether ``pin`` is the account's PIN (the IVR's verification step)."""
    pin_hash = session.scalar(select(Account.pin_hash).where(Account.account_number == account_number.strip()))
    return verify_secret(pin, pin_hash)


def authenticate_agent(session: Session, login: str, password: str) -> AgentView | None:
    agent = session.scalar(
        select(Agent).where(Agent.login == login, Agent.active.is_(True)).options(selectinload(Agent.skills))
    )
    if agent is None or not verify_secret(password, agent.password_hash):
        return None
    return AgentView(
        agent.id, agent.login, agent.name, agent.role.value, agent.extension,
        {s.skill.name: s.proficiency for s in agent.skills},
    )


# --- writes ------------------------------------------------------------------------------------


def _require_customer(session: Session, customer_id: int) -> None:
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")


def _check_links(session: Session, customer_id: int, contact_id: int | None, work_item_id: int | None) -> None:
    _require_customer(session, customer_id)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}")
        if contact.customer_id not in (None, customer_id):
            raise InvalidData(f"contact {contact_id} belongs to another customer")
    if work_item_id is not None:
        item = session.get(WorkItem, work_item_id)
        if item is None:
            raise NotFound(f"no work item {work_item_id}")
        if item.customer_id != customer_id:
            raise InvalidData(f"work item {work_item_id} belongs to another customer")


def create_customer(
    session: Session,
    *,
    name: str,
    phone: str | None = None,
    region: str = "US",
    tier: Tier = Tier.STANDARD,
    language: str = "en",
) -> int:
    """A new customer (an unknown caller, or a prospect from a campaign list); returns its id."""
    name = name.strip()
    if not name:
        raise InvalidData("a customer needs a name")
    customer = Customer(name=name[:200], tier=tier, language=language)
    if phone:
        e164 = phones.to_e164(phone, region, valid_only=True)
        zone = phones.time_zone_of(e164)
        customer.time_zone = str(zone) if zone else "UTC"
        customer.phones = [PhoneNumber(e164=e164, is_primary=True)]
    session.add(customer)
    session.flush()
    return customer.id


def record_contact(
    session: Session,
    *,
    channel: Channel,
    customer_id: int | None = None,
    agent_id: int | None = None,
    queue: str | None = None,
    cti_call_id: str | None = None,
    ivr_data: dict[str, Any] | None = None,
    work_item_id: int | None = None,
    started_at: datetime | None = None,
    summary: str | None = None,
) -> int:
    """Open a contact (an interaction) and return its id."""
    if customer_id is not None:
        _check_links(session, customer_id, None, work_item_id)
    contact = Contact(
        customer_id=customer_id,
        channel=channel,
        agent_id=agent_id,
        queue=queue,
        cti_call_id=cti_call_id,
        ivr_data=dict(ivr_data or {}),
        work_item_id=work_item_id,
        started_at=started_at or utcnow(),
        summary=summary,
    )
    session.add(contact)
    session.flush()
    return contact.id


def close_contact(
    session: Session,
    contact_id: int,
    *,
    disposition: str,
    notes: str | None = None,
    customer_id: int | None = None,
    ended_at: datetime | None = None,
) -> None:
    """Wrap a contact up: disposition, notes, end time (and the customer, if identified late)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    if not disposition.strip():
        raise InvalidData("a disposition is required to close a contact")
    if customer_id is not None:
        _require_customer(session, customer_id)
        contact.customer_id = customer_id
    contact.disposition = disposition.strip()
    contact.notes = notes
    contact.ended_at = ended_at or utcnow()


def create_order(
    session: Session,
    *,
    customer_id: int,
    product: str,
    amount: Decimal = Decimal("0.00"),
    quantity: int = 1,
    currency: str = "USD",
    contact_id: int | None = None,
    work_item_id: int | None = None,
) -> OrderView:
    """Create an order linked to the contact and, for a campaign sale, to its work item."""
    if not product.strip():
        raise InvalidData("an order needs a product")
    if quantity < 1:
        raise InvalidData("an order's quantity must be at least 1")
    if amount < 0:
        raise InvalidData("an order's amount cannot be negative")
    _check_links(session, customer_id, contact_id, work_item_id)
    order = Order(
        customer_id=customer_id, product=product.strip(), amount=amount, quantity=quantity,
        currency=currency, contact_id=contact_id, work_item_id=work_item_id,
    )
    session.add(order)
    session.flush()
    return _order_view(order)


def create_service_request(
    session: Session,
    *,
    customer_id: int,
    category: str,
    summary: str,
    details: str | None = None,
    priority: str = "normal",
    contact_id: int | None = None,
    work_item_id: int | None = None,
) -> ServiceRequestView:
    """Create a service request linked to the contact and, when it came from a campaign, its work item."""
    if not category.strip() or not summary.strip():
        raise InvalidData("a service request needs a category and a summary")
    if priority not in ("low", "normal", "high", "urgent"):
        raise InvalidData(f"unknown service request priority {priority!r}")
    _check_links(session, customer_id, contact_id, work_item_id)
    request = ServiceRequest(
        customer_id=customer_id, category=category.strip(), summary=summary.strip(), details=details,
        priority=priority, contact_id=contact_id, work_item_id=work_item_id,
    )
    session.add(request)
    session.flush()
    return _request_view(request)


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    skill: str | None
    service_level_seconds: int
    service_level_target: float
    wrap_up_seconds: int
    dispositions: tuple[str, ...]


def list_queues(session: Session) -> list[QueueView]:
    queues = session.scalars(select(Queue).options(selectinload(Queue.skill)).order_by(Queue.name))
    return [
        QueueView(q.name, q.skill.name if q.skill else None, q.service_level_seconds, q.service_level_target,
                  q.wrap_up_seconds, tuple(str(d) for d in q.dispositions or ()))
        for q in queues
    ]


def campaign_dispositions(session: Session) -> dict[str, tuple[str, ...]]:
    """The disposition codes of the campaigns that define their own (``rules.dispositions``)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, rules in session.execute(select(Campaign.campaign_key, Campaign.rules)):
        codes = (rules or {}).get("dispositions")
        if isinstance(codes, list) and codes and all(isinstance(c, str) and c for c in codes):
            out[key] = tuple(codes)
    return out


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0


def list_agents(session: Session) -> Sequence[AgentView]:
    agents = session.scalars(select(Agent).options(selectinload(Agent.skills)).order_by(Agent.login))
    return [
        AgentView(a.id, a.login, a.name, a.role.value, a.extension, {s.skill.name: s.proficiency for s in a.skills})
        for a in agents
    ]


# --- a whole contact at once (the desktop's wrap-up) -------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderLine:
    product: str
    amount: Decimal = Decimal("0.00")
    quantity: int = 1
    currency: str = "USD"
    work_item_id: int | None = None


@dataclass(frozen=True, slots=True)
class RequestLine:
    category: str
    summary: str
    details: str | None = None
    priority: str = "normal"
    work_item_id: int | None = None


@dataclass(frozen=True, slots=True)
class OfferResult:
    """What became of a campaign offer made on a contact: ``accepted``, ``declined``, ``callback``,
    ``not_interested`` (with a reason)."""

    work_item_id: int
    result: str
    reason: str | None = None


OFFER_RESULTS = ("accepted", "declined", "callback", "not_interested")


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """Everything a contact produced, to be written in one transaction (or not at all)."""

    client_ref: str
    channel: Channel
    started_at: datetime
    ended_at: datetime
    disposition: str
    customer_id: int | None = None
    agent_id: int | None = None
    queue: str | None = None
    cti_call_id: str | None = None
    ivr_data: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    work_item_id: int | None = None
    orders: tuple[OrderLine, ...] = ()
    requests: tuple[RequestLine, ...] = ()
    offer_results: tuple[OfferResult, ...] = ()
    #: For an outbound call of a campaign (``work_item_id``): how the dial went (``answered``...).
    dial_result: str | None = None
    #: The agent promised to call back then: a personal callback for ``agent_id``.
    callback_at: datetime | None = None
    callback_phone: str | None = None


@dataclass(frozen=True, slots=True)
class SavedContact:
    contact_id: int
    order_ids: tuple[int, ...]
    request_ids: tuple[int, ...]
    already_saved: bool = False


def save_contact(session: Session, record: ContactRecord) -> SavedContact:
    """Write a finished contact with its orders, service requests and offer results.

    Idempotent on ``client_ref``: writing the same record again (a retry after a lost answer)
    returns what the first write made and adds nothing.
    """
    existing = session.scalar(select(Contact).where(Contact.client_ref == record.client_ref))
    if existing is not None:
        orders = session.scalars(select(Order.id).where(Order.contact_id == existing.id).order_by(Order.id))
        requests = session.scalars(
            select(ServiceRequest.id).where(ServiceRequest.contact_id == existing.id).order_by(ServiceRequest.id)
        )
        return SavedContact(existing.id, tuple(orders), tuple(requests), already_saved=True)
    if (record.orders or record.requests) and record.customer_id is None:
        raise InvalidData("orders and service requests need an identified customer")
    contact_id = record_contact(
        session, channel=record.channel, customer_id=record.customer_id, agent_id=record.agent_id,
        queue=record.queue, cti_call_id=record.cti_call_id, ivr_data=record.ivr_data,
        work_item_id=record.work_item_id, started_at=record.started_at,
    )
    session.get_one(Contact, contact_id).client_ref = record.client_ref
    order_ids = tuple(
        create_order(session, customer_id=record.customer_id or 0, product=o.product, amount=o.amount,
                     quantity=o.quantity, currency=o.currency, contact_id=contact_id,
                     work_item_id=o.work_item_id).id
        for o in record.orders
    )
    request_ids = tuple(
        create_service_request(session, customer_id=record.customer_id or 0, category=r.category,
                               summary=r.summary, details=r.details, priority=r.priority, contact_id=contact_id,
                               work_item_id=r.work_item_id).id
        for r in record.requests
    )
    if record.work_item_id is not None and record.dial_result:
        _attempt(session, record.work_item_id, f"dial_{record.dial_result}", agent_id=record.agent_id,
                 at=record.started_at, cti_call_id=record.cti_call_id, contact_id=contact_id)
    for offer in record.offer_results:
        record_offer_result(session, offer, contact_id=contact_id, agent_id=record.agent_id,
                            cti_call_id=record.cti_call_id, at=record.ended_at)
    close_contact(session, contact_id, disposition=record.disposition, notes=record.notes, ended_at=record.ended_at)
    if record.callback_at is not None:
        if record.customer_id is None:
            raise InvalidData("a callback needs an identified customer")
        schedule_callback(session, customer_id=record.customer_id, at=record.callback_at, agent_id=record.agent_id,
                          phone=record.callback_phone, work_item_id=record.work_item_id, note=record.notes)
    return SavedContact(contact_id, order_ids, request_ids)


CALLBACKS_CAMPAIGN = "CALLBACKS"


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


# --- outbound preview ------------------------------------------------------------------------------


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
    someone at an hour we cannot know).
    """
    if not calling_hours:
        return True
    try:
        local = now.astimezone(ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    days = calling_hours.get("days")
    if days is not None and local.weekday() not in days:
        return False
    start, end = calling_hours.get("start", "00:00"), calling_hours.get("end", "24:00")
    return start <= local.strftime("%H:%M") < end


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
        .outerjoin(DoNotCall, DoNotCall.e164 == WorkItem.phone_e164)
        .where(
            Activity.channel == "outbound_call",
            Campaign.status == CampaignStatus.ACTIVE,
            or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now),
            or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
            WorkItem.status.in_((WorkItemStatus.PENDING, WorkItemStatus.IN_PROGRESS)),
            WorkItem.phone_e164.is_not(None),
            or_(WorkItem.next_attempt_at.is_(None), WorkItem.next_attempt_at <= now),
            or_(WorkItem.agent_id.is_(None), WorkItem.agent_id == agent_id),
            or_(DoNotCall.id.is_(None), and_(DoNotCall.expires_at.is_not(None), DoNotCall.expires_at <= now)),
            WorkItem.id.not_in(skip) if skip else true(),
        )
        .order_by((WorkItem.agent_id == agent_id).desc() if agent_id else WorkItem.id, WorkItem.priority.desc(),
                  WorkItem.id)
        .limit(scan)
    )
    for item, campaign, customer in rows:
        max_attempts = int(campaign.rules.get("max_attempts", 0) or 0)
        if max_attempts and item.attempt_count >= max_attempts:
            continue
        if not within_calling_hours(campaign.calling_hours, customer.time_zone, now):
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


def _attempt(session: Session, work_item_id: int, result: str, *, agent_id: int | None, at: datetime,
             cti_call_id: str | None = None, contact_id: int | None = None) -> WorkItem:
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFound(f"no work item {work_item_id}")
    session.add(Attempt(work_item_id=item.id, started_at=at, ended_at=at, result=result, agent_id=agent_id,
                        cti_call_id=cti_call_id, contact_id=contact_id))
    item.attempt_count += 1
    item.last_attempt_at = at
    return item


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
    """An outbound dial that reached nobody (busy, no answer, machine): counted, retried later."""
    now = now or utcnow()
    item = _attempt(session, work_item_id, f"dial_{result}", agent_id=agent_id, at=now, cti_call_id=cti_call_id)
    item.result = result
    item.next_attempt_at = now + (retry_after or timedelta(hours=2))


# --- IVR reporting ---------------------------------------------------------------------------------

IVR_EXITS = ("self_served", "transferred", "callback", "abandoned")


@dataclass(frozen=True, slots=True)
class IvrSessionRecord:
    """What the IVR reports about one session (the data layer does not know the IVR's own types)."""

    cti_call_id: str
    flow: str
    caller: str | None
    started_at: datetime
    ended_at: datetime
    exit: str
    exit_node: str | None = None
    path: tuple[str, ...] = ()
    menu_path: tuple[str, ...] = ()
    language: str | None = None
    customer_id: int | None = None
    verified: bool = False
    intent: str | None = None
    self_service: tuple[str, ...] = ()
    queue: str | None = None
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class IvrReport:
    sessions: int
    by_exit: dict[str, int]
    containment_rate: float | None  # self-served / all sessions (as ivr.record.containment_rate)
    mean_duration_s: float | None
    by_intent: dict[str, int]


def record_ivr_session(session: Session, record: IvrSessionRecord) -> int:
    if record.exit not in IVR_EXITS:
        raise InvalidData(f"unknown IVR exit {record.exit!r}; expected one of {', '.join(IVR_EXITS)}")
    customer_id = record.customer_id
    if customer_id is not None and session.get(Customer, customer_id) is None:
        customer_id = None  # identified by an outside system: keep the session, drop the dangling link
    row = IvrSession(
        cti_call_id=record.cti_call_id, flow=record.flow, caller=record.caller, started_at=record.started_at,
        ended_at=record.ended_at, exit=record.exit, exit_node=record.exit_node, path=list(record.path),
        menu_path=list(record.menu_path), language=record.language, customer_id=customer_id,
        verified=record.verified, intent=record.intent, self_service=list(record.self_service),
        queue=record.queue, priority=record.priority,
    )
    session.add(row)
    session.flush()
    return row.id


def ivr_report(session: Session, *, since: datetime, until: datetime, flow: str | None = None) -> IvrReport:
    """Containment and exits of the IVR sessions that started in ``[since, until)``."""
    query = select(IvrSession.exit, IvrSession.intent, IvrSession.started_at, IvrSession.ended_at).where(
        IvrSession.started_at >= since, IvrSession.started_at < until
    )
    if flow:
        query = query.where(IvrSession.flow == flow)
    by_exit: dict[str, int] = {}
    by_intent: dict[str, int] = {}
    total = 0
    duration = 0.0
    for exit_, intent, started, ended in session.execute(query):
        total += 1
        by_exit[exit_] = by_exit.get(exit_, 0) + 1
        if intent:
            by_intent[intent] = by_intent.get(intent, 0) + 1
        duration += (ended - started).total_seconds()
    return IvrReport(
        sessions=total,
        by_exit=by_exit,
        containment_rate=by_exit.get("self_served", 0) / total if total else None,
        mean_duration_s=duration / total if total else None,
        by_intent=by_intent,
    )


# --- outbound dialer (progressive and predictive) -------------------------------------------------


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


#: Attempt results that mean the customer was reached (for frequency caps).
REACHED_RESULTS = ("answered", "dial_answered", "offer_accepted", "offer_declined", "offer_callback",
                   "offer_not_interested")


def dialer_campaigns(session: Session, *, now: datetime, modes: tuple[str, ...] = ("progressive", "predictive")
                     ) -> list[DialerCampaign]:
    """Active campaigns (within their dates) with an outbound-call activity and one of ``modes``."""
    rows = session.execute(
        select(Campaign, Task.skill)
        .join(Activity, Activity.campaign_id == Campaign.id)
        .outerjoin(Task, Task.activity_id == Activity.id)
        .where(
            Activity.channel == "outbound_call",
            Campaign.status == CampaignStatus.ACTIVE,
            Campaign.dial_mode.in_(modes),
            or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now),
            or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
        )
        .order_by(Campaign.id, Task.id)
    )
    queue_of_skill = {
        q.skill.name: q.name
        for q in session.scalars(select(Queue).options(selectinload(Queue.skill)).order_by(Queue.id.desc()))
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
                    skip: tuple[int, ...] = (), contact_days: int = 30) -> list[DialCandidate]:
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
    blocked = set(session.scalars(
        select(DoNotCall.e164).where(
            DoNotCall.e164.in_(phones), or_(DoNotCall.expires_at.is_(None), DoNotCall.expires_at > now)
        )
    ))
    item_ids = [item.id for item, _ in rows]
    last: dict[int, str] = {}
    for work_item_id, result in session.execute(
        select(Attempt.work_item_id, Attempt.result)
        .where(Attempt.work_item_id.in_(item_ids))
        .order_by(Attempt.started_at, Attempt.id)
    ):
        last[work_item_id] = result.removeprefix("dial_")
    customers = {item.customer_id for item, _ in rows}
    contacts: dict[int, list[datetime]] = {}
    for customer_id, at in session.execute(
        select(WorkItem.customer_id, Attempt.started_at)
        .join(Attempt, Attempt.work_item_id == WorkItem.id)
        .where(WorkItem.customer_id.in_(customers), Attempt.result.in_(REACHED_RESULTS),
               Attempt.started_at > now - timedelta(days=contact_days))
    ):
        contacts.setdefault(customer_id, []).append(at)
    return [
        DialCandidate(
            work_item_id=item.id, customer_id=item.customer_id, phone=item.phone_e164 or "", offer=item.offer,
            priority=item.priority, time_zone=time_zone or "UTC", attempts=item.attempt_count,
            last_attempt_at=item.last_attempt_at, last_result=last.get(item.id),
            contacts=tuple(sorted(contacts.get(item.customer_id, ()))), do_not_call=item.phone_e164 in blocked,
        )
        for item, time_zone in rows
    ]


def record_outbound_attempt(
    session: Session, work_item_id: int, *, result: str, cti_call_id: str | None, started_at: datetime,
    ended_at: datetime, next_attempt_at: datetime | None, final: bool = False, reason: str | None = None,
) -> None:
    """One dial of the dialer: ``result`` is answered, busy, no_answer, answering_machine, abandoned,
    hung_up or failed. The item waits until ``next_attempt_at``; ``final`` closes it as failed (no
    more attempts); an answered call leaves it in progress for the agent's offer result."""
    item = session.get(WorkItem, work_item_id)
    if item is None:
        raise NotFound(f"no work item {work_item_id}")
    session.add(Attempt(work_item_id=item.id, started_at=started_at, ended_at=ended_at, result=result,
                        cti_call_id=cti_call_id))
    item.attempt_count += 1
    item.last_attempt_at = started_at
    item.result = result
    item.next_attempt_at = next_attempt_at
    if final:
        item.status = WorkItemStatus.FAILED
        item.reason = (reason or f"no contact after {item.attempt_count} attempts")[:200]
    else:
        item.status = WorkItemStatus.IN_PROGRESS
