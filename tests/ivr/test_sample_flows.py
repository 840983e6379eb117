"""The shipped telecom flows load and their main paths run end to end on the demo data."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import resources
from ivr.engine import Hangup, RequestCallback, Transfer
from ivr.flow import Flow, load_flow
from ivr.record import ExitPoint, containment_rate

from .helpers import ALICE, ALICE_PIN, drive, everything, new_session, texts

FLOWS = sorted(resources.path("ivr").glob("*.yaml"))
UNKNOWN = "+14155550999"
WANG = "+8613800138000"


def telecom() -> Flow:
    return load_flow(resources.path("ivr", "telecom.yaml"))


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_shipped_flow_loads(path: Path) -> None:
    flow = load_flow(path)
    assert flow.name == path.stem
    assert set(flow.languages) == {"en", "zh"}


def test_there_are_sample_flows() -> None:
    assert {p.stem for p in FLOWS} >= {"telecom", "telecom-afterhours"}


def test_known_caller_balance_and_bill_self_served(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", ALICE_PIN + "#", "1", "9"])
    said = texts(actions)
    assert "Your balance is 42.50 USD." in said
    assert "Your last bill, of 2026-11-01, was 39.99 USD." in said
    assert isinstance(actions[-1], Hangup)
    assert session.record is not None and session.record.exit is ExitPoint.SELF_SERVED
    assert session.record.self_service == ("balance", "last_bill")
    assert ALICE_PIN not in everything(session, actions) and ALICE_PIN not in caplog.text


def test_unknown_number_identifies_by_account_then_cancel_goes_to_retention() -> None:
    session = new_session(UNKNOWN, flow=telecom())
    actions = drive(session, ["1", "12345678#", ALICE_PIN + "#", "4"])
    transfer = actions[-1]
    assert isinstance(transfer, Transfer)
    assert transfer.queue == "retention" and transfer.priority == 7
    fields = transfer.data["fields"]
    assert fields["identified_by"]["value"] == "account"
    assert fields["verified"]["value"] is True
    assert fields["intent"]["value"] == "cancel"
    assert fields["menu_path"]["value"] == ["language:en", "main_menu:cancel"]


def test_vip_fast_path_in_chinese() -> None:
    session = new_session(WANG, flow=telecom())
    actions = drive(session, ["2", "5080#"])
    assert texts(actions)[-1] == "王伟，您好。正在为您转接专属客服团队。"
    transfer = actions[-1 if isinstance(actions[-1], Transfer) else -2]
    assert isinstance(transfer, Transfer)
    assert transfer.queue == "vip" and transfer.priority == 9
    assert transfer.data["fields"]["language"]["value"] == "zh"
    assert transfer.data["fields"]["tier"]["value"] == "vip"


def test_wrong_pin_three_times_leaves_caller_unverified_and_billing_goes_to_an_agent() -> None:
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", "1111#", "2222#", "3333#", "1"])
    said = texts(actions)
    assert said.count("That PIN is not correct.") == 2
    assert "We could not verify your identity. An agent will help you." in said
    transfer = actions[-1]
    assert isinstance(transfer, Transfer) and transfer.queue == "billing" and transfer.priority == 3
    assert transfer.data["fields"]["verified"]["value"] is False
    for pin in ("1111", "2222", "3333"):
        assert pin not in everything(session, actions)


def test_fault_ticket_status_then_technician() -> None:
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", ALICE_PIN + "#", "2", "1"])
    assert "Your fault ticket SR-9001 is in_progress." in texts(actions)
    transfer = actions[-1]
    assert isinstance(transfer, Transfer) and transfer.queue == "technical"
    assert transfer.data["fields"]["ticket_id"]["value"] == "SR-9001"
    assert transfer.data["fields"]["intent"]["value"] == "technical_fault"


def test_new_service_goes_to_sales_and_order_status_is_self_served() -> None:
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", ALICE_PIN + "#", "3"])
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "sales"
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", ALICE_PIN + "#", "5", "9"])
    assert "Your order O-5001, fiber router, is shipped." in texts(actions)
    assert session.record is not None and session.record.exit is ExitPoint.SELF_SERVED


def test_silent_caller_is_never_stuck() -> None:
    session = new_session(UNKNOWN, flow=telecom())
    actions = drive(session, ["T"] * 5)
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "general"


def test_callback_from_main_menu() -> None:
    session = new_session(ALICE, flow=telecom())
    actions = drive(session, ["1", ALICE_PIN + "#", "8"])
    assert any(isinstance(a, RequestCallback) and a.number == ALICE for a in actions)


def test_after_hours_flow() -> None:
    flow = load_flow(resources.path("ivr", "telecom-afterhours.yaml"))
    records = []
    for inputs, exit_point in (
        (["1", "1"], ExitPoint.TRANSFERRED),
        (["2", "2"], ExitPoint.CALLBACK),
        (["1", "9"], ExitPoint.SELF_SERVED),
    ):
        session = new_session(ALICE, flow=flow)
        drive(session, inputs)
        assert session.record is not None and session.record.exit is exit_point
        records.append(session.record)
    assert containment_rate(records) == pytest.approx(1 / 3)
