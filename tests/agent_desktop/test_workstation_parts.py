"""The workstation's parts on their own: each shows what it is given and forwards what the agent asks."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from agent_desktop.call_panel import CallPanel
from agent_desktop.preview_bar import PreviewBar
from agent_desktop.screen_pop import CHOOSER, UNKNOWN, ScreenPopView
from agent_desktop.session import Action, AgentCall, CallPhase
from agent_desktop.softphone import Softphone
from agent_desktop.state_bar import StateBar
from bus.messages import AgentStateName
from crm.models import Tier
from crm.repository import AttemptView, CustomerSummary, OrderLine, PreviewItem, RequestLine


def test_the_softphone_shows_the_call_and_enables_exactly_what_the_session_allows(qtbot) -> None:
    phone = Softphone()
    qtbot.addWidget(phone)
    phone.show_call(None, 0.0, set(), muted=False)
    assert phone.call_label.text() == "No call"
    assert not any(b.isEnabled() for b in (phone.answer_button, phone.hangup_button, phone.hold_button,
                                           phone.mute_button, phone.dial_button))
    held = AgentCall("c1", CallPhase.HELD, "+14155550100", "800", False, {}, "billing", 10.0, answered_at=20.0)
    phone.show_call(held, 95.0, {Action.RETRIEVE, Action.HANGUP, Action.MUTE}, muted=True)
    assert phone.call_label.text() == "On hold  ·  +1 415-555-0100  ·  billing  ·  1:15"
    assert phone.hold_button.text() == "Retrieve" and phone.hold_button.isEnabled()
    assert phone.hangup_button.isEnabled() and not phone.answer_button.isEnabled()
    assert phone.mute_button.isChecked() and phone.mute_button.text() == "Unmute"
    with qtbot.waitSignal(phone.hold_requested, timeout=1000):
        qtbot.mouseClick(phone.hold_button, Qt.MouseButton.LeftButton)
    with qtbot.assertNotEmitted(phone.answer_requested):
        qtbot.mouseClick(phone.answer_button, Qt.MouseButton.LeftButton)  # disabled: nothing to answer
    with qtbot.waitSignal(phone.dial_requested, timeout=1000):
        qtbot.keyClick(phone.dial_box, Qt.Key.Key_Return)


def test_the_state_bar_shows_the_state_and_forwards_a_not_ready_reason(qtbot) -> None:
    bar = StateBar(("Break", "Lunch"), supervisor=False)
    qtbot.addWidget(bar)
    bar.show()
    bar.show_state(AgentStateName.NOT_READY, "lunch", 3725, can_ready=True, can_not_ready=False)
    assert bar.state_label.text() == "Not ready — Lunch  ·  1:02:05"
    assert bar.state_label.property("state") == "not_ready"
    assert bar.ready_button.isEnabled() and not bar.not_ready_button.isEnabled()
    assert not bar.supervisor_button.isVisible()
    bar.show_wrap_up(False, 12, can_end=True)
    assert not bar.wrap_label.isVisible() and not bar.done_button.isEnabled()
    bar.show_wrap_up(True, 12, can_end=False)
    assert bar.wrap_label.text() == "Wrap-up 0:12" and bar.extend_button.isVisible()
    assert not bar.done_button.isEnabled(), "an unsaved contact keeps the agent in wrap-up"
    with qtbot.waitSignal(bar.not_ready_requested, timeout=1000) as chosen:
        bar.not_ready_button.menu().actions()[1].trigger()
    assert chosen.args == ["Lunch"]
    with qtbot.waitSignal(bar.wrap_up_extension_requested, timeout=1000) as extended:
        qtbot.mouseClick(bar.extend_button, Qt.MouseButton.LeftButton)
    assert extended.args == [30]
    bar.show_pending(2)
    assert bar.pending_label.text() == "2 contact(s) waiting for the database"
    bar.show_link("refused")
    assert bar.link_label.text() == "Telephony link lost: refused" and bar.link_label.property("problem")
    bar.show_link(None)
    assert bar.link_label.text() == "" and not bar.link_label.property("problem")


def test_the_screen_pop_offers_the_matches_and_a_new_customer(qtbot) -> None:
    pop = ScreenPopView()
    qtbot.addWidget(pop)
    twins = [CustomerSummary(3, "Ada Lovelace", Tier.VIP, "en", ("+14155550100",)),
             CustomerSummary(4, "Ada's brother", Tier.GOLD, "en", ("+14155550100",))]
    pop.show_choices(twins)
    assert pop.currentIndex() == CHOOSER and pop.chooser.item(1).text() == "Ada's brother · Gold · +1 415-555-0100"
    with qtbot.waitSignal(pop.customer_chosen, timeout=1000) as chosen:
        pop.chooser.itemActivated.emit(pop.chooser.item(1))
    assert chosen.args == [4]
    pop.show_unknown("+14155550999")
    assert pop.currentIndex() == UNKNOWN and pop.new_number.text() == "+14155550999"
    with qtbot.assertNotEmitted(pop.search_requested):
        qtbot.keyClick(pop.unknown_search, Qt.Key.Key_Return)  # nothing typed: nothing to search
    pop.new_name.setText("  Grace Hopper ")
    with qtbot.waitSignal(pop.create_requested, timeout=1000) as created:
        qtbot.mouseClick(pop.findChild(QPushButton, "createCustomer"), Qt.MouseButton.LeftButton)
    assert created.args == ["Grace Hopper", "+14155550999"]


def test_the_preview_bar_shows_the_call_due_and_what_can_be_done_with_it(qtbot) -> None:
    bar = PreviewBar()
    qtbot.addWidget(bar)
    bar.show_preview(None)
    assert bar.preview_label.text() == "No outbound call is due now."
    item = PreviewItem(41, 7, "+14155550100", "OUT-7", "Outbound", "Fibre", "Pitch it",
                       (AttemptView(datetime(2026, 3, 1, tzinfo=UTC), "no_answer", None),))
    bar.show_preview(item)
    assert bar.preview_label.text() == "Outbound · Fibre · +1 415-555-0100 · No answer"
    bar.enable(idle=True, has_preview=True, can_dial=False)
    assert bar.next_button.isEnabled() and not bar.dial_button.isEnabled() and bar.skip_button.isEnabled()
    bar.enable(idle=False, has_preview=True, can_dial=True)
    assert not any(b.isEnabled() for b in (bar.next_button, bar.dial_button, bar.skip_button, bar.schedule_button))
    bar.show_calling(item.phone)
    assert bar.preview_label.text() == "Calling +1 415-555-0100…"


def test_the_call_panel_lists_what_was_created_and_opens_the_wrap_up_only_after_the_call(qtbot) -> None:
    panel = CallPanel(("resolved",))
    qtbot.addWidget(panel)
    panel.start_call({"intent": "billing"})
    panel.show_order(OrderLine("5G upgrade", quantity=2, currency="GBP"))
    panel.show_request(RequestLine("billing", "Explain roaming charges"))
    assert [panel.call_items.item(i).text() for i in range(panel.call_items.count())] == [
        "Order: 5G upgrade × 2, 0.00 GBP", "Service request: Explain roaming charges (Billing)"]
    panel.enable(customer_known=False, wrapping_up=False)
    assert not panel.order_button.isEnabled() and not panel.wrap_box.isEnabled()
    panel.enable(customer_known=True, wrapping_up=True)
    assert panel.request_button.isEnabled() and panel.wrap_box.isEnabled()
    with qtbot.waitSignal(panel.save_requested, timeout=1000):
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    panel.start_call({})
    assert panel.call_items.count() == 0 and panel.ivr_panel.values == {}


def test_the_softphone_names_the_caller_as_the_network_gave_the_name(qtbot) -> None:
    phone = Softphone()
    qtbot.addWidget(phone)
    ringing = AgentCall("c1", CallPhase.RINGING, "+8613800138000", "800", False, {}, None, 10.0, calling_name="王小明")
    phone.show_call(ringing, 12.0, {Action.ANSWER}, muted=False)
    assert phone.call_label.text().startswith("Ringing  ·  王小明 +86 ")
