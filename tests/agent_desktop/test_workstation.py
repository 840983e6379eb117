"""The agent workstation driven as an agent would, on the simulated PBX and a real SQLite database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine, select

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.queues import QueueStatsFeed
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from bus.messages import AgentStateName, QueueStats
from crm import db, repository
from crm.models import Contact, Customer, Order, PhoneNumber, ServiceRequest, Tier, WorkItem, WorkItemStatus
from crm.repository import AgentView, OrderLine, RequestLine
from cti.sim import SimLink, SimPbx
from tests.helpers.desktop_db import dispose_after_desktop_jobs

IVR_DATA = {
    "schema": "ccenter.attached/1",
    "fields": {
        "verified": {"value": True, "type": "bool", "editable": False},
        "intent": {"value": "billing", "type": "str", "editable": True},
        "language": {"value": "en", "type": "str", "editable": False},
        "menu_path": {"value": ["language:English", "main:Billing"], "type": "list", "editable": False},
        "self_service": {"value": ["balance: 30.81 USD"], "type": "list", "editable": False},
        "time_in_ivr_s": {"value": 42.0, "type": "float", "editable": False},
        "notes": {"value": "<b>x</b>", "type": "str", "editable": True},
    },
}


async def _run(fn: Callable[[], object]) -> None:
    fn()


@dataclass
class Desk:
    window: AgentWindow
    pbx: SimPbx
    link: LinkThread
    engine: Engine
    customer_id: int
    work_item_id: int
    queue_stats: QueueStatsFeed

    def on_link(self, fn: Callable[[], object]) -> None:
        """Act on the simulated PBX from the link's own thread, as everything that touches it must."""
        self.link.call_soon(_run(fn)).result(5)

    def at(self, t: float) -> None:
        """Move the simulated PBX's clock to ``t``."""
        self.on_link(lambda: self.pbx.advance(t))

    def ring(self, number: str, *, data: dict[str, object] | None = None, queue: str | None = None) -> None:
        """A call from ``number`` rings the agent's extension, with attached data."""

        def arrive() -> None:  # the data (IVR hand-off, dialer) is on the call before it rings
            self.pbx.schedule_inbound(self.pbx.now, number, "800", ring="1001", queue=queue,
                                      data=data)  # type: ignore[arg-type]
            self.pbx.advance(self.pbx.now)

        self.on_link(arrive)


