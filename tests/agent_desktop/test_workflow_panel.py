"""The workflow of orders and service requests in the customer window: current state, history, and only the
steps the workflow allows an agent, with their required fields asked for first; in process and through
``ccenter api``."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select
from sqlalchemy.engine import Engine

from agent_desktop.customer_window import CustomerDirectory, CustomerWindow
from agent_desktop.workflow_panel import WorkflowPanel, workflow_feed
from api.app import create_app
from connectors.center import CenterDirectory
from crm import db, repository
from crm.models import Account, Customer, WorkflowEvent
from crm.repository.workflows import NextStep
from crm.workflows import Subject
from tests.api.conftest import seed, serve
from tests.helpers.desktop_db import dispose_after_desktop_jobs

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(_sqlite_template: str, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "desk.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    yield engine
    dispose_after_desktop_jobs(engine)


def _customer(engine: Engine) -> int:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Wei Zhang", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number="ACC-1001", balance=Decimal("0"))]
        s.add(customer)
        s.flush()
        return customer.id


def _order(engine: Engine, customer_id: int, reported: str | None = None) -> int:
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        order_id = repository.create_order(s, customer_id=customer_id, product="Fibre 500").id
    if reported is not None:
        with db.transaction(factory) as s:
            repository.report_state(s, Subject.ORDER, order_id, reported, actor_name="boss", at=NOW)
    return order_id


def _column(model: Any, header: str) -> int:
    return next(c for c in range(model.columnCount())
                if model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == header)


def _cells(model: Any, header: str) -> list[str]:
    column = _column(model, header)
    return [model.data(model.index(r, column), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]


def _open(qtbot: Any, window: CustomerWindow, customer_id: int, panel: WorkflowPanel) -> None:
    with qtbot.waitSignals([window.customer_loaded, panel.loaded], timeout=10_000):
        window.open_customer(customer_id)


def _events(engine: Engine) -> list[tuple[str | None, str, str]]:
    with db.session_factory(engine)() as s:
        return [(e.transition, e.actor_name, e.to_state)
                for e in s.scalars(select(WorkflowEvent).order_by(WorkflowEvent.id))]


def test_an_installed_order_offers_only_complete_shows_its_history_and_completes(qtbot, engine: Engine) -> None:
    customer_id = _customer(engine)
    order_id = _order(engine, customer_id, reported="installed")
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine)), agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.order_workflow
    assert panel is not None
    _open(qtbot, window, customer_id, panel)

    assert window.customer_view.tabs.tabText(1) == "Open orders (1)"
    assert _cells(window.customer_view.orders, "Status") == ["Installed"]
    assert panel.state_label.text().startswith("Now: Installed, since ")
    assert panel.delivery_label.text() == "Not yet sent to the order system"
    # Only what the workflow lets an agent do from "installed": not cancel, not the system's steps.
    assert list(panel.step_buttons) == ["complete"]
    assert panel.step_buttons["complete"].text() == "Complete"
    assert not panel.step_buttons["complete"].isHidden()
    assert _cells(panel.history, "Who") == ["desktop", "boss", "boss", "boss"]
    assert _cells(panel.history, "As") == ["Agent", "System", "System", "System"]
    assert _cells(panel.history, "Move") == ["Submitted", "Submitted → Credit check", "Credit check → Provisioning",
                                             "Provisioning → Installed"]
    assert _cells(panel.history, "Step")[1:] == ["Check credit", "Approve credit", "Mark installed"]

    with qtbot.waitSignal(panel.moved, timeout=10_000) as moved:
        qtbot.mouseClick(panel.step_buttons["complete"], Qt.MouseButton.LeftButton)
    assert moved.args[0].state == "completed"
    assert panel.state_label.text().startswith("Now: Completed")
    assert panel.step_buttons == {} and not panel.no_steps_label.isHidden()
    assert _cells(panel.history, "Who")[-1] == "ann"
    assert _cells(panel.history, "As")[-1] == "Agent"
    assert _cells(window.customer_view.orders, "Status") == ["Completed"]  # the row follows
    assert _events(engine)[-1] == ("complete", "ann", "completed")
    assert order_id == moved.args[0].id


def test_a_step_with_required_fields_asks_for_them_before_it_moves(qtbot, engine: Engine) -> None:
    customer_id = _customer(engine)
    with db.transaction(db.session_factory(engine)) as s:
        request_id = repository.create_service_request(s, customer_id=customer_id, category="technical",
                                                       summary="No dial tone").id
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine)), agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.request_workflow
    assert panel is not None
    _open(qtbot, window, customer_id, panel)
    assert panel.title_label.text() == f"Service request {request_id} · Fault report"
    assert list(panel.step_buttons) == ["diagnose"]

    before = _events(engine)
    qtbot.mouseClick(panel.step_buttons["diagnose"], Qt.MouseButton.LeftButton)
    assert not panel.form.isHidden()
    assert list(panel._field_edits) == ["diagnosis"]
    qtbot.mouseClick(panel.confirm_button, Qt.MouseButton.LeftButton)  # nothing filled in: nothing sent
    assert panel.message_label.text() == "Please fill in: Diagnosis"
    assert _events(engine) == before

    panel._field_edits["diagnosis"].setText("Line noise <b>at</b> the cabinet")
    with qtbot.waitSignal(panel.moved, timeout=10_000):
        qtbot.mouseClick(panel.confirm_button, Qt.MouseButton.LeftButton)
    assert panel.form.isHidden()
    assert panel.state_label.text().startswith("Now: Diagnosed")
    assert _cells(panel.history, "Fields")[-1] == "Diagnosis: Line noise <b>at</b> the cabinet"  # plain text
    assert _cells(window.customer_view.requests, "Status") == ["Diagnosed"]
    # Sending a technician is the back office's step: an agent is not offered it.
    assert list(panel.step_buttons) == ["resolve"]
    assert "step_send_technician" not in {b.objectName() for b in panel.steps_box.findChildren(type(
        panel.confirm_button))}


def test_a_step_overtaken_by_the_order_system_is_refused_with_a_clear_message(qtbot, engine: Engine) -> None:
    customer_id = _customer(engine)
    order_id = _order(engine, customer_id)
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine)), agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.order_workflow
    assert panel is not None
    _open(qtbot, window, customer_id, panel)
    assert list(panel.step_buttons) == ["cancel"]

    panel.take("install")  # not offered to an agent: never sent
    assert panel.message_label.text() == "This step is not open to you now."

    with db.transaction(db.session_factory(engine)) as s:  # meanwhile the order system moves it on
        repository.report_state(s, Subject.ORDER, order_id, "installed", actor_name="boss", at=NOW)
    assert panel.overdue_label.isHidden()
    qtbot.mouseClick(panel.step_buttons["cancel"], Qt.MouseButton.LeftButton)
    panel._field_edits["reason"].setText("changed mind")
    with qtbot.waitSignals([panel.refused, panel.loaded], timeout=10_000):
        qtbot.mouseClick(panel.confirm_button, Qt.MouseButton.LeftButton)
    assert panel.message_label.text().startswith("The step was refused: ")
    assert panel.message_label.text().endswith("This is the item as it is now.")
    assert panel.state_label.text().startswith("Now: Installed")  # shown as it is now
    assert list(panel.step_buttons) == ["complete"]
    assert ("cancel", "ann", "failed") not in _events(engine)


@pytest.fixture
def center(_sqlite_template: str, tmp_path: Path) -> Iterator[tuple[str, Engine, dict[str, int]]]:
    path = tmp_path / "api.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    _issued, customers = seed(engine)
    for url in serve(create_app(db.session_factory(engine))):
        yield url, engine, customers
    dispose_after_desktop_jobs(engine)


def test_the_workflow_panel_works_through_the_api(qtbot, center) -> None:
    url, engine, customers = center
    order_id = _order(engine, customers["standard"], reported="installed")
    directory = CenterDirectory(url)
    assert directory.authenticate("ann", "ann-pass") is not None
    window = CustomerWindow(directory, agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.order_workflow
    assert panel is not None
    _open(qtbot, window, customers["standard"], panel)
    assert list(panel.step_buttons) == ["complete"]
    assert _cells(panel.history, "Move")[-1] == "Provisioning → Installed"

    with qtbot.waitSignal(panel.moved, timeout=10_000):
        qtbot.mouseClick(panel.step_buttons["complete"], Qt.MouseButton.LeftButton)
    assert panel.state_label.text().startswith("Now: Completed")
    assert _cells(panel.history, "Who")[-1] == "ann"  # named by the server from the token
    assert _events(engine)[-1] == ("complete", "ann", "completed")

    # A step the server refuses (the order is final now) is said so, and nothing changes.
    # (as a panel opened before the move would still offer it)
    panel.status = dataclasses.replace(panel.status, next_steps=(NextStep("complete", "completed", ()),))
    with qtbot.waitSignal(panel.refused, timeout=10_000) as refused:
        panel.take("complete")
    assert refused.args[0].startswith("The step was refused: ")
    assert [e for e in _events(engine) if e[0] == "complete"] == [("complete", "ann", "completed")]
    assert order_id == panel.status.id
    directory.close()


def test_refresh_shows_where_the_order_system_moved_it_and_an_overdue_state_says_who_was_told(qtbot, engine) -> None:
    customer_id = _customer(engine)
    order_id = _order(engine, customer_id)
    window = CustomerWindow(CustomerDirectory(db.session_factory(engine)), agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.order_workflow
    assert panel is not None
    _open(qtbot, window, customer_id, panel)
    assert panel.overdue_label.isHidden()

    with db.transaction(db.session_factory(engine)) as s:  # in credit check for 9 h: its limit is 8 h
        repository.report_state(s, Subject.ORDER, order_id, "credit_check", actor_name="boss",
                                at=datetime.now(UTC) - timedelta(hours=9))
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
    assert panel.state_label.text().startswith("Now: Credit check")
    assert not panel.overdue_label.isHidden()
    assert panel.overdue_label.text().startswith("Overdue since ")
    assert panel.overdue_label.text().endswith(": Back office has been told.")
    assert list(panel.step_buttons) == ["cancel"]


def test_an_escalation_shows_in_the_open_panel_by_itself(qtbot, engine: Engine) -> None:
    from connectors.escalation import Escalator
    from crm.models import ServiceRequest

    customer_id = _customer(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        request_id = repository.create_service_request(s, customer_id=customer_id, category="fault",
                                                       summary="No dial tone").id
    with factory() as s:
        opened = s.get(ServiceRequest, request_id).state_since  # type: ignore[union-attr]
    window = CustomerWindow(CustomerDirectory(factory), agent_login="ann")
    qtbot.addWidget(window)
    panel = window.customer_view.request_workflow
    assert panel is not None
    with qtbot.waitSignals([window.customer_loaded], timeout=10_000):
        window.open_customer(customer_id)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.show_item(Subject.SERVICE_REQUEST, request_id)
    assert panel.state_label.text().startswith("Now: Opened")

    feed = workflow_feed()  # what `ccenter desktop` feeds from the bus
    escalator = Escalator(factory, name="api-1", clock=lambda: opened + timedelta(hours=4, minutes=1),
                          notify=lambda message, _agent: feed.publish(message))
    with qtbot.waitSignal(panel.loaded, timeout=10_000):  # no click: the change reloads the panel
        assert len(escalator.run_once()) == 1
    assert panel.state_label.text().startswith("Now: Escalated")
    assert _cells(panel.history, "Step")[-2:] == ["Escalate", "Escalate"]
    assert _cells(panel.history, "Who")[-2:] == ["escalation", "escalation"]
    assert _cells(panel.history, "Move")[-2:] == ["Opened", "Opened → Escalated"]
    fields = _cells(panel.history, "Fields")[-2]
    assert fields.startswith("Reason: opened for longer than 4h (due ")
    assert "Told: back_office" in fields and "Handed to: fault_desk" in fields and "Priority: high" in fields


def test_the_supervisor_window_says_each_escalation_to_the_supervisor(qtbot) -> None:
    from PySide6.QtWidgets import QMainWindow

    from agent_desktop.workflow_panel import show_escalations
    from bus.messages import WorkflowChanged

    window = QMainWindow()  # the supervisor window is one
    qtbot.addWidget(window)
    feed = workflow_feed()
    notices = show_escalations(window, feed, to="supervisor")

    def change(escalate_to: str | None) -> WorkflowChanged:
        return WorkflowChanged(subject="service_request", item_id=12, customer_id=3, workflow="fault_report",
                               state="escalated", status="in_progress", ts=0.0, actor_name="escalation",
                               escalate_to=escalate_to)

    shown: list[str] = []
    notices.shown.connect(shown.append)
    feed.changed.emit(change("back_office"))  # the back office's, not the supervisor's
    feed.changed.emit(change(None))  # a move, not an escalation
    assert shown == [] and window.statusBar().currentMessage() == ""
    feed.changed.emit(change("supervisor"))
    assert shown == ["Escalated to you: Service request 12 (Fault report) passed its time limit; now Escalated."]
    assert window.statusBar().currentMessage() == shown[0]
