"""Repository functions on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from crm import db, repository
from crm.errors import InvalidData, InvalidPhoneNumber, NotFound
from crm.models import (
    Account,
    Activity,
    Agent,
    Campaign,
    CampaignStatus,
    Channel,
    Communication,
    Contact,
    Customer,
    Order,
    PhoneNumber,
    ServiceRequest,
    Task,
    Tier,
    WorkItem,
    WorkItemStatus,
)
from crm.secrets import hash_secret

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def add_customer(engine: Engine, name: str, *numbers: str, account: str | None = None, tier: Tier = Tier.STANDARD,
                 pin: str | None = None) -> int:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name=name, tier=tier, language="en", time_zone="America/Los_Angeles")
        customer.phones = [PhoneNumber(e164=n, is_primary=i == 0) for i, n in enumerate(numbers)]
        if account:
            customer.accounts = [Account(account_number=account, balance=Decimal("12.50"),
                                         pin_hash=hash_secret(pin, n=2**10) if pin else None)]
        s.add(customer)
        s.flush()
        return customer.id


def add_campaign(engine: Engine, customer_id: int, *, status: CampaignStatus = CampaignStatus.ACTIVE,
                 ends_at: datetime | None = None, key: str = "Q4") -> int:
    with db.transaction(db.session_factory(engine)) as s:
        campaign = Campaign(campaign_key=key, name=f"Campaign {key}", status=status, script="Say hello",
                            starts_at=NOW - timedelta(days=1), ends_at=ends_at)
        activity = Activity(channel="inbound_offer")
        task = Task(name="inbound")
        activity.tasks = [task]
        campaign.activities = [activity]
        s.add(campaign)
        s.flush()
        item = WorkItem(task_id=task.id, activity_id=activity.id, customer_id=customer_id, offer="5G upgrade")
        s.add(item)
        s.flush()
        return item.id


@pytest.fixture
def factory(engine: Engine):
    return db.session_factory(engine)


@pytest.mark.parametrize("typed", ["+1 415-555-0100", "(415) 555 0100", "4155550100", "001 415 555 0100"])
def test_find_customer_by_any_phone_form(engine: Engine, factory, typed: str) -> None:
    cid = add_customer(engine, "Ada Lovelace", "+14155550100", "+442079460958")
    add_customer(engine, "Someone Else", "+14155550199")
    with factory() as s:
        found = repository.find_customers_by_phone(s, typed, "US")
    assert [c.id for c in found] == [cid]
    assert found[0].phones == ("+14155550100", "+442079460958")


def test_find_by_chinese_number_written_with_international_prefix(engine: Engine, factory) -> None:
    cid = add_customer(engine, "王伟", "+861012345678")
    with factory() as s:
        assert [c.id for c in repository.find_customers_by_phone(s, "0086 10 1234 5678", "US")] == [cid]


def test_shared_number_returns_every_customer(engine: Engine, factory) -> None:
    a = add_customer(engine, "Parent", "+14155550100")
    b = add_customer(engine, "Child", "+14155550100")
    with factory() as s:
        assert [c.id for c in repository.find_customers_by_phone(s, "415 555 0100")] == [a, b]


def test_unknown_and_invalid_numbers(engine: Engine, factory) -> None:
    with factory() as s:
        assert repository.find_customers_by_phone(s, "+1 415 555 0111") == []
        with pytest.raises(InvalidPhoneNumber):
            repository.find_customers_by_phone(s, "not a number")


def test_find_by_account(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100", account="10000042")
    with factory() as s:
        assert repository.find_customer_by_account(s, " 10000042 ").id == cid
        with pytest.raises(NotFound, match="no account '99999999'"):
            repository.find_customer_by_account(s, "99999999")
        with pytest.raises(NotFound, match="not an account number"):
            repository.find_customer_by_account(s, "'; DROP TABLE account; --")


def test_search_by_name_prefix_phone_or_account(engine: Engine, factory) -> None:
    ada = add_customer(engine, "Ada Lovelace", "+14155550100", account="10000042")
    add_customer(engine, "Alan Turing", "+14155550101")
    percent = add_customer(engine, "100% Fibre Ltd", "+14155550102")
    with factory() as s:
        assert [c.id for c in repository.search_customers(s, "Ada")] == [ada]
        assert [c.id for c in repository.search_customers(s, "(415) 555-0100")] == [ada]
        assert [c.id for c in repository.search_customers(s, "10000042")] == [ada]
        assert [c.id for c in repository.search_customers(s, "100%")] == [percent]
        assert repository.search_customers(s, "%") == []
        assert repository.search_customers(s, "  ") == []


def test_customer_360_gathers_everything_in_one_call(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100", account="10000042", tier=Tier.VIP)
    other = add_customer(engine, "Other", "+14155550101")
    item_id = add_campaign(engine, cid)
    add_campaign(engine, cid, key="OLD", ends_at=NOW - timedelta(hours=1))
    add_campaign(engine, cid, key="PAUSED", status=CampaignStatus.PAUSED)
    with db.transaction(factory) as s:
        s.add(Agent(login="alice", name="Alice"))
        s.flush()
        agent_id = s.scalar(select(Agent.id))
        for i in range(25):
            s.add(Contact(customer_id=cid, channel=Channel.VOICE_IN, started_at=NOW - timedelta(days=i),
                          agent_id=agent_id, disposition="resolved", summary=f"call {i}"))
        s.add(Contact(customer_id=other, channel=Channel.EMAIL, started_at=NOW))
        s.add_all([
            Order(customer_id=cid, product="Fibre", status="open"),
            Order(customer_id=cid, product="Old phone", status="completed"),
            ServiceRequest(customer_id=cid, category="technical", summary="No signal", status="in_progress"),
            ServiceRequest(customer_id=cid, category="billing", summary="Fixed", status="closed"),
            Communication(customer_id=cid, kind="bill", channel="email", subject="Bill", amount=Decimal("30.00"),
                          currency="USD", sent_at=NOW - timedelta(days=3)),
        ])
    with factory() as s:
        view = repository.customer_360(s, cid, now=NOW)
    assert view.profile.name == "Ada"
    assert view.profile.tier is Tier.VIP
    assert view.profile.accounts[0].account_number == "10000042"
    assert len(view.contacts) == repository.CONTACT_HISTORY
    assert [c.summary for c in view.contacts[:3]] == ["call 0", "call 1", "call 2"]
    assert view.contacts[0].agent == "Alice"
    assert [o.product for o in view.open_orders] == ["Fibre"]
    assert [r.summary for r in view.open_service_requests] == ["No signal"]
    assert [(o.work_item_id, o.campaign_key, o.script) for o in view.offers] == [(item_id, "Q4", "Say hello")]
    assert [m.subject for m in view.communications] == ["Bill"]
    with factory() as s, pytest.raises(NotFound):
        repository.customer_360(s, 999_999)


def test_contact_order_and_request_are_linked_to_contact_and_work_item(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100")
    item_id = add_campaign(engine, cid)
    with db.transaction(factory) as s:
        contact_id = repository.record_contact(
            s, channel=Channel.VOICE_IN, customer_id=cid, queue="sales", cti_call_id="sim-1",
            ivr_data={"intent": "new_service", "verified": True}, work_item_id=item_id,
        )
        order = repository.create_order(s, customer_id=cid, product="5G upgrade", amount=Decimal("30.00"),
                                         contact_id=contact_id, work_item_id=item_id)
        request = repository.create_service_request(s, customer_id=cid, category="technical",
                                                     summary="SIM swap", contact_id=contact_id)
        repository.close_contact(s, contact_id, disposition="order_placed", notes="Happy customer")
    with factory() as s:
        stored = s.get(Order, order.id)
        assert stored is not None and (stored.contact_id, stored.work_item_id) == (contact_id, item_id)
        assert s.get(ServiceRequest, request.id).contact_id == contact_id  # type: ignore[union-attr]
        contact = s.get(Contact, contact_id)
        assert contact is not None
        assert contact.disposition == "order_placed" and contact.ended_at is not None
        assert contact.ivr_data == {"intent": "new_service", "verified": True}
        view = repository.customer_360(s, cid)
    assert view.contacts[0].work_item_id == item_id
    assert [o.id for o in view.open_orders] == [order.id]


def test_links_to_another_customers_records_are_refused(engine: Engine, factory) -> None:
    ada = add_customer(engine, "Ada", "+14155550100")
    bob = add_customer(engine, "Bob", "+14155550101")
    bobs_item = add_campaign(engine, bob)
    with db.transaction(factory) as s:
        bobs_contact = repository.record_contact(s, channel=Channel.VOICE_IN, customer_id=bob)
    with factory() as s:
        with pytest.raises(InvalidData, match="another customer"):
            repository.create_order(s, customer_id=ada, product="x", work_item_id=bobs_item)
        with pytest.raises(InvalidData, match="another customer"):
            repository.create_service_request(s, customer_id=ada, category="c", summary="s",
                                              contact_id=bobs_contact)
        with pytest.raises(InvalidData):
            repository.create_order(s, customer_id=ada, product="x", quantity=0)
        with pytest.raises(NotFound):
            repository.create_order(s, customer_id=424242, product="x")


def test_a_failed_write_loses_nothing_already_written(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100")
    with db.transaction(factory) as s:
        repository.create_order(s, customer_id=cid, product="First")
    with pytest.raises(NotFound), db.transaction(factory) as s:
        repository.create_order(s, customer_id=cid, product="Second")
        repository.create_service_request(s, customer_id=cid, category="c", summary="s", contact_id=987654)
    with factory() as s:
        assert s.scalars(select(Order.product)).all() == ["First"]
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 0


def test_pin_and_agent_authentication(engine: Engine, factory) -> None:
    add_customer(engine, "Ada", "+14155550100", account="10000042", pin="4321")
    with db.transaction(factory) as s:
        s.add(Agent(login="alice", name="Alice", extension="1001", password_hash=hash_secret("s3cret", n=2**10)))
    with factory() as s:
        assert repository.verify_account_pin(s, "10000042", "4321")
        assert not repository.verify_account_pin(s, "10000042", "0000")
        assert not repository.verify_account_pin(s, "55555555", "4321")
        agent = repository.authenticate_agent(s, "alice", "s3cret")
        assert agent is not None and agent.extension == "1001"
        assert repository.authenticate_agent(s, "alice", "wrong") is None


def test_work_item_status_default(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100")
    item_id = add_campaign(engine, cid)
    with factory() as s:
        assert s.get(WorkItem, item_id).status is WorkItemStatus.PENDING  # type: ignore[union-attr]


def test_save_contact_writes_everything_once(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100")
    item_id = add_campaign(engine, cid)
    record = repository.ContactRecord(
        client_ref="desk-alice-0001", channel=Channel.VOICE_IN, started_at=NOW, ended_at=NOW + timedelta(minutes=4),
        disposition="order_placed", customer_id=cid, queue="sales", cti_call_id="sim-9",
        ivr_data={"intent": "new_service"}, notes="Wants fibre too", work_item_id=item_id,
        orders=(repository.OrderLine("5G upgrade", Decimal("30.00"), work_item_id=item_id),),
        requests=(repository.RequestLine("technical", "Check coverage at home"),),
        offer_results=(repository.OfferResult(item_id, "accepted"),),
    )
    with db.transaction(factory) as s:
        first = repository.save_contact(s, record)
    with db.transaction(factory) as s:
        again = repository.save_contact(s, record)
    assert again.already_saved and (again.contact_id, again.order_ids, again.request_ids) == (
        first.contact_id, first.order_ids, first.request_ids)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 1
        item = s.get_one(WorkItem, item_id)
        assert (item.status, item.result, item.attempt_count) == (WorkItemStatus.COMPLETED, "accepted", 1)
        order = s.get_one(Order, first.order_ids[0])
        assert (order.contact_id, order.work_item_id) == (first.contact_id, item_id)
        contact = s.get_one(Contact, first.contact_id)
        assert contact.disposition == "order_placed" and contact.ended_at == NOW + timedelta(minutes=4)


def test_save_contact_is_all_or_nothing(engine: Engine, factory) -> None:
    cid = add_customer(engine, "Ada", "+14155550100")
    bad = repository.ContactRecord(
        client_ref="desk-alice-0002", channel=Channel.VOICE_IN, started_at=NOW, ended_at=NOW,
        disposition="resolved", customer_id=cid, orders=(repository.OrderLine("Fibre"),),
        offer_results=(repository.OfferResult(424242, "accepted"),),
    )
    with pytest.raises(NotFound), db.transaction(factory) as s:
        repository.save_contact(s, bad)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
        assert s.scalar(select(func.count()).select_from(Order)) == 0
    with pytest.raises(InvalidData, match="needs a reason"), db.transaction(factory) as s:
        repository.record_offer_result(s, repository.OfferResult(add_campaign(engine, cid, key="X"), "not_interested"))


def _outbound_item(engine: Engine, customer_id: int, phone: str, *, hours: dict | None = None) -> int:
    with db.transaction(db.session_factory(engine)) as s:
        campaign = Campaign(campaign_key=f"OUT-{customer_id}", name="Outbound", script="Pitch it",
                            calling_hours=hours or {}, rules={"max_attempts": 2})
        activity = Activity(channel="outbound_call")
        task = Task(name="outbound")
        activity.tasks = [task]
        campaign.activities = [activity]
        s.add(campaign)
        s.flush()
        item = WorkItem(task_id=task.id, activity_id=activity.id, customer_id=customer_id, phone_e164=phone,
                        offer="Fibre")
        s.add(item)
        s.flush()
        return item.id


def test_preview_respects_do_not_call_hours_attempts_and_schedules(engine: Engine, factory) -> None:
    from crm.models import DoNotCall

    la = add_customer(engine, "Ada", "+14155550100")  # America/Los_Angeles
    item = _outbound_item(engine, la, "+14155550100", hours={"start": "09:00", "end": "20:00"})
    noon_la = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles
    night_la = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 22:00 in Los Angeles
    with factory() as s:
        preview = repository.next_preview_item(s, agent_id=None, now=noon_la)
        assert preview is not None and (preview.work_item_id, preview.phone) == (item, "+14155550100")
        assert repository.next_preview_item(s, agent_id=None, now=night_la) is None
        assert repository.next_preview_item(s, agent_id=None, now=noon_la, skip=(item,)) is None
    with db.transaction(factory) as s:
        repository.skip_work_item(s, item, reason="Customer is abroad", agent_id=None, now=noon_la)
    with factory() as s:
        assert repository.next_preview_item(s, agent_id=None, now=noon_la + timedelta(hours=1)) is None
        later = repository.next_preview_item(s, agent_id=None, now=noon_la + repository.SKIP_RETRY)
        assert later is not None and [a.result for a in later.attempts] == ["skipped"]
    with db.transaction(factory) as s:
        repository.record_dial_attempt(s, item, result="busy", agent_id=None, cti_call_id="sim-3", now=noon_la)
        repository.record_dial_attempt(s, item, result="no_answer", agent_id=None, cti_call_id="sim-4", now=noon_la)
    with factory() as s:
        assert repository.next_preview_item(s, agent_id=None, now=noon_la + timedelta(days=1)) is None  # max 2
    bob = add_customer(engine, "Bob", "+14155550101")
    other = _outbound_item(engine, bob, "+14155550101")
    with db.transaction(factory) as s:
        s.add(DoNotCall(e164="+14155550101", reason="asked"))
    with factory() as s:
        assert repository.next_preview_item(s, agent_id=None, now=noon_la + timedelta(days=1)) is None
    with db.transaction(factory) as s:
        s.execute(DoNotCall.__table__.delete())
        s.add(Agent(id=7, login="carol", name="Carol"))
        s.flush()
        repository.schedule_work_item(s, other, at=noon_la + timedelta(days=2), agent_id=7)
    with factory() as s:
        assert repository.next_preview_item(s, agent_id=None, now=noon_la + timedelta(days=3)) is None  # carol's
        mine = repository.next_preview_item(s, agent_id=7, now=noon_la + timedelta(days=3))
        assert mine is not None and mine.work_item_id == other


def test_calling_hours_follow_the_customers_time_zone_and_days() -> None:
    hours = {"start": "09:00", "end": "20:00", "days": [0, 1, 2, 3, 4]}
    monday_noon_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert repository.within_calling_hours(hours, "Europe/London", monday_noon_utc)
    assert not repository.within_calling_hours(hours, "Asia/Tokyo", monday_noon_utc)  # 21:00 there
    assert not repository.within_calling_hours(hours, "Europe/London", monday_noon_utc - timedelta(days=1))  # Sun
    assert not repository.within_calling_hours(hours, "Mars/Olympus", monday_noon_utc)
    assert repository.within_calling_hours({}, "Mars/Olympus", monday_noon_utc)


def test_a_preview_dial_waits_the_campaigns_retry_delay_for_its_outcome(engine: Engine, factory) -> None:
    ada = add_customer(engine, "Ada", "+14155550100")
    item = _outbound_item(engine, ada, "+14155550100")
    with db.transaction(factory) as s:
        s.get_one(WorkItem, item).activity.campaign.rules = {"max_attempts": 5, "retry": {"busy": 60}}
    with db.transaction(factory) as s:
        repository.record_dial_attempt(s, item, result="busy", agent_id=None, cti_call_id="sim-1", now=NOW)
    with factory() as s:
        assert s.get_one(WorkItem, item).next_attempt_at == NOW + timedelta(seconds=60)
        assert repository.next_preview_item(s, agent_id=None, now=NOW + timedelta(seconds=59)) is None
        assert repository.next_preview_item(s, agent_id=None, now=NOW + timedelta(seconds=60)) is not None
    with db.transaction(factory) as s:  # an outcome the plan does not name keeps the product's default (1 h)
        repository.record_dial_attempt(s, item, result="no_answer", agent_id=None, cti_call_id="sim-2", now=NOW)
        assert s.get_one(WorkItem, item).next_attempt_at == NOW + timedelta(hours=1)


def test_a_promised_callback_comes_back_whatever_the_attempts_so_far(engine: Engine, factory) -> None:
    ada = add_customer(engine, "Ada", "+14155550100")
    with db.transaction(factory) as s:
        s.add(Agent(id=7, login="carol", name="Carol"))
        s.flush()
        callback = repository.schedule_callback(s, customer_id=ada, at=NOW, agent_id=7)
        for n in range(4):  # more than the default of three attempts
            repository.record_dial_attempt(s, callback, result="no_answer", agent_id=7, cti_call_id=f"sim-{n}",
                                           now=NOW)
        repository.schedule_callback(s, customer_id=ada, at=NOW + timedelta(days=1), agent_id=7)
    with factory() as s:
        due = repository.next_preview_item(s, agent_id=7, now=NOW + timedelta(days=1))
        assert due is not None and (due.work_item_id, due.campaign_key) == (callback, repository.CALLBACKS_CAMPAIGN)
        assert len(due.attempts) == 4
    # An ordinary campaign item stops at the default of three attempts.
    bob = add_customer(engine, "Bob", "+14155550101")
    item = _outbound_item(engine, bob, "+14155550101")
    with db.transaction(factory) as s:
        s.get_one(WorkItem, item).activity.campaign.rules = {}
        for n in range(3):
            repository.record_dial_attempt(s, item, result="busy", agent_id=None, cti_call_id=f"b-{n}", now=NOW)
    with factory() as s:
        assert repository.next_preview_item(s, agent_id=None, now=NOW + timedelta(days=1)) is None
