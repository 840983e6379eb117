"""Workflow states and history of orders and service requests, and the outbox to the system of record.

An order or a service request starts in its workflow's initial state (:func:`start_order_workflow`,
called when it is created) and moves only through :func:`move` (a named transition, by an actor) or
:func:`report_state` (an external system saying where it is now). Every move is a
:class:`~crm.models.WorkflowEvent` row: who, when, from where to where, with the fields it needed.
The rules are the engine's (:mod:`crm.workflows.engine`); this module stores.

Creating one also queues an :class:`~crm.models.OutboxMessage` for the system of record in the
same transaction, so an order is never made without the message that tells the order system about
it, nor the other way round. The connectors (``connectors.outbox``) deliver those messages in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import workflows
from ..errors import CrmError, InvalidData, NotFound
from ..models import (
    Account,
    Agent,
    Contact,
    Customer,
    Order,
    OutboxMessage,
    ServiceRequest,
    WorkflowEscalation,
    WorkflowEvent,
)
from ..workflows import Actor, Subject, Workflow
from ..workflows.definition import PRIORITIES

#: The outbox's destination for new orders and service requests: the operator's system of record.
SYSTEM_OF_RECORD = "system_of_record"

Item = Order | ServiceRequest


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    actor_name: str
    transition: str | None
    from_state: str | None
    to_state: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NextStep:
    transition: str
    target: str
    requires: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WorkflowStatus:
    """Where an order or a service request is, how it got there, and what the asker may do next."""

    subject: Subject
    id: int
    customer_id: int
    workflow: str
    title: str
    state: str
    status: str
    state_since: datetime
    external_ref: str | None
    #: ``pending`` while the system of record has not heard of it yet, ``refused`` when it said no,
    #: ``delivered`` once it has; ``none`` for items made before there was anything to tell.
    delivery: str
    history: tuple[HistoryEntry, ...]
    next_steps: tuple[NextStep, ...]
    escalation: workflows.Escalation | None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    connector: str
    operation: str
    subject: Subject
    subject_id: int
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    last_error: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _actor_name_of(session: Session, contact_id: int | None, default: str) -> str:
    if contact_id is None:
        return default
    login = session.scalar(select(Agent.login).join(Contact, Contact.agent_id == Agent.id)
                           .where(Contact.id == contact_id))
    return login or default


def _start(session: Session, item: Item, subject: Subject, workflow: Workflow, actor_name: str) -> None:
    at = item.created_at or _now()
    item.workflow = workflow.name
    item.state = workflow.initial
    item.status = workflow.state(workflow.initial).status
    item.state_since = at
    name = _actor_name_of(session, item.contact_id, actor_name)
    session.add(WorkflowEvent(subject=subject.value, subject_id=item.id, workflow=workflow.name, transition=None,
                              from_state=None, to_state=workflow.initial, actor=Actor.AGENT.value, actor_name=name,
                              at=at, fields={}))
    session.add(OutboxMessage(connector=SYSTEM_OF_RECORD, operation=f"create_{subject.value}", subject=subject.value,
                              subject_id=item.id, idempotency_key=uuid.uuid4().hex,
                              payload=_payload(session, item, subject), created_at=at))
    session.flush()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _payload(session: Session, item: Item, subject: Subject) -> dict[str, Any]:
    """What the system of record is told: our own names; each connector maps them to the back end's."""
    customer = session.get(Customer, item.customer_id)
    account = session.scalar(select(Account.account_number).where(Account.customer_id == item.customer_id)
                             .order_by(Account.account_number).limit(1))
    body: dict[str, Any] = {
        "id": item.id, "customer_id": item.customer_id, "customer_name": customer.name if customer else None,
        "account_number": account, "contact_id": item.contact_id, "workflow": item.workflow,
        "state": item.state, "created_at": _plain(item.created_at),
    }
    if isinstance(item, Order):
        body.update(product=item.product, quantity=item.quantity, amount=_plain(item.amount), currency=item.currency)
    else:
        body.update(category=item.category, summary=item.summary, details=item.details, priority=item.priority)
    return body


