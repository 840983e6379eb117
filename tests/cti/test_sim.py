from __future__ import annotations

import asyncio

import pytest

from bus.messages import AgentState, AgentStateName, CallEvent, Command
from cti.errors import CommandFailed, LocalProtocolError
from cti.link import CtiLink, dispatch
from cti.model import CallState, CallTracker, ConnectionState, DialOutcome, LinkEvent
from cti.sim import FAR, NumberScript, SimLink, SimPbx


def kinds(events: list[LinkEvent]) -> list[tuple[str, str, str]]:
    out = []
    for e in events:
        if isinstance(e, CallEvent):
            out.append((e.type, e.call_id, e.extension or e.cause or ""))
        else:
            out.append((e.message_type, e.agent_id, e.state))
    return out


async def take(link: CtiLink, n: int) -> list[LinkEvent]:
    """The next ``n`` events of the link (fails after 2 s instead of hanging)."""
    out: list[LinkEvent] = []
    stream = link.events()

    async def pull() -> None:
        async for event in stream:
            out.append(event)
            if len(out) == n:
                return

    await asyncio.wait_for(pull(), 2)
    return out


def test_full_inbound_call_through_the_link_interface() -> None:
    async def scenario() -> list[LinkEvent]:
        pbx = SimPbx(extensions=["1001", "1002"], trunks=2)
        link = SimLink(pbx)
        events: list[LinkEvent] = []
        async with link:
            await link.set_agent_state("a1", AgentStateName.READY, extension="1001")
            pbx.script(
                [{"at": 10, "calling": "+14155550100", "called": "800", "queue": "sales", "data": {"account": "42"}}]
            )
            pbx.advance(10)
            events += await take(link, 4)  # agent ready, offered, data, queue.joined
            call_id = pbx.live_calls[0]
            pbx.deliver(call_id, "1001")
            pbx.advance(12)
            await link.answer(call_id, "1001")
            events += await take(link, 3)  # alerting, queue.left, answered
            pbx.advance(30)
            await link.hold(call_id, "1001")
            pbx.advance(45)
            await link.retrieve(call_id, "1001")
            await link.blind_transfer(call_id, "1001", "1002")
            events += await take(link, 4)  # held, retrieved, transferred, alerting 1002
            pbx.advance(47)
            await link.answer(call_id, "1002")
            assert pbx.parties(call_id) == {
                FAR: ConnectionState.CONNECTED,
                "1001": ConnectionState.NULL,
                "1002": ConnectionState.CONNECTED,
            }
            pbx.advance(100)
            await link.hangup(call_id, "1002")
            events += await take(link, 2)  # answered by 1002, ended
        assert [e async for e in link.events()] == []
        return events

    events = asyncio.run(scenario())
    cid = "sim-1"
    assert kinds(events) == [
        ("agent.state", "a1", "ready"),
        ("call.offered", cid, ""),
        ("call.data", cid, ""),
        ("queue.joined", cid, ""),
        ("call.alerting", cid, "1001"),
        ("queue.left", cid, ""),
        ("call.answered", cid, "1001"),
        ("call.held", cid, "1001"),
        ("call.retrieved", cid, "1001"),
        ("call.transferred", cid, ""),
        ("call.alerting", cid, "1002"),
        ("call.answered", cid, "1002"),
        ("call.ended", cid, "normal"),
    ]
    answered = events[6]
    assert isinstance(answered, CallEvent) and answered.agent_id == "a1" and answered.ts == 12
    assert [e.ts for e in events[7:9]] == [30, 45]
    tracker = CallTracker()
    states = [tracker.apply(e) for e in events]
    assert states[-1] is not None and states[-1].state is CallState.ENDED and states[-1].data == {"account": "42"}


