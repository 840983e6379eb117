"""Broker faults: commands published while their receiver reconnects are delivered, with and without a
broker that persists its sessions. A private Mosquitto on a free port, stopped and started by the test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from bus import topics
from bus.messages import CallEvent, Command, CommandResult
from bus.mqtt import MqttBus
from bus.reconnect import BackoffPolicy, Reconnector
from bus.transport import QOS_COMMAND
from cti.buslink import BusLink
from cti.gateway import Gateway
from cti.link import CtiLink
from cti.model import Capability
from cti.sim import SimLink, SimPbx
from tests.bus.test_mqtt import CuttableProxy
from tests.end2end.private import Mosquitto, private_mosquitto
from tests.helpers import until

pytestmark = pytest.mark.faults
TIMEOUT = 20.0
LOST = r"^(MQTT link to mqtt://127\.0\.0\.1:\d+ lost .*; retrying in|publish on \S+ failed .*; waiting for the link)"


@contextlib.asynccontextmanager
async def started(bus: MqttBus) -> AsyncIterator[MqttBus]:
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.mark.parametrize("persistent", [True, False], ids=["persistent-session", "clean-session"])
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_command_published_while_its_receiver_reconnects(persistent: bool) -> None:
    """The receiver's link is cut and a QoS 1 command is published at once: a persistent session (the
    default) gets it on reconnecting; a clean session loses it (what persistence is for)."""
    site = f"faults-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[str]:
        with private_mosquitto(persistence=False) as broker:
            proxy = CuttableProxy("127.0.0.1", broker.port)
            port = await proxy.start()
            receiver = MqttBus(f"mqtt://127.0.0.1:{port}", client_id=f"gw-{site}", site=site, keepalive=5,
                               persistent=persistent)
            try:
                async with started(MqttBus(broker.url, client_id=f"acd-{site}", site=site)) as sender, \
                        started(receiver):
                    inbox = await receiver.subscribe(topics.cti_commands(site), qos=QOS_COMMAND)
                    proxy.cut()
                    await sender.publish(topics.cti_commands(site), Command(command_id="during", name="answer",
                                                                              ts=1.0), qos=QOS_COMMAND)
                    await until(lambda: receiver.reconnects >= 1 and receiver.connected, TIMEOUT)
                    await sender.publish(topics.cti_commands(site), Command(command_id="after", name="answer",
                                                                              ts=2.0), qos=QOS_COMMAND)
                    got: list[str] = []
                    while "after" not in got:
                        message = (await inbox.get(timeout=TIMEOUT)).message
                        assert isinstance(message, Command)
                        got.append(message.command_id)
                    return got
            finally:
                await proxy.close()

    got = asyncio.run(scenario())
    assert got == (["during", "after"] if persistent else ["after"])


@pytest.mark.parametrize("persistence", [True, False], ids=["broker-persistence", "no-persistence"])
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_broker_restarted_mid_call(persistence: bool) -> None:
    """An agent on a call; the broker stops; the agent hangs up during the outage (the command waits for
    the link); the broker comes back: the hang-up is done once, its result and the call's end reach
    the agent, and the agent's next call works as before."""
    site = f"faults-{uuid.uuid4().hex[:8]}"
    pbx = SimPbx(extensions=["1001"])
    link = SimLink(pbx, realtime=True, tick=0.02)

    async def scenario() -> tuple[int, int]:
        with private_mosquitto(persistence=persistence) as broker:
            # The gateway comes back 2 s after the desktop: the desktop's command reaches the broker first.
            slow = Reconnector(BackoffPolicy(initial=2.0, cap=2.0))
            async with started(MqttBus(broker.url, client_id=f"gw-{site}", site=site, reconnector=slow)) as gw_bus, \
                    started(MqttBus(broker.url, client_id=f"desk-{site}", site=site, max_backoff=0.5)) as desk:
                gateway = Gateway(link, gw_bus, site=site)
                await gateway.start()
                await link.connect()
                runner = asyncio.create_task(gateway.run())
                agent = BusLink(desk, site=site, agent_id="alice", command_timeout=TIMEOUT,
                                capabilities_timeout=TIMEOUT, resend_after=1.0)
                try:
                    await agent.connect()
                    events = agent.events()
                    await agent.set_agent_state("alice", "ready", extension="1001")
                    seen: list[CallEvent] = []

                    async def wait_for(kind: str, call_id: str) -> None:
                        while not any(e.type == kind and e.call_id == call_id for e in seen):
                            event = await asyncio.wait_for(anext(events), TIMEOUT)
                            if isinstance(event, CallEvent):
                                seen.append(event)

                    pbx.schedule_inbound(pbx.now, "+14155550100", "800", ring="1001")
                    await wait_for("call.alerting", "sim-1")
                    await agent.answer("sim-1", "1001")
                    await wait_for("call.answered", "sim-1")

                    broker.stop()
                    hangup = asyncio.create_task(agent.hangup("sim-1", "1001"))  # published during the outage
                    await asyncio.sleep(0.5)  # the outage lasts a while: the command waits meanwhile
                    assert not hangup.done()
                    broker.start()
                    await asyncio.wait_for(hangup, TIMEOUT)
                    await wait_for("call.ended", "sim-1")
                    assert "sim-1" not in pbx.live_calls
                    # The next call reaches the agent as before.
                    pbx.schedule_inbound(pbx.now, "+14155550101", "800", ring="1001")
                    await wait_for("call.alerting", "sim-2")
                    await agent.answer("sim-2", "1001")
                    await wait_for("call.answered", "sim-2")
                    return gateway.commands_done, agent.resent
                finally:
                    await agent.close()
                    runner.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await runner
                    await link.close()

    done, resent = asyncio.run(scenario())
    # set_agent_state, answer, hangup, answer: each done once, however often a command was resent
    assert done == 4, (done, resent)
    if not persistence:
        assert resent >= 1, "the broker forgot the gateway's subscriptions: the hang-up arrived when sent again"


