"""The sans-I/O engine: every node type, every failure path, and the masking of sensitive input."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from ivr.engine import Collect, Hangup, Play, RequestCallback, SessionState, Transfer
from ivr.errors import SessionStateError
from ivr.flow import parse_flow
from ivr.lookup import BalanceInfo, CustomerInfo, InMemoryLookup, demo_lookup
from ivr.record import ExitPoint

from .helpers import ALICE, ALICE_PIN, CARD, bank_flow, drive, everything, kinds, last_collect, new_session, texts


def test_start_plays_welcome_and_waits_for_language() -> None:
    session = new_session()
    actions = session.started(100.0)
    assert actions == [
        Play("welcome", "Welcome", "en", "welcome-en"),
        Play("lang", "1 English, 2 Chinese", "en", "lang"),
        Collect("lang", 1, 1, None, 5.0, 5.0, menu=True),
    ]
    assert session.state is SessionState.WAITING
    assert session.waiting_for == actions[-1]


def test_identified_by_phone_verified_balance_then_goodbye() -> None:
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN + "#", "1", "2"])
    assert texts(actions)[2:] == [
        "Your PIN for account 12345678",
        "1 balance 2 bill 3 order 4 ticket 5 fault 6 card 8 callback 9 cancel 0 agent",
        "Your balance is 42.50 USD, due 2026-12-15",
        "1 main menu, 2 goodbye",
        "Goodbye",
    ]
    assert isinstance(actions[-1], Hangup) and actions[-1].reason == "self_served"
    record = session.record
    assert record is not None
    assert record.exit is ExitPoint.SELF_SERVED
    assert record.exit_node == "bye"
    assert record.verified and record.customer_id == "C1001" and record.intent == "billing"
    assert record.menu_path == ("lang:en", "main:balance", "more:2")
    assert record.self_service == ("balance",)
    assert record.path[:4] == ("welcome", "lang", "by_phone", "pin")
    assert record.duration_s == 8.0
    values = session.attached.values()
    assert values["verified"] is True and values["identified_by"] == "phone"
    assert values["self_service"][0]["result"] == {"balance": "42.50", "currency": "USD", "due_date": "2026-12-15"}
    assert session.state is SessionState.DONE


def test_chinese_caller_unknown_number_identifies_by_account_and_vip_goes_first() -> None:
    session = new_session("+8613911112222")
    actions = drive(session, ["2", "87654321#", "5080"])
    assert texts(actions)[2:4] == ["账号", "密码"]
    transfer = actions[-1]
    assert isinstance(transfer, Transfer)
    assert transfer.queue == "general" and transfer.priority == 6
    fields = transfer.data["fields"]
    assert fields["language"]["value"] == "zh"
    assert fields["language"]["set_by"] == {"kind": "ivr", "name": "lang"}
    assert fields["customer_id"]["value"] == "C1002"
    assert fields["identified_by"]["value"] == "account"
    assert fields["tier"]["value"] == "vip"
    assert fields["intent"]["value"] == "vip" and fields["intent"]["editable"] is True
    assert fields["time_in_ivr_s"]["value"] == 6.0
    assert fields["caller"]["set_by"]["kind"] == "system"
    # Prompts without a Chinese text fall back to the default language.
    assert texts(actions)[-1] == "Connecting you"
    assert session.record is not None and session.record.exit is ExitPoint.TRANSFERRED
    assert session.record.queue == "general" and session.record.priority == 6


def test_cancel_intent_raises_priority() -> None:
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN, "9"])
    transfer = actions[-1]
    assert isinstance(transfer, Transfer) and transfer.priority == 8
    assert transfer.data["fields"]["intent"]["value"] == "cancel"
    assert transfer.data["fields"]["menu_path"]["value"] == ["lang:en", "main:cancel"]


@pytest.mark.parametrize(
    ("choice", "text"),
    [
        ("2", "Your last bill was 39.99 USD"),
        ("3", "Order O-5001 is shipped"),
        ("4", "Ticket SR-9001 is in_progress"),
    ],
)
def test_self_service_answers(choice: str, text: str) -> None:
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN, choice, "2"])
    assert text in texts(actions)
    assert session.record is not None and session.record.exit is ExitPoint.SELF_SERVED


def test_self_service_unavailable_goes_to_its_exit_or_fallback() -> None:
    lookup = demo_lookup()
    lookup.orders.clear()
    lookup.service_requests.clear()
    session = new_session(lookup=lookup)
    actions = drive(session, ["1", ALICE_PIN, "3"])
    assert isinstance(actions[-1], Transfer)
    session = new_session(lookup=lookup)
    actions = drive(session, ["1", ALICE_PIN, "4"])
    assert isinstance(actions[-1], Transfer)
    # No last bill: 'bill' has no 'unavailable' exit, the fallback takes the call.
    lookup.accounts["12345678"].balance = BalanceInfo("12345678", Decimal("1.00"))
    session = new_session(lookup=lookup)
    actions = drive(session, ["1", ALICE_PIN, "2"])
    assert isinstance(actions[-1], Transfer) and actions[-1].node == "agent"


def test_self_service_needs_verified_caller() -> None:
    flow = parse_flow(
        "flow: x\nstart: b\nfallback: t\nnodes:\n"
        "  b: {type: selfservice, service: balance, next: h, unavailable: t}\n"
        "  h: {type: hangup}\n  t: {type: transfer, queue: q}\n",
    )
    session = new_session(flow=flow)
    actions = drive(session, [])
    assert isinstance(actions[-1], Transfer)
    assert "self_service" not in session.attached.values()


def test_callback_request() -> None:
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN, "8"])
    assert kinds(actions)[-3:] == ["play", "callback", "hangup"]
    callback = actions[-2]
    assert isinstance(callback, RequestCallback)
    assert callback.number == ALICE and callback.queue == "callbacks" and callback.priority == 2
    assert callback.data["fields"]["callback_number"]["value"] == ALICE
    assert session.record is not None and session.record.exit is ExitPoint.CALLBACK


def test_invalid_menu_choice_replays_then_fails_over() -> None:
    session = new_session()
    actions = drive(session, ["7"])
    assert texts(actions)[-2:] == ["Invalid", "1 English, 2 Chinese"]
    assert isinstance(actions[-1], Collect)
    # Second bad try exhausts retries (1): on_failure goes on to phone look-up, PIN prompt.
    actions = session.digits("7", 104.0)
    assert texts(actions) == ["Your PIN for account 12345678"]
    assert session.vars["language"] == "en"


def test_timeouts_use_no_input_prompt() -> None:
    session = new_session()
    actions = drive(session, ["T"])
    assert texts(actions)[-2:] == ["Please choose", "1 English, 2 Chinese"]


def test_collect_validation_and_account_retry_paths() -> None:
    session = new_session("+14155550111")  # shared line: two customers, ask for the account
    actions = drive(session, ["1"])
    assert texts(actions)[-1] == "Account number"
    actions = session.digits("123#", 110.0)  # too short
    assert texts(actions) == ["That is not 8 digits", "Account number"]
    actions = session.digits("99999999", 112.0)  # unknown account: retry once
    assert texts(actions) == ["Unknown account", "Account number"]
    assert last_collect(actions).node == "acct"
    actions = session.digits("99999998", 114.0)  # unknown again: not_found goes to an agent
    assert isinstance(actions[-1], Transfer)
    assert "customer_id" not in actions[-1].data["fields"]


def test_collect_failure_after_retries_goes_to_fallback() -> None:
    session = new_session("+14155550111")
    actions = drive(session, ["1", "abc", "T"])
    assert isinstance(actions[-1], Transfer) and actions[-1].node == "agent"


def test_wrong_pin_retries_then_transfers_unverified() -> None:
    session = new_session()
    actions = drive(session, ["1", "0000"])
    assert texts(actions)[-2:] == ["Wrong PIN", "Your PIN for account 12345678"]
    actions = session.digits("12", 106.0)  # malformed PIN: invalid prompt, same node
    assert texts(actions) == ["Four digits please", "Your PIN for account 12345678"]
    actions = session.digits("1111", 108.0)
    transfer = actions[-1]
    assert isinstance(transfer, Transfer)
    assert transfer.data["fields"]["verified"]["value"] is False
    assert session.record is not None and not session.record.verified


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"look-up by_phone failed: customer data is unavailable$")
@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"look-up by_acct failed: customer data is unavailable$")
def test_lookup_unavailable_follows_error_exit(caplog: pytest.LogCaptureFixture) -> None:
    lookup = demo_lookup()
    lookup.unavailable = True
    session = new_session(lookup=lookup)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        actions = drive(session, ["1"])
    assert texts(actions)[-1] == "Account number"  # by_phone's error exit
    assert "customer data is unavailable" in caplog.text
    actions = session.digits("12345678", 110.0)  # by_acct has no error exit: not_found
    assert isinstance(actions[-1], Transfer)


@pytest.mark.expect_log(logging.ERROR, "ivr.ports", match=r"^call call-1: look-up by_phone failed$")
def test_lookup_bug_is_logged_and_never_a_dead_end(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(InMemoryLookup):
        def by_phone(self, number: str) -> list[CustomerInfo]:
            raise RuntimeError("boom")

    session = new_session(lookup=Broken())
    with caplog.at_level(logging.ERROR, logger="ivr"):
        actions = drive(session, ["1"])
    assert texts(actions)[-1] == "Account number"
    assert "look-up by_phone failed" in caplog.text


def test_caller_hangup_is_abandoned() -> None:
    session = new_session()
    actions = drive(session, ["1", "H"])
    assert session.record is not None
    assert session.record.exit is ExitPoint.ABANDONED and session.record.exit_node == "pin"
    assert kinds(actions)[-1] == "collect"
    assert session.hangup(200.0) == []  # idempotent


def test_hangup_before_start() -> None:
    session = new_session()
    assert session.hangup(5.0) == []
    assert session.record is not None and session.record.exit is ExitPoint.ABANDONED


@pytest.mark.parametrize("call", ["digits", "timeout"])
def test_inputs_out_of_state_are_refused(call: str) -> None:
    session = new_session()
    with pytest.raises(SessionStateError, match="state idle"):
        session.digits("1", 1.0) if call == "digits" else session.timeout(1.0)
    drive(session, ["1", ALICE_PIN, "0"])
    with pytest.raises(SessionStateError, match="state done"):
        session.digits("1", 1.0) if call == "digits" else session.timeout(1.0)
    with pytest.raises(SessionStateError):
        session.started(1.0)


@pytest.mark.expect_log(logging.WARNING, "ivr.engine", match=r"nodes without input; going to fallback")
def test_loop_without_input_goes_to_fallback(caplog: pytest.LogCaptureFixture) -> None:
    flow = parse_flow(
        "flow: loop\nstart: a\nfallback: t\nnodes:\n"
        "  a: {type: set, values: {x: 1}, next: b}\n"
        "  b: {type: condition, branches: [{when: {x: 1}, next: a}], else: t}\n"
        "  t: {type: transfer, queue: q}\n",
    )
    session = new_session(flow=flow)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        actions = drive(session, [])
    assert isinstance(actions[-1], Transfer) and actions[-1].queue == "q"
    assert "without input" in caplog.text


def test_condition_operators() -> None:
    flow = parse_flow(
        "flow: ops\nstart: s\nfallback: nope\nnodes:\n"
        "  s: {type: set, values: {n: 5, name: ann, tags: [a]}, next: c}\n"
        "  c:\n    type: condition\n    branches:\n"
        "      - when: {n: {gt: 9}}\n        next: nope\n"
        "      - when: {n: {lt: 1}}\n        next: nope\n"
        "      - when: {missing: {exists: true}}\n        next: nope\n"
        "      - when: {name: {not_in: [ann]}}\n        next: nope\n"
        "      - when: {name: {gt: 3}}\n        next: nope\n"
        "      - when: {n: {ge: 5}, name: {ne: bob}, missing: {exists: false}, other: {ne: 1}}\n        next: c2\n"
        "    else: nope\n"
        "  c2:\n    type: condition\n    branches:\n"
        "      - when: {n: {le: 5}, name: {in: [ann, bob]}, absent: {not_in: [x]}}\n        next: ok\n"
        "    else: nope\n"
        "  ok: {type: hangup}\n  nope: {type: transfer, queue: q}\n",
    )
    session = new_session(flow=flow)
    actions = drive(session, [])
    assert isinstance(actions[-1], Hangup)


def test_card_number_is_masked_to_last_four() -> None:
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN, "6", CARD])
    transfer = actions[-1]
    assert isinstance(transfer, Transfer)
    assert transfer.data["fields"]["card"]["value"] == "************9876"
    assert CARD not in everything(session, actions)


def test_pin_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = new_session()
    actions = drive(session, ["1", ALICE_PIN + "#", "0"])
    assert isinstance(actions[-1], Transfer)
    assert session.attached.get("verified") is True
    assert ALICE_PIN not in everything(session, actions)
    assert ALICE_PIN not in caplog.text
    assert "pin" not in session.vars
    assert last_collect(actions).node == "main"
    # Wrong PIN and malformed PIN are not logged either.
    session = new_session()
    actions = drive(session, ["1", "6502", "65", "6503"])
    for secret in ("6502", "6503"):
        assert secret not in everything(session, actions)
        assert secret not in caplog.text
    # A session ending while a PIN waits for verification drops it too.
    session = new_session()
    session.started(1.0)
    session.digits("1", 2.0)
    session.digits("65", 3.0)
    session.hangup(4.0)
    assert "65" not in repr(session.vars)


def test_sensitive_collect_is_announced_to_drivers() -> None:
    session = new_session()
    drive(session, ["1"])
    waiting = session.waiting_for
    assert waiting is not None and waiting.sensitive and waiting.node == "pin"


def test_clock_advances_time_after_lookups() -> None:
    times = iter([150.0, 151.0])
    session = new_session(clock=lambda: next(times))
    drive(session, ["1", ALICE_PIN, "0"])
    assert session.attached.get("time_in_ivr_s") == 51.0


def test_hangup_node_ends_with_goodbye_in_chinese() -> None:
    session = new_session("+8613911112222")
    flow = bank_flow()
    assert flow.nodes["bye"]
    actions = drive(session, ["2", "12345678", ALICE_PIN, "1", "2"])
    assert texts(actions)[-1] == "再见"
    assert isinstance(actions[-1], Hangup)
