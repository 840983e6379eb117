"""The ACD adapter without a bus: messages and times in, decisions and commands out."""

from __future__ import annotations

from bus import topics
from bus.messages import AgentState, CallEvent
from routing.acd_config import AcdConfig, AgentProfile
from routing.adapter import AcdAdapter, queue_request
from routing.model import AgentStatus, CallStatus, OfferCall, QueueConfig

SITE = "t"
CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=10.0),),
    agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"sales": 3}, "1002")},
)


def test_a_queued_call_goes_to_the_ready_agent_as_deliver_and_offer_commands() -> None:
    acd = AcdAdapter(CONFIG, SITE)
    assert acd.receive(AgentState(agent_id="alice", state="ready", ts=1.0), 1.0) == []
    handoff = CallEvent(type="call.data", call_id="c1", ts=2.0, data={"routing": {"queue": "sales", "priority": 3}})
    [offer] = acd.receive(handoff, 2.0)
    assert isinstance(offer, OfferCall) and (offer.call_id, offer.agent_id) == ("c1", "alice")
    deliver, desk = acd.commands([offer], epoch=4, now=2.0)
    assert deliver.topic == topics.cti_commands(SITE) and desk.topic == topics.agent_events(SITE, "alice")
    assert deliver.command.name == "deliver" and deliver.command.command_id == "c1:alice:1"
    assert deliver.command.args == {"call_id": "c1", "extension": "1001", "queue": "sales", "epoch": 4}
    assert desk.command.name == "offer" and desk.command.command_id == "c1:alice:1:offer"
    assert acd.receive(CallEvent(type="call.answered", call_id="c1", ts=3.0), 3.0) == []
    assert acd.engine.call_status("c1") is CallStatus.CONNECTED
    acd.receive(CallEvent(type="call.ended", call_id="c1", ts=4.0), 4.0)
    assert "c1" in acd.ended and acd.calls == {}
    # A late duplicate of the hand-off is recognised: the call is over.
    assert acd.receive(handoff, 5.0) == [] and acd.waiting_calls() == []


def test_ring_no_answer_comes_from_the_timer_passed_in() -> None:
    acd = AcdAdapter(CONFIG, SITE)
    acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=0.0, queue="sales"), 0.0)
    assert acd.tick(5.0) == []  # not due yet
    assert acd.next_timer() == 10.0
    names = [c.command.name for c in acd.commands(acd.tick(10.0), epoch=1, now=10.0)]
    assert names == ["withdraw", "withdraw", "set_state"]
    assert acd.engine.agent_status("alice") is AgentStatus.NOT_READY


def test_agent_states_older_than_the_last_applied_are_skipped() -> None:
    acd = AcdAdapter(CONFIG, SITE)
    acd.receive(AgentState(agent_id="bob", state="ready", ts=10.0), 10.0)
    acd.receive(AgentState(agent_id="bob", state="not_ready", ts=9.0, reason="late"), 11.0)
    assert acd.engine.agent_status("bob") is AgentStatus.READY
    acd.receive(AgentState(agent_id="bob", state="busy", ts=12.0), 12.0)  # a report: changes nothing
    assert acd.engine.agent_status("bob") is AgentStatus.READY


def test_queue_request_reads_the_ivr_handoff_and_names_bad_fields() -> None:
    assert queue_request(CallEvent(type="call.answered", call_id="c", ts=0.0)) is None
    assert queue_request(CallEvent(type="call.data", call_id="c", ts=0.0, data={"x": 1})) is None
    request = queue_request(CallEvent(type="call.data", call_id="c", ts=0.0,
                                      data={"routing": {"queue": "vip", "skills": {"es": "7"}}}))
    assert request is not None and (request.queue, request.priority, request.skills) == ("vip", 0, {"es": 7})
    bad = queue_request(CallEvent(type="queue.joined", call_id="c", ts=0.0, queue="q",
                                  data={"routing": {"priority": "high"}}))
    assert bad is not None and bad.queue == "q" and bad.priority == 0 and bad.problem is not None


def test_snapshot_and_restore_carry_a_waiting_call_and_a_talking_agent() -> None:
    old = AcdAdapter(CONFIG, SITE)
    old.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    old.receive(CallEvent(type="queue.joined", call_id="c1", ts=1.0, queue="sales"), 1.0)
    old.receive(CallEvent(type="call.answered", call_id="c1", ts=2.0), 2.0)
    old.receive(CallEvent(type="queue.joined", call_id="c2", ts=3.0, queue="sales"), 3.0)
    snapshot = old.snapshot(client_id="a", epoch=1, seq=1, now=4.0)
    new = AcdAdapter(CONFIG, SITE)
    resend, decisions = new.restore(snapshot, 5.0)
    assert resend == [] and decisions == []
    assert new.waiting_calls() == ["c2"]
    assert new.engine.agent_status("alice") is AgentStatus.ON_CALL


