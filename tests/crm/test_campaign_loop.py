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
