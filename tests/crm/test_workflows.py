"""Workflows as data: the shipped files, refusing bad files by name and place, the engine, and states stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select

from crm import db, repository, workflows
from crm.models import Account, Agent, Customer, OutboxMessage, WorkflowEvent
from crm.workflows import Actor, Subject, TransitionRefused, WorkflowError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SHIPPED = Path(workflows.__file__).resolve().parents[2] / "resources" / "workflows"


def test_the_shipped_workflows_load() -> None:
    catalog = workflows.shipped()
    assert set(catalog.by_name) >= {"broadband_order", "fault_report", "billing_dispute"}
    assert catalog.for_order().name == "broadband_order"
    assert catalog.for_request("line_fault").name == "fault_report"
    assert catalog.for_request("billing").name == "billing_dispute"
    order = catalog["broadband_order"]
    assert order.initial == "submitted"
    assert {s for s, st in order.states.items() if st.final} == {"completed", "failed"}


def _write(tmp_path: Path, doc: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _fault() -> dict:
    return yaml.safe_load((SHIPPED / "fault_report.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["transitions"][2].__setitem__("to", "fixed"), "bad.yaml: transitions[2].to: unknown state 'fixed'"),
    (lambda d: d["transitions"][0].__setitem__("by", ["robot"]), "bad.yaml: transitions[0].by[0]: expected one of"),
    (lambda d: d["states"]["opened"]["deadline"].__setitem__("after", "soon"),
     "bad.yaml: states.opened.deadline.after: expected a duration"),
    (lambda d: d["states"]["opened"].__setitem__("status", "sleeping"), "bad.yaml: states.opened.status: expected one"),
    (lambda d: d.__setitem__("initial", "nowhere"), "bad.yaml: initial: unknown state 'nowhere'"),
    (lambda d: d.__setitem__("colour", "red"), "bad.yaml: colour: unknown key"),
    (lambda d: d.pop("transitions"), "bad.yaml: transitions: missing"),
    (lambda d: d["states"].__setitem__("limbo", {"status": "open"}), "bad.yaml: states.limbo: unreachable"),
    (lambda d: (d["states"].__setitem__("parked", {"status": "open"}),
                d["transitions"].append({"name": "park", "from": ["opened"], "to": "parked", "by": ["agent"]})),
     "bad.yaml: states.parked: not final, yet no transition leaves it"),
])
def test_a_bad_workflow_file_is_refused_with_its_path_and_reason(tmp_path: Path, change, message: str) -> None:
    doc = _fault()
    change(doc)
    with pytest.raises(WorkflowError) as caught:
        workflows.load_workflow(_write(tmp_path, doc))
    assert str(caught.value).startswith(message)


def test_unreadable_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("workflow: x\nstates: [\n", encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"broken\.yaml: line \d+: not valid YAML"):
        workflows.load_workflow(path)


def test_a_folder_with_two_defaults_for_one_subject_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _fault(), "a.yaml")
    second = _fault()
    second["workflow"] = "other_fault"
    _write(tmp_path, second, "b.yaml")
    with pytest.raises(WorkflowError, match="two default workflows for service_request"):
        workflows.load_workflows(tmp_path)


def test_the_engine_allows_only_the_listed_actor_with_the_required_fields() -> None:
    fault = workflows.shipped()["fault_report"]
    assert [t.name for t in workflows.allowed(fault, "diagnosed", Actor.AGENT)] == ["resolve"]
    assert [t.name for t in workflows.allowed(fault, "diagnosed", Actor.BACK_OFFICE)] == ["send_technician", "resolve"]
    with pytest.raises(TransitionRefused, match="not for agent"):
        workflows.take(fault, "diagnosed", "send_technician", Actor.AGENT, {"visit_date": "2026-12-02"})
    with pytest.raises(TransitionRefused, match="needs visit_date"):
        workflows.take(fault, "diagnosed", "send_technician", Actor.BACK_OFFICE, {"visit_date": "  "})
    with pytest.raises(TransitionRefused, match="not possible from state 'opened'"):
        workflows.take(fault, "opened", "close", Actor.AGENT)
    step = workflows.take(fault, "closed", "reopen", Actor.AGENT, {"reason": "no dial tone again"})
    assert (step.source, step.target, step.status, step.final) == ("closed", "opened", "open", False)


def test_the_engine_finds_the_system_steps_to_a_reported_state_and_escalates_late_states() -> None:
    order = workflows.shipped()["broadband_order"]
    chain = workflows.path_to(order, "submitted", "installed", Actor.SYSTEM)
    assert [t.name for t in chain] == ["check_credit", "approve_credit", "install"]
    assert workflows.path_to(order, "installed", "installed", Actor.SYSTEM) == ()
    with pytest.raises(TransitionRefused, match="cannot move from 'completed' to 'submitted'"):
        workflows.path_to(order, "completed", "submitted", Actor.SYSTEM)
    assert workflows.overdue(order, "submitted", NOW, NOW + timedelta(hours=1)) is None
    late = workflows.overdue(order, "submitted", NOW, NOW + timedelta(hours=2))
    assert late is not None and late.escalate_to == "back_office" and late.due_at == NOW + timedelta(hours=2)
    assert workflows.overdue(order, "completed", NOW, NOW + timedelta(days=400)) is None


def _customer(engine: Engine) -> tuple[int, int]:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Wei Zhang", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number="ACC-1001", balance=Decimal("0"))]
        agent = Agent(login="ann", name="Ann")
        s.add_all([customer, agent])
        s.flush()
        return customer.id, agent.id


def test_an_order_starts_in_its_initial_state_with_history_and_a_pending_message(engine: Engine) -> None:
    customer_id, _agent = _customer(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        order = repository.create_order(s, customer_id=customer_id, product="Fibre 500", amount=Decimal("39.90"))
        request = repository.create_service_request(s, customer_id=customer_id, category="billing",
                                                    summary="Bill too high")
    assert (order.workflow, order.state, order.status) == ("broadband_order", "submitted", "submitted")
    assert (request.workflow, request.state) == ("billing_dispute", "opened")
    with factory() as s:
        status = repository.workflow_status(s, Subject.ORDER, order.id, Actor.AGENT)
        messages = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert status.delivery == "pending"
    assert [h.to_state for h in status.history] == ["submitted"]
    assert [n.transition for n in status.next_steps] == ["cancel"]
    assert [(m.operation, m.subject_id) for m in messages] == [("create_order", order.id),
                                                              ("create_service_request", request.id)]
    assert messages[0].payload["account_number"] == "ACC-1001"
    assert messages[0].payload["amount"] == "39.90"
    assert messages[0].idempotency_key != messages[1].idempotency_key


def test_moves_are_stored_with_who_and_when_and_refusals_change_nothing(engine: Engine) -> None:
    customer_id, _agent = _customer(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        order_id = repository.create_order(s, customer_id=customer_id, product="Fibre 500").id
    with db.transaction(factory) as s:
        status = repository.report_state(s, Subject.ORDER, order_id, "installed", actor_name="boss", at=NOW)
    assert (status.state, status.status) == ("installed", "in_progress")
    assert [(h.actor, h.actor_name, h.to_state) for h in status.history[1:]] == [
        ("system", "boss", "credit_check"), ("system", "boss", "provisioning"), ("system", "boss", "installed")]
    with pytest.raises(TransitionRefused), db.transaction(factory) as s:
        repository.move(s, Subject.ORDER, order_id, "cancel", actor=Actor.AGENT, actor_name="ann",
                        fields={"reason": "changed mind"})
    with db.transaction(factory) as s:
        done = repository.move(s, Subject.ORDER, order_id, "complete", actor=Actor.AGENT, actor_name="ann",
                               at=NOW + timedelta(days=1))
    assert (done.state, done.status, done.next_steps) == ("completed", "completed", ())
    with factory() as s:
        events = s.scalars(select(WorkflowEvent).order_by(WorkflowEvent.id)).all()
    assert [(e.transition, e.actor_name) for e in events][-1] == ("complete", "ann")
    assert events[-1].at == NOW + timedelta(days=1)


def test_late_states_are_listed_for_escalation(engine: Engine) -> None:
    customer_id, _agent = _customer(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        order_id = repository.create_order(s, customer_id=customer_id, product="Fibre 500").id
    with factory() as s:
        assert repository.overdue_items(s, datetime.now(UTC)) == []
        late = repository.overdue_items(s, datetime.now(UTC) + timedelta(hours=3))
    assert [(subject, item) for subject, item, _ in late] == [(Subject.ORDER, order_id)]
    assert late[0][2].escalate_to == "back_office"


def test_the_migration_puts_existing_orders_and_requests_in_their_initial_state(tmp_path: Path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        db.upgrade(engine, "0006")
        with engine.begin() as c:
            c.exec_driver_sql("INSERT INTO customer (id, name, tier, language, time_zone, created_at) "
                              "VALUES (1, 'Old', 'standard', 'en', 'UTC', '2025-01-01 00:00:00')")
            c.exec_driver_sql("INSERT INTO customer_order (id, customer_id, product, quantity, amount, currency, "
                              "status, created_at, updated_at) VALUES (7, 1, 'DSL', 1, 10, 'USD', 'open', "
                              "'2025-02-01 00:00:00', '2025-02-01 00:00:00')")
            c.exec_driver_sql("INSERT INTO service_request (id, customer_id, category, summary, priority, status, "
                              "created_at) VALUES (8, 1, 'fault', 'No line', 'normal', 'open', '2025-03-01 00:00:00')")
        db.upgrade(engine)
        with db.session_factory(engine)() as s:
            order = repository.workflow_status(s, Subject.ORDER, 7)
            request = repository.workflow_status(s, Subject.SERVICE_REQUEST, 8)
    finally:
        engine.dispose()
    assert (order.workflow, order.state, order.state_since) == (
        "broadband_order", "submitted", datetime(2025, 2, 1, tzinfo=UTC))
    assert (request.workflow, request.state) == ("fault_report", "opened")
    assert order.delivery == "none"  # nothing queued for rows made before there was a system of record


def test_overdue_items_are_found_under_many_older_finished_ones(engine: Engine) -> None:
    from sqlalchemy import update

    from crm.models import Order

    customer_id, _agent = _customer(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        done = [repository.create_order(s, customer_id=customer_id, product=f"Old {n}").id for n in range(6)]
        late = repository.create_order(s, customer_id=customer_id, product="Fibre 500").id
    with db.transaction(factory) as s:  # six finished long ago, one submitted three hours ago (limit 2 h)
        s.execute(update(Order).where(Order.id.in_(done))
                  .values(state="completed", status="completed", state_since=NOW - timedelta(days=30)))
        s.execute(update(Order).where(Order.id == late).values(state_since=NOW - timedelta(hours=3)))
    with factory() as s:
        found = repository.overdue_items(s, NOW, limit=1)
    assert [(subject, item, e.state) for subject, item, e in found] == [(Subject.ORDER, late, "submitted")]
