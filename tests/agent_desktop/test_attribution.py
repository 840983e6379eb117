"""Attribution on the desktop, driven as an agent would, on SQLite and PostgreSQL: a dialer call for
campaign A while the customer also has a higher-priority offer of campaign B. The order and the service
request land on A's work item, its attempt and the contact; each offer shown gets its own result; B's
result closes B's other work items; the export shows it all."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine, select

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.forms import OrderForm
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from bus.messages import AgentStateName
from ccenter.cli import main
from crm import db, repository
from crm.models import (
    Activity,
    Agent,
    Attempt,
    Campaign,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    ServiceRequest,
    Task,
    WorkItem,
    WorkItemStatus,
)
from crm.repository import AgentView, RequestLine
from cti.sim import SimLink, SimPbx
from tests.helpers.desktop_db import dispose_after_desktop_jobs

PHONE = "+14155550100"


def _campaign(s, customer_id: int, key: str, channels: tuple[str, ...], priority: int) -> dict[str, int]:
    campaign = Campaign(campaign_key=key, name=f"Campaign {key}", starts_at=datetime.now(UTC) - timedelta(days=1),
                        dial_mode="progressive", rules={"queue": "sales"}, script=f"Pitch {key}")
    s.add(campaign)
    items = {}
    for channel in channels:
        task = Task(name=channel)
        campaign.activities.append(Activity(channel=channel, tasks=[task]))
        s.flush()
        phone = PHONE if channel == "outbound_call" else None
        item = WorkItem(task_id=task.id, activity_id=task.activity_id, customer_id=customer_id,
                        offer=f"{key} offer", priority=priority, phone_e164=phone)
        s.add(item)
        s.flush()
        items[channel] = item.id
    return items


class Desk:
    def __init__(self, window: AgentWindow, pbx: SimPbx, link: LinkThread, engine: Engine, url: str,
                 customer_id: int, a: dict[str, int], b: dict[str, int]) -> None:
        self.window, self.pbx, self.link, self.engine, self.url = window, pbx, link, engine, url
        self.customer_id, self.a, self.b = customer_id, a, b

    def ring(self, number: str, data: dict[str, object] | None = None) -> None:
        async def arrive() -> None:
            self.pbx.schedule_inbound(self.pbx.now, number, "800", ring="1001", queue="sales",
                                      data=data)  # type: ignore[arg-type]
            self.pbx.advance(self.pbx.now)

        self.link.call_soon(arrive()).result(5)

    def hang_up(self, call_id: str) -> None:
        async def far() -> None:
            self.pbx.far_hangup(call_id)

        self.link.call_soon(far()).result(5)


@pytest.fixture
def desk(qtbot, db_url: str, tmp_path) -> Iterator[Desk]:
    engine = db.connect(db_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        s.add(Agent(id=1, login="alice", name="Alice Morgan", extension="1001"))
        customer = Customer(name="Ada Lovelace", phones=[PhoneNumber(e164=PHONE, is_primary=True)])
        s.add(customer)
        s.flush()
        a = _campaign(s, customer.id, "A", ("outbound_call",), priority=0)
        b = _campaign(s, customer.id, "B", ("inbound_offer", "outbound_call"), priority=9)  # offered first
        customer_id = customer.id
    pbx = SimPbx(extensions=["1001"])
    link = LinkThread(SimLink(pbx))
    link.start()
    window = AgentWindow(agent=AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001"),
                         link=link, directory=CustomerDirectory(factory),
                         outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"), wrap_up_seconds=60)
    qtbot.addWidget(window)
    window.show()
    window.log_on()
    yield Desk(window, pbx, link, engine, db_url, customer_id, a, b)
    window.close()
    link.stop()
    dispose_after_desktop_jobs(engine)


def _combo(box: QWidget) -> list[object]:
    return [box.itemData(i) for i in range(box.count())]  # type: ignore[attr-defined]


def test_a_dialer_calls_order_request_and_results_land_on_the_right_work_items(qtbot, desk: Desk, tmp_path,
                                                                              capsys) -> None:
    w, a, b_offer, b_out = desk.window, desk.a["outbound_call"], desk.b["inbound_offer"], desk.b["outbound_call"]
    factory = db.session_factory(desk.engine)
    with db.transaction(factory) as s:  # the dialer's own record of the dial it placed
        now = datetime.now(UTC)
        repository.record_outbound_attempt(s, a, result="answered", cti_call_id="sim-1", started_at=now,
                                           ended_at=now, next_attempt_at=now + timedelta(days=1))
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring(PHONE, {"work_item_id": str(a), "campaign_key": "A", "offer": "A offer", "dial_mode": "progressive"})
    work = w.work["sim-1"]
    assert [c.work_item_id for c in work.offer_choices()] == [a, b_offer], "B's offer (one row), after the call's"
    assert _combo(w.offer_pick) == [None, a, b_offer] and w.offer_pick.currentData() == a
    assert not w.offer_pick.isEnabled(), "a dialer call works its own work item"
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)

    defaults = work.order_defaults()
    form = OrderForm(list(defaults.products), defaults.currency, defaults.work_item_id, w)
    assert form.product.currentText() == "A offer"
    form.amount.setText("40.00")
    w.add_order(form.line())
    form.deleteLater()
    w.add_request(RequestLine("technical", "Router check"))  # as the request form makes it: no work item
    desk.hang_up("sim-1")
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)

    assert _combo(w.offer_choice) == [a, b_offer] and w.offer_choice.currentData() == a
    w.disposition.setCurrentIndex(w.disposition.findData("order_placed"))
    w.offer_result.setCurrentIndex(w.offer_result.findData("accepted"))
    w.wrap_box.choose_offer(b_offer)
    assert w.offer_result.currentData() == "", "each offer has its own result"
    w.offer_result.setCurrentIndex(w.offer_result.findData("not_interested"))
    w.save_contact()
    assert w.wrap_error.text() == "Say why the customer is not interested."
    w.offer_reason.setText("Has a TV plan")
    w.wrap_box.choose_offer(a)
    assert (w.offer_result.currentData(), w.offer_reason.text()) == ("accepted", "")
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        w.save_contact()
    result = saved.args[0]

    with factory() as s:
        contact = s.get_one(Contact, result.contact_id)
        dial = s.scalars(select(Attempt).where(Attempt.work_item_id == a, Attempt.result == "answered")).one()
        assert (contact.work_item_id, dial.contact_id) == (a, contact.id)
        assert contact.wrap_up_s is not None and contact.wrap_up_s >= 0, "wrap-up time is kept for BI"
        order, request = s.get_one(Order, result.order_ids[0]), s.get_one(ServiceRequest, result.request_ids[0])
        for made in (order, request):
            assert (made.work_item_id, made.attempt_id, made.contact_id) == (a, dial.id, contact.id)
        assert [(i.status, i.result) for i in (s.get_one(WorkItem, a), s.get_one(WorkItem, b_offer))] == [
            (WorkItemStatus.COMPLETED, "accepted"), (WorkItemStatus.COMPLETED, "not_interested")]
        sibling = s.get_one(WorkItem, b_out)
        assert (sibling.status, sibling.result) == (WorkItemStatus.CANCELLED, repository.SIBLING_CLOSED)
        b_campaign = s.scalar(select(Campaign.id).where(Campaign.campaign_key == "B"))
        assert repository.dial_candidates(s, b_campaign, now=datetime.now(UTC)) == [], "B is off the dial list"

    out = tmp_path / "a.csv"
    assert main(["campaign", "export", "A", str(out), "--db", desk.url]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["work_item_id"], r["result"], r["order_ids"], r["service_request_ids"]) for r in rows] == [
        (str(a), "accepted", str(order.id), str(request.id))]
    capsys.readouterr()


def test_an_inbound_calls_request_goes_to_the_offer_the_agent_picks(qtbot, desk: Desk) -> None:
    w, b_offer = desk.window, desk.b["inbound_offer"]
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring(PHONE)
    work = w.work["sim-1"]
    assert w.offer_pick.isEnabled() and w.offer_pick.currentData() is None, "nothing picked for the agent"
    w.offer_pick.setCurrentIndex(w.offer_pick.findData(b_offer))
    assert work.worked_item == b_offer
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)
    w.add_request(RequestLine("billing", "Explain the TV plan"))
    desk.hang_up("sim-1")
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    assert w.offer_choice.currentData() == b_offer
    w.disposition.setCurrentIndex(1)
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        w.save_contact()
    with db.session_factory(desk.engine)() as s:
        request = s.get_one(ServiceRequest, saved.args[0].request_ids[0])
        attempt = s.get_one(Attempt, request.attempt_id)
        assert (request.work_item_id, attempt.work_item_id, attempt.result, attempt.contact_id) == (
            b_offer, b_offer, repository.OFFER_MADE, saved.args[0].contact_id)
        assert s.get_one(WorkItem, desk.b["outbound_call"]).status is WorkItemStatus.PENDING, "no result: still open"
    assert w.offer_pick.currentData() is None and not w.offer_pick.isEnabled(), "the next call starts afresh"
