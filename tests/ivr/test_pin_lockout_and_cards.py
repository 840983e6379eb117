"""Across calls, wrong PINs lock the account's PIN (said to the caller, carried in the hand-off);
card numbers are masked in whatever the IVR keeps, logs and hands off, marked sensitive or not."""

from __future__ import annotations

import logging

import pytest

from ccenter.commands.ivr import resolve_flow
from crm.lockout import MAX_FAILURES
from ivr.flow import parse_flow
from ivr.lookup import PinCheck, demo_lookup

from .helpers import ALICE, ALICE_PIN, drive, everything, new_session, texts

LOCKED_TEXT = "Your PIN is locked after too many wrong tries. An agent will help you."


def test_wrong_pins_on_several_calls_lock_the_pin_and_the_caller_and_agent_are_told() -> None:
    lookup = demo_lookup()  # one customer data for every call, as on the FastAGI server
    flow = resolve_flow("telecom")
    tries = 0
    while tries < MAX_FAILURES:
        # Each call: English, then wrong PINs until the flow gives up, then the caller hangs up.
        session = new_session(ALICE, flow=flow, lookup=lookup)
        drive(session, ["1", "0000#", "0000#", "0000#", "H"])
        tries += 3
    session = new_session(ALICE, flow=flow, lookup=lookup)
    actions = drive(session, ["1", f"{ALICE_PIN}#", "0"])
    assert LOCKED_TEXT in texts(actions)
    fields = session.handoff_event(1.0).data["fields"]
    assert fields["pin_locked"]["value"] is True and fields["verified"]["value"] is False
    assert lookup.verify_pin("12345678", ALICE_PIN) is PinCheck.LOCKED


def test_the_right_pin_before_the_limit_verifies_and_resets() -> None:
    lookup = demo_lookup()
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            assert lookup.verify_pin("12345678", "0000") is PinCheck.WRONG
        assert lookup.verify_pin("12345678", ALICE_PIN) is PinCheck.VERIFIED


def test_a_locked_prompt_belongs_to_pin_lookups_only() -> None:
    from ivr.errors import FlowError

    with pytest.raises(FlowError, match="'locked' only applies to a pin look-up"):
        parse_flow(
            "flow: f\nstart: l\nfallback: t\nnodes:\n"
            "  l: {type: lookup, by: phone, found: t, not_found: t, locked: 'no'}\n"
            "  t: {type: transfer, queue: q}\n"
        )


CARD = "4111111111111111"
REFERENCE_FLOW = """\
flow: reference
start: ref
fallback: agent
attached:
  ref: {type: str}
nodes:
  ref:
    type: collect
    prompt: "Your reference number, then hash"
    var: ref
    min_length: 4
    max_length: 19
    terminator: "#"
    next: agent
  agent: {type: transfer, queue: general}
"""


def test_a_card_keyed_into_a_collect_not_marked_sensitive_is_masked_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = new_session(ALICE, flow=parse_flow(REFERENCE_FLOW))
    with caplog.at_level(logging.DEBUG):
        actions = drive(session, [f"{CARD}#"])
    seen = everything(session, actions) + caplog.text
    assert CARD not in seen
    assert session.handoff_event(1.0).data["fields"]["ref"]["value"] == "************1111"


def test_a_reference_that_is_no_card_number_stays_as_keyed() -> None:
    session = new_session(ALICE, flow=parse_flow(REFERENCE_FLOW))
    drive(session, ["4111111111111112#"])  # fails the Luhn check
    assert session.handoff_event(1.0).data["fields"]["ref"]["value"] == "4111111111111112"