def start_order_workflow(session: Session, order: Order, actor_name: str = "desktop",
                         catalog: workflows.Workflows | None = None) -> None:
    _start(session, order, Subject.ORDER, (catalog or workflows.shipped()).for_order(), actor_name)


def start_request_workflow(session: Session, request: ServiceRequest, actor_name: str = "desktop",
                           catalog: workflows.Workflows | None = None) -> None:
    _start(session, request, Subject.SERVICE_REQUEST, (catalog or workflows.shipped()).for_request(request.category),
           actor_name)


def _item(session: Session, subject: Subject, item_id: int, *, lock: bool = False) -> Item:
    item: Item | None
    if subject is Subject.ORDER:
        query = select(Order).where(Order.id == item_id)
        item = session.scalar(query.with_for_update() if lock else query)
    else:
        sr_query = select(ServiceRequest).where(ServiceRequest.id == item_id)
        item = session.scalar(sr_query.with_for_update() if lock else sr_query)
    if item is None:
        raise NotFound(f"no {subject.value.replace('_', ' ')} {item_id}")
    return item


def find_by_external_ref(session: Session, subject: Subject, external_ref: str) -> int:
    model: type[Order] | type[ServiceRequest] = Order if subject is Subject.ORDER else ServiceRequest
    found = session.scalar(select(model.id).where(model.external_ref == external_ref))
    if found is None:
        raise NotFound(f"no {subject.value.replace('_', ' ')} with reference {external_ref!r}")
    return found


def _apply(session: Session, item: Item, subject: Subject, move: workflows.Move, actor: Actor, actor_name: str,
           at: datetime) -> None:
    item.state = move.target
    item.status = move.status
    item.state_since = at
    if isinstance(item, ServiceRequest):
        item.closed_at = at if move.final else None
    session.add(WorkflowEvent(subject=subject.value, subject_id=item.id, workflow=item.workflow,
                              transition=move.transition, from_state=move.source, to_state=move.target,
                              actor=actor.value, actor_name=actor_name[:64], at=at,
                              fields={k: _plain(v) for k, v in move.fields.items()}))


def move(session: Session, subject: Subject, item_id: int, transition: str, *, actor: Actor, actor_name: str,
         fields: Mapping[str, Any] | None = None, at: datetime | None = None,
         catalog: workflows.Workflows | None = None) -> WorkflowStatus:
    """Take ``transition`` as ``actor``; raises :class:`~crm.workflows.TransitionRefused` when not allowed."""
    catalog = catalog or workflows.shipped()
    item = _item(session, subject, item_id, lock=True)
    wf = catalog[item.workflow]
    step = workflows.take(wf, item.state, transition, actor, fields)
    _apply(session, item, subject, step, actor, actor_name, at or _now())
    session.flush()
    return workflow_status(session, subject, item_id, actor, catalog=catalog)


def report_state(session: Session, subject: Subject, item_id: int, state: str, *, actor_name: str,
                 fields: Mapping[str, Any] | None = None, at: datetime | None = None,
                 catalog: workflows.Workflows | None = None) -> WorkflowStatus:
    """An external system says the item is now in ``state``: take the system's transitions that lead there.

    A report of the state it is already in changes nothing (reports are repeated, and polled).
    """
    catalog = catalog or workflows.shipped()
    item = _item(session, subject, item_id, lock=True)
    wf = catalog[item.workflow]
    when = at or _now()
    for transition in workflows.path_to(wf, item.state, state, Actor.SYSTEM):
        step = workflows.take(wf, item.state, transition.name, Actor.SYSTEM, fields)
        _apply(session, item, subject, step, Actor.SYSTEM, actor_name, when)
    session.flush()
    return workflow_status(session, subject, item_id, Actor.SYSTEM, catalog=catalog)


