"""Orders and service requests, linked to the contact and the work item that made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ..errors import InvalidData, NotFound
from ..models import (
    Attempt,
    Order,
    ServiceRequest,
)
from ._common import _check_links
from .workflows import start_order_workflow, start_request_workflow


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
    attempt_id: int | None = None
    workflow: str = "broadband_order"
    state: str = "submitted"
    external_ref: str | None = None


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
    attempt_id: int | None = None
    workflow: str = "fault_report"
    state: str = "opened"
    external_ref: str | None = None


def _order_view(o: Order) -> OrderView:
    return OrderView(o.id, o.product, o.quantity, o.amount, o.currency, o.status, o.created_at, o.contact_id,
                     o.work_item_id, o.attempt_id, o.workflow, o.state, o.external_ref)


def _request_view(r: ServiceRequest) -> ServiceRequestView:
    return ServiceRequestView(r.id, r.category, r.summary, r.priority, r.status, r.created_at, r.contact_id,
                              r.work_item_id, r.attempt_id, r.workflow, r.state, r.external_ref)


def _check_attempt(session: Session, attempt_id: int | None, work_item_id: int | None) -> None:
    if attempt_id is None:
        return
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"no attempt {attempt_id}")
    if attempt.work_item_id != work_item_id:
        raise InvalidData(f"attempt {attempt_id} is not an attempt of work item {work_item_id}")


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
    attempt_id: int | None = None,
    actor_name: str = "desktop",
) -> OrderView:
    """Create an order linked to the contact and, for a campaign sale, to its work item and that item's
    attempt on the contact. It starts in its workflow's initial state, and a message for the order
    system of record is queued in the same transaction (:mod:`.workflows`)."""
    if not product.strip():
        raise InvalidData("an order needs a product")
    if quantity < 1:
        raise InvalidData("an order's quantity must be at least 1")
    if amount < 0:
        raise InvalidData("an order's amount cannot be negative")
    _check_links(session, customer_id, contact_id, work_item_id)
    _check_attempt(session, attempt_id, work_item_id)
    order = Order(
        customer_id=customer_id, product=product.strip(), amount=amount, quantity=quantity,
        currency=currency, contact_id=contact_id, work_item_id=work_item_id, attempt_id=attempt_id,
    )
    session.add(order)
    session.flush()
    start_order_workflow(session, order, actor_name)
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
    attempt_id: int | None = None,
    actor_name: str = "desktop",
) -> ServiceRequestView:
    """Create a service request linked to the contact and, when it came from a campaign, its work item and
    that item's attempt on the contact. It starts in the initial state of the workflow of its category,
    and a message for the system of record is queued in the same transaction (:mod:`.workflows`)."""
    if not category.strip() or not summary.strip():
        raise InvalidData("a service request needs a category and a summary")
    if priority not in ("low", "normal", "high", "urgent"):
        raise InvalidData(f"unknown service request priority {priority!r}")
    _check_links(session, customer_id, contact_id, work_item_id)
    _check_attempt(session, attempt_id, work_item_id)
    request = ServiceRequest(
        customer_id=customer_id, category=category.strip(), summary=summary.strip(), details=details,
        priority=priority, contact_id=contact_id, work_item_id=work_item_id, attempt_id=attempt_id,
    )
    session.add(request)
    session.flush()
    start_request_workflow(session, request, actor_name)
    return _request_view(request)
