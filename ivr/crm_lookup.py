""":class:`~ivr.lookup.CustomerLookup` over the customer data layer (``crm``).

Each call opens a short session from the factory and returns plain values; database failures
become :class:`~ivr.errors.LookupUnavailable`, so the flow follows its ``error`` exit. Tiers are
the data model's values (``vip``, ``gold``, ``standard``, ``prospect``); customer ids are the
database ids as text. The last bill is the newest ``bill`` communication sent to the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crm import db, repository
from crm.errors import CrmError, InvalidPhoneNumber, NotFound
from crm.models import Account, Communication, Customer, Order, ServiceRequest

from .errors import LookupUnavailable
from .lookup import BalanceInfo, CustomerInfo, OrderInfo, ServiceRequestInfo

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CrmLookup:
    """Customer look-ups for the IVR, read from the ``crm`` database."""

    def __init__(self, factory: sessionmaker[Session], *, region: str = "US", engine: Engine | None = None) -> None:
        self._factory = factory
        self._engine = engine
        self.region = region

    @classmethod
    def from_url(cls, url: str, *, region: str = "US") -> CrmLookup:
        """Connect to the database at ``url`` (raises the data layer's DatabaseUnavailable)."""
        engine = db.connect(url)
        return cls(db.session_factory(engine), region=region, engine=engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._factory() as session:
                yield session
        except (SQLAlchemyError, CrmError) as exc:
            if isinstance(exc, NotFound | InvalidPhoneNumber):
                raise
            logger.debug("customer data look-up failed: %s", exc)
            raise LookupUnavailable(f"customer data is unavailable: {type(exc).__name__}") from None

    def _read(self, work: Callable[[Session], T]) -> T:
        with self._session() as session:
            return work(session)

    @staticmethod
    def _info(session: Session, customer_id: int) -> CustomerInfo | None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return None
        accounts = session.scalars(
            select(Account.account_number).where(Account.customer_id == customer_id).order_by(Account.account_number)
        ).all()
        return CustomerInfo(
            customer_id=str(customer.id),
            name=customer.name,
            tier=customer.tier.value if customer.tier is not None else None,
            segment=customer.segment,
            language=customer.language,
            accounts=tuple(accounts),
        )

    def by_phone(self, number: str) -> list[CustomerInfo]:
        def work(session: Session) -> list[CustomerInfo]:
            try:
                found = repository.find_customers_by_phone(session, number, self.region)
            except InvalidPhoneNumber:
                return []
            infos = (self._info(session, summary.id) for summary in found)
            return [info for info in infos if info is not None]

        return self._read(work)

    def by_account(self, account_number: str) -> CustomerInfo | None:
        def work(session: Session) -> CustomerInfo | None:
            try:
                summary = repository.find_customer_by_account(session, account_number)
            except NotFound:
                return None
            return self._info(session, summary.id)

        return self._read(work)

    def verify_pin(self, account_number: str, pin: str) -> bool:
        return self._read(lambda session: repository.verify_account_pin(session, account_number, pin))

    def balance(self, account_number: str) -> BalanceInfo | None:
        def work(session: Session) -> BalanceInfo | None:
            account = session.scalar(select(Account).where(Account.account_number == account_number.strip()))
            if account is None:
                return None
            bill = session.scalar(
                select(Communication)
                .where(Communication.customer_id == account.customer_id, Communication.kind == "bill")
                .order_by(Communication.sent_at.desc())
                .limit(1)
            )
            return BalanceInfo(
                account=account.account_number,
                balance=account.balance,
                currency=account.currency,
                due_date=None,
                last_bill_amount=bill.amount if bill is not None else None,
                last_bill_date=bill.sent_at.date() if bill is not None else None,
            )

        return self._read(work)

    def order_status(self, customer_id: str) -> OrderInfo | None:
        if not customer_id.isdigit():
            return None

        def work(session: Session) -> OrderInfo | None:
            order = session.scalar(
                select(Order)
                .where(Order.customer_id == int(customer_id))
                .order_by(Order.created_at.desc(), Order.id.desc())
                .limit(1)
            )
            return None if order is None else OrderInfo(str(order.id), order.status, order.product)

        return self._read(work)

    def service_request_status(self, customer_id: str) -> ServiceRequestInfo | None:
        if not customer_id.isdigit():
            return None

        def work(session: Session) -> ServiceRequestInfo | None:
            request = session.scalar(
                select(ServiceRequest)
                .where(
                    ServiceRequest.customer_id == int(customer_id),
                    ServiceRequest.status.in_(repository.OPEN_REQUEST_STATES),
                )
                .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                .limit(1)
            )
            return None if request is None else ServiceRequestInfo(str(request.id), request.status, request.summary)

        return self._read(work)
