from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.codec import (
    NEED_DATA,
    ActionCompleted,
    AmiDecoder,
    AmiMessage,
    AmiProtocol,
    Banner,
    ProtocolIssue,
    encode_action,
)
from cti.errors import LocalProtocolError
from tests.helpers import ExpectLog

from .helpers import chunks, fixture_bytes


def decode_all(data: bytes | list[bytes], **kw: int) -> list[object]:
    decoder = AmiDecoder(**kw)
    out: list[object] = []
    for part in [data] if isinstance(data, bytes) else data:
        out.extend(decoder.feed(part))
    out.extend(decoder.feed(b""))
    assert decoder.buffered == 0
    return out


def test_banner_then_messages_with_crlf() -> None:
    events = decode_all(fixture_bytes("ami_inbound_queue.ami"))
    assert events[0] == Banner("5.0.1", 0)
    messages = [e for e in events if isinstance(e, AmiMessage)]
    assert not [e for e in events if isinstance(e, ProtocolIssue)]
    assert messages[0].kind == "response" and messages[0].action_id == "cc-1"
    assert [m.name for m in messages[1:4]] == ["FullyBooted", "QueueMemberAdded", "Newchannel"]
    newchannel = messages[3]
    assert newchannel.get("callerIDnum") == "+14155550100"  # header names are case-insensitive
    assert newchannel.get("AccountCode") == ""
    assert newchannel.offset == fixture_bytes("ami_inbound_queue.ami").index(b"Event: Newchannel")


def test_repeated_headers_are_kept_in_order() -> None:
    (msg,) = decode_all(b"Event: OriginateResponse\nVariable: a=1\nvariable: b=2\nVariable: c=3\n\n")
    assert isinstance(msg, AmiMessage)
    assert msg.get_all("VARIABLE") == ["a=1", "b=2", "c=3"]
    assert msg.as_dict()["Variable"] == ["a=1", "c=3"] and msg.as_dict()["variable"] == "b=2"


def test_response_follows_until_end_command_with_blank_lines_inside() -> None:
    events = decode_all(fixture_bytes("ami_outbound_lf.ami"))
    follows = events[1]
    assert isinstance(follows, AmiMessage)
    assert follows.name == "Follows" and follows.action_id == "cc-2"
    assert follows.lines[0].startswith("Channel ")
    assert "" in follows.lines and follows.lines[-1] == "1 active call"
    assert isinstance(events[2], AmiMessage) and events[2].name == "Newchannel"


def test_end_command_glued_to_last_output_line() -> None:
    data = b"Response: Follows\r\nPrivilege: Command\r\nActionID: 9\r\nNo such command--END COMMAND--\r\n\r\n"
    (msg,) = decode_all(data)
    assert isinstance(msg, AmiMessage) and msg.lines == ("No such command",)


def test_asterisk14_command_output_headers() -> None:
    data = b"Response: Success\r\nActionID: 3\r\nMessage: Command output follows\r\nOutput: a\r\nOutput: b\r\n\r\n"
    (msg,) = decode_all(data)
    assert isinstance(msg, AmiMessage) and msg.lines == ("a", "b")