@pytest.fixture
def desk(qtbot, tmp_path) -> Iterator[Desk]:
    engine = db.connect(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    from tests.crm.test_repository import add_campaign

    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Ada Lovelace", tier=Tier.VIP, language="en", time_zone="Europe/London")
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        s.add(customer)
        s.flush()
        customer_id = customer.id
    work_item_id = add_campaign(engine, customer_id)
    pbx = SimPbx(extensions=["1001", "1002"])
    link = LinkThread(SimLink(pbx))
    link.start()
    agent = AgentView(id=1, login="alice", name="Alice Morgan", role="agent", extension="1001")
    with db.transaction(db.session_factory(engine)) as s:
        from crm.models import Agent, Queue

        s.add(Agent(id=1, login="alice", name="Alice Morgan", extension="1001"))
        s.add(Agent(id=2, login="bob", name="Bob Chen", extension="1002"))
        s.add(Queue(name="retention", dispositions=["saved", "cancelled", "needs_follow_up"]))
    feed = QueueStatsFeed()
    window = AgentWindow(agent=agent, link=link, directory=CustomerDirectory(db.session_factory(engine)),
                         outbox=ContactOutbox(db.session_factory(engine), tmp_path / "outbox.jsonl"),
                         wrap_up_seconds=60, queue_stats=feed, visible_queues={"billing", "vip"})
    qtbot.addWidget(window)
    window.show()
    window.log_on()
    yield Desk(window, pbx, link, engine, customer_id, work_item_id, feed)
    window.close()
    link.stop()
    dispose_after_desktop_jobs(engine)


def test_inbound_call_from_screen_pop_to_saved_contact(qtbot, desk: Desk) -> None:
    w = desk.window
    pops: list[str] = []
    w.screen_popped.connect(pops.append)
    w.go_ready()
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data=IVR_DATA, queue="billing")
    # The customer is on screen before the agent answers, with what the IVR learnt.
    assert w.customer_view.name_label.text() == "Ada Lovelace"
    assert w.customer_view.tier_badge.text() == "VIP"
    assert w.ivr_panel.values["verified"] == "yes" and w.ivr_panel.values["intent"] == "billing"
    assert w.ivr_panel.values["menu_path"] == "English › Billing"  # the options chosen, not "node:option"
    assert w.answer_button.isEnabled() and not w.hold_button.isEnabled()
    assert not w.answer_button.icon().isNull() and not w.hangup_button.icon().isNull()

    qtbot.mouseClick(w.answer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].phase.value == "connected", timeout=5000)
    qtbot.mouseClick(w.hold_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.hold_button.text() == "Retrieve", timeout=5000)
    qtbot.mouseClick(w.hold_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.hold_button.text() == "Hold", timeout=5000)
    assert pops == ["sim-1"], "one screen pop per offered call, not again on answer, hold or retrieve"

    w.add_order(OrderLine("5G upgrade", Decimal("30.00"), work_item_id=desk.work_item_id))
    w.add_request(RequestLine("billing", "Explain roaming charges"))
    assert w.call_items.count() == 2

    desk.on_link(lambda: desk.pbx.far_hangup("sim-1"))
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=5000)
    assert w.wrap_box.isEnabled() and w.wrap_label.isVisible()
    assert not w.ready_button.isEnabled(), "no routing until the contact is saved"
    qtbot.keyClick(w, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert w.disposition.currentData() == "order_placed"
    w.offer_result.setCurrentIndex(w.offer_result.findData("accepted"))
    w.notes.setPlainText("Happy with the upgrade")
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    result = saved.args[0]
    assert result is not None and len(result.order_ids) == 1
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=5000)

    with db.session_factory(desk.engine)() as s:
        contact = s.get_one(Contact, result.contact_id)
        assert (contact.customer_id, contact.disposition, contact.cti_call_id) == (
            desk.customer_id, "order_placed", "sim-1")
        assert contact.notes == "Happy with the upgrade" and contact.queue == "billing"
        assert contact.ivr_data["fields"]["intent"]["value"] == "billing"
        order = s.get_one(Order, result.order_ids[0])
        assert (order.contact_id, order.work_item_id) == (contact.id, desk.work_item_id)
        assert s.scalar(select(ServiceRequest.contact_id)) == contact.id
        item = s.get_one(WorkItem, desk.work_item_id)
        assert (item.status, item.result) == (WorkItemStatus.COMPLETED, "accepted")