def test_leaving_the_pbx_queue_by_the_deliver_is_no_abandon_and_the_agent_stays_reserved() -> None:
    """Asterisk reports the deliver's Redirect out of Queue() as QueueCallerAbandon."""
    acd = AcdAdapter(CONFIG, SITE)
    acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    [offer] = acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=1.0, queue="sales"), 1.0)
    assert isinstance(offer, OfferCall) and offer.agent_id == "alice"
    left = CallEvent(type="queue.left", call_id="c1", ts=1.2, queue="sales", cause="abandoned")
    assert acd.receive(left, 1.2) == []
    assert acd.engine.call_status("c1") is CallStatus.OFFERED
    # a second customer does not reach alice while the first rings at her
    assert acd.receive(CallEvent(type="queue.joined", call_id="c2", ts=1.5, queue="sales"), 1.5) == []
    assert acd.receive(CallEvent(type="call.answered", call_id="c1", ts=3.0, extension="1001"), 3.0) == []
    stats = acd.queue_stats("sales", 4.0)
    assert (stats.answered, stats.abandoned) == (1, 0)
    assert acd.engine.call_status("c2") is CallStatus.QUEUED


def test_a_caller_who_hangs_up_while_the_delivered_call_rings_is_abandoned() -> None:
    acd = AcdAdapter(CONFIG, SITE)
    acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=1.0, queue="sales"), 1.0)
    acd.receive(CallEvent(type="queue.left", call_id="c1", ts=1.2, queue="sales", cause="abandoned"), 1.2)
    acd.receive(CallEvent(type="call.ended", call_id="c1", ts=2.0), 2.0)
    stats = acd.queue_stats("sales", 3.0)
    assert (stats.answered, stats.abandoned) == (0, 1)
    assert acd.engine.agent_status("alice") is AgentStatus.READY


def test_every_ring_no_answer_withdraw_has_its_own_command_id() -> None:
    """The gateway drops a repeated command id: a second ring-no-answer must not look like the first."""
    acd = AcdAdapter(CONFIG, SITE)
    cti = topics.cti_commands(SITE)
    acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
    acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=0.0, queue="sales"), 0.0)
    first = [o.command.command_id for o in acd.commands(acd.tick(10.0), epoch=1, now=10.0) if o.topic == cti]
    acd.receive(AgentState(agent_id="alice", state="ready", ts=11.0), 11.0)  # back: the call is offered again
    second = [o.command.command_id for o in acd.commands(acd.tick(21.0), epoch=1, now=21.0) if o.topic == cti]
    assert first == ["c1:alice:1:withdraw"]
    assert second == ["c1:alice:2:withdraw"]


def test_a_replayed_customer_answer_does_not_connect_an_offer_taken_over() -> None:
    """An outbound call's customer answers before the call joins the queue: the leader offers it, dies before
    its deliver goes out, and the standby replays its buffered events (that answer among them) onto the
    snapshot. The offer stays an offer, sent again; only the agent's own answer connects it."""
    old = AcdAdapter(CONFIG, SITE)
    old.receive(AgentState(agent_id="alice", state="ready", ts=0.0, extension="1001"), 0.0)
    customer = CallEvent(type="call.answered", call_id="out-1", ts=1.0, called="+15550001")
    joined = CallEvent(type="queue.joined", call_id="out-1", ts=1.1, queue="sales")
    buffered = [customer, joined]
    for event in buffered:
        old.receive(event, 1.1)
    assert old.engine.call_status("out-1") is CallStatus.OFFERED
    snapshot = old.snapshot(client_id="a", epoch=1, seq=1, now=1.2)
    new = AcdAdapter(CONFIG, SITE)
    resend, _ = new.restore(snapshot, 2.0)
    assert resend == [("out-1", "alice")]
    for event in buffered:
        new.receive(event, 2.0)
    assert new.engine.call_status("out-1") is CallStatus.OFFERED
    assert new.engine.agent_status("alice") is AgentStatus.RESERVED
    new.receive(CallEvent(type="call.answered", call_id="out-1", ts=3.0, extension="9999"), 3.0)  # another phone
    assert new.engine.call_status("out-1") is CallStatus.OFFERED
    new.receive(CallEvent(type="call.answered", call_id="out-1", ts=3.0, extension="1001"), 3.0)
    assert new.engine.call_status("out-1") is CallStatus.CONNECTED
    assert new.engine.agent_status("alice") is AgentStatus.ON_CALL
