"""Client ids and last wills on a real Mosquitto started with the shipped configuration.

- Nobody but the ACDs (and the site-wide ``svc-supervisor``) reads ``presence/+``, the capabilities and
  the ACD's answers name no client id, and an ACD's figures of the day name it by a hash: an agent or a
  supervisor learns no process's MQTT client id from anything it may read. And were it to learn one, the
  shipped broker's plugin (``packaging/mosquitto/ccenter_clientid.c``) refuses a client id that does not
  start with its own user's name: nobody takes over another's session (MQTT hands a client id's
  session to whoever connects with it, and stock Mosquitto lets any user do so).
- The CTI gateway's last will is its ``cti.capabilities`` offline: a gateway whose connection dies
  uncleanly is seen offline by desktops (which read no presence) and by the ACD, which offers no call.
- A desktop's last will is ``agents/<id>/presence`` offline, a topic only that agent may write: the ACD
  offers that agent nothing more at once, keeps its state for the grace period, and logs it off after it
  (audited as ``(system)``); a desktop back within the grace loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from bus import topics
from bus.messages import AgentPresence, CallEvent, CtiCapabilities
from bus.mqtt import MqttBus
from ccenter.commands.broker import DEFAULT_SERVICES, provision
from ccenter.components import acd_server
from ccenter.config import Settings
from crm import db, supervision
from crm.broker_accounts import BrokerAgent
from cti.buslink import BusLink
from cti.gateway import Gateway, gateway_will
from cti.sim import SimLink, SimPbx
from routing.acd_config import AcdConfig, AgentProfile
from routing.model import AgentId, AgentStatus, CallId, QueueConfig
from routing.server import AcdServer, ExplainClient
from routing.supervision import SYSTEM_ACTOR
from tests.bus.test_mqtt import CuttableProxy
from tests.helpers import until

from .test_broker_trust import (
    MOSQUITTO,
    PACKAGING,
    TIMEOUT,
    Broker,
    start_shipped_broker,
)

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed")

LOST = r"^MQTT link to mqtt://\S+ lost"


def _start(tmp_path: Path, people: Sequence[BrokerAgent]) -> Broker:
    """Mosquitto with the shipped configuration and the ACL ``provision`` writes for ``people`` (the
    shipped ACL itself when nobody supervises: the test checks they are the same)."""
    passwd, acl = tmp_path / "ccenter.passwd", tmp_path / "ccenter.acl"
    passwords, _ = provision(passwd, acl, people, DEFAULT_SERVICES)
    if not any(p.supervises for p in people):
        assert acl.read_text() == (PACKAGING / "ccenter.acl").read_text(), "the shipped ACL is what provision writes"
        acl = PACKAGING / "ccenter.acl"
    return start_shipped_broker(tmp_path, passwd, acl, passwords)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = _start(tmp_path, [BrokerAgent("a7"), BrokerAgent("a8")])
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def team_broker(tmp_path: Path) -> Iterator[Broker]:
    b = _start(
        tmp_path,
        [
            BrokerAgent("a7", "agent", "north"),
            BrokerAgent("a8", "agent", "north"),
            BrokerAgent("sup1", "supervisor", "north"),
        ],
    )
    try:
        yield b
    finally:
        b.stop()


CONFIG = AcdConfig(
    queues=(QueueConfig("sales"),),
    agents={"a7": AgentProfile({"sales": 5}, "1001"), "a8": AgentProfile({"sales": 5}, "1002")},
)


class Site:
    """A gateway on a simulated PBX, an ACD and the buses around them, on one site of the broker."""

    def __init__(self, broker: Broker, site: str) -> None:
        self.broker = broker
        self.site = site
        self.pbx = SimPbx(extensions=["1001", "1002"])
        self.link = SimLink(self.pbx)
        self.buses: list[MqttBus] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.links: list[BusLink] = []
        self.servers: list[AcdServer] = []
        self.proxies: list[CuttableProxy] = []

    async def bus(self, user: str, *, via: CuttableProxy | None = None, **options: Any) -> MqttBus:
        url = self.broker.url(user)
        if via is not None:
            port = await via.start()
            self.proxies.append(via)
            url = url.replace(f":{self.broker.port}", f":{port}")
        bus = MqttBus(url, client_id=user, site=self.site, role=user, **options)
        await bus.start()
        self.buses.append(bus)
        return bus

    async def gateway(self, **options: Any) -> tuple[Gateway, MqttBus]:
        bus = await self.bus("svc-cti-gateway", will=gateway_will(self.site), **options)
        gateway = Gateway(self.link, bus, site=self.site)
        await gateway.start()
        await self.link.connect()
        self.tasks.append(asyncio.create_task(gateway.run()))
        return gateway, bus

    async def acd(self, user: str = "svc-acd-1", *, election: bool = False, **options: Any) -> AcdServer:
        settings = Settings(db_url="sqlite://", site=self.site)
        server = acd_server(await self.bus(user), CONFIG, settings, election=election, **options)
        await server.start()
        self.servers.append(server)
        return server

    async def desktop(self, agent: str, *, via: CuttableProxy | None = None) -> BusLink:
        """A desktop's link as ``ccenter desktop`` makes it (BusLink.from_url: its last will on)."""
        url = self.broker.url(agent)
        if via is not None:
            port = await via.start()
            self.proxies.append(via)
            url = url.replace(f":{self.broker.port}", f":{port}")
        link = BusLink.from_url(
            url, site=self.site, agent_id=agent, command_timeout=TIMEOUT, capabilities_timeout=TIMEOUT
        )
        await link.connect()
        self.links.append(link)
        return link

    async def close(self) -> None:
        for link in self.links:
            await link.close()
        for server in self.servers:
            await server.stop()
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.link.close()
        for bus in self.buses:
            await bus.close()
        for proxy in self.proxies:
            await proxy.close()


