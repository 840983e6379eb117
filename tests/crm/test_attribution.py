"""Attribution and one contact policy: orders, service requests and offer results land on the work item
being worked, with its attempt and contact; a result on one channel closes the campaign's other work items
for the customer; an answered dialer call never wrapped up is closed, not redialled. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from bus.transport import InProcessBus
from crm import db, repository
from crm.campaigns.results import export_results
from crm.errors import InvalidData
from crm.models import (
    Activity,
    Attempt,
    Campaign,
    Channel,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    ServiceRequest,
    Task,
    WorkItem,
    WorkItemStatus,
)
from crm.repository import ContactRecord, OfferResult, OrderLine, RequestLine
from routing.dialer_service import DialerService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PHONE = "+14155550100"


def add_items(engine: Engine, customer_id: int, key: str, channels: tuple[str, ...], *, priority: int = 0,
              dial_mode: str = "progressive") -> dict[str, int]:
    """A campaign with one activity per channel, each with a work item for the customer."""
    with db.transaction(db.session_factory(engine)) as s:
        campaign = Campaign(campaign_key=key, name=f"Campaign {key}", starts_at=NOW - timedelta(days=1),
                            dial_mode=dial_mode, rules={"queue": "sales"})
        s.add(campaign)
        items = {}
        for channel in channels:
            task = Task(name=channel)
            activity = Activity(channel=channel, tasks=[task])
            campaign.activities.append(activity)
            s.flush()
            item = WorkItem(task_id=task.id, activity_id=activity.id, customer_id=customer_id, offer=f"{key} offer",
                            priority=priority, phone_e164=PHONE if channel == "outbound_call" else None)
            s.add(item)
            s.flush()
            items[channel] = item.id
        return items


@pytest.fixture
def factory(engine: Engine):
    return db.session_factory(engine)


@pytest.fixture
def customer_id(factory) -> int:
    with db.transaction(factory) as s:
        customer = Customer(name="Ada Lovelace", phones=[PhoneNumber(e164=PHONE, is_primary=True)])
        s.add(customer)
        s.flush()
        return customer.id


def dialer_answered(factory, work_item_id: int, call_id: str, at: datetime = NOW) -> None:
    with db.transaction(factory) as s:
        repository.record_outbound_attempt(s, work_item_id, result="answered", cti_call_id=call_id, started_at=at,
                                           ended_at=at, next_attempt_at=at + timedelta(days=1))


def record(customer_id: int, **kw: object) -> ContactRecord:
    values: dict[str, object] = dict(client_ref=uuid.uuid4().hex, channel=Channel.VOICE_OUT,
                                     started_at=NOW, ended_at=NOW + timedelta(minutes=3), disposition="sale",
                                     customer_id=customer_id, agent_id=None, cti_call_id="call-1")
    values.update(kw)
    return ContactRecord(**values)  # type: ignore[arg-type]


def test_a_dialer_calls_order_and_request_land_on_its_own_work_item_attempt_and_contact(
        engine: Engine, factory, customer_id: int) -> None:
    a = add_items(engine, customer_id, "A", ("outbound_call",))["outbound_call"]
    b = add_items(engine, customer_id, "B", ("inbound_offer",), priority=9)["inbound_offer"]  # offered first
    dialer_answered(factory, a, "call-1")
    with db.transaction(factory) as s:
        assert repository.customer_360(s, customer_id).offers[0].work_item_id == b
        saved = repository.save_contact(s, record(
            customer_id, work_item_id=a, orders=(OrderLine("Fibre", Decimal("40.00")),),
            requests=(RequestLine("technical", "Router check"),), offer_results=(OfferResult(a, "accepted"),)))
    with factory() as s:
        dial = s.scalars(select(Attempt).where(Attempt.work_item_id == a, Attempt.result == "answered")).one()
        assert dial.contact_id == saved.contact_id, "the dialer's dial is tied to the contact"
        order = s.get_one(Order, saved.order_ids[0])
        request = s.get_one(ServiceRequest, saved.request_ids[0])
        for made in (order, request):
            assert (made.work_item_id, made.attempt_id, made.contact_id) == (a, dial.id, saved.contact_id)
        assert s.get_one(Contact, saved.contact_id).work_item_id == a
        assert s.get_one(WorkItem, b).status is WorkItemStatus.PENDING, "another campaign's offer is untouched"
        out, per_attempt = io.StringIO(), io.StringIO()
        export_results(s, "A", out)
        export_results(s, "A", per_attempt, attempts=True)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert [(r["order_ids"], r["service_request_ids"], r["result"]) for r in rows] == [
        (str(order.id), str(request.id), "accepted")]
    rows = list(csv.DictReader(io.StringIO(per_attempt.getvalue().lstrip("\ufeff"))))
    assert [(r["result"], r["contact_id"], r["order_ids"], r["service_request_ids"]) for r in rows] == [
        ("answered", str(saved.contact_id), str(order.id), str(request.id)),
        ("offer_accepted", str(saved.contact_id), "", "")]


def test_an_order_for_an_offer_without_a_result_gets_an_offer_made_attempt(
        engine: Engine, factory, customer_id: int) -> None:
    b = add_items(engine, customer_id, "B", ("inbound_offer",))["inbound_offer"]
    with db.transaction(factory) as s:
        saved = repository.save_contact(s, record(customer_id, channel=Channel.VOICE_IN, work_item_id=b,
                                                  orders=(OrderLine("TV"),)))
    with factory() as s:
        attempt = s.scalars(select(Attempt).where(Attempt.work_item_id == b)).one()
        assert (attempt.result, attempt.contact_id) == (repository.OFFER_MADE, saved.contact_id)
        assert s.get_one(Order, saved.order_ids[0]).attempt_id == attempt.id


def test_a_result_for_each_offer_shown(engine: Engine, factory, customer_id: int) -> None:
    a = add_items(engine, customer_id, "A", ("inbound_offer",))["inbound_offer"]
    b = add_items(engine, customer_id, "B", ("inbound_offer",))["inbound_offer"]
    with db.transaction(factory) as s:
        repository.save_contact(s, record(customer_id, channel=Channel.VOICE_IN, work_item_id=None, offer_results=(
            OfferResult(a, "accepted"), OfferResult(b, "not_interested", "Has TV"))))
    with factory() as s:
        assert [(i.result, i.reason, i.status) for i in (s.get_one(WorkItem, a), s.get_one(WorkItem, b))] == [
            ("accepted", None, WorkItemStatus.COMPLETED), ("not_interested", "Has TV", WorkItemStatus.COMPLETED)]


def test_an_attempt_of_another_work_item_is_refused(engine: Engine, factory, customer_id: int) -> None:
    items = add_items(engine, customer_id, "A", ("outbound_call", "inbound_offer"))
    dialer_answered(factory, items["outbound_call"], "call-9")
    with db.transaction(factory) as s:
        attempt = s.scalars(select(Attempt.id)).one()
        with pytest.raises(InvalidData, match="not an attempt of work item"):
            repository.create_order(s, customer_id=customer_id, product="TV", work_item_id=items["inbound_offer"],
                                    attempt_id=attempt)


@pytest.mark.parametrize(("result", "closes"), [("accepted", True), ("declined", True), ("not_interested", True),
                                                ("callback", False)])
def test_a_result_on_one_channel_closes_the_campaigns_other_work_items(
        engine: Engine, factory, customer_id: int, result: str, closes: bool) -> None:
    items = add_items(engine, customer_id, "C", ("outbound_call", "inbound_offer", "sms"))
    other = add_items(engine, customer_id, "D", ("outbound_call",))["outbound_call"]
    with factory() as s:
        campaign_id = s.scalar(select(Campaign.id).where(Campaign.campaign_key == "C"))
        assert [c.work_item_id for c in repository.dial_candidates(s, campaign_id, now=NOW)] == [
            items["outbound_call"]]
    with db.transaction(factory) as s:
        repository.save_contact(s, record(customer_id, channel=Channel.VOICE_IN, work_item_id=items["inbound_offer"],
                                          offer_results=(OfferResult(items["inbound_offer"], result, "why"),)))
    with factory() as s:
        siblings = [s.get_one(WorkItem, items[c]) for c in ("outbound_call", "sms")]
        if closes:
            assert {(i.status, i.result) for i in siblings} == {(WorkItemStatus.CANCELLED, repository.SIBLING_CLOSED)}
            assert siblings[0].reason == f"{result} on work item {items['inbound_offer']} (inbound_offer)"
            assert repository.dial_candidates(s, campaign_id, now=NOW) == [], "off the dial list"
        else:
            assert {i.status for i in siblings} == {WorkItemStatus.PENDING}
        assert s.get_one(WorkItem, other).status is WorkItemStatus.PENDING, "other campaigns are not closed"


def test_an_answered_call_never_wrapped_up_is_closed_after_the_bound(engine: Engine, factory, customer_id: int) -> None:
    old = add_items(engine, customer_id, "OLD", ("outbound_call",))["outbound_call"]
    saved = add_items(engine, customer_id, "SAVED", ("outbound_call",))["outbound_call"]
    recent = add_items(engine, customer_id, "RECENT", ("outbound_call",))["outbound_call"]
    dialer_answered(factory, old, "c-old", NOW - timedelta(hours=3))
    dialer_answered(factory, saved, "c-saved", NOW - timedelta(hours=3))
    dialer_answered(factory, recent, "c-recent", NOW - timedelta(minutes=30))
    with db.transaction(factory) as s:  # wrapped up with a disposition but no offer result
        repository.save_contact(s, record(customer_id, work_item_id=saved, cti_call_id="c-saved",
                                          started_at=NOW - timedelta(hours=3)))
    clock = NOW.timestamp()
    service = DialerService(InProcessBus(), factory, "main", clock=lambda: clock)
    assert asyncio.run(service.close_undisposed()) == 1
    assert service.core.counts["OLD"].by_result == {repository.NO_DISPOSITION: 1}
    with factory() as s:
        item = s.get_one(WorkItem, old)
        assert (item.status, item.result, item.next_attempt_at) == (
            WorkItemStatus.FAILED, repository.NO_DISPOSITION, None)
        assert item.reason == "answered, no disposition recorded within 2 h"
        assert {s.get_one(WorkItem, i).result for i in (saved, recent)} == {"answered"}
        campaign_id = s.scalar(select(Campaign.id).where(Campaign.campaign_key == "OLD"))
        assert repository.dial_candidates(s, campaign_id, now=NOW + timedelta(days=2)) == [], "never redialled"
    clock = (NOW + timedelta(hours=2)).timestamp()  # the recent one's bound passes too
    assert asyncio.run(service.close_undisposed()) == 1
    with pytest.raises(ValueError, match="positive"):
        DialerService(InProcessBus(), factory, "main", no_disposition_after_s=0)
