"""``ccenter api`` acts on time limits itself: two API processes on one PostgreSQL database, a fault
report past its limit, escalated once (assigned, priority raised, moved to escalated, in its history)
and told on the bus to the agent who took it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from bench._ports import free_port
from bus import topics
from bus.messages import WorkflowChanged
from bus.mqtt import MqttBus
from crm import db, repository
from crm.models import Account, Agent, Contact, Customer, ServiceRequest, WorkflowEscalation, WorkflowEvent
from tests.end2end.test_boss_api import wait_for
from tests.helpers import DEFAULT_TIMEOUT


def test_two_api_processes_escalate_a_passed_limit_once_and_tell_the_agent(pg_db_url: str, mqtt_url: str) -> None:
    site = f"esc{os.getpid()}"
    engine = db.connect(pg_db_url)
    factory = db.session_factory(engine)
    five_hours_ago = datetime.now(UTC) - timedelta(hours=5)
    with db.transaction(factory) as s:
        customer = Customer(name="Wei Zhang", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number="ACC-1001", balance=Decimal("0"))]
        ann = Agent(login="ann", name="Ann", site=site)
        s.add_all([customer, ann])
        s.flush()
        contact = Contact(customer_id=customer.id, channel="voice_in", agent_id=ann.id)
        s.add(contact)
        s.flush()
        request_id = repository.create_service_request(
            s, customer_id=customer.id, category="fault", summary="No dial tone", contact_id=contact.id
        ).id
        s.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == request_id)
            .values(created_at=five_hours_ago, state_since=five_hours_ago)
        )

    async def listen_then_start() -> WorkflowChanged:
        bus = MqttBus(mqtt_url, client_id=f"desk-ann-{site}", site=site)
        await bus.start()
        try:
            inbox = await bus.subscribe(topics.agent_workflows(site, "ann"))
            servers.extend(_api(pg_db_url, mqtt_url, site) for _ in range(2))
            async with asyncio.timeout(DEFAULT_TIMEOUT * 3):
                while True:
                    message = (await inbox.get()).message
                    if isinstance(message, WorkflowChanged):
                        return message
        finally:
            await bus.close()

    servers: list[subprocess.Popen[str]] = []
    try:
        told = asyncio.run(listen_then_start())
        assert (told.subject, told.item_id, told.state, told.escalate_to, told.actor_name) == (
            "service_request",
            request_id,
            "escalated",
            "back_office",
            "escalation",
        )

        def escalated() -> bool:
            with factory() as s:
                return s.get(ServiceRequest, request_id).state == "escalated"  # type: ignore[union-attr]

        wait_for(escalated, "the fault report is escalated")
        for server in servers:  # both had their first round: each ran at start
            assert server.poll() is None
    finally:
        for server in servers:
            server.terminate()
        outputs = [server.communicate(timeout=30) for server in servers]
    with factory() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        assert (request.state, request.assigned_to, request.priority) == ("escalated", "fault_desk", "high")
        claims = s.scalars(select(WorkflowEscalation)).all()
        entries = s.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.subject_id == request_id, WorkflowEvent.subject == "service_request")
            .order_by(WorkflowEvent.id)
        ).all()
    assert len(claims) == 1, outputs
    assert [(e.transition, e.actor, e.actor_name, e.from_state, e.to_state) for e in entries] == [
        (None, "agent", "ann", None, "opened"),
        ("escalate", "system", "escalation", "opened", "opened"),
        ("escalate", "system", "escalation", "opened", "escalated"),
    ]
    assert entries[1].fields["reason"].startswith("opened for longer than 4h")
    engine.dispose()


def _api(url: str, mqtt_url: str, site: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCENTER_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ccenter",
            "api",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--db",
            url,
            "--mqtt",
            mqtt_url,
        ],
        env={**env, "CCENTER_SITE": site},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
