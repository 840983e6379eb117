from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.messages import CallEvent
from cti.codec import ProtocolIssue
from cti.decode import decode_chunks
from cti.errors import LocalProtocolError
from cti.serial.lines import LineSplitter
from cti.serial.modem import CallerId, ModemMapper, ModemParser, ModemResult, Ring, at_command, dial_command
from cti.serial.smdr import SmdrLayout, SmdrParser, SmdrRecord

from .helpers import chunks, fixture_bytes

PROPS = settings(max_examples=200, deadline=None)


def parse(data: bytes | list[bytes]) -> list[object]:
    parser = ModemParser()
    out: list[object] = []
    for part in [data] if isinstance(data, bytes) else data:
        out.extend(parser.feed(part))
    return out + list(parser.feed(b""))


def test_untidy_caller_id_records() -> None:
    records = [e for e in parse(fixture_bytes("modem_callerid.txt")) if isinstance(e, CallerId)]
    assert [(r.number, r.name, r.time, r.presentation) for r in records] == [
        ("4155550100", "ACME CORP", "1405", "allowed"),
        (None, None, "1407", "private"),
        (None, "Müller Jörg", "1410", "out_of_area"),
        (None, "José Peña", "1412", "missing"),
        (None, None, "1415", "private"),
    ]
    assert records[2].message == "030101"
    events = parse(fixture_bytes("modem_callerid.txt"))
    assert isinstance(events[0], ModemResult) and events[0].result == "OK"
    assert isinstance(events[1], Ring) and events[1].offset == 4


def test_caller_id_ends_at_timeout_flush() -> None:
    parser = ModemParser()
    assert parser.feed(b"RING\r\nNMBR = 5551234\r\n") == [Ring(0)]
    parser.flush()  # the driver's read timeout: the record is complete
    cid = parser.next_event()
    assert isinstance(cid, CallerId) and cid.number == "5551234"


def test_mapper_offers_on_second_ring_without_caller_id_and_ends_on_quiet() -> None:
    now = [100.0]
    mapper = ModemMapper(clock=lambda: now[0], ring_gap=8.0)
    assert mapper.map(Ring(0)) == []
    offered = mapper.map(Ring(10))
    assert [e.type for e in offered if isinstance(e, CallEvent)] == ["call.offered", "call.alerting"]
    now[0] = 105.0
    assert mapper.tick(now[0]) == []
    now[0] = 109.0
    (ended,) = mapper.tick(now[0])
    assert isinstance(ended, CallEvent) and ended.cause == "ring_stopped" and ended.call_id == "modem-1"


def test_mapper_outbound_results() -> None:
    mapper = ModemMapper(clock=lambda: 1.0)
    call_id, events = mapper.dialing("5551234")
    assert [e.type for e in events if isinstance(e, CallEvent)] == ["call.offered", "call.alerting"]
    (ended,) = mapper.map(ModemResult(0, "BUSY"))
    assert isinstance(ended, CallEvent) and (ended.call_id, ended.cause) == (call_id, "busy")


def test_at_commands_refuse_control_characters() -> None:
    assert dial_command("5551234") == b"ATDT5551234;\r"
    assert at_command("AT+VCID=1") == b"AT+VCID=1\r"
    for bad in ("ATDT1\r\nATH", "AT\x00", "ATDT5\x1b", "ATDTé"):
        with pytest.raises(LocalProtocolError):
            at_command(bad)
    for bad in ("555;ATH0", "555\r", "5 5 5", ""):
        with pytest.raises(LocalProtocolError, match="dial"):
            dial_command(bad)


def test_smdr_records_and_bad_lines() -> None:
    parser = SmdrParser()
    lines = fixture_bytes("smdr_ipoffice.txt").decode().splitlines()
    record = parser.parse(0, lines[0])
    assert isinstance(record, SmdrRecord) and record.fields["call_id"] == "1000017"
    events = parser.to_events(record)
    assert [(e.type, e.ts) for e in events if isinstance(e, CallEvent)] == [
        ("call.offered", 1774101911.0),
        ("call.answered", 1774101918.0),
        ("call.ended", 1774102110.0),
    ]
    bad = parser.parse(99, lines[3])
    assert isinstance(bad, ProtocolIssue) and "bad time" in bad.reason and bad.offset == 99
    fixed = SmdrParser(SmdrLayout(fixed=(("call_start", 0, 19), ("caller", 20, 30), ("call_id", 31, 36))))
    rec = fixed.parse(0, "2026/03/21 14:05:11 4155550100 00042")
    assert isinstance(rec, SmdrRecord) and rec.fields["caller"] == "4155550100"


def test_decode_mixed_modem_and_smdr() -> None:
    items = list(decode_chunks("modem", [fixture_bytes("smdr_ipoffice.txt")], clock=lambda: 0.0))
    calls = {e.call_id for e in items if isinstance(e, CallEvent)}
    assert calls == {"smdr-1000017", "smdr-1000018", "smdr-1000019"}
    assert [i.offset for i in items if isinstance(i, ProtocolIssue)] == [326]


@pytest.mark.expect_log(logging.WARNING, "cti.serial.lines", match="line over 10 bytes skipped")
def test_line_splitter_bounds_long_lines() -> None:
    issues: list[ProtocolIssue] = []
    splitter = LineSplitter(issues.append, max_line=10)
    out = []
    for part in chunks(b"short\r\n" + b"x" * 100 + b"\r\nok\n", list(range(0, 120, 7))):
        out += splitter.feed(part)
        assert splitter.buffered <= 10 + 7
    assert out == [(0, b"short"), (109, b"ok")]
    assert issues == [ProtocolIssue(7, 100, "line over 10 bytes skipped")]


@pytest.mark.expect_log(logging.WARNING, "cti.serial.lines", match="over 512 bytes", required=False)  # long lines
@PROPS
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0, max_value=600), max_size=20))
def test_modem_arbitrary_bytes_and_chunking(data: bytes, cuts: list[int]) -> None:
    whole = list(decode_chunks("modem", [data], clock=lambda: 0.0))
    assert list(decode_chunks("modem", chunks(data, cuts), clock=lambda: 0.0)) == whole


@PROPS
@given(st.lists(st.integers(min_value=0, max_value=700), max_size=40))
def test_modem_capture_any_chunking(cuts: list[int]) -> None:
    data = fixture_bytes("modem_callerid.txt")
    assert parse(chunks(data, cuts)) == parse(data)
