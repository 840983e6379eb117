from __future__ import annotations

import logging
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.messages import AgentState, CallEvent
from cti.codec import NEED_DATA, ProtocolIssue
from cti.csta.codec import NS_ED3, NS_ED4, CstaDecoder, CstaMessage, CstaProtocol, RequestCompleted, encode_message
from cti.csta.mapper import CstaMapper
from cti.errors import LocalProtocolError
from cti.model import LinkEvent
from tests.helpers import ExpectLog

from .helpers import chunks, fixture_bytes

PROPS = settings(max_examples=200, deadline=None)


def frame(invoke: str, xml: str) -> bytes:
    body = xml.encode()
    return struct.pack(">I", len(body) + 8) + invoke.encode() + body


def decode_all(data: bytes | list[bytes], **kw: int) -> list[object]:
    decoder = CstaDecoder(**kw)
    out: list[object] = []
    for part in [data] if isinstance(data, bytes) else data:
        out.extend(decoder.feed(part))
    out.extend(decoder.feed(b""))
    assert decoder.buffered == 0
    return out


def test_frames_invoke_ids_and_flattened_fields() -> None:
    events = decode_all(fixture_bytes("csta_transfer.csta"))
    assert all(isinstance(e, CstaMessage) for e in events)
    first, delivered, held = events[0], events[2], events[5]
    assert isinstance(first, CstaMessage) and (first.invoke_id, first.name) == ("0001", "MonitorStartResponse")
    assert first.get("monitorCrossRefID") == "17" and first.namespace == NS_ED4
    assert isinstance(delivered, CstaMessage) and delivered.invoke_id == "9999" and delivered.is_event
    assert delivered.get("connection/callID") == "3401"
    assert delivered.get("callingDevice/deviceIdentifier") == "N<+4989700700>"
    assert isinstance(held, CstaMessage) and held.namespace == NS_ED3


def test_encode_request_round_trip_and_refusals() -> None:
    data = encode_message("AnswerCall", {"callToBeAnswered": {"callID": "3401", "deviceID": "2001"}}, invoke_id="0042")
    assert struct.unpack(">I", data[:4])[0] == len(data) and data[4:8] == b"0042"
    (msg,) = decode_all(data)
    assert isinstance(msg, CstaMessage) and msg.name == "AnswerCall" and msg.namespace == NS_ED4
    assert msg.fields == (("callToBeAnswered/callID", "3401"), ("callToBeAnswered/deviceID", "2001"))
    with pytest.raises(LocalProtocolError, match="control characters"):
        encode_message("MakeCall", {"calledDirectoryNumber": "555\x00"}, invoke_id="0001")
    with pytest.raises(LocalProtocolError, match="element name"):
        encode_message("MakeCall", {"bad name": "1"}, invoke_id="0001")
    with pytest.raises(LocalProtocolError, match="4 digits"):
        encode_message("MakeCall", {}, invoke_id="12345")
    # XML special characters are escaped, not refused
    (msg,) = decode_all(encode_message("MakeCall", {"note": "<&>\"'"}, invoke_id="0002"))
    assert isinstance(msg, CstaMessage) and msg.get("note") == "<&>\"'"


def test_garbage_doctype_broken_xml_and_truncation(expect_log: ExpectLog) -> None:
    with expect_log(logging.WARNING, "cti.csta.codec", match=r"^CSTA stream offset \d+ \(\d+ bytes\): ") as logged:
        events = decode_all(fixture_bytes("csta_garbage.csta"))
    assert len(logged.records) == 4
    assert [(e.offset, e.reason.split(":")[0]) for e in events if isinstance(e, ProtocolIssue)] == [
        (0, "bytes that are no CSTA frame skipped"),
        (12, "XML with a DOCTYPE or ENTITY declaration refused"),
        (134, "XML does not parse"),
        (466, "truncated frame (40 of 236 bytes) at end of stream"),
    ]
    assert [e.name for e in events if isinstance(e, CstaMessage)] == ["CallClearedEvent"]


@pytest.mark.expect_log(logging.WARNING, "cti.csta.codec", match="frame over 1000 bytes skipped")
def test_oversized_frame_skipped_without_buffering() -> None:
    big = frame("9999", "<HeldEvent>" + "x" * 5000 + "</HeldEvent>")
    small = frame("9999", "<RetrievedEvent/>")
    decoder = CstaDecoder(max_frame=1000)
    out: list[object] = []
    for part in chunks(big + small, list(range(0, len(big) + len(small), 64))):
        out.extend(decoder.feed(part))
        assert decoder.buffered <= 64 + 9
    assert out[0] == ProtocolIssue(0, len(big), "frame over 1000 bytes skipped")
    assert isinstance(out[1], CstaMessage) and out[1].name == "RetrievedEvent"


