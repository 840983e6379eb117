"""AgentSession: the desktop's state, driven by the simulated PBX's real events."""

from __future__ import annotations

from agent_desktop.session import (
    Action,
    AgentSession,
    CallChanged,
    CallEnded,
    CallPhase,
    ScreenPop,
    StateChanged,
    WrapUpStarted,
)
from bus.messages import AgentStateName, CallEvent
from cti.sim import SimPbx


def feed(session: AgentSession, pbx: SimPbx, now: float) -> list[object]:
    effects: list[object] = []
    for event in pbx.advance(now):
        effects += session.on_event(event, now)
    return effects


def pops(effects: list[object]) -> list[ScreenPop]:
    return [e for e in effects if isinstance(e, ScreenPop)]


def test_screen_pop_fires_once_with_the_ivr_data_and_wrap_up_follows_the_call() -> None:
    pbx = SimPbx(extensions=["1001", "1002"])
    session = AgentSession("alice", "1001", wrap_up_seconds=30)
    session.log_on(0)
    session.set_ready(0)
    pbx.schedule_inbound(1, "+14155550100", "800", queue="billing", data={"intent": "billing", "verified": "true"})
    assert pops(feed(session, pbx, 1)) == []  # offered to the queue, not to this agent yet
    pbx.deliver("sim-1", "1001")
    effects = feed(session, pbx, 2)
    [pop] = pops(effects)
    assert pop.call.calling == "+14155550100" and pop.call.data == {"intent": "billing", "verified": "true"}
    assert pop.call.queue == "billing" and pop.call.phase is CallPhase.RINGING
    assert Action.ANSWER in session.actions()

    pbx.answer("sim-1", "1001")
    pbx.hold("sim-1", "1001")
    pbx.retrieve("sim-1", "1001")
    effects = feed(session, pbx, 3)
    assert pops(effects) == []
    assert session.calls["sim-1"].phase is CallPhase.CONNECTED
    assert {Action.HOLD, Action.HANGUP, Action.CONSULT, Action.SEND_DTMF} <= session.actions()
    assert Action.ANSWER not in session.actions()

    pbx.far_hangup("sim-1")
    effects = feed(session, pbx, 10)
    assert pops(effects) == []
    ended = [e for e in effects if isinstance(e, CallEnded)]
    assert ended and ended[0].handled
    [wrap] = [e for e in effects if isinstance(e, WrapUpStarted)]
    assert wrap.deadline == 40 and session.state is AgentStateName.WRAP_UP
    session.extend_wrap_up(15)
    assert session.tick(50) == []
    assert session.tick(55) == [StateChanged(AgentStateName.READY, None, 55)]


def test_no_second_pop_when_a_call_is_transferred_back() -> None:
    pbx = SimPbx(extensions=["1001", "1002"])
    alice = AgentSession("alice", "1001")
    bob = AgentSession("bob", "1002")
    pbx.schedule_inbound(0, "+14155550100", "800", ring="1001")

    def run(now: float) -> list[object]:
        events = pbx.advance(now)
        return [e for ev in events for e in alice.on_event(ev, now)] + [
            e for ev in events for e in bob.on_event(ev, now)]

    assert len(pops(run(0))) == 1
    pbx.answer("sim-1", "1001")
    pbx.blind_transfer("sim-1", "1001", "1002")
    effects = run(1)
    assert "sim-1" not in alice.calls
    assert [p.call.call_id for p in pops(effects)] == ["sim-1"]  # bob's pop
    pbx.answer("sim-1", "1002")
    pbx.blind_transfer("sim-1", "1002", "1001")
    effects = run(2)
    assert pops(effects) == []  # alice already popped this call
    assert alice.calls["sim-1"].phase is CallPhase.RINGING


def test_consultation_and_attended_transfer() -> None:
    pbx = SimPbx(extensions=["1001", "1002"])
    alice = AgentSession("alice", "1001")
    alice.log_on(0)
    pbx.schedule_inbound(0, "+14155550100", "800", ring="1001")
    feed(alice, pbx, 0)
    pbx.answer("sim-1", "1001")
    feed(alice, pbx, 1)
    consult = pbx.consult("sim-1", "1001", "1002")
    effects = feed(alice, pbx, 2)
    assert pops(effects) == []  # a consultation call does not pop
    assert alice.calls["sim-1"].phase is CallPhase.HELD and alice.calls[consult].consult_of == "sim-1"
    assert {Action.ATTENDED_TRANSFER, Action.CONFERENCE} <= alice.actions()
    pbx.answer(consult, "1002")
    pbx.attended_transfer("sim-1", consult, "1001")
    effects = feed(alice, pbx, 3)
    assert alice.calls == {}
    assert any(isinstance(e, WrapUpStarted) for e in effects)


def test_unanswered_call_needs_no_wrap_up_and_capabilities_limit_actions() -> None:
    pbx = SimPbx(extensions=["1001"])
    session = AgentSession("alice", "1001")
    session.log_on(0)
    pbx.schedule_inbound(0, "+14155550100", "800", ring="1001", caller_hangs_up_after=5)
    feed(session, pbx, 0)
    assert session.actions(frozenset({"hangup"})) >= {Action.HANGUP}
    assert Action.ANSWER not in session.actions(frozenset({"hangup"}))
    effects = feed(session, pbx, 6)
    assert [e.handled for e in effects if isinstance(e, CallEnded)] == [False]
    assert session.state is AgentStateName.NOT_READY


def test_outbound_call_pops_once_and_events_of_other_calls_are_ignored() -> None:
    pbx = SimPbx(extensions=["1001", "1002"])
    session = AgentSession("alice", "1001")
    call_id = pbx.make_call("1001", "+14155550199")
    effects = feed(session, pbx, 0)
    assert [p.call.call_id for p in pops(effects)] == [call_id]
    assert session.calls[call_id].phase is CallPhase.DIALING and session.calls[call_id].outbound
    other = CallEvent(type="call.held", call_id="elsewhere", ts=0, extension="1002")
    assert session.on_event(other, 1) == []
    assert any(isinstance(e, CallChanged) for e in session.on_event(
        CallEvent(type="call.data", call_id=call_id, ts=1, data={"note": "x"}), 1))


def test_the_screen_pop_carries_the_callers_name() -> None:
    session = AgentSession("alice", "1001")
    session.log_on(0)
    session.set_ready(0)
    offered = CallEvent(type="call.offered", call_id="c1", ts=1, calling="+8613800138000", calling_name="王小明")
    assert session.on_event(offered, 1) == []
    [pop] = pops(session.on_event(CallEvent(type="call.alerting", call_id="c1", ts=2, extension="1001"), 2))
    assert (pop.call.calling, pop.call.calling_name) == ("+8613800138000", "王小明")
