"""The AMI link against a real TCP peer that speaks AMI (tests/cti/ami_server.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from bus.messages import AgentState, AgentStateName, CallEvent
from bus.reconnect import BackoffPolicy, Reconnector
from cti.ami.client import AmiLink, AmiSettings, AuthenticationFailed
from cti.errors import BadLinkUrl, CommandFailed, LinkUnavailable, LocalProtocolError
from cti.model import CallState, CallTracker, LinkEvent
from tests.helpers import ExpectLog, FakeTime, until

from .ami_server import FakeAsterisk


class Collector:
    """Collects a link's events in the background; ``wait(n)`` until there are ``n``."""

    def __init__(self, link: AmiLink) -> None:
        self.events: list[LinkEvent] = []
        self._task = asyncio.create_task(self._pull(link))

    async def _pull(self, link: AmiLink) -> None:
        async for event in link.events():
            self.events.append(event)

    async def wait(self, n: int) -> list[LinkEvent]:
        await until(lambda: len(self.events) >= n)
        return self.events

    def calls(self) -> list[tuple[str, str, str | None]]:
        return [(e.type, e.call_id, e.cause) for e in self.events if isinstance(e, CallEvent)]


def run(scenario: Callable[[FakeAsterisk, AmiSettings], Awaitable[None]]) -> None:
    async def main() -> None:
        server = FakeAsterisk()
        await server.start()
        settings = AmiSettings(
            host="127.0.0.1",
            port=server.port,
            username="cc",
            secret="s3cret",
            reconnect_min=0.02,
            reconnect_max=0.1,
            action_timeout=2.0,
            connect_timeout=3.0,
        )
        try:
            await scenario(server, settings)
        finally:
            await server.stop()

    asyncio.run(main())


def test_url_parsing() -> None:
    s = AmiSettings.from_url("ami://gw:p%40ss@pbx.example.com:5039?auth=plain&context=agents&tech=SIP")
    assert (s.host, s.port, s.username, s.secret, s.auth, s.context, s.tech) == (
        "pbx.example.com",
        5039,
        "gw",
        "p@ss",
        "plain",
        "agents",
        "SIP",
    )
    assert AmiSettings.from_url("ami://u:p@h").port == 5038
    for bad in ("ami://h", "csta://h:1", "ami://u:p@h?auth=ntlm", "ami://u:p@h?bogus=1"):
        with pytest.raises(BadLinkUrl):
            AmiSettings.from_url(bad)


