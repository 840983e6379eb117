"""The campaign loop end to end on PostgreSQL and the real broker: a plan file is imported (``ccenter
campaign import``); the dialer, the ACD and the gateway on the simulated PBX, each on its own loop and
bus connection as in production, call the targets; the agent works on the real desktop window (pytest-qt),
which speaks to the gateway only through Mosquitto: she takes an inbound customer's call and records
the accepted offer, then the dialer's calls, answering, creating the order and the service request from
the call, and recording the offer result and the disposition by clicking and typing in the widgets; the
SMS channel goes out through the message connector to a gateway on loopback; ``ccenter campaign
export`` writes the results file. The database is checked at each step, and every number not dialled
is explained by ``ccenter campaign why``."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget
from sqlalchemy import select

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.forms import OrderForm, ServiceRequestForm
from agent_desktop.outbox import ContactOutbox
from agent_desktop.telephony import LinkThread
from agent_desktop.workers import io_pool
from agent_desktop.workstation import AgentWindow
from bus.messages import AgentStateName
from bus.mqtt import MqttBus
from ccenter.cli import main
from crm import db, dnc, repository
from crm.models import (
    Activity,
    Agent,
    Attempt,
    Campaign,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    ServiceRequest,
    Task,
    WorkItem,
    WorkItemStatus,
)
from cti.buslink import BusLink
from cti.gateway import Gateway
from cti.model import DialOutcome
from cti.sim import NumberScript, SimLink, SimPbx
from routing.dialer_service import DialerService
from routing.messaging import MessageConnector, MessageSender
from routing.model import AgentStatus, QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.end2end.test_production import _Loop
from tests.routing.test_messaging import Gateway as SmsGateway

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

ANN, BEN, CAL, DOT, EVE = "+14155550131", "+14155550132", "+14155550133", "+14155550134", "+14155550135"


def _plan(tmp_path: Path, ids: dict[str, int]) -> Path:
    plan = {
        "campaign_id": "LOOP-2026",
        "name": "Fibre loop",
        "channels": ["outbound_call", "inbound_offer", "sms"],
        "products": ["Fibre 1000"],
        "script": "Offer Fibre 1000.",
        "dial_mode": "progressive",
        "schedule": {"start": "2026-01-01", "end": "2035-12-31"},
        "rules": {"max_attempts": 3, "queue": "sales", "frequency_cap": {"contacts": 1, "days": 90}},
        "targets": [{"customer_id": ids[n]} for n in (ANN, BEN, CAL, DOT, EVE)],
    }
    path = tmp_path / "loop-plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


class Center:
    """``ccenter cti-gateway`` (on the simulated PBX), ``ccenter acd`` and ``ccenter dialer``, each on its
    own loop and its own connection to the broker."""

    def __init__(self, mqtt_url: str, site: str, factory: Callable[[], db.Session]) -> None:
        self.site = site
        self.pbx = SimPbx(extensions=["1001"], trunks=8, now=time.time())
        for number in (ANN, BEN):
            self.pbx.script_number(number, NumberScript(DialOutcome.ANSWERED, after=0.1))
        self.link = SimLink(self.pbx, realtime=True, tick=0.02)
        self.loops = {name: _Loop(name) for name in ("cti-gateway", "acd", "dialer")}
        self.buses = {name: MqttBus(mqtt_url, client_id=f"{name}-{site}", site=site, role=name) for name in self.loops}
        config = AcdConfig(
            queues=(QueueConfig("sales", wrap_up_s=0.0),), agents={"alice": AgentProfile({"sales": 5}, "1001")}
        )
        self.gateway = Gateway(self.link, self.buses["cti-gateway"], site=site, client_id=f"cti-gateway-{site}")
        self.acd = AcdServer(self.buses["acd"], config, site, election=False)
        self.dialer = DialerService(self.buses["dialer"], factory, site, interval_s=0.1)
        self.dialer_started = False
        self.loops["cti-gateway"].run(self._start_gateway())
        self.loops["acd"].run(self._start_acd())

    async def _start_gateway(self) -> None:
        await self.buses["cti-gateway"].start()
        await self.gateway.start()
        await self.link.connect()
        self._gateway_task = asyncio.create_task(self.gateway.run())

    async def _start_acd(self) -> None:
        await self.buses["acd"].start()
        await self.acd.start()

    def start_dialer(self) -> None:
        async def start() -> None:
            await self.buses["dialer"].start()
            await self.dialer.start()

        self.loops["dialer"].run(start())
        self.dialer_started = True

    def on(self, name: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` on that process's own loop, as everything that touches its parts must run."""

        async def call() -> Any:
            return fn()

        return self.loops[name].run(call())

    def agent_status(self, agent_id: str) -> AgentStatus | None:
        def read() -> AgentStatus | None:
            engine = self.acd.engine
            return engine.agent_status(agent_id) if agent_id in engine.agent_ids() else None  # type: ignore[arg-type]

        return self.on("acd", read)

    def close(self) -> None:
        async def stop_dialer() -> None:
            if self.dialer_started:
                await self.dialer.stop()
                await self.buses["dialer"].close()

        async def stop_acd() -> None:
            await self.acd.stop()
            await self.buses["acd"].close()

        async def stop_gateway() -> None:
            self._gateway_task.cancel()
            await self.link.close()
            await asyncio.gather(self._gateway_task, return_exceptions=True)
            await self.buses["cti-gateway"].close()

        self.loops["dialer"].run(stop_dialer())
        self.loops["acd"].run(stop_acd())
        self.loops["cti-gateway"].run(stop_gateway())
        for loop in self.loops.values():
            loop.stop()


