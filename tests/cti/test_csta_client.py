"""The CSTA link against a real TCP peer speaking length-framed CSTA XML."""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import pytest

from bus.messages import CallEvent
from cti.csta.client import CstaLink, CstaSettings
from cti.csta.codec import NS_ED4, CstaDecoder, CstaMessage
from cti.errors import BadLinkUrl, CommandFailed, LinkUnavailable
from cti.model import LinkEvent
from tests.helpers import ExpectLog, until


def frame(invoke: str, xml: str) -> bytes:
    body = f'<?xml version="1.0" encoding="UTF-8"?>{xml}'.encode()
    return struct.pack(">I", len(body) + 8) + invoke.encode() + body


def conn(tag: str, call: str, dev: str) -> str:
    return f"<{tag}><callID>{call}</callID><deviceID>{dev}</deviceID></{tag}>"


def dev(tag: str, value: str) -> str:
    return f"<{tag}><deviceIdentifier>{value}</deviceIdentifier></{tag}>"


@dataclass
class FakePbx:
    requests: list[CstaMessage] = field(default_factory=list)
    port: int = 0
    _clients: list[asyncio.StreamWriter] = field(default_factory=list)
    _server: asyncio.Server | None = None
    # device -> {callID: localConnectionState}: what SnapshotDevice reports
    connections: dict[str, dict[str, str]] = field(default_factory=dict)
    _calls: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    answer_keepalive: bool = True  # ResetApplicationSessionTimer

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        for w in self._clients:
            w.transport.abort()
        self._clients.clear()

    def event(self, name: str, inner: str) -> None:
        for w in self._clients:
            w.write(frame("9999", f'<{name} xmlns="{NS_ED4}"><monitorCrossRefID>1</monitorCrossRefID>{inner}</{name}>'))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = CstaDecoder()
        self._clients.append(writer)
        try:
            while data := await reader.read(4096):
                for msg in decoder.feed(data):
                    if not isinstance(msg, CstaMessage):
                        continue
                    self.requests.append(msg)
                    ns = f' xmlns="{NS_ED4}"'
                    if msg.name == "MonitorStart":
                        writer.write(
                            frame(
                                msg.invoke_id,
                                f"<MonitorStartResponse{ns}><monitorCrossRefID>1"
                                "</monitorCrossRefID></MonitorStartResponse>",
                            )
                        )
                    elif msg.name == "SnapshotDevice":
                        device = msg.get("snapshotObject") or ""
                        if device == "9999":
                            writer.write(
                                frame(
                                    msg.invoke_id,
                                    f"<CSTAErrorCode{ns}><operation>invalidDeviceID</operation></CSTAErrorCode>",
                                )
                            )
                            continue
                        infos = "".join(
                            "<snapshotDeviceResponseInfo>"
                            + conn("connectionIdentifier", cid, device)
                            + "<localCallState><compoundCallState><localConnectionInfo>"
                            + f"{state}</localConnectionInfo></compoundCallState></localCallState>"
                            + "</snapshotDeviceResponseInfo>"
                            for cid, state in self.connections.get(device, {}).items()
                        )
                        writer.write(
                            frame(
                                msg.invoke_id,
                                f"<SnapshotDeviceResponse{ns}><crossRefIDorSnapshotData><snapshotData>{infos}"
                                "</snapshotData></crossRefIDorSnapshotData></SnapshotDeviceResponse>",
                            )
                        )
                    elif msg.name == "StartApplicationSession":
                        writer.write(frame(msg.invoke_id, f"<StartApplicationSessionPosResponse{ns}><sessionID>s1"
                                                          "</sessionID></StartApplicationSessionPosResponse>"))
                    elif msg.name == "ResetApplicationSessionTimer":
                        if self.answer_keepalive:
                            writer.write(frame(msg.invoke_id, f"<ResetApplicationSessionTimerPosResponse{ns}/>"))
                    elif msg.name == "MakeCall":
                        cid, caller = str(next(self._calls)), msg.get("callingDevice") or ""
                        self.connections.setdefault(caller, {})[cid] = "initiated"
                        writer.write(
                            frame(
                                msg.invoke_id,
                                f"<MakeCallResponse{ns}>{conn('callingDevice', cid, caller)}</MakeCallResponse>",
                            )
                        )
                        self.event(
                            "ServiceInitiatedEvent",
                            conn("initiatedConnection", cid, caller) + dev("initiatingDevice", caller),
                        )
                    elif msg.name in ("HoldCall", "AnswerCall", "ClearConnection"):
                        writer.write(frame(msg.invoke_id, f"<{msg.name}Response{ns}/>"))
                        cid = msg.get("*/callID") or ""
                        who = msg.get("*/deviceID") or ""
                        if msg.name == "HoldCall":
                            self.event("HeldEvent", conn("heldConnection", cid, who) + dev("holdingDevice", who))
                        elif msg.name == "ClearConnection":
                            self.connections.get(who, {}).pop(cid, None)
                            self.event(
                                "ConnectionClearedEvent",
                                conn("droppedConnection", cid, who) + "<cause>normalClearing</cause>",
                            )
                    else:
                        writer.write(
                            frame(
                                msg.invoke_id,
                                f"<CSTAErrorCode{ns}><operation>"
                                "requestIncompatibleWithObject</operation></CSTAErrorCode>",
                            )
                        )
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            if writer in self._clients:
                self._clients.remove(writer)
            writer.close()