@contextlib.asynccontextmanager
async def site_on(broker: Broker) -> AsyncIterator[Site]:
    site = Site(broker, f"t{uuid.uuid4().hex[:8]}")
    try:
        yield site
    finally:
        await site.close()


@contextlib.asynccontextmanager
async def capture(broker: Broker, user: str, filters: Sequence[str]) -> AsyncIterator[list[tuple[str, bytes]]]:
    """A raw client of ``user`` subscribed to ``filters`` (whatever its ACL lets through): what it gets."""
    seen: list[tuple[str, bytes]] = []
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=broker.passwords[user],
        identifier=f"{user}:snoop-{uuid.uuid4().hex[:8]}",
    ) as client:
        for pattern in filters:
            await client.subscribe(pattern, qos=1)

        async def read() -> None:
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                seen.append((str(message.topic), payload))

        reader = asyncio.create_task(read())
        try:
            yield seen
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def ready(desk: BusLink, agent: str, extension: str) -> None:
    await desk.set_agent_state(agent, "ready", extension=extension)


async def queue_call(site: Site, acd: AcdServer, calling: str) -> str:
    """A caller waits in sales; returns its call id once the ACD knows the call."""
    before = set(acd.adapter.calls)
    site.pbx.schedule_inbound(0.0, calling, "800", queue="sales")
    site.pbx.advance(0.0)
    await until(lambda: set(acd.adapter.calls) - before, TIMEOUT)
    return str((set(acd.adapter.calls) - before).pop())


# ------------------------------------------------------------------------------------------ client ids


def test_no_agent_or_supervisor_learns_a_client_id_or_takes_over_a_session(team_broker: Broker, tmp_path: Path) -> None:
    broker = team_broker
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    sessions = db.session_factory(engine)  # supervisors served: the ACD publishes the agents' figures of the day

    async def go() -> None:
        async with site_on(broker) as site:
            snoops = contextlib.AsyncExitStack()
            agent_seen = await snoops.enter_async_context(capture(broker, "a7", ["#", "$SYS/#"]))
            sup_seen = await snoops.enter_async_context(capture(broker, "sup1", ["#", "$SYS/#"]))
            _, gw_bus = await site.gateway()
            leader = await site.acd("svc-acd-1", election=True, sessions=sessions)
            await until(lambda: leader.is_leader, TIMEOUT)
            standby = await site.acd("svc-acd-2", election=True, sessions=sessions)
            a7 = await site.desktop("a7")
            await ready(a7, "a7", "1001")
            call = await queue_call(site, leader, "+14155550100")
            await until(lambda: leader.engine.call_agent(CallId(call)) == "a7", TIMEOUT)
            explainer = ExplainClient(await site.bus("svc-supervisor"), site.site, timeout_s=TIMEOUT)
            await explainer.start()
            answer = await explainer.ask("agent", "a7")
            assert "client_id" not in answer.to_dict()
            await explainer.close()
            await until(lambda: any(t.endswith("/agents/a7/day") for t, _ in sup_seen), TIMEOUT)
            await until(lambda: any(t.endswith("/cti/capabilities") for t, _ in agent_seen), TIMEOUT)

            secrets = {gw_bus.client_id, leader.client_id, standby.client_id, a7.bus.client_id}  # type: ignore[attr-defined]
            secret_words = {s.rsplit("-", 1)[1] for s in secrets}  # the random part alone is enough to take over
            for who, seen in (("a7", agent_seen), ("sup1", sup_seen)):
                assert seen, who
                assert not any("/presence/" in t and "/agents/" not in t for t, _ in seen), who  # no presence/+
                leaked = [(t, p[:80]) for t, p in seen for word in secret_words if word in t or word.encode() in p]
                assert leaked == [], (who, leaked)
            assert any(t.endswith("/agents/a7/presence") for t, _ in agent_seen)  # its own desktop's presence

            # Even under the very client ids it cannot learn, a7 takes nothing over: the broker's plugin
            # refuses a client id that is not a7's own (it must start with "a7:") before any takeover.
            for taken in (
                gw_bus.client_id,
                leader.client_id,
                standby.client_id,
                f"cti-gateway-{site.site}",
                "svc-cti-gateway:" + gw_bus.client_id.split(":", 1)[1],
            ):
                with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori[sz]ed"):
                    async with aiomqtt.Client(
                        "127.0.0.1", broker.port, username="a7", password=broker.passwords["a7"], identifier=taken
                    ):
                        pass
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username="a7", password=broker.passwords["a7"], identifier="a7:its-own"
            ):
                pass
            assert gw_bus.client_id.startswith("svc-cti-gateway:")
            assert await a7.live_calls([call]) == {call}  # a round trip through the gateway after the tries
            assert gw_bus.connected and gw_bus.reconnects == 0
            assert all(s.bus.connected and s.bus.reconnects == 0 for s in site.servers)  # type: ignore[attr-defined]
            assert leader.is_leader and leader.epoch == 1 and not standby.is_leader
            await snoops.aclose()

    asyncio.run(go())
    engine.dispose()


