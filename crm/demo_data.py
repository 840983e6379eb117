"""The look-ups and set-up of ``ccenter demo``: numbers its simulated customers call from, its queues."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Customer, PhoneNumber, Queue, Skill, Tier, WorkItem, WorkItemStatus


def caller_numbers(session: Session, *, vip_with_offer: bool = False, limit: int = 500) -> list[str]:
    """Customers' primary numbers, by customer; with ``vip_with_offer`` only VIPs with a pending work item."""
    query = (
        select(PhoneNumber.e164)
        .join(Customer, Customer.id == PhoneNumber.customer_id)
        .where(PhoneNumber.is_primary.is_(True))
        .order_by(Customer.id)
    )
    if vip_with_offer:
        query = query.join(WorkItem, WorkItem.customer_id == Customer.id).where(
            Customer.tier == Tier.VIP, WorkItem.status == WorkItemStatus.PENDING
        )
    return list(session.scalars(query.limit(limit)))


def ensure_queues(session: Session, skills: Mapping[str, str]) -> list[str]:
    """Create the queues of ``skills`` (queue -> the skill it needs) that do not exist yet; their names.

    Existing queues are left as they are; a missing skill is created too. Commits nothing: the
    caller's transaction does.
    """
    existing = set(session.scalars(select(Queue.name).where(Queue.name.in_(list(skills)))))
    created = []
    for name, skill_name in skills.items():
        if name in existing:
            continue
        skill = session.scalars(select(Skill).where(Skill.name == skill_name)).one_or_none()
        if skill is None:
            skill = Skill(name=skill_name)
            session.add(skill)
            session.flush()
        session.add(Queue(name=name, skill_id=skill.id))
        created.append(name)
    session.flush()
    return created
