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
    assert result.commands[:9] == [
        "GET VARIABLE CHANNEL(linkedid)",
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
    assert result.commands == ["GET VARIABLE CHANNEL(linkedid)", "ANSWER", 'STREAM FILE ccenter/telecom/welcome ""']
    (record,) = result.records
    assert record.exit is ExitPoint.ABANDONED


def test_the_session_record_and_the_handoff_name_the_call_the_ami_link_knows() -> None:
    """The captured queue call with Local members: an AGI on the Local channel's ``;2`` half (its own
    Uniqueid) records its session and hands off under the call_id the AMI link gives the call, so
    the desktop's screen pop and the session record join."""
    from tests.cti.test_asterisk_captures import CAPTURES, calls, played, replay

    capture = (CAPTURES / "queue-call-local-members.ami").read_text()
    fields = dict(line.split(": ", 1) for line in capture.splitlines() if line.startswith("LocalTwo"))
    channel, uniqueid, linkedid = fields["LocalTwoChannel"], fields["LocalTwoUniqueid"], fields["LocalTwoLinkedid"]
    assert uniqueid != linkedid
    link_ids: set[str] = set()

    async def scenario(server, link, events) -> None:  # type: ignore[no-untyped-def]
        await played(server, events, "call.ended")
        link_ids.update(e.call_id for e in calls(events))

    replay("queue-call-local-members.ami", scenario, agent_ids={"Agent 2001": "a2001"})
    environment = env().replace(b"PJSIP/trunk-00000007", channel.encode()).replace(
        b"1764000000.7", uniqueid.encode())
    answer = script(
        {
            "GET VARIABLE CHANNEL(linkedid)": [[f"200 result=1 ({linkedid})"]],
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49"]],
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [[f"200 result={ALICE_PIN}"]],
            f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}": [["200 result=0"]],
            "WAIT FOR DIGIT 6000": [["200 result=52"]],
        }
    )
    result = run(environment, answer)
    (record,) = result.records
    (handoff,) = result.handoffs
    assert link_ids == {linkedid}
    assert record.call_id == handoff.call_id == linkedid
    assert result.commands.count("GET VARIABLE CHANNEL(linkedid)") == 1


def test_without_a_linkedid_the_channel_uniqueid_names_the_call() -> None:
    answer = script(
        {"ANSWER": [["200 result=0"]], 'STREAM FILE ccenter/telecom/welcome ""': [["HANGUP", "200 result=-1 endpos=0"]]}
    )
    (record,) = run(env(), answer).records  # GET VARIABLE is "510 Invalid or unknown command" here
    assert record.call_id == "1764000000.7"
