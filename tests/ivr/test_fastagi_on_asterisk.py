"""FastAGI as a real Asterisk answers it: prompts that are not installed, and the call's Linkedid."""

from __future__ import annotations

import logging

import pytest

from ivr.record import ExitPoint

from .helpers import ALICE_PIN
from .test_fastagi import MENU_KEYS, env, run, script

NO_FILE = "200 result=-1 endpos=0"  # Asterisk's answer to STREAM FILE / GET DATA of a missing sound file


@pytest.mark.expect_log(logging.WARNING, "ivr.fastagi", match="could not be played")
def test_missing_prompts_are_skipped_and_the_menus_still_take_keys() -> None:
    """Live, with no prompts installed, every call ended "abandoned" at the first menu."""
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [[NO_FILE]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [[NO_FILE]],
            "WAIT FOR DIGIT 4000": [["200 result=49"]],  # '1': English
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [[NO_FILE]],
            "GET DATA silence/1 8000 6": [[f"200 result={ALICE_PIN}"]],
            f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}": [[NO_FILE]],
            "WAIT FOR DIGIT 6000": [["200 result=52"]],  # '4': cancel
            "GET VARIABLE CHANNEL(linkedid)": [["200 result=1 (1764000000.1)"]],
        }
    )
    result = run(env(), answer)
    assert result.commands[:8] == [
        "ANSWER",
        'STREAM FILE ccenter/telecom/welcome ""',
        f"STREAM FILE ccenter/telecom/language {MENU_KEYS}",
        "WAIT FOR DIGIT 4000",
        "GET DATA ccenter/telecom/en/ask-pin 8000 6",
        "GET DATA silence/1 8000 6",
        f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}",
        "WAIT FOR DIGIT 6000",
    ]
    (record,) = result.records
    assert record.exit is ExitPoint.TRANSFERRED and record.verified
    (handoff,) = result.handoffs
    assert handoff.data["routing"]["queue"] == "retention"


def test_the_handoff_names_the_call_by_its_linkedid() -> None:
    """The AGI ran on a later leg (Uniqueid 1764000000.7) of the call 1764000000.1 the AMI link knows."""
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49"]],
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [[f"200 result={ALICE_PIN}"]],
            f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}": [["200 result=0"]],
            "WAIT FOR DIGIT 6000": [["200 result=52"]],
            "GET VARIABLE CHANNEL(linkedid)": [["200 result=1 (1764000000.1)"]],
        }
    )
    (handoff,) = run(env(), answer).handoffs
    assert handoff.call_id == "1764000000.1"


def test_a_hangup_during_a_prompt_is_still_a_hangup() -> None:
    answer = script(
        {
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["HANGUP", "200 result=-1 endpos=1200"]],
        }
    )
    result = run(env(), answer)
    assert result.commands == ["ANSWER", 'STREAM FILE ccenter/telecom/welcome ""']
    (record,) = result.records
    assert record.exit is ExitPoint.ABANDONED
