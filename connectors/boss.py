"""The order and billing system of record (BOSS/BSS) through its REST interface.

:class:`OrderSystem` pushes an order or a service request (with the outbox message's idempotency
key), asks where one is now, and looks up a customer's live bill and balance. Field names, paths
and state names are the configuration's (:mod:`.config`); the HTTP behaviour is :mod:`.http`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from crm.repository import OutboxEntry
from crm.workflows import Subject

from .breaker import CircuitBreaker
from .config import ConnectorConfig, map_in, map_out
from .errors import BackendRefused
from .http import HttpClient


@dataclass(frozen=True, slots=True)
class Pushed:
    reference: str
    state: str | None


@dataclass(frozen=True, slots=True)
class Reported:
    state: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BillLine:
    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LiveBill:
    account_number: str
    balance: Decimal
    amount_due: Decimal
    currency: str
    due_date: str | None
    lines: tuple[BillLine, ...]


@dataclass(frozen=True, slots=True)
class Product:
    """Something the customer holds: a line, a plan, a device, a service, with its contract end."""

    kind: str
    name: str
    identifier: str | None
    status: str | None
    contract_end: str | None


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BackendRefused(200, f"{what} is not a number: {value!r}") from None


class OrderSystem:
    def __init__(self, config: ConnectorConfig, client: HttpClient | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self.client = client or HttpClient(
            config.url, name=config.name, timeout_s=config.timeout_s, retries=config.retries,
            backoff_s=config.backoff_s, headers=headers,
            breaker=CircuitBreaker(config.breaker_threshold, config.breaker_cool_down_s),
        )

    def close(self) -> None:
        self.client.close()

    def _fields(self, kind: str) -> Mapping[str, str] | None:
        return self.config.fields.get(kind)

    def _state(self, theirs: Any) -> str | None:
        if theirs is None:
            return None
        return self.config.states.get(str(theirs), str(theirs))

    def push(self, entry: OutboxEntry) -> Pushed:
        """Create the order or service request in the back end; a retry of the same entry creates nothing new."""
        kind = entry.subject.value
        body = map_out(entry.payload, self._fields(kind))
        answer = self.client.request("POST", self.config.paths[f"create_{kind}"], json=body,
                                     idempotency_key=entry.idempotency_key)
        mapped = map_in(answer, self._fields(f"{kind}_status") or {"reference": "reference", "state": "state"})
        reference = mapped.get("reference")
        if not isinstance(reference, str | int) or str(reference) == "":
            raise BackendRefused(200, f"the answer to creating {kind} {entry.subject_id} has no reference")
        return Pushed(str(reference), self._state(mapped.get("state")))

    def status(self, subject: Subject, reference: str) -> Reported:
        kind = subject.value
        path = self.config.paths[f"{kind}_status"].format(ref=quote(reference, safe=""))
        answer = self.client.request("GET", path)
        mapped = map_in(answer, self._fields(f"{kind}_status") or {"reference": "reference", "state": "state"})
        state = self._state(mapped.pop("state", None))
        if state is None:
            raise BackendRefused(200, f"the status of {kind} {reference} has no state")
        fields = {k: v for k, v in (answer.get("fields") or {}).items()} if isinstance(answer, Mapping) and \
            isinstance(answer.get("fields"), Mapping) else {}
        return Reported(state, fields)

    def bill(self, account_number: str) -> LiveBill:
        """The account's live balance and current bill."""
        path = self.config.paths["bill"].format(account_number=quote(account_number, safe=""))
        answer = self.client.request("GET", path)
        mapped = map_in(answer, self._fields("bill"))
        lines = []
        for line in mapped.get("lines") or ():
            if isinstance(line, Mapping):
                lines.append(BillLine(str(line.get("label", "")), _decimal(line.get("amount", 0), "a line's amount")))
        return LiveBill(
            account_number=account_number,
            balance=_decimal(mapped.get("balance", 0), "the balance"),
            amount_due=_decimal(mapped.get("amount_due", 0), "the amount due"),
            currency=str(mapped.get("currency", "USD"))[:3],
            due_date=str(mapped["due_date"]) if mapped.get("due_date") else None,
            lines=tuple(lines),
        )

    def products(self, account_number: str) -> tuple[Product, ...]:
        """Every line, plan, device and service the account holds, from the order system."""
        path = self.config.paths["products"].format(account_number=quote(account_number, safe=""))
        answer = self.client.request("GET", path)
        items = answer.get("items", answer.get("products")) if isinstance(answer, Mapping) else answer
        if not isinstance(items, list):
            raise BackendRefused(200, "the products answer is not a list")
        out = []
        for item in items:
            mapped = map_in(item, self._fields("product"))
            if not mapped.get("name"):
                continue

            def text(key: str, mapped: dict[str, Any] = mapped) -> str | None:
                value = mapped.get(key)
                return str(value)[:200] if value not in (None, "") else None

            out.append(Product(kind=text("kind") or "service", name=str(mapped["name"])[:200],
                               identifier=text("identifier"), status=text("status"),
                               contract_end=text("contract_end")))
        return tuple(out)
