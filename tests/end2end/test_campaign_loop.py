"""The campaign loop end to end on PostgreSQL: a plan file is imported (``ccenter campaign import``); the
dialer, the ACD and the gateway on the simulated PBX call the targets; agents answer, take orders and
give results (saved as the desktop saves them); the SMS channel goes out through the message connector
to a gateway on loopback; ``ccenter campaign export`` writes the results file. The database is checked
at each step, and every number not dialled is explained by ``ccenter campaign why``."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from bus import topics
from bus.messages import AgentState, CallEvent
from bus.transport import QOS_COMMAND, InProcessBus
from ccenter.cli import main
from crm import db, dnc, repository
from crm.models import Activity, Attempt, Campaign, Channel, Customer, PhoneNumber, Task, WorkItem, WorkItemStatus
from crm.repository import ContactRecord, OfferResult, OrderLine
from cti.gateway import Gateway
from cti.model import DialOutcome
from cti.sim import NumberScript, SimLink, SimPbx
from routing.dialer_service import DialerService
from routing.messaging import MessageConnector, MessageSender
from routing.model import QueueConfig
from routing.server import AcdConfig, AcdServer, AgentProfile
from tests.routing.test_messaging import Gateway as SmsGateway

pytestmark = pytest.mark.postgres

ANN, BEN, CAL, DOT, EVE = "+14155550131", "+14155550132", "+14155550133", "+14155550134", "+14155550135"


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def _plan(tmp_path: Path, ids: dict[str, int]) -> Path:
    plan = {
        "campaign_id": "LOOP-2026", "name": "Fibre loop", "channels": ["outbound_call", "inbound_offer", "sms"],
        "products": ["Fibre 1000"], "script": "Offer Fibre 1000.", "dial_mode": "progressive",
        "schedule": {"start": "2026-01-01", "end": "2035-12-31"},
        "rules": {"max_attempts": 3, "queue": "sales", "frequency_cap": {"contacts": 1, "days": 90}},
        "targets": [{"customer_id": ids[n]} for n in (ANN, BEN, CAL, DOT, EVE)],
    }
    path = tmp_path / "loop-plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def test_plan_to_export_on_postgresql(pg_db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = db.connect(pg_db_url)
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
        old = Campaign(campaign_key="OLD", name="Old")
        task = Task(name="outbound")
        old.activities = [Activity(channel="outbound_call", tasks=[task])]
        s.add(old)
        s.flush()
        item = WorkItem(task=task, activity=task.activity, customer_id=ids[DOT], phone_e164=DOT,
                        status=WorkItemStatus.COMPLETED)
        s.add(item)
        s.flush()
        s.add(Attempt(work_item_id=item.id, started_at=now - timedelta(days=60), result="answered"))
    url = pg_db_url

    # Plan in.
    assert main(["campaign", "import", str(_plan(tmp_path, ids)), "--db", url]) == 0
    assert "work items: 15 created" in capsys.readouterr().out
    with db.transaction(factory) as s:
        dnc.add(s, [CAL], source="registry")  # listed after the import: the dialer must refuse it
    items: dict[tuple[str, str], int] = {}
    with factory() as s:
        for item, channel in s.execute(select(WorkItem, Activity.channel).join(Activity)
                                       .join(Campaign).where(Campaign.campaign_key == "LOOP-2026")):
            number = next(n for n, i in ids.items() if i == item.customer_id)
            items[(number, channel)] = item.id

    # EVE calls in and accepts the offer: her other channels of the campaign close, she is not dialled.
    with db.transaction(factory) as s:
        [offer] = repository.customer_360(s, ids[EVE]).offers
        assert (offer.work_item_id, offer.channel) == (items[(EVE, "inbound_offer")], "inbound_offer")
        repository.save_contact(s, ContactRecord(
            client_ref=uuid.uuid4().hex, channel=Channel.VOICE_IN, started_at=now, ended_at=now + timedelta(minutes=2),
            disposition="sale", customer_id=ids[EVE], work_item_id=offer.work_item_id,
            offer_results=(OfferResult(offer.work_item_id, "accepted"),), orders=(OrderLine("Fibre 1000",
                                                                                           Decimal("30.00")),)))

    # The dialer, the ACD and the gateway on the simulated PBX; the agents' phones answer at once.
    pbx = SimPbx(extensions=["1001", "1002"], trunks=8, now=time.time())
    for number in (ANN, BEN):
        pbx.script_number(number, NumberScript(DialOutcome.ANSWERED, after=0.1))
    config = AcdConfig(queues=(QueueConfig("sales", wrap_up_s=0.0),),
                       agents={"alice": AgentProfile({"sales": 5}, "1001"), "bob": AgentProfile({"sales": 5}, "1002")})
    answered: dict[str, str] = {}  # call -> work item
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
    SmsGateway.seen, SmsGateway.keys = [], {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connector = MessageConnector(f"http://127.0.0.1:{server.server_address[1]}/sms", backoff_s=0.0)

    async def scenario() -> None:
        bus = InProcessBus()
        link = SimLink(pbx, realtime=True, tick=0.02)
        gateway = Gateway(link, bus)
        acd = AcdServer(bus, config, election=False)
        dialer = DialerService(bus, factory, interval_s=0.1)
        calls = await bus.subscribe(topics.calls("main"), qos=QOS_COMMAND)
        data: dict[str, int] = {}

        async def phones() -> None:
            async for envelope in calls:
                m = envelope.message
                if isinstance(m, CallEvent) and m.type == "call.data" and "work_item_id" in m.data.get("fields", {}):
                    data[m.call_id] = m.data["fields"]["work_item_id"]["value"]
                elif isinstance(m, CallEvent) and m.type == "call.alerting" and m.extension:
                    pbx.answer(m.call_id, m.extension)
                elif isinstance(m, CallEvent) and m.type == "call.answered" and m.extension:
                    answered[m.call_id] = str(data.get(m.call_id))

        tasks = [asyncio.create_task(phones())]
        try:
            await gateway.start()
            await link.connect()
            tasks.append(asyncio.create_task(gateway.run()))
            await acd.start()
            for agent in ("alice", "bob"):
                await bus.publish(topics.agent_events("main", agent),
                                  AgentState(agent_id=agent, state="ready", ts=time.time()), qos=QOS_COMMAND)
            await dialer.start()
            await until(lambda: len(answered) == 2 and dialer.attempts_recorded >= 2)
            for call_id in answered:
                pbx.hangup(call_id)  # the agents are free again: the dialer looks at the other numbers
            refused = {items[(CAL, "outbound_call")], items[(DOT, "outbound_call")]}
            await until(lambda: refused <= set(dialer.core.skip(time.time())))
            await until(lambda: not dialer.core.decided)  # kept in the database
        finally:
            await dialer.stop()
            await acd.stop()
            await link.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await bus.close()

    asyncio.run(scenario())
    assert sorted(answered.values()) == sorted(str(items[(n, "outbound_call")]) for n in (ANN, BEN)), \
        "the dialer called ANN and BEN only"

    # The agents wrap up as the desktop saves contacts: ANN takes the offer with an order, BEN does not.
    call_of = {int(item): call for call, item in answered.items()}
    with db.transaction(factory) as s:
        for number, disposition, result in ((ANN, "sale", "accepted"), (BEN, "no_sale", "not_interested")):
            item = items[(number, "outbound_call")]
            repository.save_contact(s, ContactRecord(
                client_ref=uuid.uuid4().hex, channel=Channel.VOICE_OUT, started_at=now,
                ended_at=now + timedelta(seconds=150), disposition=disposition, customer_id=ids[number],
                cti_call_id=call_of[item], work_item_id=item, wrap_up_s=30.0,
                orders=(OrderLine("Fibre 1000", Decimal("40.00")),) if result == "accepted" else (),
                offer_results=(OfferResult(item, result, "has fibre" if result == "not_interested" else None),)))

    # The dialer's next message round: the campaign's results closed ANN's and BEN's sms; CAL is on the
    # do-not-call list, which holds for calls, not messages; DOT is capped.
    try:
        sender = MessageSender(connector, factory)
        asyncio.run(sender.step())
    finally:
        connector.close()
        server.shutdown()
        server.server_close()
    assert [s["to"] for s in SmsGateway.seen] == [CAL] and sender.sent == 1

    # Results out, and the database behind them.
    out = tmp_path / "results.csv"
    assert main(["campaign", "export", "LOOP-2026", str(out), "--db", url]) == 0
    capsys.readouterr()
    rows = {int(r["work_item_id"]): r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    assert len(rows) == 15
    ann = rows[items[(ANN, "outbound_call")]]
    assert (ann["status"], ann["result"], ann["disposition"], ann["offer_result"], ann["order_value"],
            ann["talk_s"], ann["wrap_up_s"]) == ("completed", "accepted", "sale", "accepted", "40.00", "120", "30")
    assert ann["order_ids"] and rows[items[(ANN, "sms")]]["result"] == "sibling_closed"
    ben = rows[items[(BEN, "outbound_call")]]
    assert (ben["result"], ben["reason"], ben["disposition"]) == ("not_interested", "has fibre", "no_sale")
    assert rows[items[(CAL, "outbound_call")]]["refused_do_not_call"] == "1"
    assert rows[items[(CAL, "sms")]]["status"] == "completed" and rows[items[(CAL, "sms")]]["result"] == "sent"
    assert rows[items[(DOT, "outbound_call")]]["refused_frequency_cap"] == "1", "a 90-day cap counts 60 days back"
    assert rows[items[(DOT, "sms")]]["refused_frequency_cap"] == "1"
    for channel in ("outbound_call", "sms"):
        eve = rows[items[(EVE, channel)]]
        assert (eve["status"], eve["result"]) == ("cancelled", "sibling_closed")
    assert rows[items[(EVE, "inbound_offer")]]["order_value"] == "30.00"
    with factory() as s:
        dial = s.scalars(select(Attempt).where(Attempt.work_item_id == items[(ANN, "outbound_call")],
                                               Attempt.result == "answered")).one()
        assert dial.contact_id is not None and dial.cti_call_id == call_of[items[(ANN, "outbound_call")]]
        assert repository.customer_360(s, ids[CAL]).communications[0].channel == "sms"

    # Every number not dialled is explained.
    for number, rule in ((CAL, "do_not_call"), (DOT, "frequency_cap")):
        assert main(["campaign", "why", number, "--db", url]) == 0
        assert f"skipped ({rule})" in capsys.readouterr().out
    engine.dispose()
