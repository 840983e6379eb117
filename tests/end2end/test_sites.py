"""Two sites on one broker and one PostgreSQL database: neither sees nor changes the other's work.

Each site runs its own ``ccenter cti-gateway`` (on the simulated PBX) and ``ccenter acd`` (built by
``ccenter.components``) and a scripted desktop (``BusLink``, as the desktop speaks to the gateway),
all on the machine's Mosquitto; both sites' contacts go to one PostgreSQL database. The sites use
the same agent login, extension and queue name on purpose: only the site keeps them apart. A call
queued at site A is offered to A's agent only; B's ACD, gateway and desktop see nothing of it, and
B's call afterwards is offered to B's agent only. Each site's contact is saved with its own call.

What keeps them apart: the site is the third level of every topic (``ccenter/v1/<site>/...``) and
every process subscribes under its own site only. In the database the CRM tables (customers,
phones, accounts, consents, do-not-call, contacts, orders, service requests) are shared by design:
one company's customers call any site. Agents, queues and campaigns (with their work items) belong to
a site: ``test_sites_db.py`` runs two sites' ACDs and dialers from one database (docs/admin.md,
"Beyond one site" says how sites share or split the tables).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bus.messages import AgentState, AgentStateName, CallEvent, CallEventType
from crm import db, repository
from crm.models import Channel, Contact, Customer, PhoneNumber
from crm.repository import ContactRecord
from cti.buslink import BusLink
from routing.model import AgentStatus
from tests.end2end.test_production import _Loop
from tests.helpers.private_services import wait_until
from tests.helpers.site_processes import SiteProcesses

pytestmark = [pytest.mark.mqtt, pytest.mark.postgres, pytest.mark.timeout(120)]


class ScriptedDesktop:
    """An agent's desktop reduced to its link: it logs on, gets ready, answers, and notes every event."""

    def __init__(self, mqtt_url: str, site: str, agent: str, extension: str) -> None:
        self.agent, self.extension = agent, extension
        self.loop = _Loop(f"desktop-{site}")
        self.link = BusLink.from_url(mqtt_url, site=site, agent_id=agent, client_id=f"desk-{site}")
        self.events: list[CallEvent | AgentState] = []
        self.loop.run(self._start())

    async def _start(self) -> None:
        await self.link.connect()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.link.events():
            self.events.append(event)

    def ready(self) -> None:
        self.loop.run(self.link.set_agent_state(self.agent, AgentStateName.NOT_READY, reason="logged on",
                                                extension=self.extension))
        self.loop.run(self.link.set_agent_state(self.agent, AgentStateName.READY, extension=self.extension))

    def answer(self, call_id: str) -> None:
        self.loop.run(self.link.answer(call_id, self.extension))

    def call_ids(self) -> set[str]:
        return {e.call_id for e in list(self.events) if isinstance(e, CallEvent)}

    def offered(self) -> list[str]:
        return [e.call_id for e in list(self.events)
                if isinstance(e, CallEvent) and e.type == CallEventType.ALERTING and e.extension == self.extension]

    def close(self) -> None:
        async def stop() -> None:
            await self.link.close()
            self._reader.cancel()

        self.loop.run(stop())
        self.loop.stop()


class Site:
    def __init__(self, mqtt_url: str, name: str) -> None:
        self.name = name
        self.processes = SiteProcesses(mqtt_url, name, {"alice": "1001"})
        self.desktop = ScriptedDesktop(mqtt_url, name, "alice", "1001")

    def queue_call(self, number: str) -> None:
        pbx = self.processes.pbx
        self.processes.on_pbx(lambda: pbx.schedule_inbound(pbx.now, number, "800", queue="billing"))

    def close(self) -> None:
        self.desktop.close()
        self.processes.close()


@pytest.fixture
def sites(mqtt_url: str) -> Iterator[tuple[Site, Site]]:
    tag = uuid.uuid4().hex[:8]
    a = Site(mqtt_url, f"north-{tag}")
    try:
        b = Site(mqtt_url, f"south-{tag}")
    except BaseException:
        a.close()
        raise
    yield a, b
    b.close()
    a.close()


def _save(factory: db.SessionFactory, site: Site, call_id: str, customer_id: int) -> None:
    now = datetime.now(UTC)
    record = ContactRecord(client_ref=f"{site.name}-{call_id}", channel=Channel.VOICE_IN, started_at=now,
                           ended_at=now, disposition="resolved", customer_id=customer_id, queue="billing",
                           cti_call_id=call_id)
    with db.transaction(factory) as s:
        repository.save_contact(s, record)


def test_two_sites_on_one_broker_and_one_database_keep_their_calls_agents_and_queues_apart(
    sites: tuple[Site, Site], pg_db_url: str
) -> None:
    north, south = sites
    engine = db.connect(pg_db_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace")
        customer.phones = [PhoneNumber(e164="+14155550100", is_primary=True)]
        s.add(customer)
    try:
        for site in (north, south):
            wait_until(site.processes.is_leader, 20)
            wait_until(lambda site=site: "answer" in site.desktop.link.capabilities, 20)
        # North's agent gets ready; south's ACD knows nothing of it (same login, same extension).
        north.desktop.ready()
        wait_until(lambda: north.processes.acd_agent_status("alice") is AgentStatus.READY, 20)
        assert south.processes.acd_agent_status("alice") is None

        north.queue_call("+14155550100")
        wait_until(lambda: north.desktop.offered(), 20)
        (north_call,) = north.desktop.offered()
        north.desktop.answer(north_call)
        wait_until(lambda: north.processes.acd_statistics().answered == 1, 20)
        # Nothing of north's call reached south: its ACD, its gateway, its desktop.
        assert south.processes.acd_statistics().offered == 0
        assert south.desktop.call_ids() == set()
        assert north_call not in south.processes.on_pbx(lambda: {c.call_id for c in south.processes.gateway.tracker})

        # South's agent gets ready and takes south's call; north's ACD is not offered it.
        south.desktop.ready()
        wait_until(lambda: south.processes.acd_agent_status("alice") is AgentStatus.READY, 20)
        south.queue_call("+14155550100")
        wait_until(lambda: south.desktop.offered(), 20)
        (south_call,) = south.desktop.offered()
        south.desktop.answer(south_call)
        wait_until(lambda: south.processes.acd_statistics().answered == 1, 20)
        assert north.processes.acd_statistics().offered == 1
        assert south.desktop.call_ids() == {south_call}
        assert north.desktop.call_ids() == {north_call}
        # The north agent is still busy on north's call: south's events changed nothing at north.
        assert north.processes.acd_agent_status("alice") is not AgentStatus.READY

        _save(factory, north, north_call, customer.id)
        _save(factory, south, south_call, customer.id)
        with factory() as s:
            saved = {(c.client_ref, c.cti_call_id) for c in s.scalars(select(Contact))}
        assert saved == {(f"{north.name}-{north_call}", north_call), (f"{south.name}-{south_call}", south_call)}
    finally:
        engine.dispose()