def workflow_status(session: Session, subject: Subject, item_id: int, actor: Actor = Actor.AGENT, *,
                    now: datetime | None = None, catalog: workflows.Workflows | None = None) -> WorkflowStatus:
    catalog = catalog or workflows.shipped()
    item = _item(session, subject, item_id)
    wf = catalog[item.workflow]
    events = session.scalars(select(WorkflowEvent)
                             .where(WorkflowEvent.subject == subject.value, WorkflowEvent.subject_id == item_id)
                             .order_by(WorkflowEvent.id))
    outbox = session.execute(select(OutboxMessage.delivered_at, OutboxMessage.refused)
                             .where(OutboxMessage.subject == subject.value, OutboxMessage.subject_id == item_id,
                                    OutboxMessage.operation == f"create_{subject.value}")
                             .order_by(OutboxMessage.id).limit(1)).first()
    if outbox is None:
        delivery = "none"
    elif outbox.delivered_at is not None:
        delivery = "delivered"
    else:
        delivery = "refused" if outbox.refused else "pending"
    return WorkflowStatus(
        subject=subject, id=item.id, customer_id=item.customer_id, workflow=wf.name, title=wf.title,
        state=item.state, status=item.status, state_since=item.state_since, external_ref=item.external_ref,
        delivery=delivery,
        history=tuple(HistoryEntry(e.at, e.actor, e.actor_name, e.transition, e.from_state, e.to_state,
                                   dict(e.fields or {})) for e in events),
        next_steps=tuple(NextStep(t.name, t.target, t.requires) for t in workflows.allowed(wf, item.state, actor)),
        escalation=workflows.overdue(wf, item.state, item.state_since, now or _now()),
    )


def overdue_items(session: Session, now: datetime | None = None, *, catalog: workflows.Workflows | None = None,
                  limit: int = 500) -> list[tuple[Subject, int, workflows.Escalation]]:
    """Orders and service requests whose state outlived its time limit (escalated or not), the longest
    overdue first: one indexed query per state with a limit, as :func:`due_escalations`."""
    catalog = catalog or workflows.shipped()
    now = now or _now()
    found: list[tuple[Subject, int, workflows.Escalation]] = []
    for wf in catalog.by_name.values():
        model = _model(wf.subject)
        for state in wf.states.values():
            if state.deadline is None:
                continue
            after = timedelta(seconds=state.deadline.after_s)
            rows = session.execute(select(model.id, model.state_since)
                                   .where(model.state == state.name, model.workflow == wf.name,
                                          model.state_since <= now - after)
                                   .order_by(model.state_since).limit(limit))
            found += [(wf.subject, item_id, workflows.Escalation(state.name, state.deadline.escalate_to,
                                                                 since + after)) for item_id, since in rows]
    found.sort(key=lambda f: f[2].due_at)
    return found[:limit]


# --- escalation: a time limit acted on, once ------------------------------------------------

#: The name escalations are recorded under in an item's history (the actor is ``system``).
ESCALATION_ACTOR = "escalation"


class AlreadyEscalated(CrmError):
    """Another process claimed this time limit first: it acts, this one does nothing."""


@dataclass(frozen=True, slots=True)
class DueEscalation:
    """An item whose state outlived its time limit and was not acted on yet."""

    subject: Subject
    id: int
    state: str
    state_since: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Escalated:
    """What an escalation did to one item, for the bus: where it is now and who was told."""

    subject: Subject
    id: int
    customer_id: int
    workflow: str
    state: str
    status: str
    overdue_state: str
    escalate_to: str
    #: The login of the agent who took the item (its bus topic), if an agent did.
    agent_login: str | None
    actions: dict[str, Any]
    at: datetime


def _model(subject: Subject) -> type[Order] | type[ServiceRequest]:
    return Order if subject is Subject.ORDER else ServiceRequest


