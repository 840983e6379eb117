"""The dialer's ``dial_out``: on the simulated PBX, and through the gateway's dispatch."""

from __future__ import annotations

import asyncio

import pytest

from bus import topics
from bus.messages import CallEvent, Command, CommandResult
from bus.transport import InProcessBus
from cti.errors import LocalProtocolError, UnsupportedCommand
from cti.gateway import Gateway
from cti.link import ACD_COMMANDS, dispatch
from cti.model import DialOutcome
from cti.sim import NumberScript, SimLink, SimPbx

DATA = {"schema": "ccenter.attached/1", "fields": {"work_item_id": {"value": 7, "type": "int"}},
        "routing": {"priority": 3}}


def test_answered_dial_out_joins_the_queue_with_its_data() -> None:
    pbx = SimPbx(extensions=["1001"])
    pbx.script_number("+15550001", NumberScript(DialOutcome.ANSWERED, after=2.0))
    call_id = pbx.dial_out("+15550001", "sales", DATA)
    assert [e.type for e in pbx.drain() if isinstance(e, CallEvent)] == ["call.offered", "call.alerting"]
    events = [e for e in pbx.advance(2.0) if isinstance(e, CallEvent)]
    assert [e.type for e in events] == ["call.answered", "call.data", "queue.joined"]
    assert events[0].extension is None and events[2].queue == "sales" and events[2].call_id == call_id
    assert events[1].data["routing"] == {"priority": 3, "queue": "sales"}
    assert events[1].data["fields"]["work_item_id"]["value"] == 7
    # The ACD's deliver then rings the agent, like any queued call.
    pbx.deliver(call_id, "1001")
    pbx.answer(call_id, "1001")
    assert [e.type for e in pbx.drain() if isinstance(e, CallEvent)] == ["call.alerting", "queue.left", "call.answered"]


@pytest.mark.parametrize("outcome", [DialOutcome.BUSY, DialOutcome.NO_ANSWER, DialOutcome.ANSWERING_MACHINE])
def test_unanswered_dial_out_ends_with_its_outcome(outcome: DialOutcome) -> None:
    pbx = SimPbx(trunks=1)
    pbx.script_number("+15550002", NumberScript(outcome, after=3.0))
    call_id = pbx.dial_out("+15550002", "sales", {})
    events = [e for e in pbx.advance(30.0) if isinstance(e, CallEvent)]
    assert events[-1].type == "call.ended" and events[-1].cause == outcome.value and events[-1].call_id == call_id
    assert not any(e.type in ("queue.joined", "call.answered") for e in events)
    assert pbx.trunks_in_use() == 0


def test_dial_out_without_a_free_trunk_fails_and_needs_a_queue() -> None:
    pbx = SimPbx(trunks=1)
    pbx.dial_out("+15550001", "sales")
    second = pbx.dial_out("+15550003", "sales")
    ended = [e for e in pbx.drain() if isinstance(e, CallEvent) and e.type == "call.ended"]
    assert [(e.call_id, e.cause) for e in ended] == [(second, "failed")]
    with pytest.raises(LocalProtocolError):
        pbx.dial_out("+15550001", "")


def test_dispatch_dial_out_returns_the_call_id_and_checks_arguments() -> None:
    async def go() -> None:
        link = SimLink(SimPbx())
        command = Command(command_id="d1", name="dial_out", ts=0.0,
                          args={"number": "+15550001", "queue": "sales", "data": DATA})
        assert "dial_out" in ACD_COMMANDS
        assert await dispatch(link, command) == {"call_id": "sim-1"}
        with pytest.raises(LocalProtocolError):
            await dispatch(link, Command(command_id="d2", name="dial_out", ts=0.0, args={"number": "+1555"}))
        with pytest.raises(LocalProtocolError):
            await dispatch(link, Command(command_id="d3", name="dial_out", ts=0.0,
                                         args={"number": "+1555", "queue": "q", "data": "x"}))

    asyncio.run(go())


def test_links_without_dial_out_refuse_it() -> None:
    from cti.link import CtiLink

    class Bare(CtiLink):
        async def connect(self) -> None: ...

        async def close(self) -> None: ...

    with pytest.raises(UnsupportedCommand):
        asyncio.run(Bare().dial_out("+1555", "sales", {}))


def test_gateway_answers_dial_out_with_the_new_call_id_after_its_events() -> None:
    async def go() -> tuple[CommandResult, list[str]]:
        bus = InProcessBus()
        pbx = SimPbx()
        pbx.script_number("+15550009", NumberScript(DialOutcome.BUSY, after=0.0))
        link = SimLink(pbx)
        async with bus:
            calls = await bus.subscribe(topics.calls("hq"))
            results = await bus.subscribe(topics.cti_results("hq"))
            gateway = Gateway(link, bus, site="hq")
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            await bus.publish(topics.cti_commands("hq"), Command(
                command_id="dial:c:1:x", name="dial_out", ts=0.0, args={"number": "+15550009", "queue": "sales"}),
                qos=1)
            result = (await results.get(timeout=2)).message
            assert isinstance(result, CommandResult)
            pbx.advance(0.0)
            kinds = []
            while "call.ended" not in kinds:
                event = (await calls.get(timeout=2)).message
                assert isinstance(event, CallEvent) and event.call_id == result.result["call_id"]
                kinds.append(event.type)
            await link.close()
            await asyncio.wait_for(runner, 2)
            return result, kinds

    result, kinds = asyncio.run(go())
    assert (result.ok, result.name, result.result) == (True, "dial_out", {"call_id": "sim-1"})
    assert kinds == ["call.offered", "call.alerting", "call.ended"]
