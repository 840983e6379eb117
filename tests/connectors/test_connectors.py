"""Connectors against a test BOSS on loopback: exactly once despite retries, in order after an outage,
status coming back through the workflow, live bills, the breaker and the backoff."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from bus.messages import WorkflowChanged
from connectors.boss import OrderSystem
from connectors.breaker import BreakerState, CircuitBreaker
from connectors.config import map_in, map_out, parse_connector
from connectors.errors import BackendUnavailable, ConnectorConfigError
from connectors.http import HttpClient, backoff_delay
from connectors.outbox import Relay
from crm import db, repository
from crm.models import Account, Agent, Customer
from crm.workflows import Subject
from tests.helpers.boss import TestBoss


@pytest.fixture
def boss() -> Iterator[TestBoss]:
    server = TestBoss().start()
    yield server
    server.stop()


def _customer(engine: Engine, account: str = "ACC-7") -> int:
    with db.transaction(db.session_factory(engine)) as s:
        customer = Customer(name="Li Na", language="zh", time_zone="Asia/Shanghai")
        customer.accounts = [Account(account_number=account, balance=Decimal("0"))]
        s.add_all([customer, Agent(login="ann", name="Ann")])
        s.flush()
        return customer.id


def _orders(engine: Engine, customer_id: int, *products: str) -> list[int]:
    with db.transaction(db.session_factory(engine)) as s:
        return [repository.create_order(s, customer_id=customer_id, product=p).id for p in products]


def _relay(engine: Engine, boss: TestBoss, **overrides: object) -> Relay:
    return Relay(db.session_factory(engine), OrderSystem(parse_connector("boss", boss.connector_table(**overrides))))


def test_an_order_reaches_the_back_end_exactly_once_despite_retries(engine: Engine, boss: TestBoss) -> None:
    customer_id = _customer(engine)
    [order_id] = _orders(engine, customer_id, "FIBRE-500")
    boss.fail_next = 1  # a 503 first,
    boss.lose_answers = 2  # then twice the order is made but the answer is lost on the way back
    result = _relay(engine, boss).deliver()
    assert (result.delivered, result.pending) == (1, 0)
    assert boss.requests_seen == 4
    assert boss.created == [{"externalId": order_id, "offer": {"code": "FIBRE-500", "quantity": 1},
                             "customer": {"account": "ACC-7", "name": "Li Na"}}]
    with db.session_factory(engine)() as s:
        status = repository.workflow_status(s, Subject.ORDER, order_id)
    assert (status.delivery, status.external_ref) == ("delivered", "ORD-00001")
    assert _relay(engine, boss).deliver().delivered == 0  # nothing left: a new round sends nothing again
    assert len(boss.created) == 1


def test_when_the_back_end_is_down_everything_waits_and_then_goes_in_order(engine: Engine, boss: TestBoss) -> None:
    customer_id = _customer(engine)
    relay = _relay(engine, boss, retries=1)
    boss.stop()
    first = _orders(engine, customer_id, "A")
    with db.transaction(db.session_factory(engine)) as s:
        request_id = repository.create_service_request(s, customer_id=customer_id, category="line_fault",
                                                       summary="No dial tone").id
    later = _orders(engine, customer_id, "B", "C")
    down = relay.deliver()
    assert (down.delivered, down.pending) == (0, 4)
    assert down.error is not None and "failed 2 times" in down.error
    with db.session_factory(engine)() as s:
        assert repository.workflow_status(s, Subject.ORDER, first[0]).delivery == "pending"
        assert repository.count_pending(s) == 4
    boss.start()
    up = relay.deliver()
    assert (up.delivered, up.pending) == (4, 0)
    assert [b["externalId"] for b in boss.created] == [first[0], request_id, *later]
    assert [b.get("offer", {}).get("code") for b in boss.created] == ["A", None, "B", "C"]
    assert boss.created[1]["type"] == "line_fault"


def test_status_comes_back_through_the_workflow_as_the_system(engine: Engine, boss: TestBoss) -> None:
    customer_id = _customer(engine)
    [order_id] = _orders(engine, customer_id, "FIBRE-500")
    with db.transaction(db.session_factory(engine)) as s:
        request_id = repository.create_service_request(s, customer_id=customer_id, category="line_fault",
                                                       summary="No dial tone").id
    relay = _relay(engine, boss)
    relay.deliver()
    assert relay.follow() == 0  # nothing moved yet
    boss.advance(2)
    assert relay.follow() == 2
    with db.session_factory(engine)() as s:
        request = repository.workflow_status(s, Subject.SERVICE_REQUEST, request_id)
    assert (request.state, request.status) == ("resolved", "waiting_customer")
    assert request.history[-1].fields == {"diagnosis": "line noise", "resolution": "fixed"}
    boss.advance(1)
    assert relay.follow() == 2
    with db.session_factory(engine)() as s:
        order = repository.workflow_status(s, Subject.ORDER, order_id)
        assert repository.workflow_status(s, Subject.SERVICE_REQUEST, request_id).state == "closed"
    assert (order.state, order.status) == ("installed", "in_progress")
    assert [(h.actor, h.actor_name, h.to_state) for h in order.history] == [
        ("agent", "desktop", "submitted"), ("system", "boss", "credit_check"), ("system", "boss", "provisioning"),
        ("system", "boss", "installed")]
    boss.advance(1)
    assert relay.follow() == 1
    with db.session_factory(engine)() as s:
        assert repository.workflow_status(s, Subject.ORDER, order_id).status == "completed"
    assert relay.follow() == 0  # final states are not asked about any more
    assert boss.requests_seen == 2 + 2 + 2 + 2 + 1  # two creates, rounds with 2, 2, 2, 1 items, none after


def test_a_live_bill_is_read_through_the_field_mapping(boss: TestBoss) -> None:
    boss.bills["ACC-7"] = {"balance": {"value": "-12.40", "currency": "CNY"}, "due": {"value": "88.00",
                           "date": "2026-12-20"}, "items": [{"label": "Fibre 500", "amount": "79.00"},
                                                             {"label": "Roaming", "amount": "9.00"}]}
    system = OrderSystem(parse_connector("boss", boss.connector_table()))
    bill = system.bill("ACC-7")
    assert (bill.balance, bill.amount_due, bill.currency, bill.due_date) == (
        Decimal("-12.40"), Decimal("88.00"), "CNY", "2026-12-20")
    assert [(line.label, line.amount) for line in bill.lines] == [("Fibre 500", Decimal("79.00")),
                                                                  ("Roaming", Decimal("9.00"))]
    system.close()


def test_an_open_breaker_refuses_at_once_and_lets_one_trial_through_after_its_cool_down() -> None:
    breaker = CircuitBreaker(threshold=2, cool_down_s=10)
    assert breaker.allow(0)
    breaker.failed(0)
    assert breaker.state(0) is BreakerState.CLOSED
    breaker.failed(1)
    assert breaker.state(1) is BreakerState.OPEN and not breaker.allow(5)
    assert breaker.retry_in(5) == 6
    assert breaker.allow(11) and not breaker.allow(11)  # one trial at a time
    breaker.failed(11)
    assert breaker.state(12) is BreakerState.OPEN
    assert breaker.allow(21)
    breaker.succeeded()
    assert breaker.state(21) is BreakerState.CLOSED


def test_a_dead_back_end_costs_nothing_once_the_breaker_is_open(boss: TestBoss) -> None:
    boss.stop()
    now = [0.0]
    client = HttpClient(boss.url, retries=0, breaker=CircuitBreaker(threshold=1, cool_down_s=30),
                        clock=lambda: now[0], timeout_s=1)
    with pytest.raises(BackendUnavailable, match="failed 1 times; last: ConnectionError"):
        client.request("GET", "/v2/orders/x")
    with pytest.raises(BackendUnavailable, match="not tried"):
        client.request("GET", "/v2/orders/x")
    boss.start()
    now[0] = 31.0
    boss.bills["A1"] = {"balance": {"value": "1"}}
    assert client.request("GET", "/v2/accounts/A1/bill") == {"balance": {"value": "1"}}  # the trial closes it
    assert client.breaker.state(now[0]) is BreakerState.CLOSED
    client.close()


def test_backoff_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 0.5, 4.0, rng) for n in range(8)]
    assert all(0 <= d <= min(4.0, 0.5 * 2 ** n) for n, d in enumerate(delays))
    assert len(set(delays)) == len(delays)


def test_field_mapping_nests_and_reads_back() -> None:
    mapping = {"id": "externalId", "product": "offer.code", "missing": "x.y"}
    assert map_out({"id": 1, "product": "P", "other": 2}, mapping) == {"externalId": 1, "offer": {"code": "P"}}
    assert map_in({"externalId": 1, "offer": {"code": "P"}}, mapping) == {"id": 1, "product": "P"}
    assert map_out({"a": 1}, None) == {"a": 1}


@pytest.mark.parametrize(("table", "message"), [
    ({"url": "ftp://x"}, "connectors.boss.url: expected an http"),
    ({"url": "http://x", "retries": 1.5}, "connectors.boss.retries: expected a whole number"),
    ({"url": "http://x", "paths": {"create_thing": "/x"}}, "connectors.boss.paths.create_thing: unknown"),
    ({"url": "http://x", "fields": {"order": {"id": 3}}}, "connectors.boss.fields.order.id: expected a name"),
    ({"url": "http://x", "token": "a\nb"}, "connectors.boss.token: expected a one-line string"),
    ({"url": "http://x", "colour": 1}, "connectors.boss.colour: unknown key"),
])
def test_bad_connector_configuration_names_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message.replace(".", r"\.")):
        parse_connector("boss", table, "ccenter.toml")


@pytest.mark.expect_log("ERROR", "connectors.outbox", match=r"outbox message \d+ \(order \d+\) refused by boss")
def test_a_refused_message_is_set_aside_and_the_rest_still_go(engine: Engine, boss: TestBoss) -> None:
    customer_id = _customer(engine)
    first, second = _orders(engine, customer_id, "A", "B")
    paths = {**boss.connector_table()["paths"], "create_order": "/v2/nowhere"}  # the back end answers 404
    refused = _relay(engine, boss, paths=paths).deliver()
    assert (refused.delivered, refused.refused, refused.pending) == (0, 2, 0)
    with db.session_factory(engine)() as s:
        assert repository.workflow_status(s, Subject.ORDER, first).delivery == "refused"
    with db.transaction(db.session_factory(engine)) as s:
        request_id = repository.create_service_request(s, customer_id=customer_id, category="line_fault",
                                                       summary="No dial tone").id
    assert _relay(engine, boss, paths=paths).deliver().delivered == 1  # later messages are not blocked
    assert [b["externalId"] for b in boss.created] == [request_id]
    with db.session_factory(engine)() as s:
        assert repository.workflow_status(s, Subject.ORDER, second).delivery == "refused"


def test_only_one_process_delivers_an_outbox_at_a_time(pg_db_url: str, boss: TestBoss) -> None:
    engine = db.connect(pg_db_url)
    try:
        customer_id = _customer(engine)
        _orders(engine, customer_id, "A")
        other = db.connect(pg_db_url)  # another process's connection pool
        try:
            with db.exclusive(db.session_factory(other), "outbox:system_of_record") as held:
                assert held
                busy = _relay(engine, boss).deliver()
                assert (busy.delivered, busy.pending, busy.error) == (0, 1, "another process is delivering")
        finally:
            other.dispose()
        assert _relay(engine, boss).deliver().delivered == 1
        assert len(boss.created) == 1
    finally:
        engine.dispose()


def test_each_status_the_relay_brings_back_is_told_once_committed(engine: Engine, boss: TestBoss) -> None:
    customer_id = _customer(engine)
    [order_id] = _orders(engine, customer_id, "FIBRE-500")
    factory = db.session_factory(engine)
    told: list[tuple[str, str, str | None, str]] = []

    def notify(message: WorkflowChanged, agent: str | None) -> None:
        with factory() as s:  # another connection sees the move: it was committed before the telling
            committed = repository.workflow_status(s, Subject.ORDER, message.item_id).state
        told.append((message.state, message.actor_name, agent, committed))

    relay = Relay(factory, OrderSystem(parse_connector("boss", boss.connector_table())), notify=notify)
    relay.deliver()
    assert relay.follow() == 0 and told == []  # nothing moved: nothing told
    boss.advance(1)
    assert relay.follow() == 1
    assert told == [("credit_check", "boss", None, "credit_check")]  # no agent took it: no topic to tell
    assert order_id
