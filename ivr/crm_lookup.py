""":class:`~ivr.lookup.CustomerLookup` over the customer data layer (``crm``).

The queries are the data layer's (:mod:`crm.ivr_data`); this adapter turns their values into the
IVR's and the data layer's errors into :class:`~ivr.errors.LookupUnavailable`, so the flow follows
its ``error`` exit. Customer ids are the database ids as text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from crm.errors import CrmError
from crm.ivr_data import IvrCustomer, IvrData, SessionFactory

from .errors import LookupUnavailable
from .lookup import BalanceInfo, CustomerInfo, OrderInfo, PinCheck, ServiceRequestInfo

T = TypeVar("T")


def _info(customer: IvrCustomer | None) -> CustomerInfo | None:
    if customer is None:
        return None
    return CustomerInfo(
        customer_id=str(customer.id),
        name=customer.name,
        tier=customer.tier,
        segment=customer.segment,
        language=customer.language,
        accounts=customer.accounts,
    )


class CrmLookup:
    """Customer look-ups for the IVR, read from the ``crm`` database."""

    def __init__(self, factory: SessionFactory, *, region: str = "US") -> None:
        self.data = IvrData(factory, region=region)
        self.region = region

    @classmethod
    def from_url(cls, url: str, *, region: str = "US", check: bool = True) -> CrmLookup:
        """Connect to the database at ``url`` (raises the data layer's DatabaseUnavailable); ``check=False``
        does not wait for it to answer: a look-up while it is away fails as the flow says."""
        data = IvrData.from_url(url, region=region, check=check)
        lookup = cls(data.factory, region=region)
        lookup.data = data
        return lookup

    def close(self) -> None:
        self.data.close()

    @staticmethod
    def _ask(query: Callable[[], T]) -> T:
        try:
            return query()
        except CrmError as exc:
            raise LookupUnavailable(str(exc)) from None

    def by_phone(self, number: str) -> list[CustomerInfo]:
        customers = self._ask(lambda: self.data.customers_by_phone(number))
        return [info for info in map(_info, customers) if info is not None]

    def by_account(self, account_number: str) -> CustomerInfo | None:
        return _info(self._ask(lambda: self.data.customer_by_account(account_number)))

    def verify_pin(self, account_number: str, pin: str) -> PinCheck:
        return PinCheck(self._ask(lambda: self.data.verify_pin(account_number, pin)).value)

    def balance(self, account_number: str) -> BalanceInfo | None:
        found = self._ask(lambda: self.data.balance(account_number))
        if found is None:
            return None
        return BalanceInfo(
            account=found.account_number,
            balance=found.balance,
            currency=found.currency,
            due_date=None,
            last_bill_amount=found.last_bill_amount,
            last_bill_date=found.last_bill_date,
        )

    def order_status(self, customer_id: str) -> OrderInfo | None:
        if not customer_id.isdigit():
            return None
        order = self._ask(lambda: self.data.latest_order(int(customer_id)))
        return None if order is None else OrderInfo(str(order.id), order.status, order.product)

    def service_request_status(self, customer_id: str) -> ServiceRequestInfo | None:
        if not customer_id.isdigit():
            return None
        request = self._ask(lambda: self.data.open_service_request(int(customer_id)))
        return None if request is None else ServiceRequestInfo(str(request.id), request.status, request.summary)
