"""``ccenter ivr serve`` as a process: Asterisk's side speaks FastAGI to it, the hand-off reaches the
broker, and the session is in the database for ``ccenter ivr report``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select

from bus import topics
from bus.messages import CallEvent
from bus.mqtt import MqttBus
from crm import db
from crm.models import Account, Customer, PhoneNumber, Tier
from crm.seed import DEMO_PIN, seed
from tests.ivr.test_fastagi import MENU_KEYS, asterisk, env, script

pytestmark = pytest.mark.mqtt


def seeded_caller(url: str) -> str:
    """Seed the database; the number of a standard customer who is alone on one line with one account."""
    engine = db.connect(url)
    try:
        db.upgrade(engine)
        seed(engine, customers=40, random_seed=11)
        with db.session_factory(engine)() as session:
            shared = select(PhoneNumber.e164).group_by(PhoneNumber.e164).having(func.count() > 1)
            single = select(Account.customer_id).group_by(Account.customer_id).having(func.count() == 1)
            number = session.scalar(
                select(PhoneNumber.e164).join(Customer)
                .where(Customer.tier == Tier.STANDARD, PhoneNumber.is_primary.is_(True),
                       PhoneNumber.e164.not_in(shared), Customer.id.in_(single))
                .order_by(PhoneNumber.e164).limit(1)
            )
    finally:
        engine.dispose()
    assert number is not None
    return number


def test_fastagi_process_hands_the_call_over_on_the_broker_and_records_the_session(
    mqtt_url: str, tmp_path
) -> None:
    site = f"ivr-{uuid.uuid4().hex[:8]}"
    database = f"sqlite:///{tmp_path / 'ivr.db'}"
    caller = seeded_caller(database)
    # The database comes from the environment, as in production: callers are looked up in it.
    process_env = {**os.environ, "CCENTER_SITE": site, "CCENTER_DB": database}
    server = subprocess.Popen(
        [sys.executable, "-m", "ccenter", "ivr", "--fastagi", "127.0.0.1:0", "--mqtt", mqtt_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=process_env,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("FastAGI listening on 127.0.0.1:"), banner + (server.stderr.read() if
                                                                               server.poll() is not None else "")
        port = int(banner.split(";")[0].rsplit(":", 1)[1])
        answer = script({
            "ANSWER": [["200 result=0"]],
            'STREAM FILE ccenter/telecom/welcome ""': [["200 result=0 endpos=12000"]],
            f"STREAM FILE ccenter/telecom/language {MENU_KEYS}": [["200 result=49 endpos=3100"]],
            "GET DATA ccenter/telecom/en/ask-pin 8000 6": [[f"200 result={DEMO_PIN}"]],
            f"STREAM FILE ccenter/telecom/en/main-menu {MENU_KEYS}": [["200 result=0 endpos=90000"]],
            "WAIT FOR DIGIT 6000": [["200 result=52"]],  # 4: cancel
        })

        async def call_and_listen() -> CallEvent:
            async with MqttBus(mqtt_url, client_id=f"listen-{site}", site=site) as bus:
                calls = await bus.subscribe(topics.calls(site))
                commands = await asterisk(port, env(caller=caller), answer)
                assert any(c.startswith("SET VARIABLE CCENTER_QUEUE") for c in commands)
                message = (await calls.get(timeout=10)).message
                assert isinstance(message, CallEvent)
                return message

        handoff = asyncio.run(call_and_listen())
        assert handoff.type == "call.data" and handoff.data["routing"] == {"queue": "retention", "priority": 7}
        fields = handoff.data["fields"]
        assert fields["verified"]["value"] is True and fields["identified_by"]["value"] == "phone"
        assert DEMO_PIN not in json.dumps(handoff.data)
    finally:
        server.terminate()
        server.communicate(timeout=10)  # reads and closes its pipes
    report = subprocess.run([sys.executable, "-m", "ccenter", "ivr", "report", "--db", database, "--site", site],
                            capture_output=True, text=True, check=True)
    body = json.loads(report.stdout)
    assert body["site"] == site
    assert body["sessions"] == 1 and body["by_exit"] == {"transferred": 1} and body["by_intent"] == {"cancel": 1}
