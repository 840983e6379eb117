"""The demo's in-process contact center, in simulated time: callers, IVR, ACD, simulated agents."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import resources
from bus.messages import AgentState, AgentStateName, CallEvent
from ccenter.democenter import AgentSeat, DemoCenter
from cti.sim import SimPbx
from ivr.flow import load_flow
from ivr.lookup import CustomerInfo, InMemoryLookup
from ivr.record import SessionRecord


def _lookup() -> InMemoryLookup:
    lookup = InMemoryLookup()
    lookup.add_customer(CustomerInfo("7", "Ada Lovelace", tier="vip", accounts=("10000007",)),
                        phones=("+14155550100",), pins={"10000007": "1234"})
    lookup.add_customer(CustomerInfo("8", "Bob Stone", tier="standard", accounts=("10000008",)),
                        phones=("+14155550101",), pins={"10000008": "1234"})
    return lookup


_pending: dict[int, list[CallEvent | AgentState]] = {}


def _listen(pbx: SimPbx) -> None:
    """From now on, events wait for the next ``_run`` (as on the link, where they queue)."""
    pbx.listener = _pending.setdefault(id(pbx), []).append


def _run(pbx: SimPbx, center: DemoCenter, until: float, seen: list[CallEvent | AgentState],
         each: Callable[[float], None] | None = None) -> None:
    """Advance time in half-second steps; events reach the center after each step, as on the link."""
    pending = _pending.setdefault(id(pbx), [])
    pbx.listener = pending.append
    t = pbx.now
    while t < until:
        t += 0.5
        pbx.advance(t)
        while pending:
            event = pending.pop(0)
            seen.append(event)
            center.observe(event)
        center.step()
        if each:
            each(t)


@pytest.fixture
def flow():
    return load_flow(resources.path("ivr", "telecom.yaml"))


def test_a_caller_goes_through_the_ivr_and_the_acd_to_a_simulated_agent(flow) -> None:
    pbx = SimPbx(extensions=["1001", "1002"])
    records: list[SessionRecord] = []
    center = DemoCenter(pbx, flow=flow, lookup=_lookup(), caller_numbers=[], record_sink=records.append,
                        seats=[AgentSeat("erin", "1002", {"vip": 7, "billing": 5}, simulated=True)])
    center.start_simulated_agents()
    seen: list[CallEvent | AgentState] = []
    center.inbound("+14155550100", script=("1", "1234#"))
    _run(pbx, center, 60, seen)
    data = next(e for e in seen if isinstance(e, CallEvent) and e.type == "call.data")
    fields = data.data["fields"]
    assert fields["verified"]["value"] is True and fields["customer_id"]["value"] == "7"
    assert data.data["routing"]["queue"] == "vip"
    alerting = [e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting"]
    assert [e.extension for e in alerting] == ["1002"]
    assert any(isinstance(e, CallEvent) and e.type == "call.answered" for e in seen)
    assert center.statistics()["vip"].answered == 1
    [record] = records
    assert (record.exit.value, record.queue, record.verified, record.customer_id) == ("transferred", "vip", True, "7")
    assert "1234" not in repr(record)


def test_a_desktop_agent_gets_calls_only_when_ready_and_not_during_wrap_up(flow) -> None:
    pbx = SimPbx(extensions=["1001"])
    center = DemoCenter(pbx, flow=flow, lookup=_lookup(), caller_numbers=[],
                        seats=[AgentSeat("alice", "1001", {"sales": 8, "billing": 8, "vip": 8}, simulated=False)])
    seen: list[CallEvent | AgentState] = []
    _listen(pbx)
    pbx.set_agent_state("alice", AgentStateName.NOT_READY, reason="logged on", extension="1001")
    center.inbound("+14155550101", script=("1", "1234#", "3"))
    _run(pbx, center, 30, seen)
    assert not [e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting"]
    assert center.waiting() == 1
    pbx.set_agent_state("alice", AgentStateName.READY, extension="1001")
    _run(pbx, center, 32, seen)
    [ring] = [e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting"]
    pbx.answer(ring.call_id, "1001")
    _run(pbx, center, 40, seen)
    center.inbound("+14155550100", script=("1", "1234#"))  # a second caller while alice talks
    pbx.hangup(ring.call_id, "1001")
    _run(pbx, center, 90, seen)
    assert len([e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting"]) == 1, "wrap-up"
    pbx.set_agent_state("alice", AgentStateName.READY, extension="1001")
    _run(pbx, center, 92, seen)
    assert len([e for e in seen if isinstance(e, CallEvent) and e.type == "call.alerting"]) == 2


def test_the_agents_own_outbound_call_is_not_the_acds_business(flow) -> None:
    pbx = SimPbx(extensions=["1001"])
    center = DemoCenter(pbx, flow=flow, lookup=_lookup(), caller_numbers=[],
                        seats=[AgentSeat("alice", "1001", {"sales": 8}, simulated=False)])
    seen: list[CallEvent | AgentState] = []
    _listen(pbx)
    call_id = pbx.make_call("1001", "+14155550199")
    _run(pbx, center, 10, seen)
    pbx.hangup(call_id, "1001")
    _run(pbx, center, 11, seen)
    assert any(isinstance(e, CallEvent) and e.type == "call.ended" for e in seen)
    assert center.waiting() == 0
