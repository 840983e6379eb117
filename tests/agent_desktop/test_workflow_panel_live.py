"""The open workflow panel follows the order system by itself: a status posted to ``ccenter api`` goes
out on the bus to the agent who took the order, and their panel shows the new state and history
without a click; on a real Mosquitto with the shipped ACL, a desktop that reaches data only through
the API (no database credentials), and another agent who cannot read it."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from agent_desktop.customer_window import CustomerWindow
from agent_desktop.telephony import NetworkThread
from agent_desktop.workflow_panel import workflow_feed
from api.app import create_app
from bus import topics
from bus.messages import WorkflowChanged
from bus.mqtt import MqttBus
from ccenter.commands.desktop import pump_bus
from connectors.center import CenterDirectory
from connectors.notices import Notices
from crm import db, repository
from crm.models import Account, Agent, Contact, Customer
from crm.repository import tokens
from crm.secrets import hash_secret
from crm.workflows import Subject
from tests.api.conftest import serve
from tests.end2end.test_broker_trust import Broker, broker  # noqa: F401  (the shipped-ACL broker fixture)
from tests.helpers.desktop_db import dispose_after_desktop_jobs

TIMEOUT_MS = 15_000


@pytest.fixture
def engine(_sqlite_template: str, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "api.db"
    shutil.copy(_sqlite_template, path)
    engine = db.connect(f"sqlite:///{path}")
    yield engine
    dispose_after_desktop_jobs(engine)


def _seed(engine: Engine, site: str) -> tuple[str, int, dict[str, int]]:
    """Agents a7 and a8 (their broker users), a customer, and an order each took on a call."""
    with db.transaction(db.session_factory(engine)) as s:
        a7 = Agent(
            login="a7", name="Ann Seven", extension="1007", password_hash=hash_secret("a7-pass", n=2**10), site=site
        )
        a8 = Agent(
            login="a8", name="Bo Eight", extension="1008", password_hash=hash_secret("a8-pass", n=2**10), site=site
        )
        customer = Customer(name="Wei Zhang", language="en", time_zone="UTC")
        customer.accounts = [Account(account_number="ACC-1001", balance=Decimal("0"))]
        s.add_all([a7, a8, customer])
        s.flush()
        orders = {}
        for agent in (a7, a8):
            contact = Contact(customer_id=customer.id, channel="voice_in", agent_id=agent.id)
            s.add(contact)
            s.flush()
            orders[agent.login] = repository.create_order(
                s, customer_id=customer.id, product="Fibre 500", contact_id=contact.id
            ).id
        boss = tokens.issue_system_token(s, "boss", ["status:write"])
        return boss, customer.id, orders


def test_a_status_posted_to_the_api_updates_the_open_panel_and_only_its_agent_hears(
    qtbot: Any,
    engine: Engine,
    broker: Broker,  # noqa: F811
) -> None:
    site = f"t{uuid.uuid4().hex[:8]}"
    boss, customer_id, orders = _seed(engine, site)
    notices = Notices.from_url(broker.url("svc-api"), site=site, client_id="svc-api")
    network = NetworkThread("test-desk")
    network.start()
    desk_bus = MqttBus(broker.url("a7"), client_id="a7", site=site, role="desktop")
    snoop_bus = MqttBus(broker.url("a8"), client_id="a8", site=site, role="desktop")
    subscribed = threading.Event()
    heard_by_a8: list[WorkflowChanged] = []
    feed = workflow_feed()

    async def desktop() -> None:  # what `ccenter desktop` runs on its network thread for a7
        await desk_bus.start()
        await pump_bus(desk_bus, site, workflow_sink=feed.publish, workflows_of=["a7"], ready=subscribed.set)

    async def snoop() -> None:  # a8 asks for every agent's workflow changes: the broker gives it its own
        await snoop_bus.start()
        inbox = await snoop_bus.subscribe(f"{topics.PREFIX}/{site}/agents/+/workflows")
        async for envelope in inbox:
            if isinstance(envelope.message, WorkflowChanged):
                heard_by_a8.append(envelope.message)

    running = [network.call_soon(desktop()), network.call_soon(snoop())]
    try:
        for url in serve(create_app(db.session_factory(engine), site=site, changed=notices.changed)):
            directory = CenterDirectory(url)  # the production desktop: the API, the agent's own token
            try:
                _follow(qtbot, url, directory, boss, customer_id, orders, subscribed, heard_by_a8)
            finally:
                directory.close()
    finally:
        for done in running:
            done.cancel()

        async def close() -> None:
            await desk_bus.close()
            await snoop_bus.close()

        network.call_soon(close()).result(10)
        network.stop()
        notices.close()


def _follow(
    qtbot: Any,
    url: str,
    directory: CenterDirectory,
    boss: str,
    customer_id: int,
    orders: dict[str, int],
    subscribed: threading.Event,
    heard_by_a8: list[WorkflowChanged],
) -> None:
    assert directory.authenticate("a7", "a7-pass") is not None
    window = CustomerWindow(directory, agent_login="a7")
    qtbot.addWidget(window)
    panel = window.customer_view.order_workflow
    assert panel is not None
    with qtbot.waitSignals([window.customer_loaded, panel.loaded], timeout=TIMEOUT_MS):
        window.open_customer(customer_id)
    panel.show_item(Subject.ORDER, orders["a7"])
    qtbot.waitUntil(lambda: panel.status is not None and panel.status.id == orders["a7"], timeout=TIMEOUT_MS)
    assert panel.state_label.text().startswith("Now: Submitted")
    qtbot.waitUntil(subscribed.is_set, timeout=TIMEOUT_MS)

    # The order system reports the order in credit check; nobody touches the desktop.
    answer = requests.post(
        f"{url}/v1/status",
        headers={"Authorization": f"Bearer {boss}"},
        timeout=10,
        json={"subject": "order", "id": orders["a7"], "state": "credit_check"},
    )
    assert answer.status_code == 200, answer.text
    qtbot.waitUntil(lambda: panel.state_label.text().startswith("Now: Credit check"), timeout=TIMEOUT_MS)
    assert panel.status is not None
    assert [(h.actor, h.actor_name, h.to_state) for h in panel.status.history] == [
        ("agent", "a7", "submitted"),
        ("system", "boss", "credit_check"),
    ]
    assert panel.history.rowCount() == 2  # the history table shows the new move too

    # a8's own order moves too: a8 hears of that one, and never of a7's (the ACL).
    answer = requests.post(
        f"{url}/v1/status",
        headers={"Authorization": f"Bearer {boss}"},
        timeout=10,
        json={"subject": "order", "id": orders["a8"], "state": "credit_check"},
    )
    assert answer.status_code == 200, answer.text
    qtbot.waitUntil(lambda: len(heard_by_a8) >= 1, timeout=TIMEOUT_MS)
    assert [(m.item_id, m.state, m.actor_name) for m in heard_by_a8] == [(orders["a8"], "credit_check", "boss")]
