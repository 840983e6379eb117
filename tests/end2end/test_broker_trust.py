"""The trust model on a real Mosquitto, started here with the shipped configuration and ACL.

``packaging/mosquitto/ccenter.conf`` is used as shipped but for its ports and file paths (a free
loopback port, a temporary password file, test certificates); ``packaging/mosquitto/ccenter.acl``
is used as is, and ``ccenter broker provision`` writes the users.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench._ports import free_port
from bus import topics
from bus.errors import BrokerUnavailable
from bus.messages import AcdLeader, CallEvent, Command, CommandResult, Message
from bus.mqtt import MqttBus
from bus.transport import Subscription
from ccenter.commands.broker import DEFAULT_SERVICES, provision
from crm.broker_accounts import BrokerAgent
from cti.buslink import BusLink
from cti.errors import CommandFailed
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from tests.helpers import until
from tests.helpers.private_services import require_program

PACKAGING = Path(__file__).resolve().parents[2] / "packaging" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TIMEOUT = 20.0

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed")



@dataclass
class Broker:
    port: int
    tls_port: int
    conf: Path
    passwords: dict[str, str]
    ca: Path
    process: subprocess.Popen[bytes] | None = None

    def url(self, user: str | None = None, *, password: str | None = None) -> str:
        if user is None:
            return f"mqtt://127.0.0.1:{self.port}"
        return f"mqtt://{user}:{password or self.passwords[user]}@127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.conf.with_suffix(".log")
        with log.open("ab") as out:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=out, stderr=out)
        deadline = time.monotonic() + TIMEOUT
        while True:  # wait for the listener (a condition, polled), or for the broker to fail
            if self.process.poll() is not None:
                raise AssertionError(f"mosquitto exited: {log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if time.monotonic() > deadline:
                raise AssertionError("mosquitto did not open its listener")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(TIMEOUT)
            self.process = None


#: Where the shipped configuration loads ccenter's client-id plugin from (built by the test instead).
PLUGIN = "/usr/lib/ccenter/mosquitto_ccenter_clientid.so"


def build_plugin(directory: Path) -> Path:
    """``packaging/mosquitto/ccenter_clientid.c`` built as the admin builds it (docs/security.md)."""
    require_program(shutil.which("gcc") or "/usr/bin/gcc", "gcc (for ccenter's Mosquitto plugin)")
    for header in ("mosquitto_broker.h", "mosquitto.h"):  # mosquitto-dev, libmosquitto-dev
        require_program(f"/usr/include/{header}", f"Mosquitto's plugin header {header}")
    built = directory / "mosquitto_ccenter_clientid.so"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", str(built),
                    str(PACKAGING / "ccenter_clientid.c")], check=True, capture_output=True)
    return built


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    ca_key, ca, key, csr, crt = (directory / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=ccenter test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(crt),
        "-days", "2", "-extfile", str(ext))
    return ca, crt, key


def start_shipped_broker(tmp_path: Path, passwd: Path, acl: Path, passwords: dict[str, str]) -> Broker:
    """Mosquitto started from the shipped ``packaging/mosquitto/ccenter.conf`` (ccenter's client-id plugin
    built as an admin builds it), with ``passwd`` and ``acl``, a test CA and ports of its own."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed for the test certificates")
    ca, crt, key = _certificates(tmp_path)
    port, tls_port = free_port(), free_port()
    conf = (PACKAGING / "ccenter.conf").read_text()
    for shipped, ours in (
        ("/etc/mosquitto/ccenter.passwd", str(passwd)),
        ("/etc/mosquitto/ccenter.acl", str(acl)),
        ("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1"),
        ("listener 8883\n", f"listener {tls_port} 127.0.0.1\n"),
        ("/etc/mosquitto/certs/server.crt", str(crt)),
        ("/etc/mosquitto/certs/server.key", str(key)),
        (PLUGIN, str(build_plugin(tmp_path))),
    ):
        assert shipped in conf
        conf = conf.replace(shipped, ours)
    if os.geteuid() == 0:
        # Started by root, Mosquitto becomes the user "mosquitto", who cannot enter pytest's private
        # temporary directory: it stays root here (a service manager starts it as its own user).
        conf += "user root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    broker = Broker(port, tls_port, tmp_path / "mosquitto.conf", passwords, ca)
    broker.start()
    return broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    passwd, acl = tmp_path / "ccenter.passwd", tmp_path / "ccenter.acl"
    passwords, removed = provision(passwd, acl, [BrokerAgent("a7"), BrokerAgent("a8")], DEFAULT_SERVICES)
    assert removed == [] and set(passwords) == {*DEFAULT_SERVICES, "a7", "a8"}
    shipped_acl = PACKAGING / "ccenter.acl"
    assert acl.read_text() == shipped_acl.read_text(), "the shipped ACL is what provision writes"
    b = start_shipped_broker(tmp_path, passwd, shipped_acl, passwords)
    try:
        yield b
    finally:
        b.stop()


