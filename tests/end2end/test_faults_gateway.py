"""CTI gateway faults with the real ``ccenter cti-gateway`` process, linked over AMI to a stand-in Asterisk
(tests/cti/ami_server.py, in this test's process on a free port) through a private Mosquitto:

- the gateway killed (``kill -9``) while calls are up and started again: it resyncs the calls from the
  PBX and publishes them again under the same call ids, and the agent on the call sees it again;
- the PBX connection dropped and restored: ``cti.capabilities`` goes offline with ``link_up`` false and
  back online, a command in between is refused with a clear error, and the calls are resynced after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bus import topics
from bus.messages import CallEvent, Command, CommandResult, CtiCapabilities
from bus.mqtt import MqttBus
from bus.transport import QOS_COMMAND
from cti.buslink import BusLink
from cti.errors import LinkUnavailable
from tests.cti.ami_server import FakeAsterisk
from tests.end2end.private import private_mosquitto

pytestmark = pytest.mark.faults
TIMEOUT = 30.0
AGENT = "agent-7"  # the stand-in's QueueStatus: agent-7 on PJSIP/1001, ready


class Gateway:
    """One ``ccenter cti-gateway`` process, its output in a file; stopped by its process id."""

    def __init__(self, tmp: Path, site: str, broker_url: str, ami_port: int) -> None:
        self.env = {**os.environ, "CCENTER_SITE": site, "CCENTER_MQTT": broker_url, "PYTHONUNBUFFERED": "1",
                    "HOME": str(tmp), "XDG_DATA_HOME": str(tmp / "data")}
        self.url = f"ami://cc:s3cret@127.0.0.1:{ami_port}?ping=1"
        self.tmp = tmp
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.tmp / f"gateway-{self.runs}.log"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def start(self) -> None:
        self.runs += 1
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ccenter", "-v", "cti-gateway", "--link", self.url],
                stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Watch:
    """What the site's bus carries: calls, the agent's events, the capabilities and the results."""

    def __init__(self, bus: MqttBus, site: str) -> None:
        self.bus = bus
        self.site = site
        self.calls: list[CallEvent] = []
        self.agent: list[CallEvent | CommandResult] = []
        self.capabilities: list[CtiCapabilities] = []
        self.results: list[CommandResult] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for pattern, into in ((topics.calls(self.site), self.calls),
                              (topics.agent_events(self.site, AGENT), self.agent),
                              (topics.cti_capabilities(self.site), self.capabilities),
                              (topics.cti_results(self.site), self.results)):
            subscription = await self.bus.subscribe(pattern, qos=QOS_COMMAND)
            self.tasks.append(asyncio.create_task(self._read(subscription, into)))

    @staticmethod
    async def _read(subscription: object, into: list[object]) -> None:
        async for envelope in subscription:  # type: ignore[attr-defined]
            into.append(envelope.message)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def wait(condition: Callable[[], object], gateway: Gateway, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert gateway.process is not None and gateway.process.poll() is None, gateway.text()
        assert time.monotonic() < deadline, f"{what}: not within {TIMEOUT:g} s\n{gateway.text()}"
        await asyncio.sleep(0.05)


def call_ids(events: list[object], kind: str) -> set[str]:
    return {e.call_id for e in events if isinstance(e, CallEvent) and e.type == kind}


def a_call_up(pbx: FakeAsterisk) -> None:
    """A caller on the trunk answered by extension 1001 (agent-7's): one call, id ``A``."""
    pbx.new_channel("A", "A", "PJSIP/trunk-00000001", caller="+14155550100", exten="800")
    pbx.new_channel("A2", "A", "PJSIP/1001-00000002")


def test_the_gateway_killed_with_calls_up_resyncs_them_on_restart(tmp_path: Path) -> None:
    site = f"gwk-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        pbx = FakeAsterisk()
        await pbx.start()
        a_call_up(pbx)
        with private_mosquitto(persistence=False) as broker:
            bus = MqttBus(broker.url, client_id=f"watch-{site}", site=site)
            await bus.start()
            watch = Watch(bus, site)
            await watch.start()
            gateway = Gateway(tmp_path, site, broker.url, pbx.port)
            # The agent's desktop side: its own bus and link, as `ccenter desktop` has them.
            desk_bus = MqttBus(broker.url, client_id=f"desktop-{AGENT}-{site}", site=site)
            desk = BusLink(desk_bus, site=site, agent_id=AGENT, command_timeout=TIMEOUT, capabilities_timeout=0.1)
            seen: list[object] = []
            reader: asyncio.Task[None] | None = None
            try:
                await desk_bus.start()
                await desk.connect()

                async def read() -> None:
                    async for event in desk.events():
                        seen.append(event)

                reader = asyncio.create_task(read())
                gateway.start()
                await wait(lambda: "A" in call_ids(watch.calls, "call.answered"), gateway, "call A published")
                await wait(lambda: "A" in call_ids(watch.agent, "call.answered"), gateway, "call A to the agent")
                await wait(lambda: desk.link_up and "A" in call_ids(seen, "call.answered"), gateway,
                           "the desktop has call A")

                gateway.kill()
                # The gateway's last will: the desktop knows it is gone (its retained capabilities say online).
                deadline = time.monotonic() + TIMEOUT
                while desk.link_up:
                    assert time.monotonic() < deadline, "the desktop still thinks the gateway is up"
                    await asyncio.sleep(0.05)
                seen.clear()
                # While the gateway is away, a second call comes in on the same agent's phone and ends.
                pbx.new_channel("B", "B", "PJSIP/trunk-00000003", caller="+14155550111")
                pbx.hangup("B")
                watch.calls.clear()
                watch.agent.clear()
                logins = pbx.logins

                gateway.start()
                await wait(lambda: pbx.logins > logins, gateway, "the gateway logged in again")
                await wait(lambda: "A" in call_ids(watch.calls, "call.answered"), gateway, "call A published again")
                await wait(lambda: "A" in call_ids(watch.agent, "call.answered"), gateway,
                           "call A to the agent again")
                # The same call, the same id: no other call was made up of it.
                assert {e.call_id for e in watch.calls} == {"A"}, watch.calls
                answered = next(e for e in watch.calls if e.type == "call.answered")
                offered = [e for e in watch.calls if e.type == "call.offered"]
                assert offered and offered[0].calling == "+14155550100", watch.calls
                assert answered.extension == "1001", answered
                # The agent's desktop gets the call as it is: answered on its phone, the caller's number.
                mine = [e for e in watch.agent if isinstance(e, CallEvent) and e.call_id == "A"]
                assert any(e.type == "call.answered" and e.extension == "1001" for e in mine), mine
                assert any(e.calling == "+14155550100" for e in mine), mine
                await wait(lambda: any(c.online and c.link_up for c in watch.capabilities[-1:]), gateway,
                           "the gateway online again")

                await wait(lambda: desk.link_up and "A" in call_ids(seen, "call.answered"), gateway,
                           "the desktop has call A again")

                # The call goes on under that id, and is the agent's: its hang-up is allowed and done.
                await desk.hangup("A", "1001")
                assert "A2" not in pbx.channels
                pbx.hangup("A")
                await wait(lambda: "A" in call_ids(watch.calls, "call.ended"), gateway, "call A ended")
                await wait(lambda: "A" in call_ids(watch.agent, "call.ended"), gateway, "call A ended for the agent")
                await wait(lambda: "A" in call_ids(seen, "call.ended"), gateway, "call A ended on the desktop")
            finally:
                gateway.stop()
                await desk.close()
                if reader is not None:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
                await desk_bus.close()
                await watch.close()
                await bus.close()
                await pbx.stop()
        assert "Traceback" not in gateway.text(), gateway.text()

    asyncio.run(scenario())


def test_the_pbx_link_dropped_and_restored(tmp_path: Path) -> None:
    site = f"gwl-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        pbx = FakeAsterisk()
        await pbx.start()
        a_call_up(pbx)
        pbx.new_channel("B", "B", "PJSIP/trunk-00000003", caller="+14155550111")
        with private_mosquitto(persistence=False) as broker:
            bus = MqttBus(broker.url, client_id=f"watch-{site}", site=site)
            await bus.start()
            watch = Watch(bus, site)
            await watch.start()
            gateway = Gateway(tmp_path, site, broker.url, pbx.port)
            desk_bus = MqttBus(broker.url, client_id=f"desktop-{AGENT}-{site}", site=site)
            desk = BusLink(desk_bus, site=site, agent_id=AGENT, command_timeout=TIMEOUT, capabilities_timeout=0.1)
            try:
                await desk_bus.start()
                await desk.connect()
                gateway.start()
                await wait(lambda: {"A", "B"} <= call_ids(watch.calls, "call.offered"), gateway, "calls published")
                await wait(lambda: any(c.online and c.link_up for c in watch.capabilities[-1:]), gateway, "online")

                # Asterisk goes away (its port closed): the gateway says so.
                await pbx.stop()
                await wait(lambda: any(not c.online and not c.link_up for c in watch.capabilities[-1:]), gateway,
                           "offline with link_up false")
                down = watch.capabilities[-1]
                assert down.link_reason, down
                # The agent's desktop shows the link down, and refuses its buttons with a clear reason.
                await wait(lambda: not desk.link_up, gateway, "the desktop sees the link down")
                with pytest.raises(LinkUnavailable, match=r"^the link to the telephone system is down since "):
                    await desk.hangup("A", "1001")

                # A command meanwhile is refused, clearly.
                command = Command(command_id=f"hangup-{site}", name="hangup", ts=time.time(), call_id="B")
                await bus.publish(topics.cti_commands(site), command, qos=QOS_COMMAND)
                await wait(lambda: any(r.command_id == command.command_id for r in watch.results), gateway,
                           "the command's result")
                refused = next(r for r in watch.results if r.command_id == command.command_id)
                assert not refused.ok and refused.result.get("kind") == "LinkUnavailable", refused
                assert refused.error, refused
                assert "B" in pbx.channels  # nothing was done

                # While the link is down, B ends; then Asterisk is back on its port.
                pbx.hangup("B")
                watch.calls.clear()
                await pbx.start()
                await wait(lambda: any(c.online and c.link_up for c in watch.capabilities[-1:]), gateway,
                           "online again")
                await wait(lambda: "B" in call_ids(watch.calls, "call.ended"), gateway, "B ended while down")
                ended = next(e for e in watch.calls if e.type == "call.ended" and e.call_id == "B")
                assert ended.cause == "ended while the link was down", ended
                # A goes on under its id: a command on it works again.
                assert "A" not in call_ids(watch.calls, "call.ended")
                again = Command(command_id=f"hangup2-{site}", name="hangup", ts=time.time(), call_id="A")
                await bus.publish(topics.cti_commands(site), again, qos=QOS_COMMAND)
                await wait(lambda: any(r.command_id == again.command_id for r in watch.results), gateway,
                           "the second command's result")
                done = next(r for r in watch.results if r.command_id == again.command_id)
                assert done.ok, done
                await wait(lambda: "A" in call_ids(watch.calls, "call.ended"), gateway, "call A ended")
                await wait(lambda: desk.link_up, gateway, "the desktop sees the link up")
            finally:
                gateway.stop()
                await desk.close()
                await desk_bus.close()
                await watch.close()
                await bus.close()
                await pbx.stop()
        assert "Traceback" not in gateway.text(), gateway.text()

    asyncio.run(scenario())
