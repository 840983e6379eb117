"""Communications posted by billing and messaging systems, and the contacts that were about them.

A bill, statement, SMS, e-mail or letter posted through ``ccenter api`` becomes a
:class:`~crm.models.Communication` of its customer, with its content (plain text) and, for a bill,
its lines; the agent sees it in the customer's Communications tab. A post carries the system's own
key (``external_ref``): posting the same one again returns the first row, so a retry never shows a
bill twice. :func:`link_feedback` ties a contact to the communication the customer called about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import phones
from ..errors import InvalidData, NotFound
from ..masking import mask
from ..models import Account, Communication, Contact, Customer, PhoneNumber

KINDS = frozenset({"bill", "statement", "sms", "email", "letter", "notice"})


@dataclass(frozen=True, slots=True)
class PostedCommunication:
    id: int
    customer_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class CommunicationRecord:
    id: int
    customer_id: int
    kind: str
    channel: str
    subject: str
    body: str | None
    amount: Decimal | None
    currency: str | None
    lines: tuple[tuple[str, Decimal], ...]
    sent_at: datetime
    source: str | None
    external_ref: str | None


def find_customer(session: Session, *, customer_id: int | None = None, account_number: str | None = None,
                  phone: str | None = None, region: str = "US") -> int:
    """The customer a system names by our id, an account number or a phone number."""
    if customer_id is not None:
        if session.get(Customer, customer_id) is None:
            raise NotFound(f"no customer {customer_id}")
        return customer_id
    if account_number:
        found = session.scalar(select(Account.customer_id).where(Account.account_number == account_number.strip()))
        if found is None:
            raise NotFound(f"no account {account_number!r}")
        return found
    if phone:
        e164 = phones.to_e164(phone, region)
        found = session.scalar(select(PhoneNumber.customer_id).where(PhoneNumber.e164 == e164).limit(1))
        if found is None:
            raise NotFound(f"no customer with phone {e164}")
        return found
    raise InvalidData("name the customer by customer_id, account_number or phone")


def post_communication(
    session: Session,
    *,
    source: str,
    customer_id: int,
    kind: str,
    channel: str,
    subject: str,
    body: str | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    lines: Sequence[tuple[str, Decimal]] = (),
    sent_at: datetime | None = None,
    external_ref: str | None = None,
) -> PostedCommunication:
    if kind not in KINDS:
        raise InvalidData(f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    if not subject.strip():
        raise InvalidData("a communication needs a subject")
    if external_ref:
        existing = session.scalar(select(Communication).where(Communication.source == source,
                                                              Communication.external_ref == external_ref))
        if existing is not None:
            return PostedCommunication(existing.id, existing.customer_id, False)
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    row = Communication(
        customer_id=customer_id, kind=kind, channel=channel[:32], subject=mask(subject.strip())[:200],
        body=mask(body) if body else None, amount=amount, currency=currency.upper()[:3] if currency else None,
        lines=[{"label": mask(label)[:200], "amount": str(value)} for label, value in lines],
        sent_at=sent_at or datetime.now(UTC), source=source, external_ref=external_ref,
    )
    session.add(row)
    session.flush()
    return PostedCommunication(row.id, customer_id, True)


def get_communication(session: Session, communication_id: int, *, source: str | None = None) -> CommunicationRecord:
    """One communication; with ``source``, only one that system posted (another's is not found)."""
    row = session.get(Communication, communication_id)
    if row is None or (source is not None and row.source != source):
        raise NotFound(f"no communication {communication_id}")
    lines = tuple((str(x.get("label", "")), Decimal(str(x.get("amount", "0")))) for x in (row.lines or ())
                  if isinstance(x, dict))
    return CommunicationRecord(row.id, row.customer_id, row.kind, row.channel, row.subject, row.body, row.amount,
                               row.currency, lines, row.sent_at, row.source, row.external_ref)


def link_feedback(session: Session, contact_id: int, communication_id: int) -> None:
    """The customer's contact was about this communication ("this bill is wrong")."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    communication = session.get(Communication, communication_id)
    if communication is None:
        raise NotFound(f"no communication {communication_id}")
    if contact.customer_id != communication.customer_id:
        raise InvalidData(f"contact {contact_id} and communication {communication_id} are of different customers")
    contact.communication_id = communication_id
    session.flush()
