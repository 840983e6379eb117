from __future__ import annotations

import logging

import pytest

from bus.messages import AgentState, CallEvent
from cti.ami.codec import AmiDecoder, AmiMessage
from cti.ami.mapper import AmiMapper, device_of
from cti.model import CallState, CallTracker, LinkEvent

from .helpers import fixture_bytes


def run(name: str | bytes, mapper: AmiMapper | None = None) -> list[LinkEvent]:
    mapper = mapper or AmiMapper(clock=lambda: 42.0)
    data = fixture_bytes(name) if isinstance(name, str) else name
    out: list[LinkEvent] = []
    for event in AmiDecoder().feed(data) + AmiDecoder().feed(b""):
        if isinstance(event, AmiMessage):
            out.extend(mapper.map(event))
    return out


def brief(events: list[LinkEvent]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for e in events:
        if isinstance(e, AgentState):
            rows.append(("agent.state", e.agent_id, e.state, e.reason or ""))
        else:
            rows.append((e.type, e.call_id, e.extension or "", e.cause or ""))
    return rows


def test_device_of_channel_names() -> None:
    assert device_of("PJSIP/1001-0000002a") == "1001"
    assert device_of("SIP/my-trunk-0000000b") == "my-trunk"
    assert device_of("Local/1001@from-queue-00000001;2") == "1001"
    assert device_of("DAHDI/1-1") == "1"
    assert device_of("") is None


def test_inbound_queue_call_recorded_transcript() -> None:
    events = run("ami_inbound_queue.ami")
    cid = "1700000010.17"
    assert brief(events) == [
        ("agent.state", "agent-7", "logged_on", ""),
        ("agent.state", "agent-7", "ready", ""),
        ("call.offered", cid, "carrier", ""),
        ("call.data", cid, "", ""),
        ("call.data", cid, "", ""),
        ("queue.joined", cid, "", ""),
        ("call.alerting", cid, "1001", ""),
        ("agent.state", "agent-7", "reserved", ""),
        ("queue.left", cid, "", ""),
        ("call.answered", cid, "1001", ""),  # AgentConnect speaks for the leg the queue dialed
        ("agent.state", "agent-7", "busy", ""),
        ("call.held", cid, "1001", ""),
        ("call.retrieved", cid, "1001", ""),
        ("call.transferred", cid, "", ""),
        ("agent.state", "agent-7", "wrap_up", "transfer"),
        ("call.alerting", cid, "1002", ""),
        ("call.answered", cid, "1002", ""),
        ("agent.state", "agent-7", "not_ready", "lunch"),
        ("call.ended", cid, "", "Normal Clearing"),
    ]
    offered = events[2]
    assert isinstance(offered, CallEvent)
    assert (offered.calling, offered.called, offered.ts) == ("+14155550100", "8005550199", 1700000010.0001)
    data = [e.data for e in events if isinstance(e, CallEvent) and e.type == "call.data"]
    assert data == [{"account": "12345678"}, {"intent": "billing", "verified": "yes"}]
    answered = events[9]
    assert isinstance(answered, CallEvent) and (answered.agent_id, answered.queue) == ("agent-7", "sales")
    transferred = events[13]
    assert isinstance(transferred, CallEvent) and transferred.called == "1002"
    tracker = CallTracker()
    for e in events:
        call = tracker.apply(e)
    assert call is not None and call.state is CallState.ENDED and dict(call.data)["intent"] == "billing"


def test_outbound_outcomes_and_conference() -> None:
    events = run("ami_outbound_lf.ami")
    assert brief(events) == [
        ("call.offered", "1700000200.30", "1003", ""),
        ("call.alerting", "1700000200.30", "carrier", ""),
        ("call.ended", "1700000200.30", "", "busy"),
        ("call.offered", "1700000300.40", "carrier", ""),
        ("call.ended", "1700000300.40", "", "answering_machine"),
        ("call.offered", "1700000400.50", "1004", ""),
        ("call.answered", "1700000400.50", "carrier", ""),
        ("call.answered", "1700000400.50", "1005", ""),
        ("call.conferenced", "1700000400.50", "1005", ""),
    ]
    assert all(e.ts == 42.0 for e in events)  # no Timestamp headers: the clock gives ts


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", match="^AMI stream offset")
def test_garbage_capture_still_yields_the_call() -> None:
    assert brief(run("ami_garbage.ami")) == [
        ("call.offered", "1600000000.1", "trunk", ""),
        ("call.ended", "1600000000.1", "", "16"),
    ]


def _ev(name: str, **headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in {"Event": name, **headers}.items()) + "\r\n").encode()


