"""A card number given to the IVR, typed into notes and summaries and found in an imported file is in clear
nowhere: not in the database, not in the logs, not on the broker, not in the reject file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest

from crm import db, repository
from crm.campaign_files import import_plan, import_targets
from crm.models import Channel
from tests.ivr.test_fastagi import asterisk, env, script
from tests.ivr.test_pin_lockout_and_cards import REFERENCE_FLOW

pytestmark = pytest.mark.mqtt

CARD = "4111111111111111"
SPACED = "4111 1111 1111 1111"
OTHER = "5555555555554444"


def in_clear(text: str) -> list[str]:
    return [card for card in (CARD, SPACED, OTHER) if card in text]


def test_a_test_card_number_is_masked_in_the_database_logs_bus_and_files(mqtt_url: str, tmp_path: Path) -> None:
    site = f"cards-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "ccenter.db"
    database = f"sqlite:///{path}"
    engine = db.connect(database)
    db.upgrade(engine)
    flow = tmp_path / "reference.yaml"
    flow.write_text(REFERENCE_FLOW, encoding="utf-8")
    broker = urlsplit(mqtt_url)
    server = subprocess.Popen(
        [sys.executable, "-m", "ccenter", "-vv", "--log-json", "ivr", "--fastagi", "127.0.0.1:0", "--flow", str(flow),
         "--mqtt", mqtt_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CCENTER_SITE": site, "CCENTER_DB": database},
    )
    captured: list[bytes] = []
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("FastAGI listening on"), banner
        port = int(banner.split(";")[0].rsplit(":", 1)[1])
        answer = script({"ANSWER": [["200 result=0"]], "GET DATA silence/1 5000 19": [[f"200 result={CARD}"]]})

        async def call_and_capture() -> None:
            async with aiomqtt.Client(broker.hostname or "127.0.0.1", broker.port or 1883,
                                      identifier=f"capture-{site}") as client:
                await client.subscribe(f"ccenter/v1/{site}/#", qos=1)
                commands = await asterisk(port, env(script="reference"), answer)
                assert any(c.startswith("SET VARIABLE CCENTER_QUEUE") for c in commands)
                async with asyncio.timeout(10):
                    async for message in client.messages:
                        captured.append(bytes(message.payload))  # type: ignore[arg-type]
                        if b"call.data" in captured[-1]:
                            break

        asyncio.run(call_and_capture())
    finally:
        server.terminate()
        _, logs = server.communicate(timeout=10)

    # An agent's notes and summary, a service request, and a campaign file with card numbers in it.
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        customer = repository.create_customer(session, name="Ada", phone="+1 415 555 0101")
        contact = repository.record_contact(session, channel=Channel.VOICE_IN, customer_id=customer,
                                            summary=f"card {CARD}")
        repository.create_service_request(session, customer_id=customer, category="billing",
                                          summary=f"refund to {SPACED}", details=f"old card {OTHER}",
                                          contact_id=contact)
        repository.close_contact(session, contact, disposition="resolved", notes=f"caller read out {SPACED}")
    plan = tmp_path / "plan.json"
    plan.write_text('{"campaign_id": "C1", "name": "Cards", "channels": ["outbound_call"], "products": ["Fibre"],'
                    ' "targets": []}', encoding="utf-8")
    targets = tmp_path / "targets.csv"
    targets.write_text("campaign_id,phone,offer,name\n"
                       f"C1,+1 415 555 0102,Fibre,Bob {CARD}\n"
                       f"C1,not a phone,Fibre {OTHER},Cy\n", encoding="utf-8")
    with db.transaction(factory) as session:
        import_plan(session, plan, region="US")
        report = import_targets(session, targets, region="US")
    assert report.work_items_created == 1 and len(report.rejects) == 1
    engine.dispose()

    dump = "\n".join(sqlite3.connect(path).iterdump())
    bus = b"\n".join(captured).decode("utf-8")
    rejects = targets.with_name("targets.rejects.csv").read_text("utf-8-sig")
    assert "************1111" in dump and "************1111" in bus and "************4444" in rejects
    assert "****" in logs and '"level": "DEBUG"' in logs  # the IVR logged at debug, masked
    assert in_clear(dump) == [] and in_clear(logs) == [] and in_clear(bus) == [] and in_clear(rejects) == []
