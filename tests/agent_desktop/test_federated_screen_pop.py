"""The screen pop of a ringing call is federated too: the caller's record at once, the live bill and products
from the test BOSS as it answers; after the call, the order taken shows its workflow with the agent's
next step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from bus.messages import AgentStateName
from connectors.boss import OrderSystem
from connectors.config import parse_connector
from crm import db
from crm.models import Account, Agent, Customer, PhoneNumber
from crm.repository import AgentView, OrderLine
from cti.sim import SimLink, SimPbx
from tests.helpers.boss import TestBoss
from tests.helpers.desktop_db import dispose_after_desktop_jobs


async def _run(fn: Callable[[], object]) -> None:
    fn()


@pytest.fixture
def boss() -> Iterator[TestBoss]:
    boss = TestBoss().start()
    boss.bills["ACC-7"] = {"balance": {"value": "12.00", "currency": "EUR"}, "due": {"value": "12.00"},
                           "items": [{"label": "Fibre 300", "amount": "12.00"}]}
    boss.assets["ACC-7"] = [{"type": "plan", "label": "Fibre 300", "state": "active",
                             "commitment": {"until": "2027-03-31"}}]
    yield boss
    boss.stop()


def test_the_screen_pop_fills_the_bill_and_the_order_taken_shows_its_workflow(qtbot, tmp_path: Path, boss) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace", language="en", time_zone="Europe/London")
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        customer.accounts = [Account(account_number="ACC-7", balance=Decimal("0"))]
        s.add_all([customer, Agent(id=1, login="alice", name="Alice Morgan", extension="1001")])
    orders = OrderSystem(parse_connector("boss", boss.connector_table()))
    pbx = SimPbx(extensions=["1001"])
    link = LinkThread(SimLink(pbx))
    link.start()
    agent = AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001")
    w = AgentWindow(agent=agent, link=link, directory=CustomerDirectory(factory, orders=orders),
                    outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"), wrap_up_seconds=60)
    qtbot.addWidget(w)
    try:
        w.show()
        w.log_on()
        w.go_ready()
        qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
        live = w.customer_view.live
        assert live is not None

        def ring() -> None:
            pbx.schedule_inbound(pbx.now, "+14155550100", "800", ring="1001")
            pbx.advance(pbx.now)

        with qtbot.waitSignals([w.screen_popped, live.bill_answered, live.products_answered], timeout=10_000):
            link.call_soon(_run(ring)).result(5)
        assert w.customer_view.name_label.text() == "Ada Lovelace"
        assert live.bill_summary.text() == "Account ACC-7 · balance 12.00 EUR · due 12.00 EUR"
        assert live.product_rows.row(0).contract_end == "2027-03-31"

        qtbot.mouseClick(w.answer_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.session.calls["sim-1"].phase.value == "connected", timeout=5000)
        w.add_order(OrderLine("Fibre 1000", Decimal("45.00")))
        link.call_soon(_run(lambda: pbx.far_hangup("sim-1"))).result(5)
        qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=5000)
        w.disposition.setCurrentIndex(w.disposition.findData("order_placed"))
        panel = w.customer_view.order_workflow
        assert panel is not None
        with qtbot.waitSignals([w.contact_saved, panel.loaded], timeout=10_000):
            w.save_contact()
        # The record is read again after the save: the new order, where its workflow is, who took it.
        qtbot.waitUntil(lambda: panel.status is not None and panel.status.history[0].actor_name == "alice",
                        timeout=10_000)
        assert panel.state_label.text().startswith("Now: Submitted")
        assert list(panel.step_buttons) == ["cancel"]
        assert panel.delivery_label.text() == "Not yet sent to the order system"
    finally:
        w.close()
        link.stop()
        orders.close()
        dispose_after_desktop_jobs(engine)