def test_client_ids_carry_64_random_bits() -> None:
    ids = {MqttBus("mqtt://127.0.0.1:1", client_id="cti-gateway-hq").client_id for _ in range(200)}
    assert len(ids) == 200
    for client_id in ids:
        prefix, word = client_id.rsplit("-", 1)
        assert prefix == "cti-gateway-hq" and len(word) == 16 and int(word, 16) >= 0


# ------------------------------------------------------------------------------------------ the gateway's will


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_gateway_killed_is_seen_offline_by_desktops_and_the_acd(broker: Broker) -> None:
    async def go() -> None:
        async with site_on(broker) as site:
            proxy = CuttableProxy("127.0.0.1", broker.port)
            _, gw_bus = await site.gateway(via=proxy, keepalive=5)
            acd = await site.acd()
            a7 = await site.desktop("a7")
            await ready(a7, "a7", "1001")
            assert a7.capabilities and a7.gateway is not None and a7.gateway.online
            assert not any("/presence/" in pattern for pattern in a7._readers if "/agents/" not in pattern)
            await until(lambda: AgentId("a7") in acd.engine.agent_ids(), TIMEOUT)
            assert acd.adapter.link_up

            site.tasks[0].cancel()  # the gateway process is gone: it says nothing more ...
            await proxy.close()  # ... and its connection drops without a goodbye (and stays down)
            await until(lambda: a7.gateway is not None and not a7.gateway.online and not a7.capabilities, TIMEOUT)
            await until(lambda: not acd.adapter.link_up and not acd.engine.link_up, TIMEOUT)
            assert not a7.link_up

            # What is retained says so to whoever comes later, and the ACD offers nothing meanwhile.
            late = await site.bus("a8")
            retained = await late.subscribe(topics.cti_capabilities(site.site))
            message = (await retained.get(timeout=TIMEOUT)).message
            assert isinstance(message, CtiCapabilities) and not message.online and "client_id" not in message.to_dict()
            ivr = await site.bus("svc-ivr")
            await ivr.publish(
                topics.call(site.site, "c-late"),
                CallEvent(type="queue.joined", call_id="c-late", ts=time.time(), queue="sales"),
                qos=1,
            )
            await until(lambda: CallId("c-late") in acd.adapter.calls, TIMEOUT)
            assert acd.engine.call_agent(CallId("c-late")) is None  # waits: no gateway to ring anyone
            await gw_bus.close()

    asyncio.run(go())