def test_resync_keeps_call_ids_and_ends_calls_lost_while_down() -> None:
    mapper = AmiMapper(clock=lambda: 1.0)
    before = run(
        _ev("Newchannel", Channel="PJSIP/trunk-1", Uniqueid="A", Linkedid="A", ChannelState="6", Exten="800")
        + _ev("Newchannel", Channel="PJSIP/1001-2", Uniqueid="A2", Linkedid="A", ChannelState="6")
        + _ev("Newchannel", Channel="PJSIP/trunk-3", Uniqueid="B", Linkedid="B", ChannelState="6"),
        mapper,
    )
    assert [(e.message_type, getattr(e, "call_id", "")) for e in before] == [
        ("call.offered", "A"),
        ("call.answered", "A"),
        ("call.offered", "B"),
    ]
    mapper.begin_resync()
    during = run(
        _ev("CoreShowChannel", ActionID="r1", Channel="PJSIP/trunk-1", Uniqueid="A", Linkedid="A", ChannelState="6")
        + _ev("CoreShowChannel", ActionID="r1", Channel="PJSIP/1001-2", Uniqueid="A2", Linkedid="A", ChannelState="6")
        + _ev(
            "CoreShowChannel",
            ActionID="r1",
            Channel="PJSIP/trunk-9",
            Uniqueid="C",
            Linkedid="C",
            ChannelState="6",
            CallerIDNum="5550001",
        ),
        mapper,
    )
    assert [(e.message_type, getattr(e, "call_id", "")) for e in during] == [("call.offered", "C")]
    after = mapper.end_resync()
    assert [(e.message_type, getattr(e, "call_id", ""), getattr(e, "cause", "")) for e in after] == [
        ("call.ended", "B", "ended while the link was down"),
    ]
    assert mapper.channels_of("A") == ["PJSIP/trunk-1", "PJSIP/1001-2"]
    # the surviving call goes on under the same call_id
    later = run(_ev("Hold", Channel="PJSIP/1001-2", Uniqueid="A2", Linkedid="A"), mapper)
    assert [(e.message_type, getattr(e, "call_id", "")) for e in later] == [("call.held", "A")]


def test_attended_transfer_rehomes_target_and_queue_abandon() -> None:
    mapper = AmiMapper(clock=lambda: 1.0)
    run(
        _ev("Newchannel", Channel="PJSIP/trunk-1", Uniqueid="A", Linkedid="A")
        + _ev("Newchannel", Channel="PJSIP/1001-2", Uniqueid="A2", Linkedid="A", ChannelState="6")
        + _ev("Newchannel", Channel="PJSIP/1001-3", Uniqueid="K", Linkedid="K", ChannelState="6")
        + _ev("Newchannel", Channel="PJSIP/1002-4", Uniqueid="K2", Linkedid="K", ChannelState="6"),
        mapper,
    )
    events = run(
        _ev(
            "AttendedTransfer",
            Result="Success",
            OrigTransfererChannel="PJSIP/1001-2",
            OrigTransfererLinkedid="A",
            SecondTransfererLinkedid="K",
            TransfereeLinkedid="A",
            TransferTargetChannel="PJSIP/1002-4",
            TransferTargetUniqueid="K2",
            TransferTargetLinkedid="K",
        )
        + _ev("Hangup", Channel="PJSIP/1001-3", Uniqueid="K", Linkedid="K", **{"Cause-txt": "Normal Clearing"})
        + _ev("Hangup", Channel="PJSIP/1001-2", Uniqueid="A2", Linkedid="A")
        + _ev("Hangup", Channel="PJSIP/trunk-1", Uniqueid="A", Linkedid="A")
        + _ev("Hangup", Channel="PJSIP/1002-4", Uniqueid="K2", Linkedid="A", **{"Cause-txt": "Normal Clearing"}),
        mapper,
    )
    assert brief(events) == [
        ("call.transferred", "A", "1002", ""),
        ("call.ended", "K", "", "Normal Clearing"),
        ("call.ended", "A", "", "Normal Clearing"),
    ]
    q = run(
        _ev("QueueCallerJoin", Channel="PJSIP/trunk-5", Uniqueid="Q", Linkedid="Q", Queue="support", Position="3")
        + _ev("QueueCallerAbandon", Channel="PJSIP/trunk-5", Uniqueid="Q", Linkedid="Q", Queue="support")
        + _ev("QueueCallerLeave", Channel="PJSIP/trunk-5", Uniqueid="Q", Linkedid="Q", Queue="support"),
        mapper,
    )
    assert brief(q) == [
        ("call.offered", "Q", "trunk", ""),
        ("queue.joined", "Q", "", ""),
        ("queue.left", "Q", "", "abandoned"),
    ]


