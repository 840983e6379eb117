"""Campaign messages through the REST connector: a gateway on loopback started by the test; timeouts,
retries with the same idempotency key, rejections; each result recorded on its work item and as the
customer's Communication; the same eligibility rules as calls (consent, frequency cap). SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, select

from bus.transport import InProcessBus
from crm import db, repository
from crm.consent import record_consent
from crm.models import (
    Activity,
    Attempt,
    Campaign,
    Communication,
    Customer,
    DialDecision,
    PhoneNumber,
    Task,
    WorkItem,
    WorkItemStatus,
)
from routing.dialer_service import DialerService
from routing.messaging import MessageConnector, MessageSender

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
FLAKY, BAD, GOOD, REFUSED, CAPPED = "+14155550121", "+14155550122", "+14155550123", "+14155550124", "+14155550125"


class Gateway(BaseHTTPRequestHandler):
    """A message gateway: answers 503 once to FLAKY, refuses BAD, remembers idempotency keys."""

    seen: ClassVar[list[dict[str, Any]]] = []
    keys: ClassVar[dict[str, str]] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers["Idempotency-Key"]
        with self.lock:
            self.seen.append({"key": key, "auth": self.headers.get("Authorization"), **body})
            flaky_first = body["to"] == FLAKY and sum(1 for s in self.seen if s["to"] == FLAKY) == 1
            known = self.keys.get(key)
            if not flaky_first and known is None and body["to"] != BAD:
                known = self.keys[key] = f"m-{len(self.keys) + 1}"
        if flaky_first:
            self._reply(503, {"error": "busy"})
        elif body["to"] == BAD:
            self._reply(422, {"error": "not a mobile number"})
        else:
            self._reply(200, {"id": known})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.seen, Gateway.keys = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/messages"
    server.shutdown()
    server.server_close()
    thread.join(5)


def seed(engine: Engine) -> dict[str, int]:
    with db.transaction(db.session_factory(engine)) as s:
        campaign = Campaign(campaign_key="SMS-1", name="Winter data pack", dial_mode="preview",
                            starts_at=NOW - timedelta(days=1),
                            rules={"frequency_cap": {"contacts": 1, "days": 60}, "max_attempts": 2})
        sms, email = Task(name="sms"), Task(name="email")
        campaign.activities = [Activity(channel="sms", tasks=[sms]), Activity(channel="email", tasks=[email])]
        other = Campaign(campaign_key="OLD", name="Old", starts_at=NOW - timedelta(days=100))
        old_task = Task(name="outbound")
        other.activities = [Activity(channel="outbound_call", tasks=[old_task])]
        s.add_all([campaign, other])
        s.flush()
        items = {}
        for number in (FLAKY, BAD, GOOD, REFUSED, CAPPED):
            customer = Customer(name=f"C {number[-3:]}", time_zone="UTC", phones=[PhoneNumber(e164=number)],
                                email=f"c{number[-3:]}@example.com" if number == GOOD else None)
            s.add(customer)
            s.flush()
            item = WorkItem(task=sms, activity=sms.activity, customer_id=customer.id, phone_e164=number,
                            offer="10 GB for 5 EUR")
            s.add(item)
            items[number] = item
            if number == GOOD:
                items["email"] = WorkItem(task=email, activity=email.activity, customer_id=customer.id,
                                          offer="10 GB for 5 EUR")
                s.add(items["email"])
            if number == CAPPED:  # reached by another campaign 45 days ago: inside the 60-day cap
                old = WorkItem(task=old_task, activity=old_task.activity, customer_id=customer.id,
                               phone_e164=number, status=WorkItemStatus.COMPLETED)
                s.add(old)
                s.flush()
                s.add(Attempt(work_item_id=old.id, started_at=NOW - timedelta(days=45), result="answered"))
        s.flush()
        for number in (REFUSED,):
            record_consent(s, items[number].customer_id, "sms", granted=False, source="letter", at=NOW - timedelta(1))
        return {k: v.id for k, v in items.items()}


def test_messages_are_sent_retried_refused_and_recorded(engine: Engine, gateway: str) -> None:
    items = seed(engine)
    factory = db.session_factory(engine)
    connector = MessageConnector(gateway, token="s3cret", timeout_s=2.0, backoff_s=0.0)
    sender = MessageSender(connector, factory, clock=lambda: NOW.timestamp())
    service = DialerService(InProcessBus(), factory, "main", clock=lambda: NOW.timestamp(), messages=sender)
    asyncio.run(service.step())  # the dialer's step sends the due messages
    connector.close()

    flaky = [s for s in Gateway.seen if s["to"] == FLAKY]
    assert len(flaky) == 2 and flaky[0]["key"] == flaky[1]["key"] == f"ccenter-{items[FLAKY]}-1", \
        "a retry carries the same idempotency key"
    assert {s["auth"] for s in Gateway.seen} == {"Bearer s3cret"}
    assert {s["to"] for s in Gateway.seen} == {FLAKY, BAD, GOOD}, "refused ones are not sent"
    assert (sender.sent, sender.rejected, sender.failed) == (2, 1, 0)
    with factory() as s:
        def state(key: str) -> tuple[WorkItemStatus, str | None, list[str]]:
            item = s.get_one(WorkItem, items[key])
            return item.status, item.result, list(s.scalars(select(Attempt.result).where(
                Attempt.work_item_id == item.id)))
        assert state(FLAKY) == (WorkItemStatus.COMPLETED, "sent", ["message_sent"])
        assert state("email") == (WorkItemStatus.PENDING, None, []), "one contact in 60 days: the sms was it"
        assert state(BAD) == (WorkItemStatus.FAILED, "rejected", ["message_rejected"])
        assert s.get_one(WorkItem, items[BAD]).reason == '422: {"error": "not a mobile number"}'
        assert state(REFUSED) == (WorkItemStatus.PENDING, None, [])
        assert state(CAPPED) == (WorkItemStatus.PENDING, None, [])
        flaky_item = s.get_one(WorkItem, items[FLAKY])
        assert [c.channel for c in s.scalars(select(Communication).where(
            Communication.customer_id == flaky_item.customer_id))] == ["sms"]
        view = repository.customer_360(s, flaky_item.customer_id, now=NOW)
        assert [c.channel for c in view.communications] == ["sms"], "the sent message is in the 360 view"
        why = {(d.work_item_id, d.rule) for d in s.scalars(select(DialDecision).where(DialDecision.dialled.is_(False)))}
        assert why == {(items[REFUSED], "consent"), (items[CAPPED], "frequency_cap"),
                       (items["email"], "frequency_cap")}

    # A sent message reaches the customer: the cap now holds the good customer's other channels too, and
    # a second round sends nothing again.
    Gateway.seen.clear()
    sender2 = MessageSender(MessageConnector(gateway, backoff_s=0.0), factory, clock=lambda: NOW.timestamp() + 60)
    assert asyncio.run(sender2.step()) == 0 and Gateway.seen == []


def test_a_gateway_that_does_not_answer_is_a_failure_tried_again_later(engine: Engine) -> None:
    items = seed(engine)
    factory = db.session_factory(engine)
    waits: list[float] = []
    connector = MessageConnector("http://127.0.0.1:9/nothing", timeout_s=0.5, retries=2, backoff_s=0.1,
                                 sleep=waits.append)
    sender = MessageSender(connector, factory, clock=lambda: NOW.timestamp())
    asyncio.run(sender.step())
    assert waits == [0.1, 0.2] * 3, "two retries with backoff per message (the e-mail is capped by the sms)"
    with factory() as s:
        item = s.get_one(WorkItem, items[GOOD])
        assert (item.status, item.result, item.attempt_count) == (WorkItemStatus.IN_PROGRESS, "failed", 1)
        assert item.reason == "cannot reach the message gateway (ConnectionError)"
        assert item.next_attempt_at == NOW + timedelta(minutes=10)


def test_no_message_goes_to_a_customer_while_a_call_with_them_is_in_progress(engine: Engine, gateway: str) -> None:
    from bus.messages import CallEvent

    items = seed(engine)
    factory = db.session_factory(engine)
    clock = [NOW.timestamp()]
    connector = MessageConnector(gateway, timeout_s=2.0, backoff_s=0.0)
    sender = MessageSender(connector, factory, clock=lambda: clock[0])
    service = DialerService(InProcessBus(), factory, "main", clock=lambda: clock[0], messages=sender)
    # GOOD calls in (the number as the PBX gives it, national), and is in the IVR or with an agent.
    service.core.on_call_event(CallEvent(type="call.offered", call_id="in-1", ts=clock[0],
                                         calling="(415) 555-0123"), clock[0])
    asyncio.run(service.step())
    assert GOOD not in {s["to"] for s in Gateway.seen} and FLAKY in {s["to"] for s in Gateway.seen}
    assert not [s for s in Gateway.seen if s["channel"] == "email"], "nor an e-mail to the same customer"
    with factory() as s:
        held = {(d.work_item_id, d.rule, d.reason) for d in s.scalars(select(DialDecision))
                if d.work_item_id in (items[GOOD], items["email"])}
        status = s.get_one(WorkItem, items[GOOD]).status
    assert held == {(items[GOOD], "retry", "a call with the customer is in progress"),
                    (items["email"], "retry", "a call with the customer is in progress")}
    assert status is WorkItemStatus.PENDING

    # The call ends; at the retry the message goes out (the frequency cap is the campaign's business: the
    # call was inbound, not a marketing contact).
    clock[0] += 60
    service.core.on_call_event(CallEvent(type="call.ended", call_id="in-1", ts=clock[0]), clock[0])
    assert service.core.numbers_in_call() == set()
    clock[0] += repository.IN_CALL_RETRY.total_seconds()
    asyncio.run(sender.step())  # the dialer's next round of messages
    connector.close()
    assert GOOD in {s["to"] for s in Gateway.seen}
