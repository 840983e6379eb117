"""Faults against the real processes: ``ccenter cti-gateway`` on ``sim://``, two ``ccenter acd``, and
``ccenter dialer``, joined by a private Mosquitto and writing to a private PostgreSQL cluster, with
scripted desktops (the desktop's own ``BusLink`` and ``ContactOutbox``) that answer, hang up and save
the contact. A progressive campaign dials every work item once; mid-run the test kills the leading ACD
with SIGKILL, restarts PostgreSQL (while agents wrap up and the dialer dials), or restarts the broker.

Each run ends with a check of the database: one answered attempt per work item (no customer dialled
twice), one contact per call (no disposition lost, none written twice), and every call rang at one
agent only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from agent_desktop.outbox import ContactOutbox
from bus import topics
from bus.messages import AcdLeader, CallEvent
from bus.mqtt import MqttBus
from crm import db
from crm.models import Attempt, Channel, Contact, WorkItem
from crm.repository import ContactRecord
from cti.buslink import BusLink
from cti.errors import CommandFailed, LinkUnavailable
from tests.end2end.private import Mosquitto, Postgres, private_mosquitto, private_postgres
from tests.end2end.test_faults_database import _dispose_engines, migrated, request_dispose, seed
from tests.helpers import until

pytestmark = pytest.mark.faults
__all__ = ["_dispose_engines"]  # the fixture that disposes of the engines, used here too
TIMEOUT = 60.0
ITEMS = 8
AGENTS = {"alice": "1001", "bob": "1002", "carol": "1003", "dave": "1004"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with private_postgres() as pg:
        yield pg


class Process:
    """One ``ccenter`` command in its own process, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], directory: Path) -> None:
        self.name = name
        self.log = directory / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "ccenter", *argv], stdout=out,
                                            stderr=subprocess.STDOUT, env=env)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def ready(self, marker: str) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.text()}")
            return marker in self.text()

        await until(seen, TIMEOUT, interval=0.05)

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Desktop:
    """A scripted agent: logs on ready, answers what rings at its extension, hangs up after a short
    talk, and saves the contact through the desktop's outbox (kept on disk if the database is away)."""

    def __init__(self, agent: str, extension: str, broker: Mosquitto, site: str, outbox: ContactOutbox) -> None:
        self.agent, self.extension, self.site, self.outbox = agent, extension, site, outbox
        self.bus = MqttBus(broker.url, client_id=f"desk-{agent}-{site}", site=site, role="desktop", max_backoff=1.0)
        self.link = BusLink(self.bus, site=site, agent_id=agent, command_timeout=TIMEOUT, capabilities_timeout=TIMEOUT,
                            resend_after=1.0)
        self.rang: list[str] = []
        self.saved: list[str] = []
        self._data: dict[str, dict[str, object]] = {}
        self._task: asyncio.Task[None] | None = None
        self._hang_ups: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.bus.start()
        await self.link.connect()
        events = self.link.events()
        await self.link.set_agent_state(self.agent, "ready", extension=self.extension)
        self._task = asyncio.create_task(self._run(events))

    async def _run(self, events) -> None:  # type: ignore[no-untyped-def]
        async for event in events:
            if not isinstance(event, CallEvent):
                continue
            if event.type == "call.data":
                self._data[event.call_id] = dict(event.data)
            elif event.type == "call.alerting" and event.extension == self.extension and event.call_id not in self.rang:
                self.rang.append(event.call_id)
                await self._press(lambda call_id=event.call_id: self.link.answer(call_id, self.extension))
            elif event.type == "call.answered" and event.extension == self.extension:
                asyncio.get_running_loop().call_later(0.3, self._hang_up, event.call_id)
            elif event.type == "call.ended" and event.call_id in self.rang and event.call_id not in self.saved:
                self.saved.append(event.call_id)
                fields = self._data.get(event.call_id, {}).get("fields", {})
                assert isinstance(fields, dict)
                now = datetime.now(UTC)
                record = ContactRecord(
                    client_ref=f"{self.agent}-{event.call_id}", channel=Channel.VOICE_OUT, started_at=now, ended_at=now,
                    disposition="interested", customer_id=fields.get("customer_id", {}).get("value"),
                    queue="sales", cti_call_id=event.call_id,
                    work_item_id=fields.get("work_item_id", {}).get("value"),
                )
                await asyncio.to_thread(self.outbox.save, record)

    def _hang_up(self, call_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._hang_up_until_done(call_id))
        self._hang_ups.add(task)
        task.add_done_callback(self._hang_ups.discard)

    async def _press(self, command: Callable[[], Awaitable[object]]) -> None:
        """Press a button as an agent does: refused while the desktop shows the telephony away (the broker
        restarting: a call it held may ring a moment before the gateway's capabilities say it is back),
        the agent presses it again once the telephony is back. Any other refusal stops the script."""
        while True:
            try:
                await command()
                return
            except LinkUnavailable:
                def back() -> bool:
                    gateway = self.link.gateway
                    return self.link.connected and gateway is not None and bool(gateway.online)

                await until(back, TIMEOUT)

    async def _hang_up_until_done(self, call_id: str) -> None:
        try:
            await self._press(lambda: self.link.hangup(call_id, self.extension))
        except CommandFailed as exc:  # the call is over already (a hang-up the gateway did, then asked again)
            assert "call" in str(exc), exc

    def failure(self) -> BaseException | None:
        """What stopped the agent's script before the end (a refused command it did not expect), if anything."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.link.close()
        await self.bus.close()


FAULTS = ["acd-kill-9", "postgres-restart", "broker-restart"]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.expect_log(logging.WARNING, "bus.mqtt", required=False,
                        match=r"^(MQTT link to .* lost|publish on \S+ failed .*; waiting for the link)")
@pytest.mark.expect_log(logging.WARNING, "agent_desktop.outbox", required=False,
                        match=r"^database unavailable, contact \S+ kept locally")
@pytest.mark.expect_log(logging.ERROR, "mqtt", required=False, match=r"^failed to receive on socket")
def test_a_campaign_survives(fault: str, cluster: Postgres, tmp_path: Path) -> None:
    if not cluster.running:
        cluster.start()
    url = migrated(cluster)
    engine = db.connect(url)
    request_dispose(engine)
    factory = db.session_factory(engine)
    numbers = [f"+1555002{n:04d}" for n in range(ITEMS)]
    site = f"faults-{uuid.uuid4().hex[:8]}"
    ids = seed(factory, numbers, site=site, max_attempts=1)  # the campaign of this site's dialer
    (tmp_path / "acd.yaml").write_text(
        "queues:\n  - {name: sales, wrap_up_s: 0}\nagents:\n"
        + "".join(f"  - {{id: {a}, skills: {{sales: 5}}, extension: '{e}'}}\n" for a, e in AGENTS.items()))
    processes: list[Process] = []

    async def scenario(broker: Mosquitto) -> None:
        env = {**os.environ, "CCENTER_SITE": site, "CCENTER_DB": url, "CCENTER_MQTT": broker.url,
               "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}

        def start(name: str, *argv: str) -> Process:
            process = Process(name, list(argv), env, tmp_path)
            processes.append(process)
            return process

        watch = MqttBus(broker.url, client_id=f"watch-{site}", site=site, max_backoff=1.0)
        await watch.start()
        leaders = await watch.subscribe(topics.acd_leader(site))
        leader: list[str] = []

        async def follow() -> None:
            async for envelope in leaders:
                if isinstance(envelope.message, AcdLeader):
                    leader.append(envelope.message.client_id)

        follower = asyncio.create_task(follow())
        desktops = [Desktop(a, e, broker, site, ContactOutbox(factory, tmp_path / f"{a}.jsonl"))
                    for a, e in AGENTS.items()]
        try:
            gateway = start("gateway", "-v", "cti-gateway", "--link", "sim://?extensions=4&trunks=16")
            await gateway.ready("bridged to")
            acds = {n: start(n, "-v", "acd", "--queues", str(tmp_path / "acd.yaml"), "--client-id", n)
                    for n in ("acd-1", "acd-2")}
            for process in acds.values():
                await process.ready("ccenter acd ")
            await until(lambda: bool(leader), TIMEOUT)
            for desktop in desktops:
                await desktop.start()
            dialer = start("dialer", "dialer", "--outbox", str(tmp_path / "dialer.jsonl"))
            await dialer.ready("ccenter dialer ")

            def rang() -> int:
                return sum(len(d.rang) for d in desktops)

            await until(lambda: rang() >= 2, TIMEOUT)
            if fault == "acd-kill-9":
                acds[leader[-1].rsplit("-", 1)[0]].kill9()  # the bus's client id: <--client-id>-<suffix>
                await until(lambda: len(set(leader)) == 2, TIMEOUT)  # the standby took over
            elif fault == "postgres-restart":
                cluster.stop("fast")
                # Calls go on: contacts wait in the desktops' outboxes, the dialer keeps its attempts.
                await until(lambda: "no new dials until it answers" in dialer.text()
                            or any(d.outbox.pending for d in desktops), TIMEOUT)
                cluster.start()
            else:
                broker.stop()
                await until(lambda: not watch.connected, TIMEOUT)
                broker.start()
            def all_saved() -> bool:
                for desktop in desktops:
                    if (failure := desktop.failure()) is not None:
                        raise AssertionError(f"{desktop.agent}'s desktop stopped: {failure!r}") from failure
                return sum(len(d.saved) for d in desktops) == ITEMS

            await until(all_saved, TIMEOUT)
            for desktop in desktops:  # what the desktop's timer does every 10 s
                await asyncio.to_thread(desktop.outbox.flush)
                assert desktop.outbox.pending == 0

            def attempts_written() -> int:
                with factory() as s:
                    return len(s.scalars(select(Attempt.id)).all())

            await until(lambda: attempts_written() >= ITEMS, TIMEOUT, interval=0.1)  # the dialer's outbox too
        finally:
            for desktop in desktops:
                with contextlib.suppress(Exception):
                    await desktop.stop()
            follower.cancel()
            await watch.close()

    try:
        # The broker persists its sessions, as the shipped configuration has it: events published while
        # a process was reconnecting wait in its session.
        with private_mosquitto(persistence=True) as broker:
            try:
                asyncio.run(scenario(broker))
            finally:
                for process in reversed(processes):
                    process.stop()
    finally:
        if not cluster.running:
            cluster.start()
    logs = {p.name: p.text() for p in processes}
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text}"
    with factory() as s:
        attempts = Counter(a.work_item_id for a in s.scalars(select(Attempt)))
        results = Counter(a.result for a in s.scalars(select(Attempt)))
        contacts = list(s.scalars(select(Contact)))
        items = list(s.scalars(select(WorkItem)))
    assert attempts == {i: 1 for i in ids}, f"one dial per work item: {attempts}\n{logs['dialer']}"
    assert results == {"answered": ITEMS}
    assert len(contacts) == ITEMS and len({c.cti_call_id for c in contacts}) == ITEMS, "one contact per call"
    assert {c.work_item_id for c in contacts} == set(ids)
    assert all(w.attempt_count == 1 for w in items)
    with factory() as s:
        linked = {a.cti_call_id: a.contact_id for a in s.scalars(select(Attempt))}
    assert linked == {c.cti_call_id: c.id for c in contacts}, "each dial is tied to its call's contact"