def test_a_confbridge_of_two_calls_conferences_both() -> None:
    """As captured live: the held customer (Linkedid P) and the consultation (K) keep their own
    Linkedids in the ConfBridge; both calls are conferenced, the held one no longer looks held."""
    mapper = AmiMapper(clock=lambda: 1.0)
    run(
        _ev("Newchannel", Channel="IAX2/pstn-1", Uniqueid="P", Linkedid="P", ChannelState="6", Exten="500")
        + _ev("Newchannel", Channel="IAX2/2002-1", Uniqueid="K", Linkedid="K", ChannelState="6")
        + _ev("Newchannel", Channel="IAX2/2003-1", Uniqueid="K2", Linkedid="K", ChannelState="6"),
        mapper,
    )
    events = run(
        _ev("BridgeEnter", Channel="IAX2/2002-1", Uniqueid="K", Linkedid="K", BridgeUniqueid="room")
        + _ev("BridgeEnter", Channel="IAX2/pstn-1", Uniqueid="P", Linkedid="P", BridgeUniqueid="room")
        + _ev("BridgeEnter", Channel="IAX2/2003-1", Uniqueid="K2", Linkedid="K", BridgeUniqueid="room"),
        mapper,
    )
    conferenced = [e for e in events if isinstance(e, CallEvent) and e.type == "call.conferenced"]
    assert sorted(e.call_id for e in conferenced) == ["K", "P"]
    assert all(e.data == {"parties": ["2002", "2003", "pstn"]} for e in conferenced)


def test_a_failed_originate_without_a_channel_ends_its_call_once() -> None:
    mapper = AmiMapper(clock=lambda: 1.0)
    failed = _ev("OriginateResponse", ActionID="cc3-9", Response="Failure", Channel="IAX2/2009", Reason="5",
                 Uniqueid="cc-never-up")  # fmt: skip
    events = run(failed, mapper)
    assert [(e.type, e.call_id, e.cause) for e in events if isinstance(e, CallEvent)] == [
        ("call.ended", "cc-never-up", "busy")
    ]
    assert run(failed, mapper) == []
    # As captured: the channels came and went, then the OriginateResponse: the call ended already.
    ended = run(
        _ev("Newchannel", Channel="Local/555@from-internal-1;1", Uniqueid="cc-x", Linkedid="cc-x", ChannelState="0")
        + _ev("Hangup", Channel="Local/555@from-internal-1;1", Uniqueid="cc-x", Linkedid="cc-x", Cause="17")
        + _ev("OriginateResponse", ActionID="cc3-59", Response="Failure", Reason="0", Uniqueid="cc-x"),
        mapper,
    )
    assert [e.type for e in ended if isinstance(e, CallEvent)] == ["call.offered", "call.ended"]
