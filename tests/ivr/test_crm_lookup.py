"""The IVR's look-ups on the customer data layer, on a real (migrated) database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

import resources
from ccenter.cli import main
from crm import db
from crm.models import Account, Communication, Customer, Order, PhoneNumber, ServiceRequest, Tier
from crm.secrets import hash_secret
from ivr.crm_lookup import CrmLookup
from ivr.engine import Hangup, Transfer
from ivr.errors import LookupUnavailable
from ivr.flow import load_flow
from ivr.lookup import PinCheck
from ivr.record import ExitPoint

from .helpers import drive, everything, new_session, texts

ANNA = "+14155550123"
ANNA_PIN = "2580"
LI = "+8613700001111"


def seed(engine: Engine) -> dict[str, int]:
    with db.transaction(db.session_factory(engine)) as s:
        anna = Customer(name="Anna Berg", tier=Tier.STANDARD, segment="consumer", language="en")
        anna.phones = [PhoneNumber(e164=ANNA, is_primary=True)]
        anna.accounts = [
            Account(
                account_number="55556666",
                balance=Decimal("17.25"),
                currency="USD",
                pin_hash=hash_secret(ANNA_PIN, n=2**10),
            )
        ]
        li = Customer(name="李娜", tier=Tier.VIP, segment="business", language="zh")
        li.phones = [PhoneNumber(e164=LI, is_primary=True)]
        li.accounts = [
            Account(
                account_number="77778888", balance=Decimal("0"), currency="CNY", pin_hash=hash_secret("1357", n=2**10)
            )
        ]
        s.add_all([anna, li])
        s.flush()
        s.add_all(
            [
                Communication(
                    customer_id=anna.id,
                    kind="bill",
                    channel="email",
                    subject="Bill",
                    amount=Decimal("30.00"),
                    currency="USD",
                    sent_at=datetime(2026, 10, 1, tzinfo=UTC),
                ),
                Communication(
                    customer_id=anna.id,
                    kind="bill",
                    channel="email",
                    subject="Bill",
                    amount=Decimal("31.50"),
                    currency="USD",
                    sent_at=datetime(2026, 11, 1, tzinfo=UTC),
                ),
                Order(customer_id=anna.id, product="fiber router", status="in_progress"),
                ServiceRequest(customer_id=anna.id, category="fault", summary="no dial tone", status="open"),
                ServiceRequest(customer_id=li.id, category="fault", summary="old", status="closed"),
            ]
        )
        return {"anna": anna.id, "li": li.id}


@pytest.fixture
def lookup(engine: Engine) -> CrmLookup:
    return CrmLookup(db.session_factory(engine))


def test_lookups(engine: Engine, lookup: CrmLookup) -> None:
    ids = seed(engine)
    (anna,) = lookup.by_phone("(415) 555-0123")
    assert anna.customer_id == str(ids["anna"]) and anna.tier == "standard" and anna.accounts == ("55556666",)
    assert anna.segment == "consumer" and anna.language == "en"
    assert lookup.by_phone("not a number") == []
    assert lookup.by_phone("+14155550000") == []
    li = lookup.by_account("77778888")
    assert li is not None and li.tier == "vip" and li.name == "李娜"
    assert lookup.by_account("00000000") is None
    assert lookup.by_account("bad account!") is None
    assert lookup.verify_pin("55556666", ANNA_PIN) is PinCheck.VERIFIED
    assert lookup.verify_pin("55556666", "0000") is PinCheck.WRONG
    balance = lookup.balance("55556666")
    assert balance is not None and balance.balance == Decimal("17.25") and balance.last_bill_amount == Decimal("31.50")
    assert balance.last_bill_date is not None and balance.last_bill_date.isoformat() == "2026-11-01"
    assert lookup.balance("99999999") is None
    order = lookup.order_status(str(ids["anna"]))
    assert order is not None and order.status == "in_progress" and order.description == "fiber router"
    request = lookup.service_request_status(str(ids["anna"]))
    assert request is not None and request.summary == "no dial tone"
    assert lookup.service_request_status(str(ids["li"])) is None  # only closed ones
    assert lookup.order_status(str(ids["li"])) is None
    assert lookup.order_status("C1") is None and lookup.service_request_status("x") is None


def test_telecom_flow_on_the_database(engine: Engine, lookup: CrmLookup) -> None:
    seed(engine)
    flow = load_flow(resources.path("ivr", "telecom.yaml"))
    session = new_session(ANNA, flow=flow, lookup=lookup)
    actions = drive(session, ["1", ANNA_PIN + "#", "1", "9"])
    assert "Your balance is 17.25 USD." in texts(actions)
    assert "Your last bill, of 2026-11-01, was 31.50 USD." in texts(actions)
    assert isinstance(actions[-1], Hangup)
    assert session.record is not None and session.record.exit is ExitPoint.SELF_SERVED
    assert ANNA_PIN not in everything(session, actions)

    session = new_session(LI, flow=flow, lookup=lookup)
    actions = drive(session, ["2", "1357#"])
    transfer = next(a for a in actions if isinstance(a, Transfer))
    assert transfer.queue == "vip" and transfer.priority == 9


def test_database_failure_is_lookup_unavailable(tmp_path: Path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema: every query fails
    try:
        lookup = CrmLookup(db.session_factory(engine))
        with pytest.raises(LookupUnavailable, match="customer data is unavailable"):
            lookup.by_phone(ANNA)
        with pytest.raises(LookupUnavailable):
            lookup.verify_pin("55556666", "1")
    finally:
        engine.dispose()


def test_try_with_database(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = db.connect(db_url)
    try:
        seed(engine)
    finally:
        engine.dispose()
    assert main(["ivr", "try", "telecom", "--db", db_url, "--caller", ANNA, "--input", f"1,{ANNA_PIN}#,2,1"]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1]["record"]["exit"] == "transferred"
    assert records[-2]["handoff"]["data"]["fields"]["ticket_id"]["value"].isdigit()
    assert ANNA_PIN not in out


def test_from_url_and_close(db_url: str) -> None:
    lookup = CrmLookup.from_url(db_url)
    try:
        assert lookup.by_account("12121212") is None
    finally:
        lookup.close()
