"""The baresip link against a fake ``ctrl_tcp`` peer that plays what a real baresip 1.0 sent.

The transcripts in tests/fixtures/cti/baresip/ were recorded from baresip (Debian 12) with SIPp and
other baresip phones at the far end (``tests/cti/sip/record_baresip.py``): each line is a frame
baresip sent, byte for byte, or a command it was sent. The fake peer sends the recorded frames in
order and, at each recorded command, waits for the link to send a command of that name (the
response goes back with the link's own token). A link that sends anything else fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bus.messages import AgentState, AgentStateName, CallEvent
from cti.baresip.codec import BaresipDecoder, BaresipEvent, BaresipResponse, encode_command
from cti.baresip.link import BaresipLink, BaresipSettings
from cti.baresip.mapper import safe_call_id, uri_data, uri_user
from cti.codec import NeedData, ProtocolIssue
from cti.errors import BadLinkUrl, CommandFailed, LinkUnavailable, LocalProtocolError
from cti.model import Capability, LinkEvent
from cti.url import open_link
from tests.helpers import until

LOGGER = "cti.baresip.link"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cti" / "baresip"


def transcript(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


def raw(entry: dict[str, Any]) -> bytes:
    """A recorded frame's bytes (frames that are not UTF-8 are recorded in base64)."""
    return base64.b64decode(entry["frame_b64"]) if "frame_b64" in entry else entry["frame"].encode()


def frames_of(name: str) -> list[bytes]:
    return [raw(entry) for entry in transcript(name) if entry["dir"] == "in"]


def _answer_to(command: str, ok: bool) -> dict[str, Any]:
    entries = transcript("errors.jsonl")
    at = next(i for i, e in enumerate(entries) if e["dir"] == "out" and e["command"]["command"] == command
              and json.loads(entries[i + 1]["frame"].split(":", 1)[1][:-1])["ok"] is ok)
    return entries[at + 1]


#: What a phone without the call answers: callfind refused; the call's account found; callfind refused again.
NOT_FOUND = [
    {"dir": "out", "command": {"command": "callfind"}},
    _answer_to("callfind", False),
    {"dir": "out", "command": {"command": "uafind"}},
    _answer_to("uafind", True),
    {"dir": "out", "command": {"command": "callfind"}},
    _answer_to("callfind", False),
]


def sent_params(name: str, command: str) -> list[str]:
    """The parameters of each ``command`` sent in a recorded session (the far ends' URIs)."""
    sent = [e["command"] for e in transcript(name) if e["dir"] == "out"]
    return [c["params"] for c in sent if c["command"] == command]