@pytest.mark.parametrize(
    ("outcome", "after", "cause", "at"),
    [
        (DialOutcome.BUSY, 3.0, "busy", 3.0),
        (DialOutcome.NO_ANSWER, 99.0, "no_answer", 20.0),
        (DialOutcome.ANSWERING_MACHINE, 6.0, "answering_machine", 6.0),
    ],
)
def test_outbound_outcomes(outcome: DialOutcome, after: float, cause: str, at: float) -> None:
    pbx = SimPbx(extensions=["1001"], ring_timeout=20.0)
    pbx.script_number("5550100", NumberScript(outcome, after))
    call_id = pbx.make_call("1001", "5550100")
    assert pbx.trunks_in_use() == 1
    events = pbx.advance(200)
    assert kinds(events) == [
        ("call.offered", call_id, "1001"),
        ("call.alerting", call_id, ""),
        ("call.ended", call_id, cause),
    ]
    assert events[-1].ts == at
    assert pbx.trunks_in_use() == 0


def test_outbound_answered_then_far_end_hangs_up() -> None:
    pbx = SimPbx(extensions=["1001"])
    pbx.script_number("5550100", NumberScript(DialOutcome.ANSWERED, 4.0, hangup_after=60.0))
    call_id = pbx.make_call("1001", "5550100", data={"campaign": "c1"})
    events = pbx.advance(100)
    assert kinds(events) == [
        ("call.offered", call_id, "1001"),
        ("call.data", call_id, ""),
        ("call.alerting", call_id, ""),
        ("call.answered", call_id, ""),
        ("call.ended", call_id, "normal"),
    ]
    assert [e.ts for e in events[-2:]] == [4.0, 64.0]
    assert isinstance(events[-1], CallEvent) and events[-1].data == {"by": FAR}


def test_consult_then_attended_transfer_and_conference() -> None:
    pbx = SimPbx(extensions=["1001", "1002", "1003"])
    pbx.schedule_inbound(1, "+15550001", "800", ring="1001")
    pbx.advance(1)
    customer = pbx.live_calls[0]
    pbx.answer(customer, "1001")
    consult = pbx.consult(customer, "1001", "1002")
    pbx.answer(consult, "1002")
    pbx.send_dtmf(consult, "1001", "12#")
    assert pbx.dtmf_sent(consult) == "12#"
    pbx.attended_transfer(customer, consult, "1001")
    events = pbx.drain()
    assert kinds(events)[-6:] == [
        ("call.held", customer, "1001"),
        ("call.offered", consult, "1001"),
        ("call.alerting", consult, "1002"),
        ("call.answered", consult, "1002"),
        ("call.ended", consult, "transferred"),
        ("call.transferred", customer, "1002"),
    ]
    assert pbx.parties(customer)["1002"] is ConnectionState.CONNECTED
    # 1002 now holds the customer and conferences in 1003
    second = pbx.consult(customer, "1002", "1003")
    pbx.answer(second, "1003")
    pbx.conference(customer, second, "1002")
    assert kinds(pbx.drain())[-3:] == [
        ("call.retrieved", customer, "1002"),
        ("call.ended", second, "conferenced"),
        ("call.conferenced", customer, "1002"),
    ]
    # one party of three leaves: the call goes on; then the customer hangs up: the call ends
    pbx.hangup(customer, "1003")
    assert pbx.drain() == []
    pbx.far_hangup(customer)
    ended = pbx.drain()
    assert kinds(ended) == [("call.ended", customer, "normal")]
    assert isinstance(ended[0], CallEvent) and ended[0].data == {"by": FAR}


def test_caller_abandons_in_queue_and_trunks_limit() -> None:
    pbx = SimPbx(extensions=["1001"], trunks=1)
    pbx.schedule_inbound(0, "+1", "800", queue="support", caller_hangs_up_after=30)
    pbx.schedule_inbound(5, "+2", "800")
    events = pbx.advance(60)
    assert kinds(events) == [
        ("call.offered", "sim-1", ""),
        ("queue.joined", "sim-1", ""),
        ("queue.left", "sim-1", "abandoned"),
        ("call.ended", "sim-1", "abandoned"),
    ]
    assert pbx.rejected == 1


