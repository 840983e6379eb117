"""Time limits that pass are acted on once, as the workflow declares, on SQLite and PostgreSQL.

Time is the escalator's injected clock: the tests move it past a limit, never sleep.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, update

from bus.messages import WorkflowChanged
from connectors.escalation import Escalator
from crm import db, repository
from crm.models import Account, Agent, Contact, Customer, Order, ServiceRequest, WorkflowEscalation, WorkflowEvent
from crm.workflows import Subject

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _fault_report(engine: Engine) -> tuple[int, int]:
    """A customer, the agent Ann, a contact of hers and a fault report taken on it at START."""
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Wei Zhang", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number="ACC-1001", balance=Decimal("0"))]
        ann = Agent(login="ann", name="Ann", team="north")
        s.add_all([customer, ann])
        s.flush()
        contact = Contact(customer_id=customer.id, channel="voice_in", agent_id=ann.id, started_at=START)
        s.add(contact)
        s.flush()
        request = repository.create_service_request(
            s, customer_id=customer.id, category="fault", summary="No dial tone", contact_id=contact.id
        )
        s.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == request.id)
            .values(created_at=START, state_since=START)
        )
        return customer.id, request.id


def test_a_passed_limit_is_escalated_as_the_workflow_says_and_recorded(engine: Engine) -> None:
    _customer, request_id = _fault_report(engine)
    factory = db.session_factory(engine)
    clock = Clock(START + timedelta(hours=3, minutes=59))
    told: list[tuple[WorkflowChanged, str | None]] = []
    escalator = Escalator(factory, name="api-1", clock=clock, notify=lambda m, agent: told.append((m, agent)))

    assert escalator.run_once() == []  # not yet: the fault report's first limit is 4h
    clock.now = START + timedelta(hours=4, minutes=30)
    done = escalator.run_once()

    assert [(d.subject, d.id, d.overdue_state, d.escalate_to) for d in done] == [
        (Subject.SERVICE_REQUEST, request_id, "opened", "back_office")
    ]
    with factory() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        # fault_report.yaml: opened → {escalate_to: back_office, assign_to: fault_desk, priority: high,
        # transition: escalate}
        assert (request.state, request.assigned_to, request.priority) == ("escalated", "fault_desk", "high")
        assert request.state_since == clock.now
        status = repository.workflow_status(s, Subject.SERVICE_REQUEST, request_id, now=clock.now)
    escalation, step = status.history[-2:]
    assert (escalation.actor, escalation.actor_name, escalation.transition, escalation.at) == (
        "system",
        "escalation",
        "escalate",
        clock.now,
    )
    assert escalation.fields["escalate_to"] == "back_office"
    assert escalation.fields["assigned_to"] == "fault_desk"
    assert escalation.fields["priority"] == "high"
    assert escalation.fields["reason"].startswith("opened for longer than 4h (due 2026-12-01T12:00")
    assert (step.from_state, step.to_state, step.actor) == ("opened", "escalated", "system")
    # The supervisor hears of it through the agent's topic (their team's, on the broker).
    assert [(m.subject, m.item_id, m.state, m.escalate_to, agent) for m, agent in told] == [
        ("service_request", request_id, "escalated", "back_office", "ann")
    ]

    # Once per limit: the next round finds nothing, even much later...
    clock.now += timedelta(hours=2)
    assert escalator.run_once() == []
    # ...until the escalated state's own limit (8h, to the supervisor, priority urgent) passes.
    clock.now = START + timedelta(hours=12, minutes=31)
    again = escalator.run_once()
    assert [(d.overdue_state, d.escalate_to, d.actions.get("priority")) for d in again] == [
        ("escalated", "supervisor", ["high", "urgent"])
    ]
    with factory() as s:
        assert s.get(ServiceRequest, request_id).priority == "urgent"  # type: ignore[union-attr]
        assert len(s.scalars(select(WorkflowEscalation)).all()) == 2


def test_an_item_that_moved_on_is_not_escalated_for_its_old_state(engine: Engine) -> None:
    _customer, request_id = _fault_report(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        repository.report_state(
            s,
            Subject.SERVICE_REQUEST,
            request_id,
            "diagnosed",
            actor_name="boss",
            fields={"diagnosis": "line fault"},
            at=START + timedelta(hours=1),
        )
    clock = Clock(START + timedelta(hours=5))
    assert Escalator(factory, name="api-1", clock=clock).run_once() == []  # diagnosed has 24h
    clock.now = START + timedelta(hours=25, minutes=1)
    done = Escalator(factory, name="api-1", clock=clock).run_once()
    assert [(d.overdue_state, d.state) for d in done] == [("diagnosed", "diagnosed")]  # no step declared


def test_two_processes_escalate_each_limit_exactly_once(engine: Engine) -> None:
    _fault_report(engine)
    with db.transaction(db.session_factory(engine)) as s:  # more items due at once
        customer_id = s.scalars(select(Customer.id)).one()
        for n in range(8):
            repository.create_order(s, customer_id=customer_id, product=f"Fibre {n}")
        s.execute(update(Order).values(created_at=START, state_since=START))
    clock = Clock(START + timedelta(hours=5))
    # Two `ccenter api` processes: their own engines (connection pools), the same database.
    engines = [db.connect(str(engine.url.render_as_string(hide_password=False))) for _ in range(2)]
    results: list[list] = [[], []]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        escalator = Escalator(db.session_factory(engines[i]), name=f"api-{i}", clock=clock)
        barrier.wait(timeout=10)
        results[i] = escalator.run_once()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    done = [(d.subject, d.id) for r in results for d in r]
    assert len(done) == 9 and len(set(done)) == 9  # 8 orders and the fault report, each once
    with db.session_factory(engine)() as s:
        rows = s.scalars(select(WorkflowEscalation)).all()
        events = s.scalars(
            select(WorkflowEvent).where(
                WorkflowEvent.transition == "escalate", WorkflowEvent.actor_name == "escalation"
            )
        ).all()
    # One escalation entry per item; the fault report also has its escalate step (opened → escalated).
    assert len(rows) == 9 and len([e for e in events if e.from_state == e.to_state]) == 9
    assert len([e for e in events if e.from_state != e.to_state]) == 1
    assert {r.escalated_by for r in rows} <= {"api-0", "api-1"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"priority": "high"}, "states.submitted.deadline.priority: only a service request has a priority"),
        (
            {"transition": "install"},
            "states.submitted.deadline.transition: no transition 'install' from 'submitted' that the system may take",
        ),
    ],
)
def test_a_deadline_action_the_workflow_cannot_do_is_refused_at_load(change: dict, message: str) -> None:
    import yaml

    import resources
    from crm.workflows import WorkflowError, parse_workflow

    doc = yaml.safe_load(resources.path("workflows").joinpath("broadband_order.yaml").read_text())
    doc["states"]["submitted"]["deadline"].update(change)
    with pytest.raises(WorkflowError, match=message.replace("(", r"\(")):
        parse_workflow(doc, "broadband_order.yaml")