def netstring(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"%d:%s," % (len(body), body)


@dataclass
class FakePhone:
    """A ``ctrl_tcp`` peer playing one transcript per connection (``scripts``, in order)."""

    scripts: list[list[dict[str, Any]]]
    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    connections: int = 0
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def send(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = list(self.scripts[min(self.connections, len(self.scripts) - 1)])
        self.connections += 1
        self._writers.append(writer)
        decoder = BaresipDecoder()
        buffer = b""

        def play(token: str | None) -> None:
            while script and script[0]["dir"] == "in":
                data = raw(script.pop(0))
                if token is not None:
                    data = _retoken(data, token)
                writer.write(data)

        play(None)
        try:
            while data := await reader.read(65536):
                buffer += data
                decoder.receive_data(data)
                while True:
                    head, sep, rest = buffer.partition(b":")
                    if not sep or len(rest) < int(head) + 1:
                        break
                    command = json.loads(rest[: int(head)])
                    buffer = rest[int(head) + 1 :]
                    self.received.append(command)
                    if not script:
                        self.mismatches.append(f"unexpected {command}")
                        continue
                    expected = script.pop(0)
                    if expected["dir"] != "out" or expected["command"]["command"] != command["command"]:
                        self.mismatches.append(f"expected {expected}, got {command}")
                        writer.close()
                        return
                    play(command.get("token"))
        except ConnectionError:
            pass


def _retoken(raw: bytes, token: str) -> bytes:
    body = json.loads(raw[raw.index(b":") + 1 : -1])
    if body.get("response") is not True:
        return raw
    body["token"] = token
    return netstring(body)


async def _with_link(
    phone: FakePhone,
    body: Callable[[BaresipLink, list[LinkEvent]], Awaitable[None]],
    **settings: Any,
) -> list[LinkEvent]:
    await phone.start()
    link = BaresipLink(BaresipSettings("127.0.0.1", phone.port, **settings))
    events: list[LinkEvent] = []

    async def pull() -> None:
        async for event in link.events():
            events.append(event)

    await link.connect()
    puller = asyncio.create_task(pull())
    try:
        await body(link, events)
    finally:
        await link.close()
        await puller
        await phone.stop()
    assert phone.mismatches == []
    return events


def rows(events: list[LinkEvent]) -> list[tuple[str, ...]]:
    return [
        (e.type, e.calling or "", e.called or "", e.extension or "", e.cause or "")
        for e in events
        if isinstance(e, CallEvent)
    ]


def call_ended(events: list[LinkEvent]) -> bool:
    return any(isinstance(e, CallEvent) and e.type == "call.ended" for e in events)


# --- codec -------------------------------------------------------------------------------------


def test_every_recorded_frame_decodes_and_split_anywhere_it_decodes_the_same() -> None:
    stream = b"".join(b"".join(frames_of(name)) for name in sorted(p.name for p in FIXTURES.glob("*.jsonl")))
    whole = BaresipDecoder()
    whole.receive_data(stream)
    expected = []
    while not isinstance(item := whole.next_event(), NeedData):
        expected.append(item)
    assert expected and not any(isinstance(i, ProtocolIssue) for i in expected)
    assert {i.type for i in expected if isinstance(i, BaresipEvent)} >= {
        "CALL_INCOMING", "CALL_RINGING", "CALL_ESTABLISHED", "CALL_CLOSED"
    }
    for size in (1, 7, 100):
        split = BaresipDecoder()
        got = []
        for i in range(0, len(stream), size):
            split.receive_data(stream[i : i + size])
            while not isinstance(item := split.next_event(), NeedData):
                got.append(item)
        assert got == expected


def test_malformed_frames_are_reported_with_their_offset_and_skipped() -> None:
    good = frames_of("inbound.jsonl")[0]
    decoder = BaresipDecoder()
    decoder.receive_data(
        b"garbage" + good + b"5:hello," + b"3:[1]," + b"11:{\"x\": true}," + b"4:{}}}x" + good
        + b"99999999:{" + b"a" * 100
    )
    items = []
    while not isinstance(item := decoder.next_event(), NeedData):
        items.append(item)
    kinds = [i.reason if isinstance(i, ProtocolIssue) else type(i).__name__ for i in items]
    assert kinds[0] == "not a netstring length" and items[0].offset == 0 and items[0].length == 7
    assert kinds[1] == "BaresipEvent"
    assert kinds[2].startswith("frame is not JSON")
    assert kinds[3] == "frame is not a JSON object"
    assert kinds[4] == "frame is neither an event nor a response"
    assert kinds[5] == "netstring without its closing comma"
    assert kinds[6] == "BaresipEvent"
    assert "over the 65536-byte limit" in kinds[7] and len(kinds) == 8
    # the oversized frame swallows what it claims (the good frame after it): nothing is buffered for it
    assert decoder._skip > 0 and len(decoder._buffer) == 0


def test_commands_are_netstrings_and_control_characters_are_refused() -> None:
    expected = b'60:{"command": "dial", "params": "sip:1002@pbx", "token": "t1"},'
    assert encode_command("dial", "sip:1002@pbx", "t1") == expected
    with pytest.raises(LocalProtocolError, match="control character"):
        encode_command("dial", "1002\r\nquit")
    with pytest.raises(LocalProtocolError, match="not a baresip command"):
        encode_command("dial 1002")
    with pytest.raises(LocalProtocolError, match="over 1000"):
        encode_command("dial", "1" * 1200)


def test_caller_numbers_and_attached_data_come_from_the_uri() -> None:
    uri = "sip:+8613800000001@127.0.0.1:41845;x-cc-account=4711;x-cc-intent=billing;transport=udp"
    assert uri_user(uri) == "+8613800000001"
    assert uri_data(uri) == ({"account": "4711", "intent": "billing"}, [])
    assert uri_data("<sip:5550100@pbx?X-CC-Order-Id=A%2017&Subject=x>") == ({"order_id": "A 17"}, [])
    data, problems = uri_data("sip:1@h;x-cc-note=" + "a" * 300 + ";x-cc-bad%0d%0a=1;x-cc-line=one%0d%0atwo")
    assert data == {"note": "a" * 256, "line": "onetwo"}
    assert problems == [
        "attached value 'note' cut to 256 characters",
        "attached-data name 'x-cc-bad\\r\\n' is not usable",
    ]
    assert safe_call_id("1-23874@127.0.0.1") == "sip-1-23874@127.0.0.1"
    odd = safe_call_id("a/b+c#d")
    assert re.fullmatch(r"sip-a_b_c_d-[0-9a-f]{8}", odd) and odd != safe_call_id("a_b_c_d")


def test_link_urls() -> None:
    link = open_link("baresip://127.0.0.1:4444?extension=1001&agent=a7&ring_timeout=20")
    assert isinstance(link, BaresipLink)
    assert link.settings == BaresipSettings("127.0.0.1", 4444, extension="1001", agent="a7", ring_timeout=20.0)
    assert Capability.CONFERENCE not in link.capabilities and Capability.ATTENDED_TRANSFER in link.capabilities
    for bad, why in [
        ("baresip://", "names no host"),
        ("baresip://h:4444?color=red", "unknown option"),
        ("baresip://h:x", "Port could not be cast"),
        ("baresip://h?ring_timeout=soon", "could not convert"),
        ("baresip://h?extension=10%0a01", "is not usable"),
    ]:
        with pytest.raises(BadLinkUrl, match=why):
            open_link(bad)


# --- the link against the recorded phone ----------------------------------------------------------


def test_inbound_call_answered_held_resumed_dtmf_mute_and_the_caller_hangs_up() -> None:
    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        call_id = events[0].call_id  # type: ignore[union-attr]
        await link.answer(call_id, "1001")
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.answered" for e in events))
        await link.hold(call_id, "1001")
        await link.retrieve(call_id, "1001")
        await link.send_dtmf(call_id, "1001", "12#")
        await link.mute(call_id, "1001", True)
        assert link.mapper.call(call_id).muted  # type: ignore[union-attr]
        await link.mute(call_id, "1001", False)
        await until(lambda: call_ended(events))
        assert await link.live_calls([call_id]) == set()

    phone = FakePhone([transcript("inbound.jsonl")])
    events = asyncio.run(_with_link(phone, body))
    call_ids = {e.call_id for e in events if isinstance(e, CallEvent)}
    (call_id,) = call_ids
    assert call_id.startswith("sip-1-") and call_id.endswith("@127.0.0.1")
    caller = "+8613800000001"
    assert rows(events) == [
        ("call.offered", caller, "1001", "", ""),
        ("call.data", "", "", "", ""),
        ("call.alerting", caller, "1001", "1001", ""),
        ("call.answered", caller, "1001", "1001", ""),
        ("call.held", "", "", "1001", ""),
        ("call.retrieved", "", "", "1001", ""),
        ("call.ended", "", "", "", "normal"),
    ]
    offered = events[0]
    assert isinstance(offered, CallEvent) and offered.calling_name == "Zhang Wei"
    assert events[1].data == {"account": "4711", "intent": "billing"}  # type: ignore[union-attr]
    assert events[-1].data == {"sip": "Connection reset by peer"}  # type: ignore[union-attr]
    assert [c["command"] for c in phone.received] == [
        "callfind", "accept", "callfind", "hold", "callfind", "resume", "callfind", "sndcode",
        "callfind", "mute", "callfind", "mute",
    ]


def test_outbound_busy_no_answer_and_answered() -> None:
    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        far_busy, far_ringing, far_answering = sent_params("outbound.jsonl", "dial")
        busy = await link.make_call("1001", far_busy)
        await until(lambda: call_ended(events))
        ringing = await link.make_call("1001", far_ringing)
        await until(lambda: sum(isinstance(e, CallEvent) and e.type == "call.ended" for e in events) == 2)
        answered = await link.make_call("1001", far_answering)
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.answered" for e in events))
        await link.hangup(answered, "1001")
        await until(lambda: sum(isinstance(e, CallEvent) and e.type == "call.ended" for e in events) == 3)
        assert len({busy, ringing, answered}) == 3

    events = asyncio.run(
        _with_link(FakePhone([transcript("outbound.jsonl")]), body, ring_timeout=0.3, extension="1001")
    )
    assert [r for r in rows(events)] == [
        ("call.offered", "1001", "5550199", "1001", ""),
        ("call.ended", "", "", "", "busy"),
        ("call.offered", "1001", "5550199", "1001", ""),
        ("call.alerting", "1001", "5550199", "", ""),
        ("call.ended", "", "", "", "no_answer"),
        ("call.offered", "1001", "5550199", "1001", ""),
        ("call.alerting", "1001", "5550199", "", ""),
        ("call.answered", "1001", "5550199", "1001", ""),
        ("call.ended", "", "", "", "normal"),
    ]
    # one call_id per call, from offer to end
    per_call = {}
    for e in events:
        if isinstance(e, CallEvent):
            per_call.setdefault(e.call_id, []).append(e.type)
    assert [v[0] for v in per_call.values()] == ["call.offered"] * 3
    assert [v[-1] for v in per_call.values()] == ["call.ended"] * 3


def test_blind_transfer_leaves_the_agent_when_the_target_answered() -> None:
    (BOB,) = sent_params("transfer.jsonl", "transfer")  # the second softphone's URI when it was recorded

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 2)
        call_id = events[0].call_id  # type: ignore[union-attr]
        await link.answer(call_id, "1001")
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.answered" for e in events))
        await link.blind_transfer(call_id, "1001", BOB)
        await until(lambda: call_ended(events))

    events = asyncio.run(_with_link(FakePhone([transcript("transfer.jsonl")]), body))
    assert [r[0] for r in rows(events)] == [
        "call.offered", "call.alerting", "call.answered", "call.transferred", "call.ended"
    ]
    transferred = events[3]
    assert isinstance(transferred, CallEvent) and transferred.data == {
        "kind": "blind", "by": "1001", "to": BOB
    }
    assert transferred.called == "1002" and events[4].cause == "transferred"  # type: ignore[union-attr]


def test_a_call_the_phone_no_longer_has_ends_and_the_command_fails_clearly() -> None:
    script = [transcript("inbound.jsonl")[0], *NOT_FOUND]

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        call_id = events[0].call_id  # type: ignore[union-attr]
        with pytest.raises(CommandFailed, match="no longer on the softphone"):
            await link.answer(call_id, "1001")
        await until(lambda: call_ended(events))
        assert link.mapper.call(call_id) is None
        with pytest.raises(CommandFailed, match="is not ringing"):
            await link.answer(call_id, "1001")
        with pytest.raises(CommandFailed, match="is not on the softphone"):
            await link.blind_transfer(call_id, "1001", "1002")
        with pytest.raises(LocalProtocolError, match="not this softphone"):
            await link.hangup(call_id, "1002")
        with pytest.raises(LocalProtocolError, match="DTMF digits"):
            await link.send_dtmf(call_id, "1001", "1;hangup")

    events = asyncio.run(_with_link(FakePhone([script]), body))
    assert events[-1].cause == "ended"  # type: ignore[union-attr]


def test_a_refused_command_raises_with_the_phones_reason_and_the_call_stays() -> None:
    found = {"response": True, "ok": True, "data": "setting current call: x\n"}
    refused = {"response": True, "ok": False, "data": "Invalid argument"}
    script = [
        *transcript("transfer.jsonl")[:9],
        {"dir": "out", "command": {"command": "callfind"}},
        {"dir": "in", "frame": netstring(found).decode()},
        {"dir": "out", "command": {"command": "transfer"}},
        {"dir": "in", "frame": netstring(refused).decode()},
    ]

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.alerting" for e in events))
        call_id = events[0].call_id  # type: ignore[union-attr]
        await link.answer(call_id, "1001")
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.answered" for e in events))
        with pytest.raises(CommandFailed, match="the softphone refused transfer: Invalid argument"):
            await link.blind_transfer(call_id, "1001", "1002")
        assert await link.live_calls([call_id]) == {call_id}

    events = asyncio.run(_with_link(FakePhone([script]), body))
    assert not call_ended(events)


def test_agent_state_is_kept_by_the_link_for_its_own_extension_only() -> None:
    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await link.set_agent_state("a7", AgentStateName.READY, extension="1001")
        await link.set_agent_state("a7", AgentStateName.NOT_READY, reason="break")
        with pytest.raises(CommandFailed, match="this softphone is extension 1001, not 1002"):
            await link.set_agent_state("a7", AgentStateName.READY, extension="1002")
        await until(lambda: len(events) == 2)

    events = asyncio.run(_with_link(FakePhone([[]]), body, extension="1001"))
    assert [(e.state, e.extension, e.reason) for e in events if isinstance(e, AgentState)] == [
        ("ready", "1001", None), ("not_ready", "1001", "break")
    ]


@pytest.mark.expect_log(logging.WARNING, LOGGER, match=r"stream offset 0 \(8 bytes\) skipped: not a netstring")
@pytest.mark.expect_log(logging.WARNING, LOGGER, match=r"skipped: frame is not JSON")
def test_malformed_frames_from_the_phone_are_logged_and_skipped() -> None:
    incoming = frames_of("inbound.jsonl")[0]

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        phone.send(b"garbage," + b"7:{hello}," + incoming)
        await until(lambda: len(events) >= 3)
        assert len(link.issues) == 2

    phone = FakePhone([[]])
    events = asyncio.run(_with_link(phone, body))
    assert [r[0] for r in rows(events)] == ["call.offered", "call.data", "call.alerting"]


@pytest.mark.expect_log(logging.WARNING, LOGGER, match=r"lost: the softphone closed the connection; reconnecting")
def test_the_phone_restarts_its_calls_end_and_the_link_comes_back() -> None:
    incoming = transcript("inbound.jsonl")[0]
    second = NOT_FOUND
    states: list[tuple[bool, str]] = []

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        assert link.link_up
        link.on_link_state(lambda up, reason: states.append((up, reason)))
        await until(lambda: len(events) >= 3)
        phone.drop()  # baresip stopped: the connection ends; it starts again on the same port
        await until(lambda: link.sessions == 2 and link.ready.is_set())
        await until(lambda: call_ended(events))
        assert link.link_up

    phone = FakePhone([[incoming], second])
    events = asyncio.run(_with_link(phone, body))
    assert rows(events)[-1] == ("call.ended", "", "", "", "ended while the link was down")
    assert phone.connections == 2
    # The gateway and the desktop are told the phone went away (and why), then that it is back.
    assert [up for up, _ in states] == [False, True]
    assert re.fullmatch(r"the baresip softphone at 127\.0\.0\.1:\d+ is not connected \(.*closed the connection\)",
                        states[0][1]), states


def test_closing_the_link_is_not_a_lost_phone() -> None:
    states: list[bool] = []

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        link.on_link_state(lambda up, reason: states.append(up))

    asyncio.run(_with_link(FakePhone([[]]), body))
    assert states == []


def test_a_phone_that_is_not_running_is_one_clear_error() -> None:
    async def scenario() -> None:
        phone = FakePhone([[]])
        await phone.start()
        port = phone.port
        await phone.stop()
        link = BaresipLink(BaresipSettings("127.0.0.1", port, connect_timeout=0.5))
        with pytest.raises(LinkUnavailable, match=r"cannot reach the baresip softphone at 127\.0\.0\.1:\d+ .*ctrl_tcp"):
            await link.connect()
        with pytest.raises(LinkUnavailable, match="is not connected"):
            await link.make_call("1001", "1002")

    asyncio.run(scenario())


def test_a_phone_that_does_not_answer_a_command_is_a_clear_error_and_the_call_stays() -> None:
    incoming = transcript("inbound.jsonl")[0]
    script = [incoming, {"dir": "out", "command": {"command": "callfind"}}]  # ... and no answer

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        call_id = events[0].call_id  # type: ignore[union-attr]
        with pytest.raises(LinkUnavailable, match=r"did not answer callfind within 0\.3 s"):
            await link.answer(call_id, "1001")
        assert link.mapper.call(call_id) is not None and not call_ended(events)

    phone = FakePhone([script])
    asyncio.run(_with_link(phone, body, command_timeout=0.3))


def test_responses_and_events_decode_to_their_types() -> None:
    decoder = BaresipDecoder()
    for raw in frames_of("errors.jsonl"):
        decoder.receive_data(raw)
    items = []
    while not isinstance(item := decoder.next_event(), NeedData):
        items.append(item)
    assert all(isinstance(i, BaresipResponse) for i in items)
    assert [(i.ok, i.data.strip()) for i in items if isinstance(i, BaresipResponse)][:2] == [
        (False, "command not found (hold)"), (False, "command not found (nosuchcommand)")
    ]


def test_a_call_on_another_account_of_the_phone_is_found_on_that_account() -> None:
    inbound = transcript("inbound.jsonl")
    call = json.loads(inbound[0]["frame"].split(":", 1)[1][:-1])
    # menu.c's answer when the current account has no such call: ok, with this text
    not_here = {"dir": "in", "frame": netstring(
        {"response": True, "ok": True, "data": f"call not found (id={call['id']})\n"}).decode()}
    found = next(e for e in inbound if e["dir"] == "in" and "setting current call" in e["frame"])
    accepted = next(e for e in inbound if e["dir"] == "in" and "Answering incoming call" in e["frame"])
    script = [
        inbound[0],
        {"dir": "out", "command": {"command": "callfind"}}, not_here,  # the phone's current line is another
        {"dir": "out", "command": {"command": "uafind"}}, _answer_to("uafind", True),
        {"dir": "out", "command": {"command": "callfind"}}, found,
        {"dir": "out", "command": {"command": "accept"}}, accepted,
    ]

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        await link.answer(events[0].call_id, "1001")  # type: ignore[union-attr]

    phone = FakePhone([script])
    events = asyncio.run(_with_link(phone, body))
    assert not call_ended(events)
    assert [(c["command"], c.get("params")) for c in phone.received][:3] == [
        ("callfind", phone.received[0]["params"]),
        ("uafind", call["accountaor"]),
        ("callfind", phone.received[0]["params"]),
    ]


def test_a_call_is_not_answered_while_another_rings_on_the_same_line() -> None:
    """baresip 1.0's accept first holds the line's previous call, which fails for a ringing one: the
    phone would answer ok and do nothing. The link refuses instead, and sends nothing."""
    first = transcript("inbound.jsonl")[0]
    body_ = json.loads(first["frame"].split(":", 1)[1][:-1])
    second = {"dir": "in", "frame": netstring({**body_, "id": "2-" + body_["id"]}).decode()}

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: sum(isinstance(e, CallEvent) and e.type == "call.alerting" for e in events) == 2)
        with pytest.raises(CommandFailed, match="another call rings on the same line"):
            await link.answer(events[0].call_id, "1001")  # type: ignore[union-attr]

    phone = FakePhone([[first, second]])
    asyncio.run(_with_link(phone, body))
    assert phone.received == []