def test_the_real_gateway_killed_with_sigkill_is_seen_offline(broker: Broker, tmp_path: Path) -> None:
    """`ccenter cti-gateway` as shipped: its bus carries the capabilities-offline will (kill -9 says nothing)."""

    async def go() -> None:
        async with site_on(broker) as site:
            acd = await site.acd()
            a7 = BusLink.from_url(broker.url("a7"), site=site.site, agent_id="a7", capabilities_timeout=0.1)
            await a7.connect()
            site.links.append(a7)
            env = {
                **os.environ,
                "CCENTER_SITE": site.site,
                "CCENTER_MQTT": broker.url("svc-cti-gateway"),
                "HOME": str(tmp_path),
                "XDG_DATA_HOME": str(tmp_path / "data"),
                "PYTHONUNBUFFERED": "1",
            }
            log = tmp_path / "gateway.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "ccenter", "cti-gateway", "--link", "sim://"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            try:
                await until(lambda: a7.gateway is not None and a7.gateway.online, TIMEOUT)
                await until(lambda: acd.adapter.link_up, TIMEOUT)
                os.kill(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait, TIMEOUT)
                await until(lambda: a7.gateway is not None and not a7.gateway.online and not a7.capabilities, TIMEOUT)
                await until(lambda: not acd.adapter.link_up, TIMEOUT)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(TIMEOUT)
            assert "Traceback" not in log.read_text(errors="replace")

    asyncio.run(go())


# ------------------------------------------------------------------------------------------ the desktop's will


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_desktop_gone_gets_no_offer_and_is_logged_off_after_the_grace(broker: Broker, tmp_path: Path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade(engine)
    sessions = db.session_factory(engine)

    async def go() -> None:
        async with site_on(broker) as site:
            await site.gateway()
            acd = await site.acd(sessions=sessions, desktop_grace_s=1.0)
            proxy = CuttableProxy("127.0.0.1", broker.port)
            a7 = await site.desktop("a7", via=proxy)
            a8 = await site.desktop("a8")
            await ready(a7, "a7", "1001")  # a7 is the longest idle: it would get the next call
            await ready(a8, "a8", "1002")
            await until(lambda: {AgentId("a7"), AgentId("a8")} <= set(acd.engine.agent_ids()), TIMEOUT)

            await proxy.close()  # a7's machine is gone: no goodbye, and no way back
            await until(lambda: acd.engine.agent_away(AgentId("a7")), TIMEOUT)
            assert acd.engine.agent_status(AgentId("a7")) is AgentStatus.READY  # offered nothing, still logged on
            call = await queue_call(site, acd, "+14155550100")
            await until(lambda: acd.engine.call_agent(CallId(call)) == "a8", TIMEOUT)

            # After the grace, logged off through the gateway (as a supervisor's log_out), audited as the system.
            await until(lambda: acd.engine.agent_status(AgentId("a7")) is AgentStatus.LOGGED_OFF, TIMEOUT)
            assert acd.desktop_logoffs == 1  # the engine heard it from the gateway: the PBX logged a7 off
            with sessions() as s:
                entries = supervision.audit_entries(s, actor=SYSTEM_ACTOR)
            assert [(e.action, e.target, e.result) for e in entries] == [("log_out", "a7", "ok")]
            assert "desktop has been gone" in entries[0].detail

    asyncio.run(go())
    engine.dispose()


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_desktop_killed_during_a_call_leaves_the_call_up_and_the_agent_off_after_it(broker: Broker) -> None:
    async def go() -> None:
        async with site_on(broker) as site:
            await site.gateway()
            acd = await site.acd(desktop_grace_s=0.5)
            proxy = CuttableProxy("127.0.0.1", broker.port)
            a7 = await site.desktop("a7", via=proxy)
            await ready(a7, "a7", "1001")
            call = await queue_call(site, acd, "+14155550100")
            await until(lambda: acd.engine.call_agent(CallId(call)) == "a7", TIMEOUT)
            await until(lambda: call in site.pbx.live_calls, TIMEOUT)
            await a7.answer(call, "1001")
            await until(lambda: acd.engine.agent_status(AgentId("a7")) is AgentStatus.ON_CALL, TIMEOUT)

            await proxy.close()  # the desktop dies in the middle of the call
            await until(lambda: acd.desktop_logoffs >= 1, TIMEOUT)  # the grace is over: logged off at the PBX
            assert call in site.pbx.live_calls  # the customer is still on the line
            assert acd.engine.agent_status(AgentId("a7")) is AgentStatus.ON_CALL  # the ACD lets the call finish
            await asyncio.sleep(1.6)  # three more graces pass (the time under test, not a synchronisation) ...
            assert acd.desktop_logoffs == 1  # ... and the log-off was asked once: it waits for the call
            site.pbx.far_hangup(call)
            await until(lambda: acd.engine.agent_status(AgentId("a7")) is AgentStatus.LOGGED_OFF, TIMEOUT)
            assert call not in site.pbx.live_calls and acd.desktop_logoffs == 1

    asyncio.run(go())


@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=LOST)
def test_a_desktop_back_within_the_grace_keeps_its_state(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="routing.server")

    async def go() -> None:
        async with site_on(broker) as site:
            await site.gateway()
            acd = await site.acd(desktop_grace_s=120.0)
            proxy = CuttableProxy("127.0.0.1", broker.port)
            a7 = await site.desktop("a7", via=proxy)
            await ready(a7, "a7", "1001")
            await until(lambda: AgentId("a7") in acd.engine.agent_ids(), TIMEOUT)
            said = await (await site.bus("svc-acd-2")).subscribe(topics.agent_presence(site.site, "a7"))
            first = (await said.get(timeout=TIMEOUT)).message
            assert isinstance(first, AgentPresence) and first.online

            proxy.cut()  # the link drops without a goodbye; the desktop's bus comes back through the proxy
            gone, back = [(await said.get(timeout=TIMEOUT)).message for _ in range(2)]
            assert isinstance(gone, AgentPresence) and not gone.online and gone.instance == first.instance
            assert isinstance(back, AgentPresence) and back.online
            await until(lambda: "agent a7's desktop is back" in caplog.text, TIMEOUT)  # it had been away
            assert "agent a7's desktop is gone" in caplog.text
            assert not acd.engine.agent_away(AgentId("a7")) and acd.desktop_logoffs == 0
            assert acd.engine.agent_status(AgentId("a7")) is AgentStatus.READY  # nothing lost
            call = await queue_call(site, acd, "+14155550100")
            await until(lambda: acd.engine.call_agent(CallId(call)) == "a7", TIMEOUT)

    asyncio.run(go())