@contextlib.asynccontextmanager
async def bus_as(broker: Broker, user: str, site: str, url: str | None = None) -> AsyncIterator[MqttBus]:
    bus = MqttBus(url or broker.url(user), client_id=user, site=site, role=user)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def next_result(inbox: Subscription, command_id: str) -> CommandResult:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = (await inbox.get()).message
            if isinstance(message, CommandResult) and message.command_id == command_id:
                return message


# paho-mqtt leaves the socket of a failed TLS handshake to the garbage collector (ResourceWarning).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_anonymous_and_wrong_passwords_are_refused_and_tls_works(broker: Broker) -> None:
    async def go() -> None:
        with pytest.raises(BrokerUnavailable, match="cannot connect"):
            await MqttBus(broker.url(), client_id="anonymous").start()
        with pytest.raises(BrokerUnavailable, match="cannot connect"):
            await MqttBus(broker.url("a7", password="guess"), client_id="a7").start()
        tls = f"mqtts://a7:{broker.passwords['a7']}@127.0.0.1:{broker.tls_port}?cafile={broker.ca}"
        async with bus_as(broker, "a7", "hq", url=tls) as bus:
            assert bus.connected
        with pytest.raises(BrokerUnavailable, match="cannot connect"):  # a broker the CA did not sign
            await MqttBus(f"mqtts://a7:x@127.0.0.1:{broker.tls_port}", client_id="a7").start()

    asyncio.run(go())


