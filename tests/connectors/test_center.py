"""The desktop's data through ``ccenter api`` (production): same answers as in process, the agent's own
token and scope, and contacts kept locally while the server is away, then written once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agent_desktop.customer_window import CustomerDirectory
from agent_desktop.outbox import ContactOutbox
from bench._ports import free_port as _free_port
from connectors.center import ApiUnavailable, CenterDirectory, NotAllowed
from crm import db, repository
from crm.models import Channel
from crm.repository import ContactRecord, OrderLine
from crm.workflows import Subject
from tests.api.conftest import seed, serve


@pytest.fixture
def center(engine: Engine) -> Iterator[tuple[str, dict[str, int]]]:
    _tokens, customers = seed(engine)
    from api.app import create_app

    for url in serve(create_app(db.session_factory(engine))):
        yield url, customers



def test_the_agent_logs_in_with_their_own_password_and_sees_what_the_database_says(
        engine: Engine, center: tuple[str, dict[str, int]]) -> None:
    url, customers = center
    remote = CenterDirectory(url)
    assert remote.authenticate("ann", "wrong") is None
    with pytest.raises(NotAllowed):
        remote.search("Wei")  # no token yet
    agent = remote.authenticate("ann", "ann-pass")
    assert agent is not None and (agent.login, agent.extension) == ("ann", "1001")
    local = CustomerDirectory(db.session_factory(engine))
    assert remote.find_by_phone("+14155550101") == local.find_by_phone("+14155550101")
    assert remote.search("Wei") == local.search("Wei")
    assert remote.load(customers["standard"]) == local.load(customers["standard"])
    assert remote.transfer_targets() == local.transfer_targets()
    assert remote.queue_dispositions() == local.queue_dispositions()
    assert remote.next_preview(agent.id) is None
    with pytest.raises(NotAllowed):
        remote.load(customers["vip"])  # a VIP is not for an agent without the vip skill
    new_id = remote.create_customer("Walk In", "+14155550177")
    assert [c.id for c in local.find_by_phone("+14155550177")] == [new_id]
    remote.close()


@pytest.mark.expect_log("WARNING", "agent_desktop.outbox", match="kept locally: the server .* does not answer")
def test_a_contact_waits_while_the_server_is_away_and_is_written_once_when_it_is_back(
        engine: Engine, center: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    url, customers = center
    remote = CenterDirectory(url)
    agent = remote.authenticate("ann", "ann-pass")
    assert agent is not None
    remote.base_url = f"http://127.0.0.1:{_free_port()}"  # the server is away
    outbox = ContactOutbox(None, tmp_path / "outbox-ann.jsonl", write=remote.save_contact)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    record = ContactRecord(client_ref="ref-1", channel=Channel.VOICE_IN, started_at=now, ended_at=now,
                           disposition="order_placed", customer_id=customers["standard"], agent_id=agent.id,
                           orders=(OrderLine("FIBRE-500", Decimal("39.90")),))
    with pytest.raises(ApiUnavailable):
        remote.save_contact(record)
    assert outbox.save(record) is None
    assert outbox.pending == 1
    remote.base_url = url  # back
    assert outbox.flush() == 1 and outbox.pending == 0
    assert outbox.flush() == 0
    view = remote.load(customers["standard"])
    [order] = view.open_orders
    assert (order.product, order.state) == ("FIBRE-500", "submitted")
    status = remote.workflow(Subject.ORDER, order.id)
    assert [h.actor_name for h in status.history] == ["ann"]
    assert status.delivery == "pending"
    assert [s.transition for s in status.next_steps] == ["cancel"]
    local = CustomerDirectory(db.session_factory(engine))
    assert local.workflow(Subject.ORDER, order.id) == status
    cancelled = remote.move(Subject.ORDER, order.id, "cancel", {"reason": "changed mind"})
    assert (cancelled.state, cancelled.history[-1].fields) == ("failed", {"reason": "changed mind"})
    assert cancelled.history[-1].actor_name == "ann"
    assert local.workflow(Subject.ORDER, order.id).history == cancelled.history
    with db.session_factory(engine)() as s:
        assert len(repository.pending_messages(s)) == 1
    remote.close()


def test_the_live_bill_and_products_come_from_the_back_end_and_a_dead_one_is_said_at_once(
        engine: Engine, tmp_path: Path) -> None:
    from api.app import create_app
    from connectors.boss import OrderSystem
    from connectors.config import parse_connector
    from tests.helpers.boss import TestBoss

    _tokens, customers = seed(engine)
    boss = TestBoss().start()
    boss.bills["ACC-1001"] = {"balance": {"value": "-5.00", "currency": "USD"}, "due": {"value": "39.90"},
                              "items": [{"label": "Fibre 500", "amount": "39.90"}]}
    boss.assets["ACC-1001"] = [
        {"type": "line", "label": "Mobile line", "msisdn": "+14155550101", "state": "active",
         "commitment": {"until": "2027-06-30"}},
        {"type": "device", "label": "Router AX3000", "state": "shipped"},
        {"type": "plan"},  # no name: not shown
    ]
    orders = OrderSystem(parse_connector("boss", boss.connector_table(retries=0, breaker_threshold=1,
                                                                      breaker_cool_down_s=60)))
    try:
        for url in serve(create_app(db.session_factory(engine), orders=orders)):
            desk = CenterDirectory(url)
            assert desk.authenticate("ann", "ann-pass") is not None
            bill = desk.live_bill(customers["standard"])
            assert (bill.balance, bill.amount_due, [line.label for line in bill.lines]) == (
                Decimal("-5.00"), Decimal("39.90"), ["Fibre 500"])
            products = desk.products(customers["standard"])
            assert [(p.kind, p.name, p.identifier, p.contract_end) for p in products] == [
                ("line", "Mobile line", "+14155550101", "2027-06-30"), ("device", "Router AX3000", None, None)]
            with pytest.raises(NotAllowed):
                desk.products(customers["vip"])
            boss.stop()
            with pytest.raises(ApiUnavailable):
                desk.live_bill(customers["standard"])
            with pytest.raises(ApiUnavailable):  # the breaker is open: refused without waiting
                desk.products(customers["standard"])
            desk.close()
    finally:
        orders.close()
        boss.stop()
