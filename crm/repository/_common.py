"""Checks and writes shared by the repository modules (links between records, attempts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..errors import InvalidData, NotFound
from ..models import (
    Attempt,
    Contact,
    Customer,
    WorkItem,
)


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
