"""The AGI codec, sans-I/O: bytes in, events out, commands quoted and checked."""

from __future__ import annotations

import pytest

from ivr.agi import (
    NEED_DATA,
    AgiConnection,
    AgiEnvironment,
    AgiReply,
    AgiState,
    ConnectionClosed,
    EnvironmentReceived,
    HangupReceived,
    ReplyReceived,
    format_command,
    parse_reply,
    quote_argument,
    set_variable,
)
from ivr.errors import AgiError

ENV = (
    b"agi_network: yes\r\n"
    b"agi_network_script: telecom?lang=en\r\n"
    b"agi_request: agi://127.0.0.1/telecom?lang=en\r\n"
    b"agi_channel: PJSIP/trunk-00000001\r\n"
    b"agi_uniqueid: 1700000000.42\r\n"
    b"agi_callerid: +14155550100\r\n"
    b"agi_calleridname: unknown\r\n"
    b"agi_extension: 8000\r\n"
    b"agi_arg_1: first\r\n"
    b"agi_arg_2: second arg\r\n"
    b"\r\n"
)


def events(conn: AgiConnection) -> list[object]:
    out: list[object] = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
        if isinstance(event, ConnectionClosed):
            break
    return out


def ready() -> AgiConnection:
    conn = AgiConnection()
    conn.receive_data(ENV)
    assert len(events(conn)) == 1
    return conn


def test_environment_byte_by_byte() -> None:
    conn = AgiConnection()
    got: list[object] = []
    for byte in ENV:
        conn.receive_data(bytes([byte]))
        got += events(conn)
    assert len(got) == 1 and isinstance(got[0], EnvironmentReceived)
    env = got[0].environment
    assert env.channel == "PJSIP/trunk-00000001"
    assert env.uniqueid == "1700000000.42"
    assert env.callerid == "+14155550100"
    assert env.extension == "8000"
    assert env.script == "telecom"
    assert env.arguments == ["first", "second arg"]
    assert env.get("calleridname") == "unknown"
    assert conn.state is AgiState.COMMANDS and conn.environment == env


def test_unknown_callerid_is_empty() -> None:
    assert AgiEnvironment({"callerid": "unknown"}).callerid == ""


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=0", AgiReply(200, "0", None, None, "200 result=0")),
        ("200 result=49 endpos=12345", AgiReply(200, "49", None, 12345, "200 result=49 endpos=12345")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout", None, "200 result= (timeout)")),
        ("200 result=123 (timeout)", AgiReply(200, "123", "timeout", None, "200 result=123 (timeout)")),
        (
            "200 result=1 (some data here) endpos=9",
            AgiReply(200, "1", "some data here", 9, "200 result=1 (some data here) endpos=9"),
        ),
        ("200 result=-1", AgiReply(200, "-1", None, None, "200 result=-1")),
        ("510 Invalid or unknown command", AgiReply(510, text="510 Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            AgiReply(511, text="511 Command Not Permitted on a dead channel or intercept routine"),
        ),
    ],
)
def test_replies(line: str, reply: AgiReply) -> None:
    conn = ready()
    conn.receive_data(line.encode() + b"\n")
    assert events(conn) == [ReplyReceived(reply)]


def test_reply_properties() -> None:
    assert parse_reply(["200 result=49"]).number == 49
    assert parse_reply(["200 result=abc"]).number is None
    assert AgiReply(510).number is None and not AgiReply(510).ok
    assert parse_reply(["200 result= (timeout)"]).timed_out


def test_multiline_520_usage() -> None:
    conn = ready()
    conn.receive_data(b"520-Invalid command syntax.  Proper usage follows:\n")
    assert events(conn) == []
    conn.receive_data(b" Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n")
    conn.receive_data(b"520 End of proper usage.\n")
    (event,) = events(conn)
    assert isinstance(event, ReplyReceived) and event.reply.code == 520
    assert event.reply.text.count("\n") == 2 and "GET DATA" in event.reply.text


def test_hangup_then_reply_then_close() -> None:
    conn = ready()
    conn.receive_data(b"HANGUP\n200 result=-1\n\n")
    got = events(conn)
    assert got[0] == HangupReceived() and conn.hung_up
    assert isinstance(got[1], ReplyReceived) and got[1].reply.number == -1
    conn.receive_data(b"")
    assert events(conn) == [ConnectionClosed()]
    assert conn.next_event() == ConnectionClosed()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not an agi line\n", "malformed AGI environment line"),
        (b"agi_channel: x\n", "closed in the middle"),
    ],
)
def test_bad_environment(data: bytes, reason: str) -> None:
    conn = AgiConnection()
    conn.receive_data(data)
    conn.receive_data(b"")
    with pytest.raises(AgiError, match=reason):
        events(conn)


@pytest.mark.parametrize("line", [b"200 nonsense\n", b"abc\n", b"2000 x\n"])
def test_malformed_reply(line: bytes) -> None:
    conn = ready()
    conn.receive_data(line)
    with pytest.raises(AgiError, match="malformed AGI reply"):
        events(conn)


def test_line_too_long() -> None:
    conn = ready()
    conn.receive_data(b"2" * 9000)
    with pytest.raises(AgiError, match="longer than"):
        events(conn)


def test_commands_are_quoted() -> None:
    assert format_command("STREAM FILE", "welcome", "") == b'STREAM FILE welcome ""\n'
    assert format_command("GET DATA", "ask-pin", "8000", "6") == b"GET DATA ask-pin 8000 6\n"
    assert quote_argument('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    assert set_variable("CCENTER_DATA", '{"a":"b c"}') == b'SET VARIABLE CCENTER_DATA "{\\"a\\":\\"b c\\"}"\n'
    with pytest.raises(AgiError, match="state environment"):
        AgiConnection().send_command("ANSWER")
    assert ready().send_command("ANSWER") == b"ANSWER\n"


@pytest.mark.parametrize("value", ["a\r\nHANGUP", "x\n", "nul\0"])
def test_cr_lf_refused(value: str) -> None:
    with pytest.raises(AgiError, match="CR, LF or NUL"):
        set_variable("CCENTER_INTENT", value)
    with pytest.raises(AgiError, match="CR, LF or NUL"):
        format_command("STREAM FILE", value, "")
    with pytest.raises(AgiError, match="CR, LF or NUL"):
        format_command("VERBOSE\n" + value)


def test_bad_variable_name_and_length() -> None:
    with pytest.raises(AgiError, match="not a valid channel variable name"):
        set_variable("BAD NAME", "1")
    with pytest.raises(AgiError, match="too long"):
        set_variable("X", "y" * 3000)
    with pytest.raises(AgiError, match="longer than Asterisk accepts"):
        format_command("VERBOSE", "y" * 3000)