class AckHoldingProxy(CuttableProxy):
    """A proxy that can stop passing what the broker sends (its acknowledgements among it) before a cut."""

    holding = False

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = writer not in self.links[1::2]  # links hold (client writer, upstream writer) pairs
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.holding and upstream:
                    continue  # the broker's PUBACK never reaches the client
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_publish_caught_by_a_broken_link_is_sent_again_as_soon_as_the_link_is_back() -> None:
    """The broker got the publish but its acknowledgement was lost with the link: the publisher does not
    wait out its 10 s timeout, it sends the message again on the new link at once."""
    site = f"ack-{uuid.uuid4().hex[:8]}"

    async def scenario(url: str) -> None:
        proxy = AckHoldingProxy("127.0.0.1", int(url.rsplit(":", 1)[1]))
        port = await proxy.start()
        sender = MqttBus(f"mqtt://127.0.0.1:{port}", client_id=f"acd-{site}", site=site, max_backoff=0.5,
                         reconnector=Reconnector(BackoffPolicy(initial=0.1, cap=0.2)))
        try:
            async with started(MqttBus(url, client_id=f"desk-{site}", site=site)) as desk, started(sender):
                assert sender.publish_timeout >= 10
                inbox = await desk.subscribe(topics.agent_commands(site, "alice"), qos=QOS_COMMAND)
                proxy.holding = True
                command = Command(command_id="held", name="offer", ts=1.0, agent_id="alice")
                publish = asyncio.create_task(sender.publish(topics.agent_commands(site, "alice"), command,
                                                             qos=QOS_COMMAND))
                assert (await inbox.get(timeout=TIMEOUT)).message == command  # the broker has it, unacknowledged
                assert not publish.done()
                proxy.holding = False
                proxy.cut()
                loop = asyncio.get_running_loop()
                cut_at = loop.time()
                await asyncio.wait_for(publish, TIMEOUT)
                assert loop.time() - cut_at < 5.0, "sent again on the new link, not after the 10 s timeout"
                assert sender.reconnects >= 1
                again = (await inbox.get(timeout=TIMEOUT)).message  # at least once: the receiver sees the id again
                assert again == command
        finally:
            await proxy.close()

    with private_mosquitto(persistence=False) as broker:
        asyncio.run(scenario(broker.url))