@pytest.mark.expect_log(logging.WARNING, "cti.gateway", match=r"failed: (agent a7: command|.*'args' must be)")
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", match=r"^MQTT link to .* lost")
# paho-mqtt's own word on the broker going away, depending on when each socket notices.
@pytest.mark.expect_log(logging.ERROR, "mqtt", match=r"^failed to receive on socket", required=False)
def test_agents_do_only_their_own_part_and_desktops_see_the_gateway_after_a_broker_restart(broker: Broker) -> None:
    site = f"t{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        pbx = SimPbx(extensions=["1001", "1002"])
        link = SimLink(pbx)
        async with (bus_as(broker, "svc-cti-gateway", site) as gw_bus, bus_as(broker, "svc-acd-1", site) as acd,
                    bus_as(broker, "a7", site) as a7_bus, bus_as(broker, "a8", site) as a8_bus):
            gateway = Gateway(link, gw_bus, site=site)
            await gateway.start()
            await link.connect()
            runner = asyncio.create_task(gateway.run())
            a7 = BusLink(a7_bus, site=site, agent_id="a7", command_timeout=TIMEOUT, capabilities_timeout=TIMEOUT)
            a8 = BusLink(a8_bus, site=site, agent_id="a8", command_timeout=TIMEOUT, capabilities_timeout=TIMEOUT)
            await a7.connect()
            await a8.connect()
            assert a7.capabilities and a8.capabilities  # the desktops read the gateway's capabilities
            await acd.publish(topics.acd_leader(site), AcdLeader(client_id=acd.client_id, epoch=1, ts=0.0),
                              qos=1, retain=True)
            await a7.set_agent_state("a7", "ready", extension="1001")
            await a8.set_agent_state("a8", "ready", extension="1002")
            a8_events = a8.events()

            # Everything a7's account may read, from now on.
            snoop = await a7_bus.subscribe(topics.everything(site))
            pbx.schedule_inbound(0.0, "+14155550100", "800", ring="1002")
            pbx.advance(0.0)
            while not any(isinstance(e, CallEvent) and e.type == "call.alerting"
                          for e in [await asyncio.wait_for(anext(a8_events), TIMEOUT)]):
                pass

            # a7 cannot command a8's extension or call through the gateway ...
            with pytest.raises(CommandFailed, match="not one of the agent's calls"):
                await a7.hangup("sim-1")
            with pytest.raises(CommandFailed, match="not the agent's extension"):
                await a7.make_call("1002", "+19005550100")
            # ... nor write a8's command topic, the ACD's, or the leadership: the broker drops them.
            forged = Command(command_id="forged", name="hangup", ts=0.0, call_id="sim-1", agent_id="a8")
            await a7_bus.publish(topics.agent_commands(site, "a8"), forged, qos=1)
            dial = Command(command_id="dial", name="dial_out", ts=0.0, args={"number": "+19005550100",
                                                                           "queue": "sales", "epoch": 2})
            await a7_bus.publish(topics.cti_commands(site), dial, qos=1)
            await a7_bus.publish(topics.acd_leader(site), AcdLeader(client_id="a7", epoch=9 * 10**18, ts=0.0),
                                 qos=1, retain=True)
            # A malformed command on its own topic gets an error, and the gateway serves on.
            bad = Command(command_id="bad", name="answer", ts=0.0, args=[])  # type: ignore[arg-type]
            await a7_bus.publish(topics.agent_commands(site, "a7"), bad, qos=1)
            a7_inbox = await a7_bus.subscribe(topics.agent_events(site, "a7"))
            assert "'args' must be an object" in ((await next_result(snoop, "bad")).error or "")
            assert await a7.live_calls(["sim-1"]) == set()  # a round trip after the forgeries: they were dropped
            assert pbx.live_calls == ["sim-1"] and gateway.acd_epoch <= 1
            async with bus_as(broker, "svc-acd-2", site) as standby:
                leader = await standby.subscribe(topics.acd_leader(site))
                record = (await leader.get(timeout=TIMEOUT)).message
                assert isinstance(record, AcdLeader) and record.epoch == 1  # not the forged one
            seen: list[tuple[str, Message]] = []
            with contextlib.suppress(TimeoutError):
                while True:
                    envelope = await snoop.get(timeout=0)
                    seen.append((envelope.topic, envelope.message))
            others = [t for t, _ in seen if not t.startswith((f"ccenter/v1/{site}/agents/a7/",
                                                              f"ccenter/v1/{site}/presence/",
                                                              f"ccenter/v1/{site}/cti/capabilities"))]
            assert others == [], others  # nothing of a8's, no call topic, no command topic
            assert not any(isinstance(m, CallEvent) and m.call_id == "sim-1" for _, m in seen)
            await a7_inbox.close()

            # The broker restarts without persistence: nothing retained survives, nothing is restarted.
            changes: asyncio.Queue[frozenset[object]] = asyncio.Queue()
            a7.on_capabilities = changes.put_nowait
            broker.stop()
            broker.start()
            await until(lambda: gw_bus.connected and a7_bus.connected and gw_bus.reconnects >= 1, TIMEOUT)
            async with bus_as(broker, "a8", site) as late:
                late_link = BusLink(late, site=site, agent_id="a8", capabilities_timeout=TIMEOUT)
                await late_link.connect()
                assert late_link.capabilities  # the gateway published them again
                await late_link.close()
            await until(lambda: a7.gateway is not None and a7.gateway.online, TIMEOUT)
            assert await a7.live_calls([]) == set()  # and a desktop's commands go through again

            await a7.close()
            await a8.close()
            await link.close()
            await asyncio.wait_for(runner, TIMEOUT)

    asyncio.run(go())


def test_two_acds_under_the_shipped_acl_see_each_other_and_one_leads(broker: Broker) -> None:
    """`ccenter acd`'s wiring names the server by its bus's client id: the ACL lets it write that
    presence (`presence/%c`), so the standby sees the leader alive and does not take over."""
    from ccenter.components import acd_server
    from ccenter.config import Settings
    from routing.acd_config import AcdConfig, AgentProfile
    from routing.model import QueueConfig

    site = f"t{uuid.uuid4().hex[:8]}"
    config = AcdConfig(queues=(QueueConfig("sales"),), agents={"a7": AgentProfile({"sales": 5}, "1001")})
    settings = Settings(db_url="sqlite://", site=site)

    async def go() -> None:
        async with (bus_as(broker, "svc-acd-1", site) as one, bus_as(broker, "svc-acd-2", site) as two,
                    bus_as(broker, "svc-supervisor", site) as watcher):
            seen = await watcher.subscribe(topics.all_presence(site))
            first = acd_server(one, config, settings, election=True)
            await first.start()
            await until(lambda: first.is_leader, TIMEOUT)
            second = acd_server(two, config, settings, election=True)
            await second.start()
            presences: set[str] = set()
            async with asyncio.timeout(TIMEOUT):
                while {first.client_id, second.client_id} - presences:
                    message = (await seen.get()).message
                    presences.add(getattr(message, "client_id", ""))
            assert first.client_id == one.client_id and second.client_id == two.client_id
            await until(lambda: second.leadership.presence.get(first.client_id) is True, TIMEOUT)
            assert first.is_leader and not second.is_leader and first.epoch == 1
            await second.stop()
            await first.stop()

    asyncio.run(go())
