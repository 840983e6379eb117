"""Customer look-ups the IVR needs, behind a small protocol.

:class:`CustomerLookup` is what drivers call to answer the engine's look-up requests (see
:mod:`ivr.ports`): by caller number, by account number, PIN check, balance and last bill, latest
order, open service request. :class:`InMemoryLookup` serves tests and ``ccenter ivr try --data
demo``; :mod:`ivr.crm_lookup` adapts the customer data layer (``crm``). Implementations raise
:class:`~ivr.errors.LookupUnavailable` when the data cannot be reached; the engine then follows the
node's ``error`` exit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

import phonenumbers

from crm.lockout import Counter

logger = logging.getLogger(__name__)


class PinCheck(StrEnum):
    """The answer to a PIN check (the values of ``crm.lockout.Verdict``)."""

    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    customer_id: str
    name: str
    tier: str | None = None
    segment: str | None = None
    language: str | None = None
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BalanceInfo:
    account: str
    balance: Decimal
    currency: str = "USD"
    due_date: date | None = None
    last_bill_amount: Decimal | None = None
    last_bill_date: date | None = None


@dataclass(frozen=True, slots=True)
class OrderInfo:
    order_id: str
    status: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServiceRequestInfo:
    sr_id: str
    status: str
    summary: str = ""


class CustomerLookup(Protocol):
    """The customer data the IVR reads. Every method may raise LookupUnavailable."""

    def by_phone(self, number: str) -> list[CustomerInfo]:
        """Customers reachable at ``number`` (E.164 or national); several when a line is shared."""
        ...

    def by_account(self, account_number: str) -> CustomerInfo | None: ...

    def verify_pin(self, account_number: str, pin: str) -> PinCheck:
        """The PIN check, with lockout across calls: after a few wrong PINs in a row the account's
        PIN is LOCKED for a while (``crm.lockout``), whatever PIN is given."""
        ...

    def balance(self, account_number: str) -> BalanceInfo | None:
        """Balance, due date and the last bill of an account."""
        ...

    def order_status(self, customer_id: str) -> OrderInfo | None:
        """The customer's most recent order."""
        ...

    def service_request_status(self, customer_id: str) -> ServiceRequestInfo | None:
        """The customer's most recent open service request."""
        ...


def normalize_number(number: str, region: str = "US") -> str | None:
    """``number`` in E.164, or None when it is not a possible phone number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = 20_000) -> str:
    """A salted PBKDF2 hash of ``pin``, as ``iterations$salt$digest`` (for the in-memory data)."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"{iterations}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        iterations_text, salt_hex, digest_hex = stored.split("$")
        iterations, salt = int(iterations_text), bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(hash_pin(pin, salt, iterations).rsplit("$", 1)[1], digest_hex)


@dataclass(slots=True)
class _Account:
    number: str
    customer_id: str
    pin_hash: str
    balance: BalanceInfo
    pins: Counter = field(default_factory=Counter)


