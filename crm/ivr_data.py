"""What the IVR reads from the customer data and writes about its sessions, as plain values.

The IVR's queries live here, in the data layer, so that only ``crm`` speaks to the ORM;
``ivr.crm_lookup`` adapts them to the IVR's look-up protocol. :class:`IvrData` opens one short
session per look-up and returns frozen dataclasses. A number that is no phone number, or an account
number that cannot be one, finds nothing; a database that fails raises :class:`DatabaseUnavailable`.
Tiers are the data model's values (``vip``, ``gold``, ``standard``, ``prospect``). The last bill is
the newest ``bill`` communication sent to the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import db, repository
from .errors import DatabaseUnavailable, InvalidPhoneNumber, NotFound
from .lockout import Verdict
from .models import Account, Communication, Customer, Order, ServiceRequest
from .repository import IvrSessionRecord

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Opens sessions on the customer database (``crm.db.session_factory``).
SessionFactory = sessionmaker[Session]


@dataclass(frozen=True, slots=True)
class IvrCustomer:
    id: int
    name: str
    tier: str | None
    segment: str | None
    language: str | None
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IvrBalance:
    account_number: str
    balance: Decimal
    currency: str
    last_bill_amount: Decimal | None
    last_bill_date: date | None


@dataclass(frozen=True, slots=True)
class IvrOrder:
    id: int
    status: str
    product: str


@dataclass(frozen=True, slots=True)
class IvrServiceRequest:
    id: int
    status: str
    summary: str


class IvrData:
    """The IVR's look-ups on the customer database."""

    def __init__(self, factory: SessionFactory, *, region: str = "US", engine: Engine | None = None) -> None:
        self.factory = factory
        self.region = region
        self._engine = engine

    @classmethod
    def from_url(cls, url: str, *, region: str = "US", check: bool = True) -> IvrData:
        """Connect to the database at ``url`` (raises DatabaseUnavailable); ``check=False`` does not wait for
        it to answer (each look-up then fails as unavailable until it does)."""
        engine = db.connect(url, check=check)
        return cls(db.session_factory(engine), region=region, engine=engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self.factory() as session:
                yield session
        except SQLAlchemyError as exc:
            logger.debug("customer data look-up failed: %s", exc)
            raise DatabaseUnavailable(f"customer data is unavailable: {type(exc).__name__}") from None

    def _read(self, work: Callable[[Session], T]) -> T:
        with self._session() as session:
            return work(session)

    @staticmethod
    def _customer(session: Session, customer_id: int) -> IvrCustomer | None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return None
        accounts = session.scalars(
            select(Account.account_number).where(Account.customer_id == customer_id).order_by(Account.account_number)
        ).all()
        return IvrCustomer(
            id=customer.id,
            name=customer.name,
            tier=customer.tier.value if customer.tier is not None else None,
            segment=customer.segment,
            language=customer.language,
            accounts=tuple(accounts),
        )

    def customers_by_phone(self, number: str) -> list[IvrCustomer]:
        """Customers with ``number`` (any written form); none when it is no phone number."""

        def work(session: Session) -> list[IvrCustomer]:
            try:
                found = repository.find_customers_by_phone(session, number, self.region)
            except InvalidPhoneNumber:
                return []
            customers = (self._customer(session, summary.id) for summary in found)
            return [customer for customer in customers if customer is not None]

        return self._read(work)

    def customer_by_account(self, account_number: str) -> IvrCustomer | None:
        def work(session: Session) -> IvrCustomer | None:
            try:
                summary = repository.find_customer_by_account(session, account_number)
            except NotFound:
                return None
            return self._customer(session, summary.id)

        return self._read(work)

    def verify_pin(self, account_number: str, pin: str) -> Verdict:
        """The PIN check with lockout (``crm.lockout``): its counter is committed whatever the verdict."""
        with self._session() as session, session.begin():
            return repository.check_account_pin(session, account_number, pin)

    def balance(self, account_number: str) -> IvrBalance | None:
        """Balance of an account and the customer's last bill."""

        def work(session: Session) -> IvrBalance | None:
            account = session.scalar(select(Account).where(Account.account_number == account_number.strip()))
            if account is None:
                return None
            bill = session.scalar(
                select(Communication)
                .where(Communication.customer_id == account.customer_id, Communication.kind == "bill")
                .order_by(Communication.sent_at.desc())
                .limit(1)
            )
            return IvrBalance(
                account_number=account.account_number,
                balance=account.balance,
                currency=account.currency,
                last_bill_amount=bill.amount if bill is not None else None,
                last_bill_date=bill.sent_at.date() if bill is not None else None,
            )

        return self._read(work)

    def latest_order(self, customer_id: int) -> IvrOrder | None:
        def work(session: Session) -> IvrOrder | None:
            order = session.scalar(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(1)
            )
            return None if order is None else IvrOrder(order.id, order.status, order.product)

        return self._read(work)

    def open_service_request(self, customer_id: int) -> IvrServiceRequest | None:
        def work(session: Session) -> IvrServiceRequest | None:
            request = session.scalar(
                select(ServiceRequest)
                .where(
                    ServiceRequest.customer_id == customer_id,
                    ServiceRequest.status.in_(repository.OPEN_REQUEST_STATES),
                )
                .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                .limit(1)
            )
            return None if request is None else IvrServiceRequest(request.id, request.status, request.summary)

        return self._read(work)


def record_session(factory: SessionFactory, record: IvrSessionRecord) -> int:
    """Write one IVR session record in its own transaction; raises the data layer's errors."""
    try:
        with db.transaction(factory) as session:
            return repository.record_ivr_session(session, record)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"the IVR session could not be written: {type(exc).__name__}") from None
