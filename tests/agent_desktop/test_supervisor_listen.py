"""Listening in as a supervisor does it: the window's menu, greyed out until the CTI gateway says its link can
listen, then the action over the bus to the leading ACD, which audits it and asks the gateway; the gateway
joins the supervisor's phone to the agent's call on the simulated PBX, or asks Asterisk's ChanSpy through
AMI (the fake AMI server sees the Originate)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from agent_desktop.queues import QueueStatsFeed
from agent_desktop.supervisor import AgentStateFeed, SupervisorWindow
from agent_desktop.telephony import NetworkThread
from agent_desktop.workers import post
from bus.transport import InProcessBus
from ccenter.commands.desktop import pump_bus
from crm import db, supervision
from crm.models import Agent, Role
from cti.ami.client import AmiLink, AmiSettings
from cti.gateway import Gateway
from cti.link import CtiLink
from cti.model import DialOutcome, ListenMode
from cti.sim import NumberScript, SimLink, SimPbx
from routing.acd_config import AcdConfig, AgentProfile
from routing.model import QueueConfig
from routing.server import AcdServer
from routing.supervision import SupervisorClient, SupervisorDesk
from tests.cti.ami_server import FakeAsterisk

SITE = "t"


class Telephony:
    """The PBX side of one test: the link the gateway runs, and how to tell what became of a listen."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        # The fake Asterisk reports its queue member agent-7 at PJSIP/1001; the simulated PBX has alice there.
        self.agent = "alice" if kind == "sim" else "agent-7"
        self.pbx = SimPbx(extensions=["1001", "1100"])
        self.ami = FakeAsterisk()
        self.call_id = ""

    async def link(self) -> CtiLink:
        if self.kind == "sim":
            return SimLink(self.pbx)
        await self.ami.start()
        return AmiLink(AmiSettings(host="127.0.0.1", port=self.ami.port, username="cc", secret="s3cret",
                                   reconnect_min=0.02, reconnect_max=0.1, action_timeout=2.0, connect_timeout=3.0))

    def agent_on_a_call(self) -> None:
        """The agent's state comes from the PBX through the gateway (Asterisk's at its QueueStatus, at once)."""
        if self.kind == "sim":
            self.pbx.set_agent_state("alice", "busy", extension="1001")
            self.pbx.script_number("5550100", NumberScript(DialOutcome.ANSWERED, 2.0, hangup_after=600.0))
            self.call_id = self.pbx.make_call("1001", "5550100")
            self.pbx.advance(5)

    def listening(self) -> dict[str, Any]:
        if self.kind == "sim":
            return {k: v.value for k, v in self.pbx.listeners(self.call_id).items()}
        spy = [a for a in self.ami.actions if a.name == "Originate" and a.get("Application") == "ChanSpy"]
        return {} if not spy else {"channel": spy[-1].get("Channel"), "data": spy[-1].get("Data")}

    async def close(self) -> None:
        if self.kind == "ami":
            await self.ami.stop()


@pytest.mark.parametrize(("kind", "expected"), [
    ("sim", {"1100": ListenMode.WHISPER.value}),
    ("ami", {"channel": "PJSIP/1100", "data": "PJSIP/1001,qw"}),
])
def test_a_supervisor_whispers_to_an_agent_from_the_window(qtbot, engine, kind: str,
                                                           expected: dict[str, Any]) -> None:
    db.upgrade(engine)
    factory = db.session_factory(engine)
    telephony = Telephony(kind)
    agent = telephony.agent
    with factory() as s:
        s.add_all([Agent(login="sam", name="Sam", role=Role.SUPERVISOR, team="north", extension="1100"),
                   Agent(login=agent, name="Alice", team="north", extension="1001")])
        s.commit()
    network = NetworkThread("listen-test")
    network.start()
    bus = InProcessBus()
    server = AcdServer(bus, AcdConfig((QueueConfig("sales"),), {agent: AgentProfile({"sales": 5})}), SITE,
                       election=False, supervision=SupervisorDesk(factory))
    client = SupervisorClient(bus, SITE, "sam")
    feed = AgentStateFeed()
    window = SupervisorWindow(queue_stats=QueueStatsFeed(), agent_states=feed, teams={agent: "north"},
                              act=lambda a, t, args: network.call_soon(client.act(a, t, **args)))
    qtbot.addWidget(window)
    window.extension = "1100"
    parts: dict[str, Any] = {}

    def enabled(name: str) -> Callable[[], bool]:
        return lambda: {a.objectName(): a.isEnabled() for a in window.agent_menu(agent).actions()}[name]

    async def start() -> None:
        await server.start()
        await client.start()

    async def connect() -> None:
        link = await telephony.link()
        gateway = Gateway(link, bus, site=SITE, client_id="gw")
        await gateway.start()
        await link.connect()
        parts.update(link=link, gateway=gateway, runner=asyncio.create_task(gateway.run()),
                     pump=asyncio.create_task(pump_bus(bus, SITE, agent_sink=feed.publish, capability_sink=lambda
                                                       names: post(window, window.set_capabilities, names))))
        telephony.agent_on_a_call()

    network.call_soon(start()).result(10)
    try:
        assert not enabled("listen_whisper")()  # nothing has said the telephony can
        network.call_soon(connect()).result(10)
        qtbot.waitUntil(enabled("listen_whisper"), timeout=10_000)  # the gateway said: this link listens in
        qtbot.waitUntil(lambda: network.call_soon(_value(lambda: server.extension_of(agent))).result(5) == "1001",
                        timeout=10_000)  # the ACD heard where the agent is from the gateway
        items = {a.objectName(): a for a in window.agent_menu(agent).actions() if a.objectName()}
        with qtbot.waitSignal(window.acted, timeout=10_000) as acted:
            items["listen_whisper"].trigger()
        assert acted.args[0].result == "ok", acted.args[0].detail
        assert window.statusBar().currentMessage().startswith("Done: ")

        def heard() -> dict[str, Any]:
            return network.call_soon(_value(telephony.listening)).result(5)

        qtbot.waitUntil(lambda: heard() == expected, timeout=10_000)
        with factory() as s:
            [entry] = supervision.audit_entries(s)
        assert (entry.actor, entry.action, entry.target, entry.result) == ("sam", "listen", agent, "ok")
        assert "whisper" in entry.detail
    finally:
        async def stop() -> None:
            for task in (parts.get("runner"), parts.get("pump")):
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            if "link" in parts:
                await parts["link"].close()
            await client.close()
            await server.stop()
            await bus.close()
            await telephony.close()

        network.call_soon(stop()).result(10)
        network.stop()


async def _value(read: Callable[[], Any]) -> Any:
    """``read()`` on the network thread, where the PBX and the fake server live."""
    return read()