def run(scenario: Callable[[FakePbx, CstaSettings], Awaitable[None]]) -> None:
    async def main() -> None:
        pbx = FakePbx()
        await pbx.start()
        settings = CstaSettings(
            "127.0.0.1",
            pbx.port,
            ("2001", "2002"),
            reconnect_min=0.02,
            reconnect_max=0.1,
            request_timeout=2.0,
            connect_timeout=3.0,
        )
        try:
            await scenario(pbx, settings)
        finally:
            await pbx.stop()

    asyncio.run(main())


def test_url() -> None:
    s = CstaSettings.from_url("csta://pbx.example.com:2222?devices=2001,2002&ed=3")
    assert (s.host, s.port, s.devices) == ("pbx.example.com", 2222, ("2001", "2002"))
    assert s.namespace.endswith("/ed3")
    with pytest.raises(BadLinkUrl):
        CstaSettings.from_url("csta://h?ed=9")


@pytest.mark.expect_log(
    logging.WARNING,
    "cti.csta.client",
    match=r"^CSTA link to 127.0.0.1:\d+ lost: the CSTA server closed the connection; reconnecting in \d+\.\d s$",
)
def test_monitor_call_commands_and_reconnect() -> None:
    async def scenario(pbx: FakePbx, settings: CstaSettings) -> None:
        link = CstaLink(settings)
        events: list[LinkEvent] = []

        async def pull() -> None:
            async for e in link.events():
                events.append(e)

        await link.connect()
        puller = asyncio.create_task(pull())
        try:
            assert [r.name for r in pbx.requests] == [
                "MonitorStart",
                "MonitorStart",
                "SnapshotDevice",
                "SnapshotDevice",
            ]
            assert link.monitors == {"2001": "1", "2002": "1"}
            call_id = await link.make_call("2001", "5551234")
            assert call_id == "csta-500"
            await until(lambda: len(events) >= 1)
            pbx.event("EstablishedEvent", conn("establishedConnection", "500", "2001") + dev("answeringDevice", "2001"))
            pbx.connections["2001"]["500"] = "connected"
            await until(lambda: len(events) >= 2)
            await link.hold(call_id, "2001")
            await until(lambda: len(events) >= 3)
            with pytest.raises(CommandFailed, match="requestIncompatibleWithObject"):
                await link.conference(call_id, call_id, "2001")
            # the connection drops; the link comes back, monitors again, and the call goes on
            pbx.drop()
            await until(lambda: link.sessions == 2 and link.ready.is_set())
            assert [r.name for r in pbx.requests].count("MonitorStart") == 4
            await link.hangup(call_id, "2001")
            await until(lambda: len(events) >= 4)
        finally:
            await link.close()
            await puller
        rows = [(e.type, e.call_id, e.extension or e.cause) for e in events if isinstance(e, CallEvent)]
        assert rows == [
            ("call.offered", "csta-500", None),
            ("call.answered", "csta-500", "2001"),
            ("call.held", "csta-500", "2001"),
            ("call.ended", "csta-500", "normalClearing"),
        ]

    run(scenario)