def test_blind_transfer_hands_the_call_on_and_starts_wrap_up(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    w.answer()
    qtbot.waitUntil(lambda: w.transfer_button.isEnabled(), timeout=5000)
    w.blind_transfer("1002")
    qtbot.waitUntil(lambda: w.session.state is AgentStateName.WRAP_UP, timeout=5000)
    assert w.session.calls == {}
    assert desk.pbx.parties("sim-1")["1002"].value == "alerting"


def test_consult_then_complete_the_transfer(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    w.answer()
    qtbot.waitUntil(lambda: w.consult_button.isEnabled(), timeout=5000)
    w.consult("1002")
    qtbot.waitUntil(lambda: len(w.session.calls) == 2, timeout=5000)
    assert w.complete_button.isEnabled() and w.conference_button.isEnabled()
    consult_id = next(c for c in w.session.calls if c != "sim-1")
    desk.link.command("answer", consult_id, "1002").result(5)
    w.complete_transfer()
    qtbot.waitUntil(lambda: not w.session.calls, timeout=5000)
    assert desk.pbx.parties("sim-1")["1002"].value == "connected"


def test_unknown_caller_gets_search_and_a_prefilled_new_customer_form(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550999")
    assert w.pop_stack.currentWidget() is w.unknown_panel
    assert w.new_number.text() == "+14155550999"
    assert w.unknown_label.text() == "No customer has the number +14155550999."
    w.new_name.setText("Grace Hopper")
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        qtbot.mouseClick(w.findChild(type(w.answer_button), "createCustomer"), Qt.MouseButton.LeftButton)
    assert w.customer_view.name_label.text() == "Grace Hopper"
    with db.session_factory(desk.engine)() as s:
        assert [c.name for c in repository.find_customers_by_phone(s, "+14155550999")] == ["Grace Hopper"]


def test_several_matches_offer_a_chooser_and_the_call_can_be_relinked(qtbot, desk: Desk) -> None:
    with db.transaction(db.session_factory(desk.engine)) as s:
        twin = repository.create_customer(s, name="Ada's brother", phone="+14155550100")
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    assert w.pop_stack.currentIndex() == 2 and w.chooser.count() == 2
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        w.chooser.itemActivated.emit(w.chooser.item(1))
    assert w.work["sim-1"].customer_id == twin
    assert w.customer_view.name_label.text() == "Ada's brother"


def test_ivr_text_is_shown_as_plain_text(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data=IVR_DATA)
    # An editable field is an input (plain text by nature); a read-only one a plain-text label.
    notes = w.ivr_panel.inputs["notes"]
    assert notes.objectName() == "ivr_notes" and notes.text() == "<b>x</b>"
    label = w.ivr_panel.findChild(type(w.status), "ivr_menu_path")
    assert label is not None and label.textFormat() == Qt.TextFormat.PlainText
    data = {"schema": "ccenter.attached/1", "fields": {
        "account": {"value": "<img src=x>", "type": "str", "editable": False,
                    "set_by": {"kind": "ivr", "name": "<b>node</b>"}, "at": 1764000000.0}}}
    w.ivr_panel.show_data(data)
    shown = w.ivr_panel.findChild(type(w.status), "ivr_account")
    source = w.ivr_panel.findChild(type(w.status), "ivrSource_account")
    assert shown.text() == "<img src=x>" and shown.textFormat() == Qt.TextFormat.PlainText
    assert "<b>node</b>" in source.text() and source.textFormat() == Qt.TextFormat.PlainText


def test_refused_commands_are_shown_and_dial_validates_numbers(qtbot, desk: Desk) -> None:
    w = desk.window
    w.dial_box.setText("not a number")
    w.dial()
    assert w.status.text() == "not a phone number: 'not a number'"
    with qtbot.waitSignal(w.message_shown, timeout=5000) as shown:
        desk.link.command("answer", "sim-404", "1001")
    assert shown.args[0].startswith("Answer failed: no live call 'sim-404'")


def test_preview_outbound_call_from_preview_to_saved_attempt(qtbot, desk: Desk) -> None:
    from datetime import UTC, datetime, timedelta

    from crm.models import Attempt
    from tests.crm.test_repository import _outbound_item

    item_id = _outbound_item(desk.engine, desk.customer_id, "+14155550100")
    w = desk.window
    with qtbot.waitSignal(w.preview_loaded, timeout=10_000) as loaded:
        qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert loaded.args[0].work_item_id == item_id
    assert "first attempt" in w.preview_label.text() and w.preview_dial.isEnabled()
    qtbot.waitUntil(lambda: w.customer_view.name_label.text() == "Ada Lovelace", timeout=5000)
    assert w.customer_view.script.toPlainText() == "Pitch it"

    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        qtbot.mouseClick(w.preview_dial, Qt.MouseButton.LeftButton)
    call_id = next(iter(w.session.calls))
    assert w.work[call_id].work_item_id == item_id and w.session.calls[call_id].outbound
    desk.at(desk.pbx.now + 6)  # the far end answers after its scripted delay
    qtbot.waitUntil(lambda: w.session.calls[call_id].answered_at is not None, timeout=5000)
    w.hang_up()
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    w.disposition.setCurrentIndex(w.disposition.findData("resolved"))
    w.offer_result.setCurrentIndex(w.offer_result.findData("not_interested"))
    w.save_contact()
    assert w.wrap_error.text() == "Say why the customer is not interested."
    w.offer_reason.setText("Happy with the current plan")
    with qtbot.waitSignal(w.contact_saved, timeout=10_000):
        w.save_contact()
    with db.session_factory(desk.engine)() as s:
        item = s.get_one(WorkItem, item_id)
        assert (item.status, item.result, item.reason) == (
            WorkItemStatus.COMPLETED, "not_interested", "Happy with the current plan")
        results = sorted(s.scalars(select(Attempt.result).where(Attempt.work_item_id == item_id)))
        assert results == ["dial_answered", "offer_not_interested"]
        later = repository.next_preview_item(s, agent_id=1, now=datetime.now(UTC) + timedelta(days=1))
        assert later is None


def test_preview_skip_needs_a_reason_and_moves_on(qtbot, desk: Desk) -> None:
    from tests.crm.test_repository import _outbound_item

    first = _outbound_item(desk.engine, desk.customer_id, "+14155550100")
    w = desk.window
    with qtbot.waitSignal(w.preview_loaded, timeout=10_000):
        w.load_preview()
    assert w.preview is not None and w.preview.work_item_id == first
    with qtbot.waitSignal(w.preview_loaded, timeout=10_000) as loaded:
        w.skip_preview("Customer asked for next week")
    assert loaded.args[0] is None and w.preview_label.text() == "No outbound call is due now."


def test_the_customer_window_relinks_the_live_call(qtbot, desk: Desk) -> None:
    from agent_desktop.customer_window import CustomerWindow

    with db.transaction(db.session_factory(desk.engine)) as s:
        other = repository.create_customer(s, name="Grace Hopper", phone="+14155550177")
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    customers = CustomerWindow(w.directory)
    qtbot.addWidget(customers)
    customers.customer_chosen.connect(w.relink)
    customers.search_box.setText("Grace")
    with qtbot.waitSignal(customers.customer_loaded, timeout=10_000):
        customers.search_now()
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        qtbot.mouseClick(customers.use_button, Qt.MouseButton.LeftButton)
    assert w.work["sim-1"].customer_id == other
    assert w.customer_view.name_label.text() == "Grace Hopper"


def test_the_layout_is_remembered(qtbot, desk: Desk) -> None:
    w = desk.window
    w.splitter.setSizes([250, 1100])
    sizes = w.splitter.sizes()
    w.close()
    again = AgentWindow(agent=w.agent, link=desk.link, directory=w.directory, outbox=w.outbox)
    qtbot.addWidget(again)
    again.show()
    assert again.splitter.sizes()[0] == sizes[0]  # the agent's left pane, as they left it


def test_the_state_bar_shows_the_agents_queues_and_a_lost_link(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(desk.queue_stats.updated, timeout=5000):
        desk.queue_stats.publish(QueueStats(queue="billing", ts=1, waiting=2, longest_wait_s=65))
    desk.queue_stats.publish(QueueStats(queue="sales", ts=1, waiting=7))
    qtbot.waitUntil(lambda: w.queue_label.text() == "billing: 2 waiting (1:05)", timeout=5000)
    w.link.link_down.emit("connection refused")
    assert w.link_label.text() == "Telephony link lost: connection refused"
    assert w.session.state is not AgentStateName.LOGGED_OFF, "the session survives the link drop"
    w.link.link_up.emit()
    assert w.link_label.text() == ""


def test_wrap_up_uses_the_queues_dispositions_and_schedules_a_callback(qtbot, desk: Desk) -> None:
    from datetime import UTC, datetime, timedelta

    from PySide6.QtCore import QDateTime

    w = desk.window
    qtbot.waitUntil(lambda: "retention" in w.queue_dispositions, timeout=5000)
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", queue="retention")
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)
    desk.on_link(lambda: desk.pbx.far_hangup("sim-1"))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    assert [w.disposition.itemData(i) for i in range(w.disposition.count())] == [
        "", "saved", "cancelled", "needs_follow_up"]
    qtbot.keyClick(w, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert w.disposition.currentData() == "needs_follow_up"
    qtbot.keyClick(w, Qt.Key.Key_9, Qt.KeyboardModifier.AltModifier)  # no ninth code here: nothing changes
    assert w.disposition.currentData() == "needs_follow_up"
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    w.callback.setChecked(True)
    w.callback_at.setDateTime(QDateTime.fromSecsSinceEpoch(int(at.timestamp())))
    with qtbot.waitSignal(w.contact_saved, timeout=10_000):
        w.save_contact()
    with db.session_factory(desk.engine)() as s:
        assert repository.next_preview_item(s, agent_id=1, now=at - timedelta(minutes=1)) is None
        due = repository.next_preview_item(s, agent_id=1, now=at + timedelta(minutes=1))
        assert due is not None and (due.campaign_key, due.phone) == (repository.CALLBACKS_CAMPAIGN, "+14155550100")
        assert repository.next_preview_item(s, agent_id=2, now=at + timedelta(minutes=1)) is None  # alice's own


def test_do_not_call_me_at_wrap_up_stops_every_campaign_at_once(qtbot, desk: Desk) -> None:
    from datetime import UTC, datetime

    from crm import dnc
    from crm.campaigns.eligibility import ConsentState
    from crm.consent import consent_state
    from crm.models import DoNotCall
    from tests.crm.test_repository import _outbound_item

    with db.transaction(db.session_factory(desk.engine)) as s:
        s.add(PhoneNumber(customer_id=desk.customer_id, e164="+442079460000"))  # a second number of Ada's
    item_id = _outbound_item(desk.engine, desk.customer_id, "+14155550100")
    with db.session_factory(desk.engine)() as s:
        due = repository.next_preview_item(s, agent_id=None)
        assert due is not None and due.work_item_id == item_id
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", queue="billing")
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)
    desk.on_link(lambda: desk.pbx.far_hangup("sim-1"))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    w.disposition.setCurrentIndex(w.disposition.findData("resolved"))
    w.callback.setChecked(True)
    w.wrap_box.do_not_call.setChecked(True)
    w.save_contact()
    assert w.wrap_error.text() == "A customer who asks not to be called gets no callback."
    w.callback.setChecked(False)
    with qtbot.waitSignal(w.contact_saved, timeout=10_000):
        w.save_contact()
    assert not w.wrap_box.do_not_call.isChecked(), "the next call starts with the box clear"
    now = datetime.now(UTC)
    with db.session_factory(desk.engine)() as s:
        assert dnc.blocked(s, ["+14155550100", "+442079460000"], now=now) == {"+14155550100", "+442079460000"}
        assert set(s.scalars(select(DoNotCall.source))) == {dnc.AGENT_SOURCE}
        assert consent_state(s, desk.customer_id, "outbound_call") is ConsentState.REFUSED
        assert repository.next_preview_item(s, agent_id=None, now=now) is None


def test_transfer_offers_the_agent_directory(qtbot, desk: Desk, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    w = desk.window
    qtbot.waitUntil(lambda: w.transfer_targets == [("Bob Chen (1002)", "1002")], timeout=5000)
    offered: list[list[str]] = []

    def choose(_parent, _title, _label, items, _current, _editable):
        offered.append(list(items))
        return "Bob Chen (1002)", True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    assert w._ask_number("Transfer") == "1002"
    assert offered == [["Bob Chen (1002)"]]


def test_the_supervisor_view_is_for_supervisors(qtbot, desk: Desk) -> None:
    from dataclasses import replace

    w = desk.window
    assert not w.findChild(type(w.answer_button), "supervisorButton").isVisible()
    boss = AgentWindow(agent=replace(w.agent, role="supervisor"), link=desk.link, directory=w.directory,
                       outbox=w.outbox)
    qtbot.addWidget(boss)
    boss.show()
    assert boss.findChild(type(w.answer_button), "supervisorButton").isVisible()


def test_a_dialer_call_arrives_connected_to_its_work_item(qtbot, desk: Desk) -> None:
    """A progressive or predictive call: the dialer placed it, the ACD delivered it; the agent sees the
    campaign and records the offer result on the right work item."""
    from crm.models import Attempt, Campaign, Channel

    with db.transaction(db.session_factory(desk.engine)) as s:  # the campaign brings its own codes
        campaign = s.scalars(select(Campaign).where(Campaign.campaign_key == "Q4")).one()
        campaign.rules = {**campaign.rules, "dispositions": ["sale", "no_sale", "call_back"]}
    w = desk.window
    w._run(w.directory.campaign_dispositions, done=w._on_campaign_dispositions)
    qtbot.waitUntil(lambda: "Q4" in w.campaign_dispositions, timeout=5000)
    dialer_data = {"work_item_id": str(desk.work_item_id), "campaign_key": "Q4", "offer": "5G upgrade",
                   "dial_mode": "progressive"}
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100", data=dialer_data, queue="sales")
    assert w.work["sim-1"].work_item_id == desk.work_item_id
    assert w.ivr_panel.values["campaign_key"] == "Q4" and "work_item_id" not in w.ivr_panel.values
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)
    desk.on_link(lambda: desk.pbx.far_hangup("sim-1"))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=5000)
    assert [w.disposition.itemData(i) for i in range(1, w.disposition.count())] == ["sale", "no_sale", "call_back"]
    w.disposition.setCurrentIndex(w.disposition.findData("sale"))
    w.offer_result.setCurrentIndex(w.offer_result.findData("accepted"))
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        w.save_contact()
    with db.session_factory(desk.engine)() as s:
        contact = s.get_one(Contact, saved.args[0].contact_id)
        assert contact.disposition == "sale"
        assert contact.channel is Channel.VOICE_OUT and contact.work_item_id == desk.work_item_id
        assert s.get_one(WorkItem, desk.work_item_id).result == "accepted"
        results = sorted(s.scalars(select(Attempt.result).where(Attempt.work_item_id == desk.work_item_id)))
        assert results == ["offer_accepted"], "the dialer records its own dial; the desktop only the offer"


def test_mute_follows_the_call_and_the_link(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    assert not w.mute_button.isEnabled(), "nothing to mute while it rings"
    w.answer()
    qtbot.waitUntil(lambda: w.mute_button.isEnabled(), timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: desk.pbx.muted("sim-1") == {"1001"}, timeout=5000)
    assert w.mute_button.isChecked() and w.mute_button.text() == "Unmute"
    qtbot.mouseClick(w.mute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desk.pbx.muted("sim-1") == set(), timeout=5000)
    assert not w.mute_button.isChecked() and w.mute_button.text() == "Mute"
    assert "mute" not in w.session.actions(frozenset({"answer", "hangup", "hold"}))


def test_a_call_that_ended_while_events_were_lost_leaves_the_screen(qtbot, desk: Desk) -> None:
    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    w.answer()
    qtbot.waitUntil(lambda: w.session.calls["sim-1"].answered_at is not None, timeout=5000)

    def lose_the_hangup() -> None:  # the caller hangs up while the desktop hears nothing
        listener = desk.pbx.listener
        desk.pbx.listener = lambda _event: None
        desk.pbx.far_hangup("sim-1")
        desk.pbx.listener = listener

    desk.on_link(lose_the_hangup)
    assert "sim-1" in w.session.calls
    w.link.link_up.emit()  # the link is back: the desktop checks its calls
    qtbot.waitUntil(lambda: not w.session.calls, timeout=5000)
    assert w.wrap_up_work is not None, "the answered call still gets its wrap-up"
    assert w.status.text() == "Call ended: ended while the link was down"


def test_the_keypad_asks_for_digits_from_its_button_and_its_shortcut(qtbot, desk: Desk, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    w = desk.window
    with qtbot.waitSignal(w.screen_popped, timeout=10_000):
        desk.ring("+14155550100")
    w.answer()
    qtbot.waitUntil(lambda: w.keypad_button.isEnabled(), timeout=5000)
    typed = iter(["12", "3#"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *_args: (next(typed), True))
    qtbot.mouseClick(w.keypad_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desk.pbx.dtmf_sent("sim-1") == "12", timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: desk.pbx.dtmf_sent("sim-1") == "123#", timeout=5000)
