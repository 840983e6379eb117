"""Scripted callers, as ``ivr try`` and the simulated PBX run them."""

from __future__ import annotations

from ivr.engine import Input, Transfer
from ivr.inprocess import CallerInput, parse_inputs, run_scripted
from ivr.record import ExitPoint

from .helpers import ALICE_PIN, new_session


def test_parse_inputs() -> None:
    assert parse_inputs("") == []
    assert parse_inputs("1, 1234#,,T,timeout,h,HANGUP") == [
        CallerInput(Input.DIGITS, "1"),
        CallerInput(Input.DIGITS, "1234#"),
        CallerInput(Input.TIMEOUT),
        CallerInput(Input.TIMEOUT),
        CallerInput(Input.TIMEOUT),
        CallerInput(Input.HANGUP),
        CallerInput(Input.HANGUP),
    ]


def test_run_scripted_masks_and_times() -> None:
    session = new_session()
    steps = list(run_scripted(session, parse_inputs(f"1,{ALICE_PIN},0"), start=1000.0, step_s=5.0))
    shown = [s.to_dict() for s in steps]
    assert shown[0] == {"step": 0, "event": "started"}
    assert {"step": 2, "input": "****"} in shown
    assert ALICE_PIN not in repr(shown)
    transfer = steps[-1].action
    assert isinstance(transfer, Transfer) and "data" not in shown[-1]
    assert session.record is not None and session.record.duration_s == 15.0


def test_run_scripted_end_of_input_and_extra_input() -> None:
    session = new_session()
    steps = [s.to_dict() for s in run_scripted(session, parse_inputs("1"), start=0.0)]
    assert steps[-1] == {"step": 2, "input": "hangup", "note": "no more input: the caller hangs up"}
    assert session.record is not None and session.record.exit is ExitPoint.ABANDONED
    session = new_session()
    steps = [s.to_dict() for s in run_scripted(session, parse_inputs(f"1,{ALICE_PIN},0,5"), start=0.0)]
    assert steps[-1] == {"step": 3, "event": "ignored input", "input": "(not waiting)"}
