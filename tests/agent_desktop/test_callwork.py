"""The work of a call, driven without a window or a QApplication: calls, customers and answers in,
the contact record out."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agent_desktop.callwork import (
    AgentWork,
    CallWork,
    FailedDial,
    WrapUpAnswers,
    WrapUpProblem,
    attached_values,
    dialled_item,
)
from agent_desktop.session import AgentCall, CallPhase
from crm.models import Channel, Tier, WorkItemStatus
from crm.repository import (
    AccountView,
    Customer360,
    CustomerProfile,
    OfferResult,
    OfferView,
    OrderLine,
    PreviewItem,
    RequestLine,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IVR_DATA = {
    "schema": "ccenter.attached/1",
    "fields": {
        "verified": {"value": True, "type": "bool", "editable": False},
        "intent": {"value": "billing", "type": "str", "editable": True},
        "customer_id": {"value": 7, "type": "int", "editable": False},
    },
}


@pytest.fixture(autouse=True)
def _isolated_qt_settings() -> None:
    """The work model needs no Qt: these tests take no QApplication (overrides the package's fixture)."""


@pytest.fixture(autouse=True)
def _no_leaked_windows() -> None:
    """No windows here (overrides the package's fixture, which needs a QApplication)."""


def call(call_id: str = "c1", *, calling: str | None = "+14155550100", called: str | None = "800",
         outbound: bool = False, data: dict[str, Any] | None = None, queue: str | None = "billing",
         phase: CallPhase = CallPhase.RINGING) -> AgentCall:
    return AgentCall(call_id, phase, calling, called, outbound, data or {}, queue, offered_at=0.0)


def offer(work_item_id: int, product: str | None = "5G upgrade") -> OfferView:
    return OfferView(work_item_id, "Q4", "Campaign Q4", "inbound_offer", product, "Pitch it",
                     WorkItemStatus.PENDING, 0)


def customer(customer_id: int = 7, *, offers: tuple[OfferView, ...] = (), currency: str | None = "GBP") -> Customer360:
    accounts = (AccountView("A-1", "active", "5G", Decimal("12.00"), currency),) if currency else ()
    profile = CustomerProfile(customer_id, "Ada Lovelace", Tier.VIP, None, "en", "Europe/London", None,
                              ("+14155550100",), accounts, NOW - timedelta(days=400))
    return Customer360(profile, (), (), (), offers, ())


def preview(work_item_id: int = 41, phone: str = "+14155550100") -> PreviewItem:
    return PreviewItem(work_item_id, 7, phone, "OUT-7", "Outbound", "Fibre", "Pitch it", ())


# --- the screen pop ---------------------------------------------------------------------------------


def test_an_ivr_call_names_its_customer_and_what_the_caller_wants() -> None:
    work = AgentWork(("resolved",)).popped(call(data=IVR_DATA), NOW)
    assert (work.wanted_customer, work.intent, work.number) == (7, "billing", "+14155550100")
    assert work.shown_data == IVR_DATA
    assert (work.work_item_id, work.campaign_key, work.started_at) == (None, None, NOW)
    assert work.channel is Channel.VOICE_IN


@pytest.mark.expect_log(logging.WARNING, "agent_desktop.callwork", match="customer id that is not a number")
def test_a_customer_id_that_is_not_a_number_falls_back_to_the_callers_number(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent_desktop.callwork"):
        work = CallWork.popped(call(data={"customer_id": "seven"}), NOW)
    assert work.wanted_customer is None and work.number == "+14155550100"
    assert [r.getMessage() for r in caplog.records] == [
        "call c1 carries a customer id that is not a number: 'seven'"]
    caplog.clear()


def test_the_preview_call_the_agent_dialled_brings_its_work_item_and_customer() -> None:
    book = AgentWork(())
    book.dialed_preview = preview()
    other = book.popped(call("c0", calling="1001", called="+14155550999", outbound=True), NOW)
    assert other.work_item_id is None and book.dialed_preview is not None, "another number is another call"
    work = book.popped(call("c1", calling="1001", called="+14155550100", outbound=True, data={"x": 1}), NOW)
    assert book.dialed_preview is None
    assert (work.work_item_id, work.campaign_key, work.wanted_customer) == (41, "OUT-7", 7)
    assert work.shown_data == {"campaign": "Outbound", "offer": "Fibre"}
    assert work.number == "+14155550100" and work.channel is Channel.VOICE_OUT


def test_a_dialer_call_carries_its_work_item_even_when_the_data_comes_late() -> None:
    book = AgentWork(())
    work = book.popped(call(data={"work_item_id": "12", "campaign_key": "Q4", "dial_mode": "progressive"}), NOW)
    assert (work.work_item_id, work.campaign_key) == (12, "Q4")
    late = book.popped(call("c2"), NOW)
    assert late.work_item_id is None
    assert book.changed(call("c2", phase=CallPhase.CONNECTED, data={"work_item_id": 13})) is late
    assert late.work_item_id == 13 and late.shown_data == {"work_item_id": 13}
    assert late.call.phase is CallPhase.CONNECTED and late.channel is Channel.VOICE_OUT
    assert book.changed(call("unknown")) is None


@pytest.mark.parametrize(("data", "item"), [
    ({"work_item_id": "12"}, 12), ({"work_item_id": 12}, 12), ({"work_item_id": "12a"}, None),
    ({"work_item_id": None}, None), ({}, None), ({"work_item_id": [1]}, None),
    ({"schema": "ccenter.attached/1", "fields": {"work_item_id": {"value": "5"}}}, 5),
])
def test_the_dialers_work_item_is_read_from_either_form_of_attached_data(data: dict[str, Any],
                                                                          item: int | None) -> None:
    assert dialled_item(data) == item


def test_attached_values_reads_the_schema_and_flat_data() -> None:
    assert attached_values(IVR_DATA) == {"verified": True, "intent": "billing", "customer_id": 7}
    assert attached_values({"schema": "other", "intent": "x"}) == {"intent": "x"}


# --- orders, requests and offers ----------------------------------------------------------------------


def test_a_new_order_starts_from_the_first_offer_and_the_customers_currency() -> None:
    work = CallWork.popped(call(data={"work_item_id": "12"}), NOW)
    work.link_customer(customer(offers=(offer(30), offer(31, "TV"))))
    defaults = work.order_defaults()
    assert (defaults.products, defaults.currency, defaults.work_item_id) == (("5G upgrade",), "GBP", 30)
    assert work.offer_work_item == 12, "an offer result goes on the call's own work item first"
    work.link_customer(customer(offers=(), currency=None))
    assert work.order_defaults() == type(defaults)((), "USD", None)


def test_the_offer_result_goes_on_the_customers_first_offer_without_a_campaign_call() -> None:
    work = CallWork.popped(call(), NOW)
    assert work.offer_work_item is None
    work.link_customer(customer(offers=(offer(30), offer(31))))
    assert work.customer_id == 7
    assert work.offer_work_item == 30


# --- wrap-up ------------------------------------------------------------------------------------------


def _inbound_with_offer() -> CallWork:
    work = CallWork.popped(call(data=IVR_DATA), NOW)
    work.link_customer(customer(offers=(offer(30),)))
    return work


@pytest.mark.parametrize(("answers", "problem"), [
    (WrapUpAnswers(None), WrapUpProblem.NO_DISPOSITION),
    (WrapUpAnswers("resolved"), None),
    (WrapUpAnswers("resolved", "accepted"), None),
    (WrapUpAnswers("resolved", "not_interested"), WrapUpProblem.NO_REASON),
    (WrapUpAnswers("resolved", "not_interested", "Too dear"), None),
    (WrapUpAnswers("resolved", callback_at=NOW), WrapUpProblem.CALLBACK_PASSED),
    (WrapUpAnswers("resolved", callback_at=NOW + timedelta(hours=1)), None),
])
def test_wrap_up_answers_are_checked(answers: WrapUpAnswers, problem: WrapUpProblem | None) -> None:
    assert _inbound_with_offer().problem(answers, NOW) is problem


def test_an_offer_result_or_a_callback_needs_someone_to_record_it_on() -> None:
    work = CallWork.popped(call(), NOW)
    assert work.problem(WrapUpAnswers("resolved", "accepted"), NOW) is WrapUpProblem.NO_OFFER
    later = NOW + timedelta(hours=1)
    assert work.problem(WrapUpAnswers("resolved", callback_at=later), NOW) is WrapUpProblem.CALLBACK_UNKNOWN_CUSTOMER
    with pytest.raises(ValueError, match="no_offer"):
        work.record(WrapUpAnswers("resolved", "accepted"), agent_id=1, ended_at=NOW)


def test_an_inbound_call_becomes_the_contact_record_with_everything_done_on_it() -> None:
    work = _inbound_with_offer()
    order = OrderLine("5G upgrade", Decimal("30.00"), work_item_id=30)
    request = RequestLine("billing", "Explain roaming charges")
    work.add_order(order)
    work.add_request(request)
    ended = NOW + timedelta(minutes=4)
    record = work.record(WrapUpAnswers("order_placed", "accepted", None, ended + timedelta(days=1), "Happy"),
                         agent_id=1, ended_at=ended)
    assert record.client_ref == work.client_ref and len(record.client_ref) == 32
    assert (record.channel, record.started_at, record.ended_at) == (Channel.VOICE_IN, NOW, ended)
    assert (record.disposition, record.customer_id, record.agent_id, record.queue, record.cti_call_id) == (
        "order_placed", 7, 1, "billing", "c1")
    assert record.ivr_data == IVR_DATA and record.ivr_data is not IVR_DATA
    assert (record.orders, record.requests, record.notes) == ((order,), (request,), "Happy")
    assert record.offer_results == (OfferResult(30, "accepted", None),)
    assert (record.work_item_id, record.dial_result) == (None, None)
    assert (record.callback_at, record.callback_phone) == (ended + timedelta(days=1), "+14155550100")


def test_the_agents_own_preview_dial_is_recorded_and_the_dialers_is_not() -> None:
    book = AgentWork(())
    book.dialed_preview = preview()
    own = book.popped(call("c1", calling="1001", called="+14155550100", outbound=True), NOW)
    record = own.record(WrapUpAnswers("resolved", "not_interested", "Happy with the current plan"),
                        agent_id=1, ended_at=NOW)
    assert (record.channel, record.work_item_id, record.dial_result) == (Channel.VOICE_OUT, 41, "answered")
    assert record.offer_results == (OfferResult(41, "not_interested", "Happy with the current plan"),)
    assert record.callback_phone == "+14155550100"
    dialer = book.popped(call("c2", data={"work_item_id": "12"}), NOW)
    record = dialer.record(WrapUpAnswers("sale", "accepted"), agent_id=1, ended_at=NOW)
    assert (record.channel, record.work_item_id, record.dial_result) == (Channel.VOICE_OUT, 12, None)
    assert record.offer_results == (OfferResult(12, "accepted", None),)


# --- the agent's calls ------------------------------------------------------------------------------


def test_a_handled_call_goes_to_wrap_up_and_an_unanswered_campaign_call_is_a_failed_dial() -> None:
    book = AgentWork(("resolved",))
    book.popped(call("c1"), NOW)
    ended = call("c1", phase=CallPhase.CONNECTED)
    assert book.ended(ended, "normal", handled=True) is None
    assert book.wrap_up is not None and book.wrap_up.call is ended and book.live == {}
    assert book.for_call("c1") is book.wrap_up and book.current(None) is book.wrap_up

    book.popped(call("c2", data={"work_item_id": "12"}), NOW)
    assert book.ended(call("c2"), "busy", handled=False) == FailedDial(12, "busy")
    book.popped(call("c3", data={"work_item_id": "13"}), NOW)
    assert book.ended(call("c3"), None, handled=False) == FailedDial(13, "failed")
    book.popped(call("c4"), NOW)
    assert book.ended(call("c4"), "busy", handled=False) is None, "no campaign, nothing to record"
    assert book.ended(call("nobody"), None, handled=True) is None
    assert book.wrap_up.call.call_id == "c1", "an unanswered call leaves the wrap-up as it was"
    book.saved()
    assert book.wrap_up is None and book.for_call("c1") is None


def test_the_live_primary_call_is_the_current_work_before_the_wrap_up() -> None:
    book = AgentWork(())
    book.popped(call("c1"), NOW)
    book.ended(call("c1"), None, handled=True)
    live = book.popped(call("c2"), NOW)
    assert book.current(call("c2")) is live and book.current(call("elsewhere")) is book.wrap_up


def test_wrap_up_codes_are_the_campaigns_then_the_queues_then_the_desktops() -> None:
    book = AgentWork(("resolved", "escalated"))
    book.queue_dispositions = {"retention": ("saved", "cancelled")}
    book.campaign_dispositions = {"Q4": ("sale", "no_sale")}
    assert book.wrap_up_dispositions("billing") == ("resolved", "escalated")
    assert book.wrap_up_dispositions("retention") == ("saved", "cancelled")
    book.popped(call("c1", data={"campaign_key": "Q4"}, queue="retention"), NOW)
    book.ended(call("c1", queue="retention"), None, handled=True)
    assert book.wrap_up_dispositions("retention") == ("sale", "no_sale")
    book.popped(call("c2", data={"campaign_key": "Q5"}), NOW)
    book.ended(call("c2"), None, handled=True)
    assert book.wrap_up_dispositions(None) == ("resolved", "escalated"), "a campaign without codes of its own"


def test_the_work_model_imports_no_qt() -> None:
    script = textwrap.dedent("""
        import sys
        import agent_desktop.callwork
        qt = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
        assert not qt, qt
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
