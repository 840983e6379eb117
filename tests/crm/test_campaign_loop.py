"""The campaign loop's remaining leaks: a dial that ends after its item was closed keeps it closed, the
customer's offers show one row per campaign. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from crm import db, repository
from crm.models import Attempt, Channel, WorkItem, WorkItemStatus
from crm.repository import OfferResult

from .test_attribution import NOW, add_items, customer_id, factory, record  # noqa: F401  (fixtures)


def test_a_dial_ending_after_a_sibling_closed_its_item_does_not_reopen_it(
        engine: Engine, factory, customer_id: int) -> None:  # noqa: F811
    items = add_items(engine, customer_id, "C", ("outbound_call", "inbound_offer"))
    # The dialer rings the customer; meanwhile they accept on an inbound call.
    with db.transaction(factory) as s:
        repository.save_contact(s, record(customer_id, channel=Channel.VOICE_IN, work_item_id=items["inbound_offer"],
                                          offer_results=(OfferResult(items["inbound_offer"], "accepted"),)))
    with db.transaction(factory) as s:
        repository.record_outbound_attempt(s, items["outbound_call"], result="no_answer", cti_call_id="d-1",
                                           started_at=NOW, ended_at=NOW, next_attempt_at=NOW + timedelta(hours=1))
    with factory() as s:
        item = s.get_one(WorkItem, items["outbound_call"])
        assert (item.status, item.result, item.next_attempt_at) == (
            WorkItemStatus.CANCELLED, repository.SIBLING_CLOSED, None)
        assert item.attempt_count == 1, "the dial is counted"
        assert s.scalars(select(Attempt.result).where(Attempt.work_item_id == item.id)).all() == ["no_answer"]


def test_the_offers_list_shows_one_row_per_campaign(engine: Engine, factory, customer_id: int) -> None:  # noqa: F811
    a = add_items(engine, customer_id, "A", ("outbound_call", "inbound_offer", "sms"))
    b = add_items(engine, customer_id, "B", ("outbound_call",), priority=5)
    with factory() as s:
        offers = repository.customer_360(s, customer_id).offers
    assert [(o.campaign_key, o.work_item_id, o.channel) for o in offers] == [
        ("B", b["outbound_call"], "outbound_call"), ("A", a["inbound_offer"], "inbound_offer")]


def test_a_caller_who_gets_through_has_their_requested_callback_closed(engine: Engine) -> None:
    import uuid

    from crm.repository import ContactRecord

    sessions = db.session_factory(engine)
    number = "+14155550177"
    with db.transaction(sessions) as s:
        item = repository.request_callback(s, call_id="ivr-1", number=number, source="ivr", requested_at=NOW)
        customer = s.get_one(WorkItem, item).customer_id

    def called_in(at_minutes: int, call_id: str) -> None:
        with db.transaction(sessions) as s:
            repository.save_contact(s, ContactRecord(
                client_ref=uuid.uuid4().hex, channel=Channel.VOICE_IN, customer_id=customer, cti_call_id=call_id,
                started_at=NOW + timedelta(minutes=at_minutes), ended_at=NOW + timedelta(minutes=at_minutes + 3),
                disposition="resolved"))

    def state() -> tuple[WorkItemStatus, str | None, list[str]]:
        with sessions() as s:
            work = s.get_one(WorkItem, item)
            results = list(s.scalars(select(Attempt.result).where(Attempt.work_item_id == item).order_by(Attempt.id)))
            return work.status, work.result, results

    def due() -> list[int]:
        with sessions() as s:
            [campaign] = [c for c in repository.dialer_campaigns(s, now=NOW + timedelta(minutes=30))
                          if c.campaign_key == repository.CALLBACKS_CAMPAIGN]
            return [c.work_item_id for c in repository.dial_candidates(s, campaign.campaign_id,
                                                                       now=NOW + timedelta(minutes=30))]

    assert due() == [item]
    called_in(10, "in-2")  # the caller calls again and an agent takes the call: no call back
    assert state() == (WorkItemStatus.COMPLETED, repository.CALLED_IN,
                       [repository.CALLBACK_REQUESTED, repository.CALLED_IN])
    assert due() == []
    with sessions() as s:
        closing = s.scalars(select(Attempt).where(Attempt.work_item_id == item, Attempt.result == repository.CALLED_IN)
                            ).one()
        assert closing.cti_call_id == "in-2" and closing.contact_id is not None

    # A new promise on a later call stands; a contact that began before it does not close it.
    with db.transaction(sessions) as s:
        assert repository.request_callback(s, call_id="ivr-3", number=number, source="queue",
                                           requested_at=NOW + timedelta(minutes=20)) == item
    called_in(15, "in-4")  # saved late (the agent's outbox), but the call was before the new promise
    assert state()[0] is WorkItemStatus.PENDING and due() == [item]