class ScriptedLink(CtiLink):
    """A telephony link whose events the test says, one by one."""

    capabilities = frozenset({Capability.HANGUP})

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        self._end_events()

    def say(self, kind: str, call_id: str, ts: float) -> None:
        self._emit(CallEvent(type=kind, call_id=call_id, ts=ts, calling="+14155550100", extension="1001"))


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
@pytest.mark.expect_log(logging.ERROR, "cti.gateway",
                        match=r"^a publish on \S+ failed: the MQTT broker .* unreachable for 1 s; call events")
def test_the_gateway_holds_its_events_through_a_broker_outage_longer_than_its_publish_timeout() -> None:
    """The broker away longer than the gateway bus's publish timeout: the call events the PBX reported
    meanwhile reach the subscribers once it is back, in order, and the gateway answers commands again.
    Before, the first publish given up on made every later one fail: those events were lost, and the
    gateway stayed up answering no command until its next event ended its run."""
    site = f"hold-{uuid.uuid4().hex[:8]}"
    link = ScriptedLink()

    async def scenario(broker: Mosquitto) -> tuple[list[tuple[str, str]], CommandResult, int]:
        fast = Reconnector(BackoffPolicy(initial=0.1, cap=0.3))
        gw_bus = MqttBus(broker.url, client_id=f"gw-{site}", site=site, publish_timeout=1.0, reconnector=fast)
        acd_bus = MqttBus(broker.url, client_id=f"acd-{site}", site=site,
                          reconnector=Reconnector(BackoffPolicy(initial=0.1, cap=0.3)))
        async with started(gw_bus), started(acd_bus):
            calls = await acd_bus.subscribe(topics.calls(site), qos=QOS_COMMAND)
            results = await acd_bus.subscribe(topics.cti_results(site), qos=QOS_COMMAND)
            gateway = Gateway(link, gw_bus, site=site)
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            got: list[tuple[str, str]] = []

            async def receive(count: int) -> None:
                while len(got) < count:
                    message = (await calls.get(timeout=TIMEOUT)).message
                    if isinstance(message, CallEvent):
                        got.append((message.call_id, message.type))

            try:
                link.say("call.offered", "c1", 1.0)
                await receive(1)
                broker.stop()
                link.say("call.answered", "c1", 2.0)
                link.say("call.ended", "c1", 3.0)
                link.say("call.offered", "c2", 4.0)
                await until(lambda: gateway.held >= 1, TIMEOUT)  # given up on once by the bus (1 s)
                link.say("call.answered", "c2", 5.0)  # the broker is still away
                broker.start()
                await receive(5)
                await acd_bus.publish(topics.cti_commands(site), Command(
                    command_id="after", name="live_calls", ts=6.0, args={"call_ids": ["c1", "c2"]}), qos=QOS_COMMAND)
                while True:
                    result = (await results.get(timeout=TIMEOUT)).message
                    if isinstance(result, CommandResult) and result.command_id == "after":
                        break
                return got, result, gateway.held
            finally:
                await link.close()
                await asyncio.wait_for(runner, TIMEOUT)

    with private_mosquitto(persistence=True) as broker:
        got, result, held = asyncio.run(scenario(broker))
    # In order on each call's topic (calls' topics are independent of each other).
    assert [kind for call, kind in got if call == "c1"] == ["call.offered", "call.answered", "call.ended"]
    assert [kind for call, kind in got if call == "c2"] == ["call.offered", "call.answered"]
    assert result.ok and result.result == {"live": ["c2"]}
    assert held >= 1