def test_commands_refused_with_reasons() -> None:
    pbx = SimPbx(extensions=["1001"])
    with pytest.raises(CommandFailed, match="not an extension"):
        pbx.make_call("9999", "1001")
    call_id = pbx.make_call("1001", "5550100")
    with pytest.raises(CommandFailed, match="busy"):
        pbx.make_call("1001", "5550101")
    with pytest.raises(CommandFailed, match="not hold"):
        pbx.retrieve(call_id, "1001")
    with pytest.raises(LocalProtocolError):
        pbx.send_dtmf(call_id, "1001", "1\r\n")
    with pytest.raises(CommandFailed, match="no live call"):
        pbx.hold("sim-99", "1001")


def test_bus_commands_and_realtime_link() -> None:
    async def go() -> list[LinkEvent]:
        pbx = SimPbx(extensions=["1001"])
        pbx.script_number("5550100", NumberScript(DialOutcome.BUSY, 0.05))
        async with SimLink(pbx, realtime=True, tick=0.01) as link:
            result = await dispatch(
                link,
                Command(
                    command_id="c1", name="make_call", ts=0.0, args={"from_device": "1001", "to_number": "5550100"}
                ),
            )
            assert result == {"call_id": "sim-1"}
            return await take(link, 3)  # offered, alerting, ended: the clock moves by itself

    events = asyncio.run(go())
    assert kinds(events)[-1] == ("call.ended", "sim-1", "busy")
    assert isinstance(events[0], CallEvent) and not isinstance(events[0], AgentState)


def test_a_delivered_call_that_rings_unanswered_goes_back_to_its_queue() -> None:
    pbx = SimPbx(extensions=["1001", "1002"], ring_timeout=15.0)
    pbx.schedule_inbound(0.0, "+14155550100", "800", queue="sales")
    pbx.advance(0.0)
    (call_id,) = pbx.live_calls
    pbx.deliver(call_id, "1001")
    assert [e.type for e in pbx.advance(14.9) if isinstance(e, CallEvent)] == ["call.alerting"]
    (requeued,) = pbx.advance(15.0)
    assert isinstance(requeued, CallEvent)
    assert (requeued.type, requeued.call_id, requeued.queue, requeued.cause, requeued.extension, requeued.data) == (
        "queue.joined",
        call_id,
        "sales",
        "no_answer",
        "1001",
        {"no_answer": "1001"},
    )
    assert pbx.live_calls == [call_id] and pbx.parties(call_id)["1001"] is ConnectionState.NULL
    pbx.deliver(call_id, "1002")  # the ACD tries the next agent, who answers
    pbx.answer(call_id, "1002")
    assert [e.type for e in pbx.drain() if isinstance(e, CallEvent)] == ["call.alerting", "queue.left", "call.answered"]
    assert pbx.advance(60.0) == []  # no late ring timeout for 1001 or 1002


def test_a_direct_call_nobody_answers_still_ends_with_no_answer() -> None:
    pbx = SimPbx(extensions=["1001"], ring_timeout=15.0)
    pbx.schedule_inbound(0.0, "+14155550100", "1001", ring="1001")
    pbx.advance(0.0)
    ended = [e for e in pbx.advance(15.0) if isinstance(e, CallEvent)]
    assert [(e.type, e.cause) for e in ended] == [("call.ended", "no_answer")]


def test_mute_through_a_bus_command_and_only_on_a_live_party() -> None:
    import asyncio

    from bus.messages import Command
    from cti.errors import CommandFailed, LocalProtocolError
    from cti.link import dispatch
    from cti.sim import SimLink

    pbx = SimPbx(extensions=["1001"])
    link = SimLink(pbx)
    pbx.schedule_inbound(0.0, "+14155550100", "800", ring="1001")
    pbx.advance(0.0)
    pbx.answer("sim-1", "1001")

    def command(state: str, device: str = "1001") -> Command:
        return Command(command_id=f"m-{state}-{device}", name="mute", ts=0.0, call_id="sim-1",
                       args={"device": device, "state": state})

    asyncio.run(dispatch(link, command("on")))
    assert pbx.muted("sim-1") == {"1001"}
    asyncio.run(dispatch(link, command("off")))
    assert pbx.muted("sim-1") == set()
    with pytest.raises(LocalProtocolError, match="state is on or off"):
        asyncio.run(dispatch(link, command("loud")))
    with pytest.raises(CommandFailed):
        asyncio.run(dispatch(link, command("on", device="1002")))
