"""How many statements one screen pop sends to the database: look-up by phone, then the 360 view, through the
API as the production desktop makes them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from crm import db
from crm.models import (
    Activity,
    Agent,
    Campaign,
    CampaignStatus,
    Channel,
    Communication,
    Consent,
    Contact,
    Order,
    PhoneNumber,
    ServiceRequest,
    Task,
    WorkItem,
    utcnow,
)

from .conftest import Api

#: Statements of one pop with no open offer: the look-up (customer with phone numbers), then the 360 view:
#: customer with phone numbers and accounts, contacts, open orders, open service requests, communications,
#: offers.
POP_STATEMENTS = 7
#: With an open offer, the customer's consent is read as well (once, whatever the number of offers).
POP_STATEMENTS_WITH_OFFERS = POP_STATEMENTS + 1


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def wire(engine: Engine, path: Path) -> Iterator[list[str]]:
    """What the client sends PostgreSQL on every pooled connection (libpq's trace): one entry per round trip,
    a simple query's text or an extended query's Sync."""
    traced: dict[int, Any] = {}

    def trace(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if id(dbapi_conn) not in traced:
            traced[id(dbapi_conn)] = dbapi_conn.pgconn
            dbapi_conn.pgconn.trace(out.fileno())

    sent: list[str] = []
    with path.open("w") as out:
        event.listen(engine, "checkout", trace)
        try:
            yield sent
        finally:
            event.remove(engine, "checkout", trace)
            for pgconn in traced.values():
                pgconn.untrace()
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 3 and fields[1] == "F" and fields[3] in ("Query", "Sync"):
            sent.append(fields[3] if fields[3] == "Sync" else fields[4].strip().strip('"'))


def pop(api: Api, number: str) -> dict[str, Any]:
    found = api.get(f"/v1/desk/customers/by-phone/{number}", "ann")
    assert found.status_code == 200, found.text
    [summary] = found.json()
    view = api.get(f"/v1/desk/customers/{summary['id']}", "ann")
    assert view.status_code == 200, view.text
    return dict(view.json())


def add_history(engine: Engine, customer_id: int, *, offers: int) -> None:
    """Contacts, open and closed work, a bill, a second number and ``offers`` live campaigns with an open
    work item each (and a consent record that allows them)."""
    now = utcnow()
    with db.transaction(db.session_factory(engine)) as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.login == "ann"))
        s.add(PhoneNumber(customer_id=customer_id, e164="+14155550177", is_primary=False))
        for i in range(25):
            s.add(
                Contact(
                    customer_id=customer_id,
                    channel=Channel.VOICE_IN,
                    started_at=now - timedelta(days=i),
                    agent_id=agent_id,
                    disposition="resolved",
                    summary=f"call {i}",
                )
            )
        s.add_all(
            [
                Order(customer_id=customer_id, product="Fibre", status="open"),
                Order(customer_id=customer_id, product="Old phone", status="completed"),
                ServiceRequest(
                    customer_id=customer_id, category="technical", summary="No signal", status="in_progress"
                ),
                ServiceRequest(customer_id=customer_id, category="billing", summary="Fixed", status="closed"),
                Communication(
                    customer_id=customer_id,
                    kind="bill",
                    channel="email",
                    subject="Bill",
                    amount=Decimal("30.00"),
                    currency="USD",
                    sent_at=now - timedelta(days=3),
                ),
                Consent(customer_id=customer_id, channel="all", granted=True, source="test"),
            ]
        )
        for n in range(offers):
            campaign = Campaign(
                campaign_key=f"C{n}",
                name=f"Campaign {n}",
                status=CampaignStatus.ACTIVE,
                script="Say hello",
                starts_at=now - timedelta(days=1),
            )
            activity = Activity(channel="inbound_offer")
            task = Task(name="inbound")
            activity.tasks = [task]
            campaign.activities = [activity]
            s.add(campaign)
            s.flush()
            s.add(
                WorkItem(
                    task_id=task.id, activity_id=activity.id, customer_id=customer_id, offer=f"offer {n}", priority=n
                )
            )


def test_a_screen_pop_sends_a_fixed_number_of_statements_whatever_the_history(api: Api) -> None:
    add_history(api.engine, api.customers["standard"], offers=0)
    pop(api, "+14155550101")  # the agent's token is then known, as during a shift
    with statements(api.engine) as sent:
        view = pop(api, "+14155550101")
    assert len(sent) == POP_STATEMENTS, "\n".join(sent)
    assert view["profile"]["phones"] == ["+14155550101", "+14155550177"]
    assert [a["account_number"] for a in view["profile"]["accounts"]] == ["ACC-1001"]
    assert len(view["contacts"]) == 20
    assert [c["summary"] for c in view["contacts"][:2]] == ["call 0", "call 1"]
    assert view["contacts"][0]["agent"] == "Ann Lee"
    assert [o["product"] for o in view["open_orders"]] == ["Fibre"]
    assert [r["summary"] for r in view["open_service_requests"]] == ["No signal"]
    assert [m["subject"] for m in view["communications"]] == ["Bill"]
    assert view["offers"] == []


def test_offers_add_one_statement_however_many_there_are(api: Api) -> None:
    add_history(api.engine, api.customers["standard"], offers=4)
    pop(api, "+14155550101")
    with statements(api.engine) as sent:
        view = pop(api, "+14155550101")
    assert len(sent) == POP_STATEMENTS_WITH_OFFERS, "\n".join(sent)
    assert [o["campaign_key"] for o in view["offers"]] == ["C3", "C2", "C1", "C0"]
    assert [o["offer"] for o in view["offers"]] == ["offer 3", "offer 2", "offer 1", "offer 0"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_screen_pop_opens_no_transaction(api: Api, tmp_path: Path) -> None:
    """Under READ COMMITTED a transaction gives a pop's statements nothing: it would cost a BEGIN and a ROLLBACK
    round trip per request."""
    add_history(api.engine, api.customers["standard"], offers=1)
    pop(api, "+14155550101")
    with wire(api.engine, tmp_path / "libpq.trace") as sent:
        view = pop(api, "+14155550101")
    assert [o["campaign_key"] for o in view["offers"]] == ["C0"]
    assert not [q for q in sent if q.startswith(("BEGIN", "ROLLBACK", "COMMIT"))], sent
    assert sent.count("Sync") == POP_STATEMENTS_WITH_OFFERS, sent
    # The pooled connection goes back to transactions: a write after the pops is one unit of work.
    with wire(api.engine, tmp_path / "libpq-write.trace") as sent:
        posted = api.post(
            "/v1/communications",
            "billing",
            json={
                "account_number": "ACC-1001",
                "kind": "bill",
                "channel": "email",
                "subject": "Your bill",
                "amount": "30.00",
                "currency": "USD",
                "sent_at": "2026-11-30T08:00:00Z",
                "external_ref": "INV-1",
            },
        )
    assert posted.status_code == 201, posted.text
    assert sent[-1] == "COMMIT", sent
    write = sent[max(i for i, q in enumerate(sent) if q.startswith("BEGIN")) :]
    assert write[1:-1] and set(write[1:-1]) == {"Sync"}, sent
    assert [m["subject"] for m in pop(api, "+14155550101")["communications"]] == ["Your bill", "Bill"]