def test_unreachable() -> None:  # connect() raises it: nothing is logged
    async def scenario(pbx: FakePbx, settings: CstaSettings) -> None:
        await pbx.stop()
        with pytest.raises(LinkUnavailable, match=r"CSTA"):
            await CstaLink(replace(settings, connect_timeout=0.5)).connect()

    run(scenario)


def test_an_application_session_is_kept_alive_and_started_again_when_the_timer_reset_goes_unanswered(
    expect_log: ExpectLog,
) -> None:
    async def scenario(pbx: FakePbx, settings: CstaSettings) -> None:
        link = CstaLink(replace(settings, session=True, keepalive=0.05, request_timeout=0.2))
        await link.connect()
        try:
            resets = lambda: [r.name for r in pbx.requests].count("ResetApplicationSessionTimer")  # noqa: E731
            await until(lambda: resets() >= 2)
            assert [r.name for r in pbx.requests].count("StartApplicationSession") == 1
            pbx.answer_keepalive = False
            with (
                expect_log(logging.WARNING, "cti.csta.client", match=r"^CSTA keep-alive failed \(CSTA "
                           r"ResetApplicationSessionTimer got no answer within 0.2 s\): dropping the connection$"),
                expect_log(logging.WARNING, "cti.csta.client", match=r"lost: keep-alive failed \(.*\); reconnecting"),
            ):
                await until(lambda: link.sessions == 1 and not link.ready.is_set())
                pbx.answer_keepalive = True
                await until(lambda: link.sessions == 2 and link.ready.is_set())
            assert [r.name for r in pbx.requests].count("StartApplicationSession") == 2
        finally:
            await link.close()

    run(scenario)


@pytest.mark.expect_log(logging.WARNING, "cti.csta.client", match="lost: the CSTA server closed the connection")
@pytest.mark.expect_log(logging.WARNING, "cti.csta.client", match=r"^CSTA resync: no snapshot of device 9999 \(the PBX "
                        r"refused SnapshotDevice: operation invalidDeviceID\); its calls are kept$")
def test_snapshot_resync_after_reconnect_closes_calls_that_ended_while_down() -> None:
    async def scenario(pbx: FakePbx, settings: CstaSettings) -> None:
        link = CstaLink(replace(settings, devices=("2001", "2002", "9999")))
        events: list[LinkEvent] = []

        async def pull() -> None:
            async for e in link.events():
                events.append(e)

        def rows() -> list[tuple[str, str, str | None]]:
            return [(e.type, e.call_id, e.extension or e.cause) for e in events if isinstance(e, CallEvent)]

        await link.connect()
        puller = asyncio.create_task(pull())
        try:
            first = await link.make_call("2001", "5551234")
            second = await link.make_call("2002", "5555678")
            for cid, device in (("500", "2001"), ("501", "2002")):
                pbx.event(
                    "EstablishedEvent", conn("establishedConnection", cid, device) + dev("answeringDevice", device)
                )
                pbx.connections[device][cid] = "connected"
            await until(lambda: len(rows()) == 4)
            # the link drops; meanwhile the second call ends and a new one is answered on 2002
            pbx.drop()
            del pbx.connections["2002"]["501"]
            pbx.connections["2002"]["600"] = "connected"
            await until(lambda: link.sessions == 2 and link.ready.is_set())
            await until(lambda: len(rows()) == 7)
            assert rows()[4:] == [
                ("call.offered", "csta-600", None),
                ("call.answered", "csta-600", "2002"),
                ("call.ended", second, "ended while the link was down"),
            ]
            assert link.mapper.csta_call_id(first, "2001") == "500"  # still up, same call_id
            await link.hangup(first, "2001")
            await until(lambda: rows()[-1] == ("call.ended", first, "normalClearing"))
        finally:
            await link.close()
            await puller

    run(scenario)