@dataclass(slots=True)
class InMemoryLookup:
    """A :class:`CustomerLookup` over Python objects (tests, ``ivr try``, the simulator)."""

    region: str = "US"
    customers: dict[str, CustomerInfo] = field(default_factory=dict)
    phones: dict[str, list[str]] = field(default_factory=dict)
    accounts: dict[str, _Account] = field(default_factory=dict)
    orders: dict[str, OrderInfo] = field(default_factory=dict)
    service_requests: dict[str, ServiceRequestInfo] = field(default_factory=dict)
    unavailable: bool = False

    def add_customer(
        self,
        customer: CustomerInfo,
        *,
        phones: tuple[str, ...] = (),
        pins: dict[str, str] | None = None,
        balances: dict[str, BalanceInfo] | None = None,
        order: OrderInfo | None = None,
        service_request: ServiceRequestInfo | None = None,
    ) -> None:
        self.customers[customer.customer_id] = customer
        for phone in phones:
            e164 = normalize_number(phone, self.region) or phone
            self.phones.setdefault(e164, []).append(customer.customer_id)
        for account in customer.accounts:
            pin = (pins or {}).get(account, "")
            balance = (balances or {}).get(account) or BalanceInfo(account, Decimal("0.00"))
            self.accounts[account] = _Account(account, customer.customer_id, hash_pin(pin) if pin else "", balance)
        if order:
            self.orders[customer.customer_id] = order
        if service_request:
            self.service_requests[customer.customer_id] = service_request

    def _check(self) -> None:
        if self.unavailable:
            from .errors import LookupUnavailable

            raise LookupUnavailable("customer data is unavailable")

    def by_phone(self, number: str) -> list[CustomerInfo]:
        self._check()
        e164 = normalize_number(number, self.region)
        if e164 is None:
            return []
        return [self.customers[cid] for cid in self.phones.get(e164, [])]

    def by_account(self, account_number: str) -> CustomerInfo | None:
        self._check()
        account = self.accounts.get(account_number)
        return None if account is None else self.customers[account.customer_id]

    def verify_pin(self, account_number: str, pin: str) -> PinCheck:
        self._check()
        account = self.accounts.get(account_number)
        if account is None:
            return PinCheck.WRONG
        now = datetime.now(UTC)
        correct = not account.pins.locked(now) and bool(account.pin_hash and check_pin(pin, account.pin_hash))
        verdict, account.pins = account.pins.after(correct, now)
        return PinCheck(verdict.value)

    def balance(self, account_number: str) -> BalanceInfo | None:
        self._check()
        account = self.accounts.get(account_number)
        return None if account is None else account.balance

    def order_status(self, customer_id: str) -> OrderInfo | None:
        self._check()
        return self.orders.get(customer_id)

    def service_request_status(self, customer_id: str) -> ServiceRequestInfo | None:
        self._check()
        return self.service_requests.get(customer_id)


def demo_lookup() -> InMemoryLookup:
    """Demo customers of a telecom operator (used by ``ccenter ivr try`` and the tests).

    - +14155550100: Alice Chen, standard, account 12345678, PIN 7391, balance 42.50 USD,
      an order being shipped and an open fault ticket.
    - +8613800138000: 王伟 (Wang Wei), VIP, Chinese, account 87654321, PIN 5080.
    - +14155550111: a line shared by two customers (identify by account number).
    """
    lookup = InMemoryLookup()
    lookup.add_customer(
        CustomerInfo("C1001", "Alice Chen", tier="standard", segment="consumer", language="en", accounts=("12345678",)),
        phones=("+14155550100",),
        pins={"12345678": "7391"},
        balances={
            "12345678": BalanceInfo(
                "12345678",
                Decimal("42.50"),
                "USD",
                date(2026, 12, 15),
                Decimal("39.99"),
                date(2026, 11, 1),
            )
        },
        order=OrderInfo("O-5001", "shipped", "fiber router"),
        service_request=ServiceRequestInfo("SR-9001", "in_progress", "no internet since Monday"),
    )
    lookup.add_customer(
        CustomerInfo("C1002", "王伟", tier="vip", segment="business", language="zh", accounts=("87654321",)),
        phones=("+8613800138000",),
        pins={"87654321": "5080"},
        balances={
            "87654321": BalanceInfo("87654321", Decimal("0.00"), "CNY", None, Decimal("388.00"), date(2026, 11, 1))
        },
    )
    lookup.add_customer(
        CustomerInfo("C1003", "Bob Smith", tier="standard", accounts=("11112222",)),
        phones=("+14155550111",),
        pins={"11112222": "9999"},
    )
    lookup.add_customer(
        CustomerInfo("C1004", "Carol Smith", tier="standard", accounts=("33334444",)),
        phones=("+14155550111",),
        pins={"33334444": "8888"},
    )
    return lookup