def test_a_dial_the_phone_never_reports_ends_as_failed_at_the_ring_timeout() -> None:
    accepted = next(e for e in transcript("outbound.jsonl") if e["dir"] == "in" and '"response":true' in e["frame"])
    script = [{"dir": "out", "command": {"command": "dial"}}, accepted]  # ... and not a word of the call after

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        call_id = await link.make_call("1001", "sip:5550199@192.0.2.1")
        await until(lambda: call_ended(events))
        assert link.mapper.call(call_id) is None

    events = asyncio.run(_with_link(FakePhone([script]), body, ring_timeout=0.3, extension="1001"))
    assert rows(events) == [("call.offered", "1001", "5550199", "1001", ""), ("call.ended", "", "", "", "failed")]


def test_callers_names_in_utf8_and_in_latin1_both_reach_the_screen_pop() -> None:
    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: sum(isinstance(e, CallEvent) and e.type == "call.ended" for e in events) == 2)

    events = asyncio.run(_with_link(FakePhone([transcript("names.jsonl")]), body))
    names = [e.calling_name for e in events if isinstance(e, CallEvent) and e.type == "call.offered"]
    assert names == ["\u5f20\u4f1f", "Jos\xe9"]


def test_a_call_not_answered_yet_is_not_transferred() -> None:
    """baresip 1.0 answers ok to a REFER on a ringing call, and nothing comes of it: the link refuses."""

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        with pytest.raises(CommandFailed, match="answer it before transferring"):
            await link.blind_transfer(events[0].call_id, "1001", "1002")  # type: ignore[union-attr]

    phone = FakePhone([transcript("inbound.jsonl")[:1]])
    asyncio.run(_with_link(phone, body))
    assert phone.received == []


