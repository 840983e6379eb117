"""``ccenter supervisor`` as a supervisor runs it: a seeded database, `ccenter broker provision`'s files on a
private Mosquitto, the ACD as `ccenter acd` wires it, and the supervisor logging in with the agents table's
credentials and their own broker login. They see the queues' tiles and their own team's agents (and no
other team's), and their action reaches the telephony's command topic; another team's agent is refused."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bus import topics
from bus.messages import AgentState, Command, CommandResult
from bus.mqtt import MqttBus
from ccenter.commands.broker import DEFAULT_SERVICES, provision
from ccenter.config import Settings
from crm import db
from crm.broker_accounts import broker_agents
from crm.seed import DEMO_PASSWORD, seed

from .test_broker_trust import (
    MOSQUITTO,
    TIMEOUT,
    Broker,
    start_shipped_broker,
)

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed")
SITE = "main"  # what `ccenter supervisor` uses without a configuration file


@pytest.fixture
def center(tmp_path: Path) -> Iterator[tuple[Broker, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed for the test certificates")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = db.connect(url)
    db.upgrade(engine)
    seed(engine, customers=5)
    with db.session_factory(engine)() as session:
        people = broker_agents(session)
    engine.dispose()
    passwd, acl = tmp_path / "ccenter.passwd", tmp_path / "ccenter.acl"
    passwords, _ = provision(passwd, acl, people, DEFAULT_SERVICES)
    broker = start_shipped_broker(tmp_path, passwd, acl, passwords)
    try:
        yield broker, url
    finally:
        broker.stop()


class Backstage(threading.Thread):
    """The ACD (wired by ccenter.components, as `ccenter acd` does) and a stand-in for the CTI gateway: it
    reports agents' states, keeps the commands it is sent and answers them as done."""

    def __init__(self, broker: Broker, db_url: str) -> None:
        super().__init__(name="backstage", daemon=True)
        self.broker = broker
        self.db_url = db_url
        self.commands: list[Command] = []
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gateway: Any = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the test
            self.failed = exc
            self.ready.set()

    async def _main(self) -> None:
        from ccenter.components import acd_config, acd_server

        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        settings = Settings(db_url=self.db_url, site=SITE)
        engine = db.connect(self.db_url)
        acd_bus = MqttBus(self.broker.url("svc-acd-1"), client_id="svc-acd-1", site=SITE, role="acd")
        gateway = MqttBus(self.broker.url("svc-cti-gateway"), client_id="svc-cti-gateway", site=SITE, role="gw")
        await acd_bus.start()
        await gateway.start()
        server = acd_server(acd_bus, acd_config(settings), settings, election=False,
                            sessions=db.session_factory(engine))
        await server.start()
        self._gateway = gateway
        commands = await gateway.subscribe(topics.cti_commands(SITE))
        reader = asyncio.create_task(self._keep(commands))
        try:
            for agent, extension in (("alice", "1001"), ("erin", "1005")):  # team north, team south
                await gateway.publish(topics.agent_events(SITE, agent),
                                      AgentState(agent_id=agent, state="ready", ts=time.time(), extension=extension),
                                      qos=1)
            await asyncio.wait_for(self._until(lambda: len(server.engine.agent_ids()) == 2), TIMEOUT)
            self.ready.set()
            await self._done.wait()
        finally:
            reader.cancel()
            await server.stop()
            await gateway.close()
            await acd_bus.close()
            engine.dispose()

    async def _keep(self, commands: Any) -> None:
        async for envelope in commands:
            command = envelope.message
            if isinstance(command, Command):
                self.commands.append(command)
                # Answered as the gateway answers: on the agent's events when the command names one.
                answer = CommandResult(command_id=command.command_id, ok=True, ts=time.time(),
                                       agent_id=command.agent_id, name=command.name)
                topic = topics.agent_events(SITE, command.agent_id) if command.agent_id else topics.cti_results(SITE)
                await self._gateway.publish(topic, answer, qos=1)

    @staticmethod
    async def _until(condition: Any) -> None:
        while not condition():
            await asyncio.sleep(0.02)

    def finish(self) -> None:
        if self._loop is not None and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        self.join(TIMEOUT)


def run_supervisor(db_url: str, mqtt_url: str, login: str = "") -> subprocess.CompletedProcess[str]:
    """``ccenter supervisor`` in a process of its own, the dialog filled in by tests/end2end/supervisor_driver."""
    root = Path(__file__).resolve().parents[2]
    driver = [sys.executable, "-m", "tests.end2end.supervisor_driver", db_url, mqtt_url, DEMO_PASSWORD, login]
    return subprocess.run(driver,
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_a_supervisor_logs_in_sees_their_team_and_acts(center: tuple[Broker, str]) -> None:
    broker, db_url = center
    backstage = Backstage(broker, db_url)
    backstage.start()
    try:
        assert backstage.ready.wait(TIMEOUT) and backstage.failed is None, backstage.failed
        done = run_supervisor(db_url, broker.url("sam"))
    finally:
        backstage.finish()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0
    assert seen["prefilled"] == "sam"  # the broker's login fills the dialog in
    assert seen["tiles"] == ["billing", "callbacks", "chinese", "general", "retention", "sales", "technical",
                             "technical_24x7", "vip"]
    assert seen["rows"] == {"alice": "ready"}  # from the ACD's retained figures of the day; erin is south's
    assert "erin" not in seen["later_rows"]
    assert seen["team"] == "north" and seen["message_team"] is True
    assert sorted(seen["results"]) == [["alice", "ok"], ["erin", "refused"]], seen["results"]
    # The Why pane: the leading ACD answered the supervisor's questions over the broker, as in the demo.
    queue_why, agent_why = seen["explained"]
    assert queue_why.startswith("No call is waiting in sales"), queue_why
    assert agent_why == "Agent alice is idle because no call is waiting."
    states = [c for c in backstage.commands if c.name == "set_agent_state"]
    assert [(c.args["agent_id"], c.args["state"]) for c in states] == [("alice", "not_ready")]


def test_the_broker_login_must_be_the_supervisors_own(center: tuple[Broker, str]) -> None:
    broker, db_url = center
    done = run_supervisor(db_url, broker.url("svc-supervisor"), login="sam")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["code"] == 1
    assert "logs in as 'svc-supervisor', not as sam" in done.stderr and "mqtt://sam:" in done.stderr
