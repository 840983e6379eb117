"""Helpers for IVR tests: a flow exercising every node type, and a driver that feeds inputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ivr.engine import Action, CallInfo, Collect, IvrSession
from ivr.flow import Flow, parse_flow
from ivr.inprocess import InProcessSession
from ivr.lookup import CustomerLookup, demo_lookup
from ivr.rest import RestClient

BANK = """\
flow: engine-test
languages: [en, zh]
start: welcome
fallback: agent
attached:
  card: {type: str}
nodes:
  welcome:
    type: play
    prompt: {en: "Welcome", zh: "欢迎", audio: {en: welcome-en, zh: welcome-zh}}
    next: lang
  lang:
    type: menu
    prompt: {en: "1 English, 2 Chinese", audio: lang}
    options:
      1: {next: by_phone, label: en, set: {language: en}}
      2: {next: by_phone, label: zh, set: {language: zh}}
    retries: 1
    invalid: "Invalid"
    no_input: "Please choose"
    on_failure: by_phone
  by_phone:
    type: lookup
    by: phone
    found: pin
    not_found: acct
    error: acct
  acct:
    type: collect
    prompt: {en: "Account number", zh: "账号"}
    var: account
    min_length: 8
    max_length: 8
    retries: 1
    invalid: "That is not 8 digits"
    next: by_acct
  by_acct:
    type: lookup
    by: account
    found: pin
    not_found: agent
    retries: 1
    retry: acct
    invalid: "Unknown account"
  pin:
    type: collect
    prompt: {en: "Your PIN for account {account}", zh: "密码"}
    var: pin
    min_length: 4
    max_length: 4
    sensitive: true
    invalid: "Four digits please"
    next: verify
  verify:
    type: lookup
    by: pin
    found: vip_check
    not_found: agent
    retries: 1
    retry: pin
    invalid: "Wrong PIN"
  vip_check:
    type: condition
    branches:
      - when: {tier: vip}
        next: vip
    else: main
  vip:
    type: set
    values: {intent: vip}
    next: agent
  main:
    type: menu
    prompt: "1 balance 2 bill 3 order 4 ticket 5 fault 6 card 8 callback 9 cancel 0 agent"
    options:
      1: {next: balance, label: balance, set: {intent: billing}}
      2: {next: bill, label: bill, set: {intent: billing}}
      3: {next: order, label: order}
      4: {next: ticket, label: ticket}
      5: {next: agent, label: fault, set: {intent: technical}}
      6: {next: card, label: card}
      8: {next: later, label: callback}
      9: {next: agent, label: cancel, set: {intent: cancel}}
      0: {next: agent, label: agent}
  balance:
    type: selfservice
    service: balance
    prompt: "Your balance is {balance} {currency}, due {due_date}"
    next: more
  bill:
    type: selfservice
    service: last_bill
    prompt: "Your last bill was {bill_amount} {currency}"
    next: more
  order:
    type: selfservice
    service: order_status
    requires_verified: false
    prompt: "Order {order_id} is {order_status}"
    next: more
    unavailable: agent
  ticket:
    type: selfservice
    service: sr_status
    prompt: "Ticket {sr_id} is {sr_status}"
    next: more
    unavailable: agent
  card:
    type: collect
    prompt: "Card number"
    var: card
    min_length: 16
    max_length: 16
    sensitive: true
    mask: last4
    next: agent
  more:
    type: menu
    prompt: "1 main menu, 2 goodbye"
    options:
      1: main
      2: bye
    on_failure: bye
  bye:
    type: hangup
    prompt: {en: "Goodbye", zh: "再见"}
  later:
    type: callback
    queue: callbacks
    priority: 2
    prompt: "We will call you back"
  agent:
    type: transfer
    queue: general
    prompt: "Connecting you"
    priority: 1
    priority_rules:
      - when: {tier: vip}
        add: 5
      - when: {intent: cancel}
        at_least: 8
"""

ALICE = "+14155550100"
ALICE_PIN = "7391"
CARD = "4111222233339876"


def bank_flow() -> Flow:
    return parse_flow(BANK, "bank.yaml")


def new_session(
    caller: str = ALICE,
    *,
    flow: Flow | None = None,
    lookup: CustomerLookup | None = None,
    rest: RestClient | None = None,
    clock: Callable[[], float] | None = None,
) -> InProcessSession:
    """A session whose look-ups are answered in-process (the sans-I/O engine alone: ``engine_session``)."""
    return InProcessSession(
        flow or bank_flow(),
        CallInfo("call-1", caller, "8000"),
        lookup or demo_lookup(),
        clock,
        rest=rest,
    )


def engine_session(caller: str = ALICE, *, flow: Flow | None = None) -> IvrSession:
    """The sans-I/O engine alone: the test answers its requests."""
    return IvrSession(flow or bank_flow(), CallInfo("call-1", caller, "8000"))


def drive(session: InProcessSession, inputs: Iterable[str], start: float = 100.0) -> list[Action]:
    """Start the session and feed inputs ('' or 'T' is a timeout, 'H' a hang-up); return all actions."""
    now = start
    actions = session.started(now)
    for item in inputs:
        now += 2.0
        if item == "H":
            actions += session.hangup(now)
        elif item in ("", "T"):
            actions += session.timeout(now)
        else:
            actions += session.digits(item, now)
    return actions


def kinds(actions: Iterable[Action]) -> list[str]:
    return [str(action.to_dict()["action"]) for action in actions]


def texts(actions: Iterable[Action]) -> list[str]:
    return [str(action.to_dict().get("text")) for action in actions if action.to_dict()["action"] == "play"]


def everything(session: InProcessSession | IvrSession, actions: Iterable[Action]) -> str:
    """Every output of a session as one string, for the masking assertions."""
    parts: list[Any] = [action.to_dict() for action in actions]
    parts += [repr(action) for action in actions]
    parts.append(session.attached.to_dict())
    parts.append(session.handoff_event(1.0).to_dict())
    parts.append(repr(session.vars))
    if session.record:
        parts.append(session.record.to_dict())
        parts.append(repr(session.record))
    return json.dumps(parts, ensure_ascii=False, default=str)


def last_collect(actions: list[Action]) -> Collect:
    collects = [a for a in actions if isinstance(a, Collect)]
    return collects[-1]