def test_a_late_will_of_a_replaced_desktop_neither_parks_the_agent_nor_stands(broker: Broker) -> None:
    """The old desktop's machine went, the agent started a new desktop, then the broker sent the old
    one's will: the ACD ignores it (another instance is online) and the new desktop says online again."""

    async def go() -> None:
        async with site_on(broker) as site:
            await site.gateway()
            acd = await site.acd(desktop_grace_s=0.0)
            a7 = await site.desktop("a7")
            await ready(a7, "a7", "1001")
            await until(lambda: AgentId("a7") in acd.engine.agent_ids(), TIMEOUT)
            watcher = await (await site.bus("svc-acd-2")).subscribe(topics.agent_presence(site.site, "a7"))
            assert (await watcher.get(timeout=TIMEOUT)).message.online  # type: ignore[attr-defined]
            old = await site.bus("a7")  # the agent's own identity: it alone may write its presence
            late = AgentPresence(agent_id="a7", online=False, ts=time.time(), instance="0ld0ld00")
            await old.publish(topics.agent_presence(site.site, "a7"), late, qos=1, retain=True)
            assert (await watcher.get(timeout=TIMEOUT)).message == late
            again = (await watcher.get(timeout=TIMEOUT)).message
            assert isinstance(again, AgentPresence) and again.online  # the live desktop said so again
            assert not acd.engine.agent_away(AgentId("a7")) and acd.desktop_logoffs == 0
            assert acd.engine.agent_status(AgentId("a7")) is AgentStatus.READY
            # Someone else's identity cannot write a7's presence at all.
            a8 = await site.bus("a8")
            await a8.publish(topics.agent_presence(site.site, "a7"), late, qos=1, retain=True)
            assert await a7.live_calls([]) == set()  # a round trip: the forgery was dropped by the broker
            with pytest.raises(TimeoutError):
                await watcher.get(timeout=0.5)
            assert not acd.engine.agent_away(AgentId("a7"))

    asyncio.run(go())


def test_a_client_id_with_its_user_and_its_presence_topic_work_on_nats(tmp_path: Path) -> None:
    """A clustered broker (NATS' MQTT interface) takes ``<user>:<name>-<random>`` ids and their presence."""
    from tests.helpers.private_services import nats_cluster

    with nats_cluster(tmp_path) as running:
        url = running.mqtt_url()

        async def go() -> None:
            acd = MqttBus(url, client_id="svc-acd-1:acd-host-1", site="natscolon")
            watcher = MqttBus(url, client_id="watch", site="natscolon")
            await watcher.start()
            try:
                seen = await watcher.subscribe(topics.all_presence("natscolon"), qos=1)
                await acd.start()
                async with asyncio.timeout(TIMEOUT):
                    while (await seen.get()).topic != topics.presence("natscolon", acd.client_id):
                        pass
            finally:
                await acd.close()
                await watcher.close()

        asyncio.run(go())