def due_escalations(session: Session, now: datetime, *, catalog: workflows.Workflows | None = None,
                    limit: int = 200) -> list[DueEscalation]:
    """Items whose time limit passed by ``now`` and that no process escalated yet, the longest overdue first.

    One indexed query per state with a time limit (``ix_<table>_state_since``), so the cost follows
    what is due, not the size of the tables.
    """
    catalog = catalog or workflows.shipped()
    found: list[DueEscalation] = []
    for wf in catalog.by_name.values():
        subject = wf.subject
        model = _model(subject)
        for state in wf.states.values():
            if state.deadline is None:
                continue
            after = timedelta(seconds=state.deadline.after_s)
            done = exists().where(WorkflowEscalation.subject == subject.value,
                                  WorkflowEscalation.subject_id == model.id,
                                  WorkflowEscalation.state == model.state,
                                  WorkflowEscalation.state_since == model.state_since)
            rows = session.execute(select(model.id, model.state_since)
                                   .where(model.state == state.name, model.workflow == wf.name,
                                          model.state_since <= now - after, ~done)
                                   .order_by(model.state_since).limit(limit))
            found += [DueEscalation(subject, item_id, state.name, since, since + after) for item_id, since in rows]
    found.sort(key=lambda d: d.due_at)
    return found[:limit]


def escalate(session: Session, due: DueEscalation, *, now: datetime, by: str,
             catalog: workflows.Workflows | None = None) -> Escalated | None:
    """Carry out ``due``'s escalation as the workflow declares it, or None when there is nothing to do.

    The claim comes first: a :class:`~crm.models.WorkflowEscalation` row, unique per item, state and
    entry into that state. When another process already claimed it, :class:`AlreadyEscalated` is
    raised (the transaction must be rolled back); when the item left that state meanwhile, nothing is
    done (None). Otherwise the item is assigned to the deadline's group, a
    service request's priority is raised, the system takes the named step, and the history says who
    (the system, as ``escalation``), when and why. Run it in a transaction of its own: a failed claim
    leaves that transaction unusable.
    """
    catalog = catalog or workflows.shipped()
    try:
        claim = session.execute(insert(WorkflowEscalation).values(
            subject=due.subject.value, subject_id=due.id, state=due.state, state_since=due.state_since,
            due_at=due.due_at, escalated_at=now, escalate_to="", actions={}, escalated_by=by[:128],
        ).returning(WorkflowEscalation.id)).scalar_one()
    except IntegrityError:
        raise AlreadyEscalated(f"{due.subject.value} {due.id}: {due.state} was escalated by another process") \
            from None
    item = _item(session, due.subject, due.id, lock=True)
    wf = catalog[item.workflow]
    deadline = wf.state(item.state).deadline if item.state in wf.states else None
    if item.state != due.state or item.state_since != due.state_since or deadline is None:
        session.execute(delete(WorkflowEscalation).where(WorkflowEscalation.id == claim))
        return None  # it moved on since it was found: its new state has a limit of its own
    actions: dict[str, Any] = {"assigned_to": deadline.assign_to or deadline.escalate_to}
    item.assigned_to = actions["assigned_to"]
    if deadline.priority is not None and isinstance(item, ServiceRequest):
        old = item.priority if item.priority in PRIORITIES else "normal"
        if PRIORITIES.index(deadline.priority) > PRIORITIES.index(old):
            item.priority = deadline.priority
            actions["priority"] = [old, deadline.priority]
    overdue_by = now - due.due_at
    reason = (f"{item.state} for longer than {_duration(deadline.after_s)}"
              f" (due {due.due_at.isoformat(timespec='minutes')}"
              f"{f', {_duration(overdue_by.total_seconds())} late' if overdue_by.total_seconds() >= 60 else ''})")
    fields: dict[str, Any] = {"reason": reason, "escalate_to": deadline.escalate_to,
                              "assigned_to": actions["assigned_to"]}
    if "priority" in actions:
        fields["priority"] = actions["priority"][1]
    # The escalation itself, in the history (then the step it takes, if any, as its own entry).
    session.add(WorkflowEvent(subject=due.subject.value, subject_id=item.id, workflow=item.workflow,
                              transition="escalate", from_state=item.state, to_state=item.state,
                              actor=Actor.SYSTEM.value, actor_name=ESCALATION_ACTOR, at=now, fields=fields))
    overdue_state = item.state
    if deadline.transition is not None:
        step = workflows.take(wf, item.state, deadline.transition, Actor.SYSTEM, {"reason": reason})
        _apply(session, item, due.subject, step, Actor.SYSTEM, ESCALATION_ACTOR, now)
        actions["transition"] = deadline.transition
    session.execute(update(WorkflowEscalation).where(WorkflowEscalation.id == claim)
                    .values(escalate_to=deadline.escalate_to, actions=actions))
    agent = _actor_name_of(session, item.contact_id, "") or None
    session.flush()
    return Escalated(due.subject, item.id, item.customer_id, item.workflow, item.state, item.status, overdue_state,
                     deadline.escalate_to, agent, actions, now)