def test_garbage_is_reported_with_offsets_and_skipped(expect_log: ExpectLog) -> None:
    data = fixture_bytes("ami_garbage.ami")
    with expect_log(logging.WARNING, "cti.ami.codec", match=r"^AMI stream offset \d+ \(\d+ bytes\): ") as logged:
        events = decode_all(data)
    issues = [e for e in events if isinstance(e, ProtocolIssue)]
    messages = [e for e in events if isinstance(e, AmiMessage)]
    assert [m.name for m in messages] == ["Newchannel", "SomethingNew", "Hangup"]
    assert messages[0].get("CallerIDName") == "Jos\ufffd"
    reasons = [i.reason for i in issues]
    assert any("not 'Key: Value'" in r for r in reasons)
    assert any("invalid UTF-8" in r for r in reasons)
    assert any("not Event/Response/Action" in r for r in reasons)
    assert issues[-1].reason.startswith("truncated") and issues[-1].offset == data.rindex(b"Event: Newchannel")
    assert min(i.offset for i in issues) == len(b"Asterisk Call Manager/1.1\r\n")
    assert len(logged.records) == len(issues)  # every issue is logged, once


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", match="message over 1000 bytes skipped")
def test_oversized_message_is_skipped_and_memory_stays_bounded() -> None:
    decoder = AmiDecoder(max_message=1000)
    big = b"Event: Huge\r\n" + b"X-Pad: " + b"y" * 5000 + b"\r\n\r\n"
    tail = b"Event: Small\r\nA: b\r\n\r\n"
    events: list[object] = []
    for part in chunks(big + tail, list(range(0, len(big) + len(tail), 100))):
        events.extend(decoder.feed(part))
        assert decoder.buffered <= 1000 + 3 + 100
    assert events[0] == ProtocolIssue(0, len(big), "message over 1000 bytes skipped")
    assert isinstance(events[1], AmiMessage) and events[1].name == "Small"


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", match="with over 20 header lines skipped")
def test_too_many_headers_is_skipped() -> None:
    data = b"Event: Many\n" + b"".join(b"H%d: v\n" % i for i in range(50)) + b"\n"
    (issue,) = decode_all(data, max_headers=20)
    assert isinstance(issue, ProtocolIssue) and "header lines" in issue.reason


def test_next_event_returns_need_data_on_partial_input() -> None:
    decoder = AmiDecoder()
    decoder.receive_data(b"Event: Hangup\r\nUniqueid: 1\r\n")
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(b"\r\n")
    assert isinstance(decoder.next_event(), AmiMessage)


# -- encoding --------------------------------------------------------------------------------


def test_encode_action_one_variable_header_each() -> None:
    data = encode_action(
        "Originate", {"Channel": "PJSIP/1001", "Exten": "5551234"}, action_id="x-1", variables={"CC_a": "1"}
    )
    assert data == (
        b"Action: Originate\r\nActionID: x-1\r\nChannel: PJSIP/1001\r\nExten: 5551234\r\nVariable: CC_a=1\r\n\r\n"
    )


@pytest.mark.parametrize("value", ["1\r\nAction: Command", "a\nb", "nul\x00", "bell\x07", "del\x7f"])
def test_encode_refuses_control_characters(value: str) -> None:
    with pytest.raises(LocalProtocolError, match="control character"):
        encode_action("Setvar", {"Value": value})
    with pytest.raises(LocalProtocolError):
        encode_action("Originate", variables={"CC_note": value})


def test_encode_refuses_bad_names_and_long_lines() -> None:
    with pytest.raises(LocalProtocolError, match="header name"):
        encode_action("Setvar", {"Bad Name": "x"})
    with pytest.raises(LocalProtocolError, match="1024"):
        encode_action("Setvar", {"Value": "x" * 1100})


# -- correlation -----------------------------------------------------------------------------


def test_protocol_correlates_responses_and_event_lists() -> None:
    proto = AmiProtocol()
    ping_id, _ = proto.send("Ping")
    list_id, _ = proto.send("CoreShowChannels", is_list=True)
    proto.receive_data(
        f"Response: Success\r\nActionID: {list_id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
        f"Event: Newchannel\r\nUniqueid: 9\r\n\r\n"
        f"Event: CoreShowChannel\r\nActionID: {list_id}\r\nChannel: PJSIP/1-1\r\n\r\n"
        f"Response: Success\r\nActionID: {ping_id}\r\nPing: Pong\r\n\r\n"
        f"Event: CoreShowChannel\r\nActionID: {list_id}\r\nChannel: PJSIP/2-2\r\n\r\n"
        f"Event: CoreShowChannelsComplete\r\nActionID: {list_id}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n"
        "Response: Success\r\nActionID: stranger\r\n\r\n".encode()
    )
    got = []
    while (event := proto.next_event()) is not NEED_DATA:
        got.append(event)
    assert isinstance(got[0], AmiMessage) and got[0].name == "Newchannel"
    assert isinstance(got[1], ActionCompleted) and got[1].action_id == ping_id and got[1].ok
    assert isinstance(got[2], ActionCompleted) and got[2].action_id == list_id
    assert [e.get("Channel") for e in got[2].events] == ["PJSIP/1-1", "PJSIP/2-2"]
    assert len(got) == 3 and proto.pending == 0


