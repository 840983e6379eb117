"""Customers: finding them, the 360 view an agent sees, creating one."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import phones
from ..errors import InvalidData, InvalidPhoneNumber, NotFound
from ..lockout import Counter, Verdict
from ..models import (
    Account,
    Agent,
    Channel,
    Communication,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    ServiceRequest,
    Tier,
    utcnow,
)
from ..secrets import verify_secret
from .offers import OfferView, _open_offers
from .orders import OrderView, ServiceRequestView, _order_view, _request_view

logger = logging.getLogger(__name__)

CONTACT_HISTORY = 20


RECENT_COMMUNICATIONS = 10


OPEN_ORDER_STATES = ("open", "submitted", "in_progress", "on_hold")


OPEN_REQUEST_STATES = ("open", "in_progress", "waiting_customer")


_ACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,32}$")


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
class CommunicationView:
    id: int
    kind: str
    channel: str
    subject: str
    amount: Decimal | None
    currency: str | None
    sent_at: datetime
    body: str | None = None
    lines: tuple[tuple[str, Decimal], ...] = ()
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Customer360:
    profile: CustomerProfile
    contacts: tuple[ContactView, ...]
    open_orders: tuple[OrderView, ...]
    open_service_requests: tuple[ServiceRequestView, ...]
    offers: tuple[OfferView, ...]
    communications: tuple[CommunicationView, ...]


def _lines(lines: object) -> tuple[tuple[str, Decimal], ...]:
    if not isinstance(lines, list):
        return ()
    return tuple((str(line.get("label", "")), Decimal(str(line.get("amount", "0")))) for line in lines
                 if isinstance(line, dict))


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
        .options(joinedload(Customer.phones))  # in the same statement: a screen pop's first round trip
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


def customer_360(session: Session, customer_id: int, *, now: datetime | None = None) -> Customer360:
    """Everything an agent needs about one customer: profile, history, open work, offers, mail."""
    now = now or utcnow()
    # One statement for the customer, their phone numbers and accounts (a few rows each: the join's product
    # stays small), then one per part of the view; the offers add the customer's consent only when there are any.
    customer = session.get(
        Customer, customer_id, options=[joinedload(Customer.phones), joinedload(Customer.accounts)]
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
            CommunicationView(m.id, m.kind, m.channel, m.subject, m.amount, m.currency, m.sent_at, m.body,
                              _lines(m.lines), m.source)
            for m in communications
        ),
    )


def check_account_pin(session: Session, account_number: str, pin: str, *, now: datetime | None = None) -> Verdict:
    """The IVR's verification step: ``pin`` against the account's PIN, with lockout (``crm.lockout``).

    The account's row is locked while it is checked, so tries on parallel calls count one by one;
    the counter is written in the session's transaction: commit it (as :class:`crm.ivr_data.IvrData`
    does). An unknown account is WRONG, and counts nowhere.
    """
    now = now or datetime.now(UTC)
    account = session.scalar(
        select(Account).where(Account.account_number == account_number.strip()).with_for_update()
    )
    if account is None:
        return Verdict.WRONG
    counter = Counter(account.pin_failures or 0, account.pin_locked_until)
    correct = not counter.locked(now) and verify_secret(pin, account.pin_hash)
    verdict, after = counter.after(correct, now)
    if after != counter:
        account.pin_failures, account.pin_locked_until = after.failures, after.locked_until
        session.flush()
    if verdict is Verdict.LOCKED and not counter.locked(now):
        logger.warning("PIN of account %s locked until %s after %d wrong tries", account.account_number,
                       after.locked_until, after.failures)
    return verdict


def verify_account_pin(session: Session, account_number: str, pin: str) -> bool:
    """Whether ``pin`` is the account's PIN now (:func:`check_account_pin`, as a bool)."""
    return check_account_pin(session, account_number, pin) is Verdict.VERIFIED


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


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0


def customer_tier(session: Session, customer_id: int) -> Tier:
    """The customer's tier (what decides who may see them); NotFound for an unknown customer."""
    tier = session.scalar(select(Customer.tier).where(Customer.id == customer_id))
    if tier is None:
        raise NotFound(f"no customer {customer_id}")
    return tier


def first_account(session: Session, customer_id: int) -> str:
    """The customer's first account number (by number): the one a live bill is asked for."""
    account = session.scalar(select(Account.account_number).where(Account.customer_id == customer_id)
                             .order_by(Account.account_number).limit(1))
    if account is None:
        raise NotFound(f"customer {customer_id} has no account")
    return account
