"""Two ``ccenter acd`` servers on real Mosquitto: the simulated PBX's calls reach desktops, and when the
leader's link is cut the standby takes over within seconds with no call lost or offered twice."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest

from bus import topics
from bus.messages import AgentState, CallEvent, Command
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND, Bus
from cti.sim import SimPbx
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile, Role
from tests.bus.test_mqtt import CuttableProxy
from tests.helpers import until

pytestmark = pytest.mark.mqtt

CONFIG = AcdConfig(
    queues=(QueueConfig("sales", wrap_up_s=0.0, ring_timeout_s=30.0),),
    agents={
        "alice": AgentProfile({"sales": 5}, "1001"),
        "bob": AgentProfile({"sales": 5}, "1002"),
        "carol": AgentProfile({"sales": 5}, "1003"),
    },
)


class SimGateway:
    """A stand-in CTI gateway: SimPbx events onto the bus, ``deliver`` commands into the PBX.

    It fences: a command with an epoch lower than the highest seen is refused.
    """

    def __init__(self, bus: Bus, site: str) -> None:
        self.bus = bus
        self.site = site
        self.pbx = SimPbx(extensions=["1001", "1002", "1003"], trunks=20, ring_timeout=60)
        self.pbx.listener = self._on_event
        self.outbox: asyncio.Queue[CallEvent | AgentState] = asyncio.Queue()
        self.delivered: list[Command] = []
        self.refused: list[Command] = []
        self.epoch = 0
        self.t0 = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []

    def _on_event(self, event: CallEvent | AgentState) -> None:
        self.outbox.put_nowait(event)

    async def start(self) -> None:
        commands = await self.bus.subscribe(topics.cti_commands(self.site), qos=QOS_COMMAND)
        self._tasks = [asyncio.create_task(self._publish()), asyncio.create_task(self._commands(commands))]

    def advance(self) -> None:
        self.pbx.advance(time.monotonic() - self.t0)

    async def _publish(self) -> None:
        while True:
            event = await self.outbox.get()
            if isinstance(event, CallEvent):
                await self.bus.publish(topics.call(self.site, event.call_id), event, qos=QOS_COMMAND)

    async def _commands(self, sub) -> None:  # type: ignore[no-untyped-def]
        async for envelope in sub:
            command = envelope.message
            assert isinstance(command, Command)
            epoch = int(command.args.get("epoch", 0))
            if epoch < self.epoch:
                self.refused.append(command)
                continue
            self.epoch = epoch
            if command.name == "deliver":
                if any(d.command_id == command.command_id for d in self.delivered):
                    continue  # a resent command: already carried out
                self.delivered.append(command)
                self.advance()
                self.pbx.deliver(command.args["call_id"], command.args["extension"])

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=r"^MQTT link to mqtt://127.0.0.1:\d+ lost")
@pytest.mark.expect_log(logging.WARNING, "routing.leadership", match=r"stands down \(epoch 1\): lost the broker link$")
def test_standby_takes_over_without_losing_or_repeating_a_call(mqtt_url: str, caplog: pytest.LogCaptureFixture) -> None:
    site = f"test-{uuid.uuid4().hex[:8]}"
    parts = urlsplit(mqtt_url)

    async def desk(bus: Bus, agent_id: str, state: str) -> None:
        message = AgentState(agent_id=agent_id, state=state, ts=time.time())
        await bus.publish(topics.agent_events(site, agent_id), message, qos=QOS_COMMAND)

    async def scenario() -> None:
        proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 1883)
        port = await proxy.start()
        bus_a = MqttBus(f"mqtt://127.0.0.1:{port}", client_id=f"acd-a-{site}", site=site, keepalive=5)
        bus_b = MqttBus(mqtt_url, client_id=f"acd-b-{site}", site=site)
        bus_gw = MqttBus(mqtt_url, client_id=f"gw-{site}", site=site)
        for bus in (bus_a, bus_b, bus_gw):
            await bus.start()
        a = AcdServer(bus_a, CONFIG, site, settle_s=0.3, claim_s=0.2)
        b = AcdServer(bus_b, CONFIG, site, settle_s=0.3, claim_s=0.2)
        gateway = SimGateway(bus_gw, site)
        try:
            await gateway.start()
            await a.start()
            await until(lambda: a.role is Role.LEADER)
            await b.start()
            await until(lambda: b.leader is not None and b.leader.client_id == a.client_id)
            assert b.role is Role.STANDBY and a.epoch == 1

            # Alice takes the first call from the simulated PBX; three more wait (bob and carol not ready).
            await desk(bus_gw, "alice", "ready")
            await desk(bus_gw, "bob", "not_ready")
            await desk(bus_gw, "carol", "not_ready")
            for n in range(4):
                gateway.pbx.schedule_inbound(gateway.pbx.now + 0.001 * n, f"+1415555010{n}", "800", queue="sales")
            gateway.advance()
            await until(lambda: len(gateway.delivered) == 1)
            first = gateway.delivered[0]
            assert (first.call_id, first.args["extension"], first.args["epoch"]) == ("sim-1", "1001", 1)
            gateway.pbx.answer("sim-1", "1001")

            def queued_in_snapshot() -> int:
                return [c["status"] for c in (b.snapshot_received.calls if b.snapshot_received else [])].count("queued")

            await until(lambda: queued_in_snapshot() == 3)

            # Cut the leader's link: no DISCONNECT, the broker publishes its last will.
            proxy.cut()
            cut_at = time.monotonic()
            gateway.pbx.schedule_inbound(gateway.pbx.now, "+14155550199", "800", queue="sales")  # arrives meanwhile
            gateway.advance()
            await until(lambda: b.role is Role.LEADER, timeout=15)
            takeover_s = time.monotonic() - cut_at
            assert takeover_s < 5, takeover_s
            assert b.epoch == 2
            await until(lambda: sorted(b.waiting_calls()) == ["sim-2", "sim-3", "sim-4", "sim-5"])

            # The new leader routes the waiting calls, oldest first; alice's call is still hers.
            await desk(bus_gw, "bob", "ready")
            await desk(bus_gw, "carol", "ready")
            await until(lambda: len(gateway.delivered) == 3)
            assert [(d.call_id, d.args["epoch"]) for d in gateway.delivered[1:]] == [("sim-2", 2), ("sim-3", 2)]
            gateway.pbx.hangup("sim-1", "1001")  # alice is free again: she gets the next call
            gateway.advance()
            await until(lambda: len(gateway.delivered) == 4)
            assert (gateway.delivered[3].call_id, gateway.delivered[3].args["extension"]) == ("sim-4", "1001")
            gateway.pbx.answer("sim-2", "1002")
            gateway.pbx.hangup("sim-2", "1002")
            gateway.advance()
            await until(lambda: len(gateway.delivered) == 5)
            assert gateway.delivered[4].call_id == "sim-5"

            # The old leader came back through the proxy and stands by; nothing was offered twice.
            await until(lambda: bus_a.connected and a.role is Role.STANDBY and a.leader is not None
                        and a.leader.client_id == b.client_id, timeout=15)  # fmt: skip
            calls = [d.call_id for d in gateway.delivered]
            assert sorted(calls) == ["sim-1", "sim-2", "sim-3", "sim-4", "sim-5"]
            assert gateway.refused == []
        finally:
            await a.stop()
            await b.stop()
            await gateway.stop()
            for bus in (bus_a, bus_b, bus_gw):
                await bus.close()
            await proxy.close()

    asyncio.run(scenario())
    assert re.search(rf"ACD acd-a-{site}-[0-9a-f]{{16}} stands down \(epoch 1\): lost the broker link", caplog.text)
