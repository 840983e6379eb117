"""Contacts (interactions): opening, closing, and a whole finished contact written at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import dnc
from ..errors import InvalidData, NotFound
from ..models import (
    Attempt,
    Channel,
    Contact,
    Order,
    ServiceRequest,
    WorkItem,
    utcnow,
)
from ._common import _attempt, _check_links, _require_customer
from .campaigns import OFFER_MADE
from .offers import OfferResult, record_offer_result
from .orders import create_order, create_service_request
from .preview import close_requested_callbacks, schedule_callback


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
    #: The work item being worked: the call's own (dialer, preview), else the offer the agent picked.
    work_item_id: int | None = None
    orders: tuple[OrderLine, ...] = ()
    requests: tuple[RequestLine, ...] = ()
    #: What became of each campaign offer made on the contact (one result per work item).
    offer_results: tuple[OfferResult, ...] = ()
    #: For an outbound call of a campaign (``work_item_id``): how the dial went (``answered``...).
    dial_result: str | None = None
    #: The agent promised to call back then: a personal callback for ``agent_id``.
    callback_at: datetime | None = None
    callback_phone: str | None = None
    #: "Do not call me": the customer's numbers (and ``callback_phone``, the call's) go on the
    #: do-not-call list and the customer refuses marketing calls (``crm.dnc.customer_asked``).
    do_not_call: bool = False
    #: Seconds the agent spent in wrap-up after the call (the rest of the contact is talk).
    wrap_up_s: float | None = None


@dataclass(frozen=True, slots=True)
class SavedContact:
    contact_id: int
    order_ids: tuple[int, ...]
    request_ids: tuple[int, ...]
    already_saved: bool = False


def save_contact(session: Session, record: ContactRecord) -> SavedContact:
    """Write a finished contact with its orders, service requests and offer results.

    Attribution: ``work_item_id`` is the work item being worked on the contact (the call's own on a
    dialer or preview call, else the offer the agent picked); an order or request that names no work
    item of its own belongs to it. Every order and request made for a work item is tied to that item's
    attempt on this contact too: the dial of this call (the dialer's dial is tied to the contact here),
    else the offer result written here, else a new ``offer_made`` attempt.

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
    if record.work_item_id is not None:
        # The dialer writes this call's dial at the same moment (both follow the call's end) and locks the
        # work item to do it: taking the lock first orders the two, so the dial is tied to this contact
        # below or, written after, ties itself (before, both could miss the other's uncommitted row).
        session.execute(select(WorkItem.id).where(WorkItem.id == record.work_item_id).with_for_update())
    contact_id = record_contact(
        session, channel=record.channel, customer_id=record.customer_id, agent_id=record.agent_id,
        queue=record.queue, cti_call_id=record.cti_call_id, ivr_data=record.ivr_data,
        work_item_id=record.work_item_id, started_at=record.started_at,
    )
    contact = session.get_one(Contact, contact_id)
    contact.client_ref = record.client_ref
    if record.wrap_up_s is not None and record.wrap_up_s >= 0:
        contact.wrap_up_s = float(record.wrap_up_s)
    if record.work_item_id is not None and record.dial_result:
        _attempt(session, record.work_item_id, f"dial_{record.dial_result}", agent_id=record.agent_id,
                 at=record.started_at, cti_call_id=record.cti_call_id, contact_id=contact_id)
    if record.work_item_id is not None and record.cti_call_id is not None:
        for dialled in session.scalars(select(Attempt).where(  # the dialer's dial of this call
                Attempt.work_item_id == record.work_item_id, Attempt.cti_call_id == record.cti_call_id,
                Attempt.contact_id.is_(None))):
            dialled.contact_id = contact_id
    for offer in record.offer_results:
        record_offer_result(session, offer, contact_id=contact_id, agent_id=record.agent_id,
                            cti_call_id=record.cti_call_id, at=record.ended_at)
    attempts: dict[int, int] = {}

    def attempt_of(work_item_id: int | None) -> int | None:
        if work_item_id is None:
            return None
        if work_item_id not in attempts:
            attempts[work_item_id] = _contact_attempt(session, record, work_item_id, contact_id)
        return attempts[work_item_id]

    order_ids = []
    for o in record.orders:
        item_id = o.work_item_id if o.work_item_id is not None else record.work_item_id
        order_ids.append(create_order(
            session, customer_id=record.customer_id or 0, product=o.product, amount=o.amount, quantity=o.quantity,
            currency=o.currency, contact_id=contact_id, work_item_id=item_id, attempt_id=attempt_of(item_id)).id)
    request_ids = []
    for r in record.requests:
        item_id = r.work_item_id if r.work_item_id is not None else record.work_item_id
        request_ids.append(create_service_request(
            session, customer_id=record.customer_id or 0, category=r.category, summary=r.summary,
            details=r.details, priority=r.priority, contact_id=contact_id, work_item_id=item_id,
            attempt_id=attempt_of(item_id)).id)
    close_contact(session, contact_id, disposition=record.disposition, notes=record.notes, ended_at=record.ended_at)
    if record.channel is Channel.VOICE_IN and record.customer_id is not None:  # they got through: no call back
        close_requested_callbacks(session, customer_id=record.customer_id, reached_at=record.started_at,
                                  contact_id=contact_id, cti_call_id=record.cti_call_id, agent_id=record.agent_id)
    if record.callback_at is not None:
        if record.customer_id is None:
            raise InvalidData("a callback needs an identified customer")
        # An outbound call's own work item is called back; otherwise a callback of the callbacks campaign.
        callback_item = record.work_item_id if record.channel is Channel.VOICE_OUT else None
        schedule_callback(session, customer_id=record.customer_id, at=record.callback_at, agent_id=record.agent_id,
                          phone=record.callback_phone, work_item_id=callback_item, note=record.notes)
    if record.do_not_call:
        dnc.customer_asked(session, customer_id=record.customer_id, number=record.callback_phone,
                           agent_id=record.agent_id, at=record.ended_at)
    return SavedContact(contact_id, tuple(order_ids), tuple(request_ids))


def _contact_attempt(session: Session, record: ContactRecord, work_item_id: int, contact_id: int) -> int:
    """The work item's attempt on this contact: the first one tied to it (the dial of this call, an offer
    result), else a new ``offer_made`` attempt (an order or request for an offer that got no result)."""

    def first() -> int | None:
        return session.scalar(select(Attempt.id).where(Attempt.work_item_id == work_item_id,
                                                       Attempt.contact_id == contact_id).order_by(Attempt.id))

    found = first()
    if found is None:
        _attempt(session, work_item_id, OFFER_MADE, agent_id=record.agent_id, at=record.started_at,
                 cti_call_id=record.cti_call_id, contact_id=contact_id)
        found = first()
    assert found is not None
    return found


@dataclass(frozen=True, slots=True)
class IvrCorrection:
    """An agent's correction of a value the IVR (or the system) attached to a call, as the contact keeps it."""

    field: str
    value: Any
    corrected_by: str  # the agent's login
    corrected_at: float | None  # Unix time
    original: Any
    original_by: str  # "ivr:main_menu", "system:agent_vip"
    original_at: float | None


def _when(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _who(by: Any) -> str:
    if not isinstance(by, dict):
        return ""
    kind, name = str(by.get("kind") or ""), str(by.get("name") or "")
    return f"{kind}:{name}" if name else kind


def ivr_corrections(ivr_data: dict[str, Any] | None) -> tuple[IvrCorrection, ...]:
    """The corrections agents made to a contact's attached data (``ccenter.attached/1``), in field order.

    A corrected field says ``set_by`` the agent and keeps its first value, and who set it, under
    ``original``; flat data and uncorrected fields have none. Entries that do not have that shape are skipped.
    """
    fields = (ivr_data or {}).get("fields") if (ivr_data or {}).get("schema") == "ccenter.attached/1" else None
    if not isinstance(fields, dict):
        return ()
    found = []
    for name, entry in fields.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("original"), dict):
            continue
        by = entry.get("set_by")
        if not isinstance(by, dict) or by.get("kind") != "agent":
            continue
        first = entry["original"]
        found.append(IvrCorrection(str(name), entry.get("value"), str(by.get("name") or ""), _when(entry.get("at")),
                                   first.get("value"), _who(first.get("set_by")), _when(first.get("at"))))
    return tuple(found)


def contact_ivr_corrections(session: Session, contact_id: int) -> tuple[IvrCorrection, ...]:
    """What agents corrected in the attached data of contact ``contact_id`` (NotFound if there is none)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return ivr_corrections(contact.ivr_data)
