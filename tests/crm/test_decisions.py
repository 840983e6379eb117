"""Every dial decision kept and explained (``ccenter campaign why``), purged after its retention; the export
carries what BI measures: disposition, offer result, order values, talk and wrap-up seconds, refusals by
rule. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from bus.messages import QueueStats
from bus.transport import InProcessBus
from ccenter.cli import main
from crm import db, repository
from crm.campaigns.results import RESULT_COLUMNS, export_results
from crm.models import (
    Activity,
    Campaign,
    Channel,
    Customer,
    DialDecision,
    DoNotCall,
    PhoneNumber,
    Task,
    WorkItem,
)
from crm.repository import ContactRecord, OfferResult, OrderLine
from routing.dialer_service import DialerService

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday afternoon
LISTED, FREE, NIGHT = "+14155550111", "+14155550112", "+81312345678"


def seed(engine: Engine) -> dict[str, int]:
    with db.transaction(db.session_factory(engine)) as s:
        campaign = Campaign(campaign_key="WHY", name="Why", dial_mode="progressive", starts_at=NOW - timedelta(days=1),
                            rules={"queue": "sales"}, calling_hours={"start": "09:00", "end": "20:00"})
        task = Task(name="outbound")
        activity = Activity(channel="outbound_call", tasks=[task])
        campaign.activities = [activity]
        s.add(campaign)
        s.add(DoNotCall(e164=LISTED, reason="asked", source="wrap-up"))
        items = {}
        for number, zone in ((LISTED, "America/Los_Angeles"), (FREE, "America/Los_Angeles"), (NIGHT, "Asia/Tokyo")):
            customer = Customer(name=number, time_zone=zone, phones=[PhoneNumber(e164=number)])
            s.add(customer)
            s.flush()
            item = WorkItem(task=task, activity=activity, customer_id=customer.id, phone_e164=number, offer="Fibre")
            s.add(item)
            s.flush()
            items[number] = item.id
        return items


def test_every_decision_is_kept_explained_and_purged(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    items = seed(engine)
    factory = db.session_factory(engine)
    clock = NOW.timestamp()  # 07:00 in California (before its hours), midnight in Tokyo
    clock += 3 * 3600  # 10:00 in California
    service = DialerService(InProcessBus(), factory, "main", clock=lambda: clock)

    async def run() -> None:
        await service.refresh()
        service.core.on_stats(QueueStats(queue="sales", ts=clock, agents_ready=3))
        await service.step()
        await service.step()  # refused items are not looked at again (nor recorded) before their time

    asyncio.run(run())
    with factory() as s:
        kept = {(d.work_item_id, d.dialled, d.rule) for d in s.scalars(select(DialDecision))}
        assert kept == {(items[LISTED], False, "do_not_call"), (items[FREE], True, "eligible"),
                        (items[NIGHT], False, "calling_hours")}
        night = repository.decisions(s, work_item_id=items[NIGHT])[0]
        assert night.retry_at is not None and night.retry_at.astimezone(UTC).hour == 0  # 09:00 in Tokyo

    url = engine.url.render_as_string(hide_password=False)
    assert main(["campaign", "why", LISTED, "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"WHY  work item {items[LISTED]}  {LISTED}  skipped (do_not_call): the number is on the do-not-call list" \
        in out
    assert main(["campaign", "why", str(items[NIGHT]), "--db", url]) == 0
    assert "skipped (calling_hours): outside the customer's local calling hours; may be eligible from" in \
        capsys.readouterr().out
    assert main(["campaign", "why", "WHY", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("campaign WHY (progressive): 3 open work items to dial")
    assert main(["campaign", "why", "nobody-at-all", "--db", url]) == 1
    assert "is no campaign, work item or phone number" in capsys.readouterr().err

    # The export counts the refusals by rule.
    with factory() as s:
        buffer = io.StringIO()
        export_results(s, "WHY", buffer)
    rows = {int(r["work_item_id"]): r for r in csv.DictReader(io.StringIO(buffer.getvalue().lstrip("\ufeff")))}
    assert rows[items[LISTED]]["refused_do_not_call"] == "1" and rows[items[NIGHT]]["refused_calling_hours"] == "1"
    assert rows[items[FREE]]["refused_do_not_call"] == "0"

    # Retention: the dialer purges what is older than its period; the command does it by hand.
    later = DialerService(InProcessBus(), factory, "main", clock=lambda: clock + 91 * 86400)
    assert asyncio.run(later.purge_decisions()) == 3
    with db.transaction(factory) as s:
        repository.record_dial_decisions(s, [repository.DialDecisionRecord(
            datetime.now(UTC) - timedelta(days=10), "WHY", items[FREE], FREE, True, "eligible", "eligible")])
    assert main(["campaign", "purge-decisions", "--older-than", "30", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("purged 0 dial decisions")
    assert main(["campaign", "purge-decisions", "--older-than", "5", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("purged 1 dial decisions")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(DialDecision)) == 0


def test_the_export_row_has_disposition_offer_result_order_values_and_talk_and_wrap_up_seconds(
        engine: Engine) -> None:
    items = seed(engine)
    factory = db.session_factory(engine)
    item = items[FREE]
    with factory() as s:
        customer_id = s.get_one(WorkItem, item).customer_id
    with db.transaction(factory) as s:
        repository.record_outbound_attempt(s, item, result="answered", cti_call_id="c-1", started_at=NOW,
                                           ended_at=NOW, next_attempt_at=None)
        repository.save_contact(s, ContactRecord(
            client_ref=uuid.uuid4().hex, channel=Channel.VOICE_OUT, started_at=NOW,
            ended_at=NOW + timedelta(seconds=200), disposition="sale", customer_id=customer_id, cti_call_id="c-1",
            work_item_id=item, wrap_up_s=35.0,
            orders=(OrderLine("Fibre", Decimal("40.00")), OrderLine("Router", Decimal("9.50"))),
            offer_results=(OfferResult(item, "accepted"),)))
    with factory() as s:
        buffer = io.StringIO()
        export_results(s, "WHY", buffer)
    reader = csv.DictReader(io.StringIO(buffer.getvalue().lstrip("\ufeff")))
    assert tuple(reader.fieldnames or ()) == RESULT_COLUMNS
    row = next(r for r in reader if int(r["work_item_id"]) == item)
    assert {k: row[k] for k in ("disposition", "offer_result", "order_count", "order_value", "order_currency",
                                "contacts", "talk_s", "wrap_up_s")} == {
        "disposition": "sale", "offer_result": "accepted", "order_count": "2", "order_value": "49.50",
        "order_currency": "USD", "contacts": "1", "talk_s": "165", "wrap_up_s": "35"}


def test_the_agents_preview_keeps_its_decisions_for_why(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    items = seed(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        s.scalars(select(Campaign)).one().dial_mode = "preview"
    at = NOW + timedelta(hours=3)  # 10:00 in California, 03:00 in Tokyo
    with db.transaction(factory) as s:
        shown = repository.next_preview_item(s, agent_id=None, now=at)
        assert shown is not None and shown.work_item_id == items[FREE]
    for _ in range(2):  # the agent passes on it; NIGHT is refused, and written once while the refusal stands
        with db.transaction(factory) as s:
            assert repository.next_preview_item(s, agent_id=None, now=at, skip=(items[FREE],)) is None
    with factory() as s:
        kept = sorted((d.work_item_id, d.dialled, d.rule) for d in s.scalars(select(DialDecision)))
    assert kept == sorted([(items[FREE], True, "eligible"), (items[NIGHT], False, "calling_hours")])
    url = engine.url.render_as_string(hide_password=False)
    assert main(["campaign", "why", NIGHT, "--db", url]) == 0
    assert "skipped (calling_hours): preview: outside the customer's local calling hours" in capsys.readouterr().out
    assert main(["campaign", "why", str(items[FREE]), "--db", url]) == 0
    assert "offered in the preview of an agent" in capsys.readouterr().out


def test_the_supervisors_campaign_panel_says_why_idle_from_the_latest_decisions(engine: Engine) -> None:
    from crm.supervision import campaign_overview

    items = seed(engine)
    factory = db.session_factory(engine)
    at = NOW + timedelta(hours=3)
    with factory() as s:
        [row] = campaign_overview(s, now=at)
    assert row.idle_reason is None and row.last_decision is None  # nothing decided yet: it may dial
    with db.transaction(factory) as s:  # the dialer refused every item it looked at in the last hour
        repository.record_dial_decisions(s, [
            repository.DialDecisionRecord(at - timedelta(minutes=30), "WHY", items[LISTED], LISTED, False,
                                          "do_not_call", "the number is on the do-not-call list"),
            repository.DialDecisionRecord(at - timedelta(minutes=20), "WHY", items[NIGHT], NIGHT, False,
                                          "calling_hours", "outside the customer's local calling hours"),
            repository.DialDecisionRecord(at - timedelta(minutes=10), "WHY", items[FREE], FREE, False,
                                          "calling_hours", "outside the customer's local calling hours"),
            repository.DialDecisionRecord(at - timedelta(hours=5), "WHY", items[FREE], FREE, True,
                                          "eligible", "eligible"),  # older than the hour: not counted
        ])
    with factory() as s:
        [row] = campaign_overview(s, now=at)
    assert row.idle_reason == "refused_calling_hours"
    assert row.last_decision == (f"{(at - timedelta(minutes=10)):%Y-%m-%d %H:%M} work item {items[FREE]} {FREE} "
                                 "skipped (calling_hours): outside the customer's local calling hours")
    with db.transaction(factory) as s:  # one dialled since: it is dialling again
        repository.record_dial_decisions(s, [repository.DialDecisionRecord(
            at - timedelta(minutes=1), "WHY", items[FREE], FREE, True, "eligible", "eligible")])
    with factory() as s:
        [row] = campaign_overview(s, now=at)
    assert row.idle_reason is None and row.last_decision is not None and " dialled: " in row.last_decision