def test_protocol_old_list_without_eventlist_headers_and_errors() -> None:
    proto = AmiProtocol()
    qid, _ = proto.send("QueueStatus", is_list=True)
    bad, _ = proto.send("Redirect", {"Channel": "nope"})
    proto.receive_data(
        f"Response: Error\r\nActionID: {bad}\r\nMessage: Channel specified does not exist\r\n\r\n"
        f"Response: Success\r\nActionID: {qid}\r\nMessage: Queue status will follow\r\n\r\n"
        f"Event: QueueParams\r\nActionID: {qid}\r\nQueue: sales\r\n\r\n"
        f"Event: QueueStatusComplete\r\nActionID: {qid}\r\n\r\n".encode()
    )
    first, second = proto.next_event(), proto.next_event()
    assert isinstance(first, ActionCompleted) and not first.ok and "does not exist" in first.message
    assert isinstance(second, ActionCompleted) and [e.name for e in second.events] == ["QueueParams"]


# -- properties ------------------------------------------------------------------------------


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", required=False)  # garbage in: issues are logged
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data: bytes, cuts: list[int]) -> None:
    whole = decode_all(data, max_message=300)
    assert decode_all(chunks(data, cuts), max_message=300) == whole


_ami_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30).filter(
    lambda s: not s.startswith(" ")
)
_header = st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True), _ami_text)


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", required=False)  # the noise is logged
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["Event", "Response"]), _ami_text, st.lists(_header, max_size=8)), max_size=8),
    st.sampled_from([b"\r\n", b"\n"]),
    st.lists(st.integers(min_value=0, max_value=3000), max_size=30),
    st.binary(max_size=40),
)
def test_valid_messages_survive_any_chunking_and_surrounding_garbage(
    messages: list[tuple[str, str, list[tuple[str, str]]]],
    eol: bytes,
    cuts: list[int],
    noise: bytes,
) -> None:
    messages = [m for m in messages if m[1].strip().lower() != "follows"]
    body = b""
    for kind, name, headers in messages:
        lines = [f"{kind}: {name}".encode()] + [f"{k}: {v}".encode() for k, v in headers]
        body += eol.join(lines) + eol + eol
    events = decode_all(chunks(noise + b"\r\n\r\n" + body, cuts))
    decoded = [e for e in events if isinstance(e, AmiMessage)]
    decoded = decoded[len(decoded) - len(messages) :]
    assert [(m.kind, m.name, list(m.headers[1:])) for m in decoded] == [
        (kind.lower(), name, headers) for kind, name, headers in messages
    ]


@pytest.mark.expect_log(logging.WARNING, "cti.ami.codec", required=False)  # ami_garbage.ami's issues
@pytest.mark.parametrize("name", ["ami_inbound_queue.ami", "ami_outbound_lf.ami", "ami_garbage.ami"])
def test_batch_and_message_by_message_paths_agree(name: str) -> None:
    data = fixture_bytes(name) * 3
    one_go = decode_all(data)  # large reads: the batch path
    byte_by_byte = decode_all([data[i : i + 1] for i in range(len(data))])  # the one-message path
    assert one_go == byte_by_byte
    assert [m.headers for m in one_go if isinstance(m, AmiMessage)] == [
        m.headers for m in byte_by_byte if isinstance(m, AmiMessage)
    ]