@pytest.fixture
def site() -> str:
    return f"loop-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def center(mqtt_url: str, pg_db_url: str, site: str) -> Iterator[Center]:
    engine = db.connect(pg_db_url)
    running = Center(mqtt_url, site, db.session_factory(engine))
    yield running
    running.close()
    engine.dispose()


@pytest.fixture
def engine(pg_db_url: str) -> Iterator[Any]:
    """The test's own engine, disposed once the desktop is gone: after the test, pytest-qt closes the
    window and runs what its events still started, and the desktop's database jobs end first."""
    engine = db.connect(pg_db_url)
    yield engine
    assert io_pool().waitForDone(10_000), "the desktop's database jobs end before its database goes"
    engine.dispose()


def _fill_dialog(qtbot: Any, fill: Callable[[QWidget], None]) -> None:
    """Fill the modal form the next click opens, as the agent types into it, and press OK."""

    def look() -> None:
        form = QApplication.activeModalWidget()
        if form is None:
            QTimer.singleShot(20, look)
            return
        fill(form)
        buttons = form.findChild(QDialogButtonBox)
        assert buttons is not None
        qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, look)


def _choose(box: Any, code: object) -> None:
    """Pick an entry of a drop-down list by its code, as the agent does with the mouse."""
    index = box.findData(code)
    assert index >= 0, f"{code!r} is not offered"
    box.setCurrentIndex(index)


