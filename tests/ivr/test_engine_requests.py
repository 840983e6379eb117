"""The engine alone, with no I/O at all: the test reads its look-up requests and feeds the answers."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import ivr
from ivr.engine import (
    Collect,
    FindCustomerByAccount,
    FindCustomersByPhone,
    GetBalance,
    GetJson,
    GetLatestOrder,
    GetOpenServiceRequest,
    Play,
    SessionState,
    Transfer,
    VerifyPin,
)
from ivr.errors import SessionStateError
from ivr.flow import parse_flow
from ivr.lookup import BalanceInfo, CustomerInfo, OrderInfo, ServiceRequestInfo
from ivr.record import ExitPoint
from ivr.sensitive import Secret

from .helpers import ALICE, ALICE_PIN, engine_session, everything, last_collect, texts

ALICE_INFO = CustomerInfo("C1001", "Alice Chen", tier="standard", accounts=("12345678",))
BALANCE = BalanceInfo("12345678", Decimal("42.50"), "USD", date(2026, 12, 15), Decimal("39.99"), date(2026, 11, 1))


def test_each_lookup_is_a_request_and_the_answer_moves_the_flow_on() -> None:
    session = engine_session()
    session.started(100.0)
    actions = session.digits("1", 102.0)
    assert actions == [FindCustomersByPhone("by_phone", ALICE, 3.0)]
    assert session.state is SessionState.LOOKING_UP
    assert session.pending == actions[-1] and session.waiting_for is None

    actions = session.answer([ALICE_INFO], 103.0)
    assert texts(actions) == ["Your PIN for account 12345678"]
    assert session.state is SessionState.WAITING and session.pending is None

    actions = session.digits(ALICE_PIN + "#", 110.0)
    (request,) = actions
    assert isinstance(request, VerifyPin) and request.account == "12345678" and request.node == "verify"
    assert isinstance(request.pin, Secret) and request.pin.reveal() == ALICE_PIN
    assert ALICE_PIN not in repr(request) and ALICE_PIN not in str(request.to_dict())
    assert "pin" not in session.vars  # the PIN lives in the request only

    actions = session.answer(True, 111.0)
    assert last_collect(actions).node == "main"
    assert session.attached.get("verified") is True

    actions = session.digits("1", 115.0)
    assert actions == [GetBalance("balance", "12345678", 3.0)]
    actions = session.answer(BALANCE, 116.0)
    assert texts(actions)[0] == "Your balance is 42.50 USD, due 2026-12-15"
    assert session.self_service[0]["at"] == 116.0  # time is the answer's

    actions = session.digits("2", 120.0)
    session_record = session.record
    assert session_record is not None and session_record.exit is ExitPoint.SELF_SERVED
    assert session_record.duration_s == 20.0


def test_order_and_service_request_requests() -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    session.answer([ALICE_INFO], 1.0)
    session.digits(ALICE_PIN, 2.0)
    session.answer(True, 2.0)
    assert session.digits("3", 3.0) == [GetLatestOrder("order", "C1001", 3.0)]
    actions = session.answer(OrderInfo("O-1", "shipped", "router"), 3.0)
    assert "Order O-1 is shipped" in texts(actions)
    session.digits("1", 4.0)  # back to the main menu
    assert session.digits("4", 5.0) == [GetOpenServiceRequest("ticket", "C1001", 3.0)]
    actions = session.answer(ServiceRequestInfo("SR-1", "open", "no dial tone"), 5.0)
    assert "Ticket SR-1 is open" in texts(actions)
    assert [entry["service"] for entry in session.self_service] == ["order_status", "sr_status"]


def test_lookup_by_account_request() -> None:
    session = engine_session("+14155550111")
    session.started(0.0)
    session.digits("1", 1.0)
    session.answer([ALICE_INFO, CustomerInfo("C9", "Someone")], 1.0)  # a shared line: ask for the account
    actions = session.digits("12345678#", 2.0)
    assert actions == [FindCustomerByAccount("by_acct", "12345678", 3.0)]
    actions = session.answer(None, 2.5)  # unknown: the node retries once
    assert texts(actions) == ["Unknown account", "Account number"]
    session.digits("12345678", 3.0)
    actions = session.answer(ALICE_INFO, 3.5)
    assert last_collect(actions).node == "pin"
    assert session.vars["identified_by"] == "account" and session.vars["account"] == "12345678"


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"look-up by_(phone|acct) failed")
def test_failed_lookup_follows_the_error_exit(caplog: pytest.LogCaptureFixture) -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        actions = session.lookup_failed("customer data is unavailable: OperationalError", 2.0)
    assert texts(actions) == ["Account number"]  # by_phone's error exit
    assert "look-up by_phone failed: customer data is unavailable" in caplog.text
    session.digits("12345678", 3.0)
    actions = session.lookup_failed("down", 4.0)  # by_acct has no error exit: not_found
    assert isinstance(actions[-1], Transfer) and actions[-1].node == "agent"
    assert "customer_id" not in actions[-1].data["fields"]


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match="failed: no answer within")
def test_lookup_timeout_follows_the_error_exit(caplog: pytest.LogCaptureFixture) -> None:
    session = engine_session()
    session.started(0.0)
    (request,) = session.digits("1", 1.0)
    assert request.timeout_s == 3.0
    with caplog.at_level(logging.WARNING, logger="ivr"):
        actions = session.timeout(1.0 + request.timeout_s)
    assert texts(actions) == ["Account number"]
    assert "look-up by_phone failed: no answer within 3 s" in caplog.text
    with pytest.raises(SessionStateError, match="state waiting cannot take 'answer'"):
        session.answer([ALICE_INFO], 5.0)  # too late: the session went on


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match="self-service bill failed")
def test_failed_self_service_goes_to_its_exit(caplog: pytest.LogCaptureFixture) -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    session.answer([ALICE_INFO], 1.0)
    session.digits(ALICE_PIN, 2.0)
    session.answer(True, 2.0)
    session.digits("2", 3.0)  # last bill: no unavailable exit, the fallback takes the call
    with caplog.at_level(logging.WARNING, logger="ivr"):
        actions = session.timeout(6.0)
    assert isinstance(actions[-1], Transfer) and actions[-1].node == "agent"
    assert "self-service bill failed: no answer within 3 s" in caplog.text


@pytest.mark.expect_log(logging.ERROR, "ivr.engine", match="not an answer to")
def test_answer_of_the_wrong_type_is_a_failed_lookup(caplog: pytest.LogCaptureFixture) -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    with caplog.at_level(logging.ERROR, logger="ivr"):
        actions = session.answer("C1001", 2.0)
    assert texts(actions) == ["Account number"]
    assert "look-up by_phone got a str, not an answer to customers_by_phone" in caplog.text
    session.digits("12345678", 3.0)
    session.answer(ALICE_INFO, 3.0)
    session.digits(ALICE_PIN, 4.0)
    actions = session.answer("yes", 4.0)  # VerifyPin takes a bool, nothing else
    assert isinstance(actions[-1], Transfer)
    assert session.attached.get("verified") is not True


def test_hangup_while_looking_up_is_abandoned_there() -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    assert session.hangup(2.0) == []
    assert session.record is not None
    assert session.record.exit is ExitPoint.ABANDONED and session.record.exit_node == "by_phone"
    assert session.pending is None
    with pytest.raises(SessionStateError, match="state done"):
        session.answer([ALICE_INFO], 3.0)


def test_hangup_while_verifying_drops_the_pin() -> None:
    session = engine_session()
    session.started(0.0)
    session.digits("1", 1.0)
    session.answer([ALICE_INFO], 1.0)
    session.digits(ALICE_PIN, 2.0)
    session.hangup(3.0)
    assert ALICE_PIN not in everything(session, [])


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match="look-up by_phone failed")
def test_inputs_out_of_state_around_a_lookup(caplog: pytest.LogCaptureFixture) -> None:
    session = engine_session()
    session.started(0.0)
    with pytest.raises(SessionStateError, match="state waiting cannot take 'failed'"):
        session.lookup_failed("x", 1.0)
    session.digits("1", 1.0)
    with pytest.raises(SessionStateError, match="state looking_up cannot take 'digits'"):
        session.digits("1", 2.0)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        session.lookup_failed("x", 2.0)
    with pytest.raises(SessionStateError, match="state waiting cannot take 'failed'"):
        session.lookup_failed("x", 2.0)


def test_rest_request_carries_the_rendered_url_and_the_node_timeout() -> None:
    flow = parse_flow(
        "flow: rest\nstart: find\nfallback: agent\nnodes:\n"
        "  find:\n    type: lookup\n    by: rest\n"
        '    url: "https://crm.example/customers?phone={caller}"\n'
        "    timeout_s: 0.5\n"
        "    map: {customer_id: customer.id, tier: customer.tier}\n"
        "    found: vip\n    not_found: agent\n    error: agent\n"
        "  vip: {type: transfer, queue: vip}\n"
        "  agent: {type: transfer, queue: general}\n"
    )
    session = engine_session(flow=flow)
    actions = session.started(0.0)
    assert actions == [GetJson("find", "https://crm.example/customers?phone=%2B14155550100", 0.5)]
    assert actions[0].to_dict() == {
        "action": "lookup",
        "node": "find",
        "query": "rest",
        "url": "https://crm.example/customers?phone=%2B14155550100",
        "timeout_s": 0.5,
    }
    actions = session.answer({"customer": {"id": "C77", "tier": "VIP"}}, 0.2)
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "vip"
    assert session.vars["identified_by"] == "rest" and session.vars["tier"] == "VIP"


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match="flow loop ran")
def test_a_loop_through_lookups_still_reaches_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    flow = parse_flow(
        "flow: loop\nstart: find\nfallback: t\nnodes:\n"
        "  find: {type: lookup, by: phone, found: find, not_found: find}\n"
        "  t: {type: transfer, queue: q}\n",
    )
    session = engine_session(flow=flow)
    actions = session.started(0.0)
    answers = 0
    with caplog.at_level(logging.WARNING, logger="ivr"):
        while session.pending is not None:
            answers += 1
            actions = session.answer([], float(answers))
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "q"
    assert answers == 200
    assert "without input" in caplog.text


def test_plays_before_a_request_come_first() -> None:
    flow = parse_flow(
        "flow: wait\nstart: hold\nfallback: t\nnodes:\n"
        "  hold: {type: play, prompt: 'One moment', next: find}\n"
        "  find: {type: lookup, by: phone, found: t, not_found: t}\n"
        "  t: {type: transfer, queue: q}\n",
    )
    session = engine_session(flow=flow)
    actions = session.started(0.0)
    assert actions == [Play("hold", "One moment", "en", None), FindCustomersByPhone("find", ALICE, 3.0)]
    assert not any(isinstance(action, Collect) for action in actions)


def test_the_engine_imports_no_io_library() -> None:
    code = (
        "import sys, ivr.engine\n"
        "banned = ('sqlalchemy', 'requests', 'socket', 'asyncio', 'aiomqtt', 'serial', 'urllib3', 'http')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_ivr_module_imports_the_orm() -> None:
    """The IVR's database queries live in crm (crm.ivr_data); ivr/ only adapts their values."""
    offenders = []
    for path in sorted(Path(ivr.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "sqlalchemy"]
    assert offenders == []