def test_a_consultation_that_cannot_be_dialled_brings_the_customer_back() -> None:
    inbound = transcript("inbound.jsonl")
    refused = {"response": True, "ok": False, "data": "Invalid argument"}
    # answered, held, the dial refused, resumed: each step as the phone answered it when recorded
    script = [*inbound[:12], {"dir": "out", "command": {"command": "dial"}},
              {"dir": "in", "frame": netstring(refused).decode()}, *inbound[13:17]]

    async def body(link: BaresipLink, events: list[LinkEvent]) -> None:
        await until(lambda: len(events) >= 3)
        call_id = events[0].call_id  # type: ignore[union-attr]
        await link.answer(call_id, "1001")
        await until(lambda: any(isinstance(e, CallEvent) and e.type == "call.answered" for e in events))
        with pytest.raises(CommandFailed, match="the softphone refused dial: Invalid argument"):
            await link.consult(call_id, "1001", "1002")
        assert link.mapper.call(call_id).phase.value == "connected"  # type: ignore[union-attr]

    phone = FakePhone([script])
    events = asyncio.run(_with_link(phone, body, extension="1001"))
    kinds = [r[0] for r in rows(events)]
    assert kinds[-4:] == ["call.held", "call.offered", "call.ended", "call.retrieved"]
    assert [c["command"] for c in phone.received][-5:] == ["callfind", "hold", "dial", "callfind", "resume"]