@pytest.mark.expect_log(
    logging.WARNING,
    "cti.ami.client",
    match=r"^AMI link to 127.0.0.1:\d+ lost: the AMI server closed the connection; "
    r"reconnecting in \d+\.\d s$",
)
def test_md5_login_resync_and_calls_survive_a_disconnect() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("A", "A", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        server.new_channel("A2", "A", "PJSIP/1001-00000002")
        server.new_channel("B", "B", "PJSIP/trunk-00000003", caller="+14155550111")
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            assert server.logins == 1 and [a.name for a in server.actions[:2]] == ["Challenge", "Login"]
            assert server.actions[1].get("Secret") is None  # MD5: the secret never crosses the wire
            await events.wait(4)
            assert events.calls() == [
                ("call.offered", "A", None),
                ("call.answered", "A", None),
                ("call.offered", "B", None),
            ]
            assert isinstance(events.events[3], AgentState) and events.events[3].state == "ready"

            # The connection drops mid-call. While it is down, B hangs up and C comes in.
            server.drop_clients()
            server.channels.pop("B")
            server.channels["C"] = type(server.channels["A"])("C", "C", "PJSIP/trunk-00000004", caller="+1555")
            await until(lambda: link.sessions == 2 and link.logged_in.is_set())
            await events.wait(6)
            assert events.calls()[3:] == [
                ("call.offered", "C", None),
                ("call.ended", "B", "ended while the link was down"),
            ]
            # A goes on under the same call_id
            server.hangup("A2")
            server.hangup("A")
            await events.wait(7)
            assert events.calls()[-1] == ("call.ended", "A", "Normal Clearing")
        finally:
            await link.close()

    run(scenario)


def test_wrong_secret_is_refused_on_connect() -> None:  # connect() raises it: nothing is logged
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        link = AmiLink(replace(settings, secret="wrong"))
        with pytest.raises(AuthenticationFailed, match="refused user 'cc'"):
            await link.connect()
        plain = AmiLink(replace(settings, auth="plain"))
        await plain.connect()
        await plain.close()
        logins = [a for a in server.actions if a.name == "Login"]
        assert logins[-1].get("Secret") == "s3cret" and server.logins == 1

    run(scenario)


def test_unreachable_server_fails_connect_with_reason() -> None:  # connect() raises it: nothing is logged
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        await server.stop()
        link = AmiLink(replace(settings, connect_timeout=0.5))
        with pytest.raises(LinkUnavailable, match=r"cannot reach AMI|no AMI session"):
            await link.connect()

    run(scenario)


def test_keepalive_pings_and_reconnects_when_pings_go_unanswered(expect_log: ExpectLog) -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        link = AmiLink(replace(settings, ping_interval=0.05, action_timeout=0.2))
        await link.connect()
        try:
            await until(lambda: server.pings >= 2)
            server.answer_pings = False
            with (
                expect_log(
                    logging.WARNING,
                    "cti.ami.client",
                    match=r"^AMI keep-alive failed \(AMI action Ping got "
                    r"no answer within 0.2 s\): dropping the connection$",
                ),
                expect_log(logging.WARNING, "cti.ami.client", match=r"lost: keep-alive failed \(.*\); reconnecting in"),
            ):
                await until(lambda: link.sessions == 1 and not link.logged_in.is_set())
                server.answer_pings = True
                await until(lambda: link.sessions == 2 and link.logged_in.is_set())
        finally:
            await link.close()

    run(scenario)


def test_commands_originate_setvar_and_refusals() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            await events.wait(1)  # the queue member from QueueStatus
            call_id = await link.make_call("1001", "5551234", data={"campaign": "c7"})
            originate = server.actions[-1]
            assert originate.name == "Originate" and originate.get("ChannelId") == call_id
            assert originate.get("Variable") == "__CC_campaign=c7"
            await events.wait(2)
            assert events.calls()[0] == ("call.offered", call_id, None)
            await link.attach_data(call_id, {"account": "42"})
            await events.wait(3)
            data = events.events[-1]
            assert isinstance(data, CallEvent) and data.type == "call.data" and data.data == {"account": "42"}
            sent = len(server.actions)
            with pytest.raises(LocalProtocolError):
                await link.attach_data(call_id, {"note": "x\r\nAction: Originate"})
            with pytest.raises(LocalProtocolError):
                await link.make_call("1001", "555\n1234")
            # A comma in a Variable: value starts another variable for Asterisk (a name ending in ")"
            # runs a dialplan function); an @ or / in a dialled number picks another context or options.
            with pytest.raises(LocalProtocolError, match="comma"):
                await link.dial_out("5550100", "sales", {"offer": "5G,SHELL(id)=x"})
            with pytest.raises(LocalProtocolError, match="comma"):
                await link.make_call("1001", "5551234", data={"offer": "5G,SHELL(id)=x"})
            with pytest.raises(LocalProtocolError, match="another dialplan context"):
                await link.dial_out("5550100@premium-out/n", "sales")
            with pytest.raises(LocalProtocolError, match="another dialplan context"):
                await link.make_call("1001&PJSIP/1002", "5551234")
            assert len(server.actions) == sent  # nothing went out
            await link.set_agent_state("agent-7", AgentStateName.NOT_READY, reason="lunch", extension="1001")
            assert server.actions[-1].name == "QueuePause" and server.actions[-1].get("Reason") == "lunch"
            with pytest.raises(CommandFailed, match="no live call"):
                await link.hangup("nope", "1001")
            await link.mute(call_id, "1001", True)
            mute = server.actions[-1]
            assert (mute.name, mute.get("Direction"), mute.get("State")) == ("MuteAudio", "in", "on")
            assert mute.get("Channel", "").startswith("PJSIP/1001") or "1001" in mute.get("Channel", "")
            await link.hangup(call_id, "1001")
            await events.wait(4)
            assert events.calls()[-1] == ("call.ended", call_id, "Normal Clearing")
        finally:
            await link.close()

    run(scenario)


def _has(events: Collector, kind: str, call_id: str) -> Callable[[], bool]:
    return lambda: any(t == kind and c == call_id for t, c, _ in events.calls())


def test_hold_and_retrieve_park_the_customer_on_music_and_ring_the_agent_back() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("C", "C", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        server.new_channel("C2", "C", "PJSIP/1001-00000002")
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            await events.wait(1)  # agent-7 (PJSIP/1001) ready, from QueueStatus
            await link.hold("C", "1001")
            redirect = server.redirects[-1]
            assert (redirect.get("Channel"), redirect.get("Context"), redirect.get("Exten")) == (
                "PJSIP/trunk-00000001",
                "ccenter-hold",
                "s",
            )
            # the agent stays out of the queues while the customer waits (pause before the leg hangs up)
            assert [(a.name, a.get("Interface"), a.get("Paused"), a.get("Reason")) for a in server.actions[-2:]] == [
                ("QueuePause", "PJSIP/1001", "true", "on_hold"),
                ("Hangup", None, None, None),
            ]
            assert server.actions[-1].get("Channel") == "PJSIP/1001-00000002"
            await until(_has(events, "call.held", "C"))
            member = {"Queue": "sales", "MemberName": "agent-7", "Interface": "PJSIP/1001"}
            server.broadcast("QueueMemberPause", member | {"Paused": "1", "PausedReason": "on_hold"})
            server.broadcast("QueueMemberStatus", member | {"Paused": "1", "Status": "1"})
            await until(
                lambda: "C2" not in server.channels and link.mapper.channels_of("C") == ["PJSIP/trunk-00000001"]
            )
            with pytest.raises(CommandFailed, match="already on hold"):
                await link.hold("C", "1001")
            with pytest.raises(CommandFailed, match="put on hold by 1001, not 1002"):
                await link.retrieve("C", "1002")

            await link.retrieve("C", "1001")
            originate, unpause = server.actions[-2:]
            assert (unpause.name, unpause.get("Interface"), unpause.get("Paused")) == (
                "QueuePause",
                "PJSIP/1001",
                "false",
            )
            assert originate.name == "Originate"
            assert (originate.get("Channel"), originate.get("Application"), originate.get("Data")) == (
                "PJSIP/1001",
                "Bridge",
                "PJSIP/trunk-00000001",
            )
            await until(_has(events, "call.retrieved", "C"))
            await until(lambda: len(link.mapper.channels_of("C")) == 2)  # the agent's new leg joined the call
            with pytest.raises(CommandFailed, match="not on hold"):
                await link.retrieve("C", "1001")
            assert not _has(events, "call.ended", "C")()
            server.broadcast("QueueMemberPause", member | {"Paused": "0"})
            server.broadcast("QueueMemberStatus", member | {"Paused": "0", "Status": "2"})
            await until(lambda: any(isinstance(e, AgentState) and e.state == "busy" for e in events.events))
            states = [e.state for e in events.events if isinstance(e, AgentState)]
            assert states == ["ready", "busy"]  # no not_ready and no ready while the customer was held
        finally:
            await link.close()

    run(scenario)


def test_consult_then_attended_transfer_bridges_customer_and_target() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("T", "T", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        server.new_channel("T2", "T", "PJSIP/1001-00000002")
        link = AmiLink(settings)
        await link.connect()
        assert {"hold", "retrieve", "consult", "conference", "attended_transfer"} <= set(link.capabilities)
        events = Collector(link)
        try:
            consult = await link.consult("T", "1001", "1002")
            names = [a.name for a in server.actions[-4:]]
            assert names == ["Redirect", "QueuePause", "Hangup", "Originate"]
            assert server.actions[-1].get("ChannelId") == consult and server.actions[-1].get("Exten") == "1002"
            await until(_has(events, "call.held", "T"))
            server.new_channel("K2", consult, "PJSIP/1002-00000010", state=6)
            await until(lambda: len(link.mapper.channels_of(consult)) == 2)

            await link.attended_transfer("T", consult, "1001")
            bridge = next(a for a in reversed(server.actions) if a.name == "Bridge")
            assert (bridge.get("Channel1"), bridge.get("Channel2")) == ("PJSIP/trunk-00000001", "PJSIP/1002-00000010")
            assert server.actions[-1].name == "Hangup" and server.actions[-1].get("Channel", "").startswith(
                "PJSIP/1001-"
            )
            await until(lambda: not any(c.channel.startswith("PJSIP/1001-") for c in server.channels.values()))
            # Asterisk reports no transfer for a Bridge action: the link says it, and the customer is no longer held
            await until(_has(events, "call.transferred", "T"))
            moved = next(e for e in events.events if isinstance(e, CallEvent) and e.type == "call.transferred")
            assert (moved.extension, moved.data["kind"], moved.data["consult_call_id"]) == ("1002", "attended", consult)
            tracker = CallTracker()
            for e in events.events:
                tracker.apply(e)
            customer = tracker.get("T")
            assert customer is not None and customer.state is CallState.CONNECTED
        finally:
            await link.close()

    run(scenario)


def test_blind_transfer_redirects_the_customer_and_says_call_transferred() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("B", "B", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        server.new_channel("B2", "B", "PJSIP/1001-00000002")
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            await until(lambda: len(link.mapper.channels_of("B")) == 2)
            await link.blind_transfer("B", "1001", "2002")
            redirect = server.redirects[-1]
            assert (redirect.get("Channel"), redirect.get("Exten")) == ("PJSIP/trunk-00000001", "2002")
            await until(_has(events, "call.transferred", "B"))
            moved = next(e for e in events.events if isinstance(e, CallEvent) and e.type == "call.transferred")
            assert (moved.called, moved.data) == ("2002", {"kind": "blind", "by": "1001"})
        finally:
            await link.close()

    run(scenario)


def test_conference_redirects_all_three_parties_into_one_confbridge() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("F", "F", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        server.new_channel("F2", "F", "PJSIP/1001-00000002")
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            consult = await link.consult("F", "1001", "1003")
            server.new_channel("K3", consult, "PJSIP/1003-00000011", state=6)
            await until(lambda: len(link.mapper.channels_of(consult)) == 2)
            await link.conference("F", consult, "1001")
            first, second = server.redirects[-2:]
            assert (first.get("Channel"), first.get("Context"), first.get("Exten")) == (
                "PJSIP/trunk-00000001",
                "ccenter-conference",
                "ccF",
            )
            assert second.get("ExtraChannel") == "PJSIP/1003-00000011" and second.get("ExtraExten") == "ccF"
            assert (second.get("Channel") or "").startswith("PJSIP/1001-")
            await until(_has(events, "call.conferenced", "F"))
            conferenced = next(e for e in events.events if isinstance(e, CallEvent) and e.type == "call.conferenced")
            assert conferenced.data["parties"] == ["1001", "1003", "trunk"]
            await until(_has(events, "call.ended", consult))  # the consultation call merged into F
            assert [c for t, i, c in events.calls() if t == "call.ended" and i == consult] == ["merged"]
        finally:
            await link.close()

    run(scenario)


def test_acd_deliver_and_withdraw_redirect_the_waiting_caller() -> None:
    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("Q", "Q", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        link = AmiLink(settings)
        await link.connect()
        try:
            await until(lambda: link.mapper.channels_of("Q") == ["PJSIP/trunk-00000001"])
            await link.deliver("Q", "1001")
            await link.withdraw("Q", "1001")
            assert [(r.get("Channel"), r.get("Context"), r.get("Exten")) for r in server.redirects] == [
                ("PJSIP/trunk-00000001", "from-internal", "1001"),
                ("PJSIP/trunk-00000001", "ccenter-hold", "s"),
            ]
            with pytest.raises(CommandFailed, match="no live call"):
                await link.deliver("nope", "1001")
        finally:
            await link.close()

    run(scenario)


def test_reconnect_pauses_grow_while_sessions_flap_and_start_over_after_a_session_that_lasted(
    expect_log: ExpectLog,
) -> None:
    lost = expect_log(logging.WARNING, "cti.ami.client", match="lost: the AMI server closed the connection")

    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        time = FakeTime()
        reconnector = Reconnector(
            BackoffPolicy(initial=0.5, cap=30.0, stable_after=60.0),
            clock=time.clock,
            sleep=time.sleep,
            uniform=lambda low, high: high,
        )
        link = AmiLink(settings, reconnector=reconnector)
        await link.connect()
        try:
            for session in (2, 3):  # Asterisk drops us right after each login: the pauses grow
                server.drop_clients()
                await until(lambda: link.sessions == session and link.logged_in.is_set())  # noqa: B023
            assert time.pauses == [1.5, 4.5]
            time.now += 60  # this session lasts a minute
            server.drop_clients()
            await until(lambda: link.sessions == 4 and link.logged_in.is_set())
            assert time.pauses == [1.5, 4.5, 1.5]  # ... so the next pause is the first one again
            server.drop_clients()
            await until(lambda: link.sessions == 5 and link.logged_in.is_set())
            assert time.pauses == [1.5, 4.5, 1.5, 4.5]
        finally:
            await link.close()
        assert [r.getMessage().rsplit("; ", 1)[1] for r in lost.records] == [
            "reconnecting in 1.5 s",
            "reconnecting in 4.5 s",
            "reconnecting in 1.5 s",
            "reconnecting in 4.5 s",
        ]

    run(scenario)


def test_wrap_up_is_a_pause_with_its_own_reason_and_comes_back_as_wrap_up() -> None:
    """The desktop sets wrap_up after every call; Asterisk's queues know paused or not."""

    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        link = AmiLink(settings)
        await link.connect()
        events = Collector(link)
        try:
            await events.wait(1)  # agent-7 ready, from QueueStatus
            await link.set_agent_state("agent-7", AgentStateName.WRAP_UP, extension="1001")
            pause = server.actions[-1]
            assert (pause.name, pause.get("Paused"), pause.get("Reason")) == ("QueuePause", "true", "wrap_up")
            server.broadcast(
                "QueueMemberPause",
                {"Queue": "sales", "MemberName": "agent-7", "Interface": "PJSIP/1001", "Paused": "1",
                 "PausedReason": "wrap_up"},
            )  # fmt: skip
            await events.wait(2)
            state = events.events[-1]
            assert isinstance(state, AgentState) and (state.agent_id, state.state) == ("agent-7", "wrap_up")
        finally:
            await link.close()

    run(scenario)


def test_a_server_that_hangs_up_during_the_login_fails_connect_at_once() -> None:
    """EOF while the login waits for its answer: no waiting for the action timeout."""

    async def main() -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"Asterisk Call Manager/13.0.0\r\n")
            await reader.readuntil(b"\r\n\r\n")  # the Challenge action
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        link = AmiLink(
            AmiSettings(host="127.0.0.1", port=port, username="cc", secret="x", action_timeout=60, connect_timeout=60)
        )
        try:
            with pytest.raises(LinkUnavailable, match="closed the connection"):
                await asyncio.wait_for(link.connect(), 5)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_second_ring_no_answer_at_the_same_agent_stops_the_ring_again() -> None:
    """The ACD's commands for a call that rings alice twice without an answer, through the gateway (which
    runs a command id once, also when the broker delivers it twice) to Asterisk: both withdraws are
    carried out, so the caller is taken back from the phone each time."""
    from bus import topics
    from bus.messages import Command, CommandResult
    from bus.transport import InProcessBus
    from cti.gateway import Gateway
    from routing.acd_config import AcdConfig, AgentProfile
    from routing.adapter import AcdAdapter
    from routing.model import Decision, QueueConfig

    site = "rna"
    acd = AcdAdapter(
        AcdConfig(
            queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=10.0),),
            agents={"alice": AgentProfile({"sales": 5}, "1001")},
        ),
        site,
    )

    async def scenario(server: FakeAsterisk, settings: AmiSettings) -> None:
        server.new_channel("c1", "c1", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
        link = AmiLink(settings)
        bus = InProcessBus()
        async with bus:
            results = await bus.subscribe(topics.agent_events(site, "alice"))  # the ACD's commands name alice
            gateway = Gateway(link, bus, site=site)
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            try:
                await until(lambda: link.mapper.channels_of("c1") == ["PJSIP/trunk-00000001"])

                async def carry_out(commands: list[Command]) -> list[CommandResult]:
                    out = []
                    for command in commands:
                        for _ in range(2):  # QoS 1: the broker may deliver a command twice
                            await bus.publish(topics.cti_commands(site), command, qos=1)
                        async with asyncio.timeout(5):
                            async for envelope in results:
                                message = envelope.message  # (a delivery again of one done is answered again)
                                if isinstance(message, CommandResult) and message.command_id == command.command_id:
                                    out.append(message)
                                    break
                    return out

                def cti(decisions: list[Decision], now: float) -> list[Command]:
                    return [o.command for o in acd.commands(decisions, epoch=1, now=now)
                            if o.topic == topics.cti_commands(site)]

                ok: list[CommandResult] = []
                acd.receive(AgentState(agent_id="alice", state="ready", ts=0.0), 0.0)
                ok += await carry_out(cti(acd.receive(CallEvent(type="queue.joined", call_id="c1", ts=0.0,
                                                                queue="sales"), 0.0), 0.0))
                ok += await carry_out(cti(acd.tick(10.0), 10.0))  # no answer: withdraw
                back = acd.receive(AgentState(agent_id="alice", state="ready", ts=11.0), 11.0)  # offered again
                ok += await carry_out(cti(back, 11.0))
                ok += await carry_out(cti(acd.tick(21.0), 21.0))  # no answer again: withdraw again
                assert [(r.name, r.ok) for r in ok] == [("deliver", True), ("withdraw", True)] * 2
                assert len({r.command_id for r in ok}) == 4
                assert [(r.get("Context"), r.get("Exten")) for r in server.redirects] == [
                    ("from-internal", "1001"),
                    ("ccenter-hold", "s"),
                    ("from-internal", "1001"),
                    ("ccenter-hold", "s"),  # the second withdraw is no duplicate of the first
                ]
            finally:
                await link.close()
                await runner

    run(scenario)