def test_protocol_pairs_responses_by_invoke_id() -> None:
    proto = CstaProtocol()
    mc, _ = proto.send("MakeCall", {"callingDevice": "2001", "calledDirectoryNumber": "5551234"})
    hc, _ = proto.send("HoldCall", {"callToBeHeld": {"callID": "1", "deviceID": "2001"}})
    assert (mc, hc) == ("0001", "0002")
    proto.receive_data(
        frame(hc, f'<CSTAErrorCode xmlns="{NS_ED4}"><operation>invalidCallID</operation></CSTAErrorCode>')
        + frame("9999", f'<HeldEvent xmlns="{NS_ED4}"/>')
        + frame(
            mc,
            f'<MakeCallResponse xmlns="{NS_ED4}"><callingDevice><callID>55</callID>'
            "<deviceID>2001</deviceID></callingDevice></MakeCallResponse>",
        )
    )
    first, second, third = proto.next_event(), proto.next_event(), proto.next_event()
    assert proto.next_event() is NEED_DATA
    assert isinstance(first, RequestCompleted) and not first.ok and first.error == "operation invalidCallID"
    assert isinstance(second, CstaMessage) and second.name == "HeldEvent"
    assert isinstance(third, RequestCompleted) and third.ok and third.response.get("callingDevice/callID") == "55"


def test_mapper_transfer_transcript_keeps_one_call_id() -> None:
    mapper = CstaMapper(clock=lambda: 5.0)
    events: list[LinkEvent] = []
    for m in decode_all(fixture_bytes("csta_transfer.csta")):
        assert isinstance(m, CstaMessage)
        events.extend(mapper.map(m))
    rows = [
        (e.type, e.call_id, e.extension or "", e.cause or "")
        if isinstance(e, CallEvent)
        else ("agent.state", e.agent_id, e.state, "")
        for e in events
    ]
    assert rows == [
        ("agent.state", "agent-21", "ready", ""),
        ("call.offered", "csta-3401", "", ""),
        ("call.alerting", "csta-3401", "2001", ""),
        ("call.answered", "csta-3401", "2001", ""),
        ("agent.state", "agent-21", "busy", ""),
        ("call.held", "csta-3401", "2001", ""),
        ("call.offered", "csta-3402", "", ""),
        ("call.alerting", "csta-3402", "2002", ""),
        ("call.answered", "csta-3402", "2002", ""),
        ("call.ended", "csta-3402", "", "transferred"),
        ("call.transferred", "csta-3401", "2002", ""),
        ("agent.state", "agent-21", "wrap_up", ""),
        ("call.ended", "csta-3401", "", "normalClearing"),
        ("call.offered", "csta-3410", "", ""),
        ("call.ended", "csta-3410", "", "busy"),
    ]
    offered = events[1]
    assert isinstance(offered, CallEvent) and (offered.calling, offered.called) == ("+4989700700", "2001")
    assert isinstance(events[6], CallEvent) and events[6].calling == "2001"
    assert mapper.live_calls == 0
    assert isinstance(events[0], AgentState) and events[0].extension == "2001"


@pytest.mark.expect_log(logging.WARNING, "cti.csta.codec", required=False)  # garbage in: issues are logged
@PROPS
@given(st.binary(max_size=1500), st.lists(st.integers(min_value=0, max_value=1500), max_size=20))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data: bytes, cuts: list[int]) -> None:
    assert decode_all(chunks(data, cuts), max_frame=500) == decode_all(data, max_frame=500)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)


@pytest.mark.expect_log(logging.WARNING, "cti.csta.codec", required=False)  # the noise is logged
@PROPS
@given(
    st.lists(st.dictionaries(st.from_regex(r"[a-z][A-Za-z0-9]{0,8}", fullmatch=True), _text, max_size=5), max_size=6),
    st.lists(st.integers(min_value=0, max_value=4000), max_size=25),
    st.binary(max_size=30),
)
def test_valid_frames_survive_chunking_after_garbage(
    bodies: list[dict[str, str]], cuts: list[int], noise: bytes
) -> None:
    proto = CstaProtocol()
    data = b"".join(proto.send("SetAgentState", body)[1] for body in bodies)
    # Noise without the '<' a frame's XML starts with cannot pass for a frame header.
    noise = noise.replace(b"<", b"").replace(b"\xef", b"")
    events = decode_all(chunks(noise + data, cuts))
    messages = [e for e in events if isinstance(e, CstaMessage)]
    assert [dict(m.fields) for m in messages] == [{k: v.strip() for k, v in b.items()} for b in bodies]
    assert [m.invoke_id for m in messages] == [f"{i:04d}" for i in range(1, len(bodies) + 1)]