def test_plan_to_export_on_postgresql(
    qtbot: Any,
    center: Center,
    site: str,
    mqtt_url: str,
    pg_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Any,
) -> None:
    monkeypatch.setenv("CCENTER_SITE", site)
    factory = db.session_factory(engine)
    now = datetime.now(UTC)
    with db.transaction(factory) as s:
        ids = {}
        for number in (ANN, BEN, CAL, DOT, EVE):
            customer = Customer(name=f"Customer {number[-2:]}", time_zone="UTC", phones=[PhoneNumber(e164=number)])
            s.add(customer)
            s.flush()
            ids[number] = customer.id
        # DOT was reached 60 days ago by another campaign: inside the plan's 90-day cap.
        old = Campaign(campaign_key="OLD", name="Old", site=site)
        task = Task(name="outbound")
        old.activities = [Activity(channel="outbound_call", tasks=[task])]
        s.add(old)
        s.flush()
        item = WorkItem(
            task=task, activity=task.activity, customer_id=ids[DOT], phone_e164=DOT, status=WorkItemStatus.COMPLETED
        )
        s.add(item)
        s.flush()
        s.add(Attempt(work_item_id=item.id, started_at=now - timedelta(days=60), result="answered"))
        s.add(Agent(login="alice", name="Alice Morgan", extension="1001"))
    url = pg_db_url
    with factory() as s:
        alice = repository.AgentView(
            s.scalars(select(Agent.id).where(Agent.login == "alice")).one(),
            "alice",
            "Alice Morgan",
            "agent",
            "1001",
            {"sales": 5},
        )

    # Plan in.
    assert main(["campaign", "import", str(_plan(tmp_path, ids)), "--db", url]) == 0
    assert "work items: 15 created" in capsys.readouterr().out
    with db.transaction(factory) as s:
        dnc.add(s, [CAL], source="registry")  # listed after the import: the dialer must refuse it
    items: dict[tuple[str, str], int] = {}
    with factory() as s:
        for item, channel in s.execute(
            select(WorkItem, Activity.channel).join(Activity).join(Campaign).where(Campaign.campaign_key == "LOOP-2026")
        ):
            number = next(n for n, i in ids.items() if i == item.customer_id)
            items[(number, channel)] = item.id

    # The agent's desktop, on the broker only.
    link = BusLink.from_url(mqtt_url, site=site, agent_id="alice", client_id=f"desk-{site}")
    thread = LinkThread(link)
    thread.start()
    w = AgentWindow(
        agent=alice,
        link=thread,
        directory=CustomerDirectory(factory),
        outbox=ContactOutbox(factory, tmp_path / "outbox.jsonl"),
    )
    qtbot.addWidget(w)
    saved: dict[int, Any] = {}  # work item -> the desktop's SavedContact
    handled: set[str] = set()  # the calls the agent took
    try:
        w.show()
        qtbot.waitUntil(lambda: "answer" in thread.capabilities, timeout=10_000)
        w.log_on()
        qtbot.mouseClick(w.ready_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: center.agent_status("alice") is AgentStatus.READY, timeout=10_000)

        # EVE calls in; the agent picks the campaign's offer, takes the order and records the acceptance:
        # EVE's other channels of the campaign close, she is not dialled.
        with qtbot.waitSignal(w.screen_popped, timeout=15_000):
            center.on("cti-gateway", lambda: center.pbx.schedule_inbound(center.pbx.now, EVE, "800", queue="sales"))
        call_id = next(iter(w.session.calls))
        handled.add(call_id)
        eve_offer = items[(EVE, "inbound_offer")]
        assert w.offer_pick.isEnabled() and w.offer_pick.findData(eve_offer) >= 0, "the campaign is offered"
        _choose(w.offer_pick, eve_offer)
        qtbot.mouseClick(w.answer_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.session.calls[call_id].answered_at is not None, timeout=10_000)
        saved[eve_offer] = _work_the_call(qtbot, w, center, call_id, eve_offer, accepted=True, amount="30.00")

        # The dialer: progressive, one call per ready agent. The agent takes each call it places.
        center.start_dialer()
        for _ in range(2):
            qtbot.waitUntil(lambda: w.session.state is AgentStateName.READY, timeout=10_000)

            def new_call() -> str | None:
                fresh = [c for c, work in w.work.items() if c not in handled and work.customer is not None]
                return fresh[0] if fresh else None

            qtbot.waitUntil(lambda: new_call() is not None, timeout=20_000)  # the customer popped
            call_id = str(new_call())
            handled.add(call_id)
            work = w.work[call_id]
            item_id = work.worked_item
            assert item_id in (items[(ANN, "outbound_call")], items[(BEN, "outbound_call")]), (
                "the dialer calls ANN and BEN only"
            )
            assert not w.offer_pick.isEnabled(), "a dialer call works its own work item"
            qtbot.mouseClick(w.answer_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda c=call_id: w.session.calls[c].answered_at is not None, timeout=10_000)
            accepted = item_id == items[(ANN, "outbound_call")]
            saved[item_id] = _work_the_call(qtbot, w, center, call_id, item_id, accepted=accepted, amount="40.00")
        refused = {items[(CAL, "outbound_call")], items[(DOT, "outbound_call")]}
        qtbot.waitUntil(
            lambda: refused <= set(center.on("dialer", lambda: center.dialer.core.skip(time.time()))), timeout=10_000
        )
        qtbot.waitUntil(lambda: not center.on("dialer", lambda: center.dialer.core.decided), timeout=10_000)
    finally:
        w.close()
        thread.stop()
    assert set(saved) == {items[(EVE, "inbound_offer")], items[(ANN, "outbound_call")], items[(BEN, "outbound_call")]}

    # Every order and service request on its work item, attempt and contact.
    with factory() as s:
        for item_id, contact in saved.items():
            row = s.get_one(Contact, contact.contact_id)
            assert row.work_item_id == item_id
            attempts = {a.id: a for a in s.scalars(select(Attempt).where(Attempt.contact_id == row.id))}
            assert attempts and {a.work_item_id for a in attempts.values()} == {item_id}
            made = [s.get_one(Order, i) for i in contact.order_ids] + [
                s.get_one(ServiceRequest, i) for i in contact.request_ids
            ]
            assert made, "the agent made an order or a request on each call"
            for thing in made:
                assert (thing.work_item_id, thing.contact_id) == (item_id, row.id) and thing.attempt_id in attempts
            if item_id != items[(EVE, "inbound_offer")]:  # on a dialer call, the dialer's own attempt
                dial = s.scalars(
                    select(Attempt).where(Attempt.work_item_id == item_id, Attempt.result == "answered")
                ).one()
                assert (dial.contact_id, dial.cti_call_id) == (row.id, row.cti_call_id)
                assert {thing.attempt_id for thing in made} == {dial.id}

    # The SMS round: the campaign's results closed ANN's, BEN's and EVE's sms; CAL is on the do-not-call
    # list, which holds for calls, not messages; DOT is capped.
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
    SmsGateway.seen, SmsGateway.keys = [], {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connector = MessageConnector(f"http://127.0.0.1:{server.server_address[1]}/sms", backoff_s=0.0)
    try:
        sender = MessageSender(connector, factory, site=site)
        asyncio.run(sender.step())
    finally:
        connector.close()
        server.shutdown()
        server.server_close()
    assert [m["to"] for m in SmsGateway.seen] == [CAL] and sender.sent == 1

    # Results out, and the database behind them.
    out = tmp_path / "results.csv"
    assert main(["campaign", "export", "LOOP-2026", str(out), "--db", url]) == 0
    capsys.readouterr()
    rows = {int(r["work_item_id"]): r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    assert len(rows) == 15
    ann = rows[items[(ANN, "outbound_call")]]
    assert (ann["status"], ann["result"], ann["disposition"], ann["offer_result"], ann["order_value"]) == (
        "completed",
        "accepted",
        "order_placed",
        "accepted",
        "40.00",
    )
    assert int(ann["talk_s"]) >= 0 and int(ann["wrap_up_s"]) >= 0, "talk and wrap-up seconds for BI"
    assert ann["order_ids"] and ann["service_request_ids"]
    assert rows[items[(ANN, "sms")]]["result"] == "sibling_closed"
    ben = rows[items[(BEN, "outbound_call")]]
    assert (ben["result"], ben["reason"], ben["disposition"]) == ("not_interested", "Has fibre", "info_given")
    assert ben["service_request_ids"] and not ben["order_ids"]
    assert rows[items[(CAL, "outbound_call")]]["refused_do_not_call"] == "1"
    assert rows[items[(CAL, "sms")]]["status"] == "completed" and rows[items[(CAL, "sms")]]["result"] == "sent"
    assert rows[items[(DOT, "outbound_call")]]["refused_frequency_cap"] == "1", "a 90-day cap counts 60 days back"
    assert rows[items[(DOT, "sms")]]["refused_frequency_cap"] == "1"
    for channel in ("outbound_call", "sms"):
        eve = rows[items[(EVE, channel)]]
        assert (eve["status"], eve["result"]) == ("cancelled", "sibling_closed")
    assert rows[items[(EVE, "inbound_offer")]]["order_value"] == "30.00"
    with factory() as s:
        dial = s.scalars(
            select(Attempt).where(Attempt.work_item_id == items[(ANN, "outbound_call")], Attempt.result == "answered")
        ).one()
        assert dial.contact_id == saved[items[(ANN, "outbound_call")]].contact_id
        assert dial.cti_call_id == s.get_one(Contact, dial.contact_id).cti_call_id
        assert repository.customer_360(s, ids[CAL]).communications[0].channel == "sms"

    # Every number not dialled is explained.
    for number, rule in ((CAL, "do_not_call"), (DOT, "frequency_cap")):
        assert main(["campaign", "why", number, "--db", url]) == 0
        assert f"skipped ({rule})" in capsys.readouterr().out


def _work_the_call(
    qtbot: Any, w: AgentWindow, center: Center, call_id: str, item_id: int, *, accepted: bool, amount: str
) -> Any:
    """The agent's work on an answered call, in the window: an order (when the offer is accepted) and a
    service request made from the call, then, after the customer hangs up, the disposition and the offer's
    result; the contact is saved by the Save button."""
    if accepted:

        def order(form: QWidget) -> None:
            assert isinstance(form, OrderForm) and form.work_item_id == item_id, "the order is the call's offer's"
            form.amount.selectAll()
            qtbot.keyClicks(form.amount, amount)

        _fill_dialog(qtbot, order)
        qtbot.mouseClick(w.order_button, Qt.MouseButton.LeftButton)

    def request(form: QWidget) -> None:
        assert isinstance(form, ServiceRequestForm)
        qtbot.keyClicks(form.summary, "Check the line for fibre")

    _fill_dialog(qtbot, request)
    qtbot.mouseClick(w.request_button, Qt.MouseButton.LeftButton)
    center.on("cti-gateway", lambda: center.pbx.far_hangup(call_id))
    qtbot.waitUntil(lambda: w.wrap_up_work is not None, timeout=10_000)
    assert w.offer_choice.currentData() == item_id, "the wrap-up records the result of the call's offer"
    _choose(w.disposition, "order_placed" if accepted else "info_given")
    _choose(w.offer_result, "accepted" if accepted else "not_interested")
    if not accepted:
        qtbot.keyClicks(w.offer_reason, "Has fibre")
    with qtbot.waitSignal(w.contact_saved, timeout=10_000) as saved:
        qtbot.mouseClick(w.save_button, Qt.MouseButton.LeftButton)
    assert saved.args[0] is not None, "saved in the database, not kept locally"
    return saved.args[0]
