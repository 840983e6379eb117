"""Listening in: the simulated PBX models monitor, whisper and barge; the AMI link asks ChanSpy for them;
the gateway carries the supervisor's ``listen`` command to the link."""

from __future__ import annotations

import asyncio

import pytest

from bus import topics
from bus.messages import Command, CommandResult
from bus.transport import QOS_COMMAND, InProcessBus
from cti.ami.client import AmiLink, AmiSettings
from cti.errors import CommandFailed, LocalProtocolError
from cti.gateway import Gateway
from cti.model import Capability, DialOutcome, ListenMode
from cti.sim import NumberScript, SimLink, SimPbx

from .ami_server import FakeAsterisk


def connected_call(pbx: SimPbx) -> str:
    pbx.script_number("5550100", NumberScript(DialOutcome.ANSWERED, 2.0, hangup_after=600.0))
    call_id = pbx.make_call("1001", "5550100")
    pbx.advance(5)
    return call_id


@pytest.mark.parametrize(("mode", "agent_hears_supervisor", "customer_hears_supervisor"), [
    (ListenMode.MONITOR, False, False),
    (ListenMode.WHISPER, True, False),
    (ListenMode.BARGE, True, True),
])
def test_the_simulated_pbx_lets_a_supervisor_listen_in(mode: ListenMode, agent_hears_supervisor: bool,
                                                        customer_hears_supervisor: bool) -> None:
    pbx = SimPbx(extensions=["1001", "1100"])
    call_id = connected_call(pbx)
    assert pbx.listen("1001", "1100", mode) == call_id
    assert pbx.listeners(call_id) == {"1100": mode}
    customer = next(p for p in pbx.hears(call_id, "1001") if p != "1100")
    assert {"1001", customer} <= pbx.hears(call_id, "1100")  # the supervisor hears both, whatever the mode
    assert ("1100" in pbx.hears(call_id, "1001")) is agent_hears_supervisor
    assert ("1100" in pbx.hears(call_id, customer)) is customer_hears_supervisor


def test_listening_in_needs_a_connected_agent_and_a_free_supervisor_phone() -> None:
    pbx = SimPbx(extensions=["1001", "1002", "1100"])
    with pytest.raises(CommandFailed, match="no connected call"):
        pbx.listen("1002", "1100", ListenMode.MONITOR)
    connected_call(pbx)
    with pytest.raises(CommandFailed, match="not an extension"):
        pbx.listen("1001", "9999", ListenMode.MONITOR)


@pytest.mark.expect_log("WARNING", "cti.gateway", match="mode is monitor, whisper or barge")
def test_the_gateway_carries_a_listen_command_to_the_simulated_pbx() -> None:
    async def scenario() -> None:
        pbx = SimPbx(extensions=["1001", "1100"])
        call_id = connected_call(pbx)
        bus = InProcessBus()
        link = SimLink(pbx)
        gateway = Gateway(link, bus, site="t", client_id="gw")
        await gateway.start()
        await link.connect()
        runner = asyncio.create_task(gateway.run())
        results = await bus.subscribe(topics.cti_results("t"))
        try:
            command = Command(command_id="sup:1:", name="listen", ts=0.0,
                              args={"extension": "1001", "supervisor": "1100", "mode": "whisper", "epoch": 1})
            await bus.publish(topics.cti_commands("t"), command, qos=QOS_COMMAND)
            async with asyncio.timeout(5):
                while True:
                    result = (await results.get()).message
                    if isinstance(result, CommandResult) and result.command_id == "sup:1:":
                        break
            assert result.ok, result.error
            assert pbx.listeners(call_id) == {"1100": ListenMode.WHISPER}
            bad = Command(command_id="sup:2:", name="listen", ts=0.0,
                          args={"extension": "1001", "supervisor": "1100", "mode": "shout"})
            await bus.publish(topics.cti_commands("t"), bad, qos=QOS_COMMAND)
            async with asyncio.timeout(5):
                while True:
                    result = (await results.get()).message
                    if isinstance(result, CommandResult) and result.command_id == "sup:2:":
                        break
            assert not result.ok and "monitor, whisper or barge" in (result.error or "")
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await link.close()
            await bus.close()

    asyncio.run(scenario())


def test_the_ami_link_listens_in_through_chanspy_with_q_w_and_b() -> None:
    async def main() -> None:
        server = FakeAsterisk()
        await server.start()
        settings = AmiSettings(host="127.0.0.1", port=server.port, username="cc", secret="s3cret",
                               reconnect_min=0.02, reconnect_max=0.1, action_timeout=2.0, connect_timeout=3.0)
        link = AmiLink(settings)
        try:
            await link.connect()
            assert Capability.LISTEN in link.capabilities
            for mode, options in ((ListenMode.MONITOR, "q"), (ListenMode.WHISPER, "qw"), (ListenMode.BARGE, "qB")):
                await link.listen("1001", "1100", mode)
                originate = server.actions[-1]
                assert (originate.name, originate.get("Channel"), originate.get("Application"),
                        originate.get("Data")) == ("Originate", "PJSIP/1100", "ChanSpy", f"PJSIP/1001,{options}")
            sent = len(server.actions)
            with pytest.raises(LocalProtocolError):
                await link.listen("1001,B", "1100", ListenMode.MONITOR)  # no options smuggled in
            assert len(server.actions) == sent
        finally:
            await link.close()
            await server.stop()

    asyncio.run(main())
