"""The production processes' parts joined by the real broker: CTI gateway, ACD, agent desktop.

A call queued on the simulated PBX behind ``ccenter cti-gateway`` is routed by ``ccenter acd`` to the
agent who made themselves ready on a desktop that speaks to the gateway only through Mosquitto
(``BusLink``); the desktop pops the customer, the agent answers, the caller hangs up, the agent
saves the contact. Nothing is shared in memory between the three but the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from agent_desktop.queues import QueueStatsFeed
from agent_desktop.telephony import LinkThread
from agent_desktop.workstation import AgentWindow
from bus.messages import AgentId, AgentStateName
from bus.mqtt import MqttBus
from ccenter.commands.desktop import _start_and_pump
from crm import db, repository
from crm.models import Contact, Customer, PhoneNumber, Tier
from cti.buslink import BusLink
from cti.gateway import Gateway
from cti.sim import SimLink, SimPbx
from routing.model import AgentStatus, QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile

pytestmark = pytest.mark.mqtt


class _Loop:
    """An asyncio loop on a thread of its own: one per process of the production set-up."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop, then finish what was left on it (cancelled) and close it, so that no task or
        socket of it is destroyed later, in the middle of another test."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

        async def drain() -> None:
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

        self.loop.run_until_complete(drain())
        self.loop.close()  # its self-pipe sockets, not left to the garbage collector of a later test


class Backend:
    """``ccenter cti-gateway`` (on the simulated PBX) and ``ccenter acd``, each on its own loop."""

    def __init__(self, mqtt_url: str, site: str) -> None:
        self.site = site
        self.pbx = SimPbx(extensions=["1001", "1002"])
        self.gateway_loop, self.acd_loop = _Loop("cti-gateway"), _Loop("acd")
        self.gateway_bus = MqttBus(mqtt_url, client_id=f"gw-{site}", site=site, role="cti-gateway")
        self.acd_bus = MqttBus(mqtt_url, client_id=f"acd-{site}", site=site, role="acd")
        self.link = SimLink(self.pbx, realtime=True)
        config = AcdConfig(
            queues=(QueueConfig(name="billing", skill="billing", ring_timeout_s=30.0),),
            agents={"alice": AgentProfile({"billing": 8}, "1001")},
        )
        self.acd = AcdServer(self.acd_bus, config, site, election=False)
        self.gateway = Gateway(self.link, self.gateway_bus, site=site, client_id=f"gw-{site}")
        self.gateway_loop.run(self._start_gateway())
        self.acd_loop.run(self._start_acd())

    async def _start_gateway(self) -> None:
        await self.gateway_bus.start()
        await self.gateway.start()
        await self.link.connect()
        self._gateway_task = asyncio.create_task(self.gateway.run())

    async def _start_acd(self) -> None:
        await self.acd_bus.start()
        await self.acd.start()

    def on_pbx(self, fn: Callable[[], object]) -> None:
        """Act on the simulated PBX on the gateway's own loop, as everything that touches it must."""

        async def call() -> None:
            fn()

        self.gateway_loop.run(call())

    def acd_agent_status(self, agent_id: str) -> Any:
        async def read() -> Any:
            if agent_id not in self.acd.engine.agent_ids():
                return None
            return self.acd.engine.agent_status(AgentId(agent_id))

        return self.acd_loop.run(read())

    def acd_statistics(self) -> Any:
        async def read() -> Any:
            return self.acd.engine.queue_statistics("billing", self.acd.clock())

        return self.acd_loop.run(read())

    def close(self) -> None:
        async def stop_acd() -> None:
            await self.acd.stop()
            await self.acd_bus.close()

        async def stop_gateway() -> None:
            self._gateway_task.cancel()
            await self.link.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gateway_task  # it says it is offline (retained) before the bus goes
            await self.gateway_bus.close()

        self.acd_loop.run(stop_acd())
        self.gateway_loop.run(stop_gateway())
        self.acd_loop.stop()
        self.gateway_loop.stop()


@pytest.fixture
def backend(mqtt_url: str) -> Iterator[Backend]:
    site = f"prod-{uuid.uuid4().hex[:8]}"
    backend = Backend(mqtt_url, site)
    yield backend
    backend.close()


def test_a_queued_call_reaches_the_ready_agents_desktop_over_the_broker(
    qtbot, backend: Backend, mqtt_url: str, tmp_path
) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'prod.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace", tier=Tier.GOLD)
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        s.add(customer)
        from crm.models import Agent

        s.add(Agent(id=1, login="alice", name="Alice Morgan", extension="1001"))
    agent = repository.AgentView(1, "alice", "Alice Morgan", "agent", "1001", {"billing": 8})
    feed = QueueStatsFeed()
    link = BusLink.from_url(mqtt_url, site=backend.site, agent_id="alice", client_id=f"desk-{backend.site}")
    stats_bus = MqttBus(mqtt_url, client_id=f"desk-stats-{backend.site}", site=backend.site)
    thread = LinkThread(link, on_loop=lambda _loop: _start_and_pump(stats_bus, backend.site, feed.publish))
    thread.start()
    window = AgentWindow(agent=agent, link=thread, directory=CustomerDirectory(factory),
                         outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"), queue_stats=feed,
                         visible_queues={"billing"})
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: "answer" in thread.capabilities, timeout=10_000)
        window.log_on()
        window.go_ready()
        # The ACD learns the agent is ready from the gateway's agent.state on the broker.
        qtbot.waitUntil(lambda: backend.acd_agent_status("alice") is AgentStatus.READY, timeout=10_000)
        with qtbot.waitSignal(window.screen_popped, timeout=15_000):
            backend.on_pbx(lambda: backend.pbx.schedule_inbound(backend.pbx.now, "+14155550100", "800",
                                                                queue="billing"))
        assert window.customer_view.name_label.text() == "Ada Lovelace"
        call_id = next(iter(window.session.calls))
        qtbot.mouseClick(window.answer_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.session.calls[call_id].answered_at is not None, timeout=10_000)
        qtbot.waitUntil(lambda: window.queue_label.text() == "No calls waiting", timeout=10_000)
        backend.on_pbx(lambda: backend.pbx.far_hangup(call_id))
        qtbot.waitUntil(lambda: window.wrap_up_work is not None, timeout=10_000)
        window.disposition.setCurrentIndex(window.disposition.findData("resolved"))
        with qtbot.waitSignal(window.contact_saved, timeout=10_000):
            window.save_contact()
        qtbot.waitUntil(lambda: window.session.state is AgentStateName.READY, timeout=10_000)
        with factory() as s:
            contact = s.query(Contact).one()
            assert (contact.cti_call_id, contact.queue, contact.disposition) == (call_id, "billing", "resolved")
        qtbot.waitUntil(lambda: backend.acd_statistics().answered == 1, timeout=10_000)
        assert backend.acd_statistics().offered == 1
    finally:
        window.close()
        thread.stop()
        engine.dispose()
