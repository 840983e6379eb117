"""The CTI gateway's reply messages: ``command.result`` and ``cti.capabilities``."""

from __future__ import annotations

import pytest

from bus.errors import MessageError
from bus.messages import CommandResult, CtiCapabilities, decode, encode, message_types


def test_command_result_round_trips() -> None:
    ok = CommandResult(command_id="c1", ok=True, ts=1.5, result={"call_id": "sim-1"}, agent_id="a1", name="make_call")
    failed = CommandResult(command_id="c2", ok=False, ts=2.0, error="extension 1001 is busy", result={"kind": "X"})
    for message in (ok, failed):
        assert decode(encode(message)) == message
    body = ok.to_dict()
    assert body["type"] == "command.result" and body["v"] == 1
    assert decode(encode(failed)) == failed and failed.agent_id is None and failed.name == ""


def test_capabilities_round_trip_and_registry() -> None:
    caps = CtiCapabilities(online=True, ts=3.0, capabilities=["answer", "hold"], link="AmiLink")
    assert decode(encode(caps)) == caps
    assert message_types()["command.result"] is CommandResult
    assert message_types()["cti.capabilities"] is CtiCapabilities


def test_an_incomplete_result_is_refused() -> None:
    with pytest.raises(MessageError, match="incomplete"):
        decode(b'{"type":"command.result","v":1,"command_id":"c1","ts":1}')