def _duration(seconds: float) -> str:
    """``14400`` → ``4h``, ``5400`` → ``90m``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds / 60)}m" if seconds >= 60 else f"{round(seconds)}s"


def agent_of(session: Session, subject: Subject, item_id: int) -> str | None:
    """The login of the agent who took the item (the contact it was made on), or None."""
    item = _item(session, subject, item_id)
    return _actor_name_of(session, item.contact_id, "") or None


# --- the outbox --------------------------------------------------------------------------------


def _entry(m: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(m.id, m.connector, m.operation, Subject(m.subject), m.subject_id, m.idempotency_key,
                       dict(m.payload or {}), m.attempts, m.created_at, m.last_error)


def pending_messages(session: Session, connector: str = SYSTEM_OF_RECORD, *, limit: int = 100) -> list[OutboxEntry]:
    """Messages not delivered yet (nor refused), oldest first: the order they must go in."""
    rows = session.scalars(select(OutboxMessage)
                           .where(OutboxMessage.connector == connector, OutboxMessage.delivered_at.is_(None),
                                  OutboxMessage.refused.is_(False))
                           .order_by(OutboxMessage.id).limit(limit))
    return [_entry(m) for m in rows]


def count_pending(session: Session, connector: str = SYSTEM_OF_RECORD) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.connector == connector, OutboxMessage.delivered_at.is_(None),
                                 OutboxMessage.refused.is_(False))) or 0


def mark_delivered(session: Session, message_id: int, *, external_ref: str | None, at: datetime | None = None) -> None:
    """The back end took the message: note it, and keep the back end's own reference on the item."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"no outbox message {message_id}")
    when = at or _now()
    message.attempts += 1
    message.last_attempt_at = when
    message.delivered_at = when
    message.last_error = None
    if external_ref:
        item = _item(session, Subject(message.subject), message.subject_id)
        item.external_ref = external_ref[:64]
    session.flush()


def mark_failed(session: Session, message_id: int, error: str, *, refused: bool = False,
                at: datetime | None = None) -> None:
    """A try that did not deliver; ``refused`` when the back end said no for good (it stops blocking the rest)."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"no outbox message {message_id}")
    message.attempts += 1
    message.last_attempt_at = at or _now()
    message.last_error = error[:500]
    message.refused = refused
    session.flush()


def items_to_follow(session: Session, subject: Subject, *, limit: int = 500) -> Sequence[tuple[int, str]]:
    """Delivered items not in a final state yet: (id, external reference) to ask the back end about."""
    model: type[Order] | type[ServiceRequest] = Order if subject is Subject.ORDER else ServiceRequest
    catalog = workflows.shipped()
    finals = {(w.name, s.name) for w in catalog.by_name.values() for s in w.states.values() if s.final}
    rows = session.execute(select(model.id, model.external_ref, model.workflow, model.state)
                           .where(model.external_ref.is_not(None)).order_by(model.id))
    out: list[tuple[int, str]] = []
    for item_id, ref, name, state in rows:
        if ref and (name, state) not in finals:
            out.append((item_id, ref))
            if len(out) >= limit:
                break
    return out


def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields given to a move: short plain values only (they are stored and shown)."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            raise InvalidData(f"bad field name {key!r}")
        if isinstance(value, str):
            value = value[:2000]
        elif not isinstance(value, int | float | bool) and value is not None:
            raise InvalidData(f"field {key!r}: expected text or a number")
        clean[key] = value
    return clean
